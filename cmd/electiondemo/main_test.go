package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zookit/zookit/cmd/internal/demotest"
	"github.com/zookit/zookit/ensemble/ensembletest"
)

func TestMain(m *testing.M) { demotest.Main(m, main) }

// Three electiondemo processes elect one leader; when the leader's process
// is killed (SIGKILL, no goodbye), another takes over once the ensemble
// ends the dead session, and says how long after the dead leader's last
// heartbeat.
func TestKilledLeader(t *testing.T) {
	srv := ensembletest.Start(t)
	out := demotest.NewLines()
	procs := map[string]*exec.Cmd{}
	for _, name := range []string{"p1", "p2", "p3"} {
		procs[name] = demotest.Start(t, out, "-server", srv.Addr(), "-session-timeout", "2s", "-beat", "100ms", "-name", name)
	}
	i, line := out.Await(t, 0, "LEADER")
	first := strings.Fields(line)[1] // "p2/c1"
	victim := strings.Split(first, "/")[0]
	time.Sleep(500 * time.Millisecond) // a few heartbeats
	if err := procs[victim].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	procs[victim].Wait()
	_, line = out.Await(t, i+1, "LEADER")
	next := strings.Fields(line)[1]
	if strings.HasPrefix(next, victim+"/") {
		t.Fatalf("the killed process leads again: %s", line)
	}
	if !strings.Contains(line, "after "+first+"'s last heartbeat") {
		t.Fatalf("the new leader does not say whose heartbeat it followed: %s", line)
	}
	for name, cmd := range procs {
		if name != victim {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	}
	out.Wait()
}
