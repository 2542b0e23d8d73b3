package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/ensembletest"
)

// With ELECTIONDEMO_MAIN set, the test binary is electiondemo itself, so
// that a test can run it as processes and kill them.
func TestMain(m *testing.M) {
	if os.Getenv("ELECTIONDEMO_MAIN") != "" {
		os.Args = append(os.Args[:1], strings.Fields(os.Getenv("ELECTIONDEMO_MAIN"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// lines collects the output of several processes as it comes.
type lines struct {
	mu   sync.Mutex
	all  []string
	wake chan struct{}
}

func (l *lines) add(s string) {
	l.mu.Lock()
	l.all = append(l.all, s)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// await returns the first line after index from that holds want.
func (l *lines) await(t *testing.T, from int, want string) (int, string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		l.mu.Lock()
		for i := from; i < len(l.all); i++ {
			if line := l.all[i]; strings.Contains(line, want) {
				l.mu.Unlock()
				return i, line
			}
		}
		l.mu.Unlock()
		select {
		case <-l.wake:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("no line with %q after line %d:\n%s", want, from, strings.Join(l.all, "\n"))
		}
	}
}

// Three electiondemo processes elect one leader; when the leader's process
// is killed (SIGKILL, no goodbye), another takes over once the ensemble
// ends the dead session, and says how long after the dead leader's last
// heartbeat.
func TestKilledLeader(t *testing.T) {
	srv := ensembletest.Start(t)
	out := &lines{wake: make(chan struct{}, 1)}
	procs := map[string]*exec.Cmd{}
	var readers sync.WaitGroup
	for _, name := range []string{"p1", "p2", "p3"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "ELECTIONDEMO_MAIN=-server "+srv.Addr()+" -session-timeout 1s -beat 100ms -name "+name)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[name] = cmd
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				out.add(sc.Text())
			}
		}()
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	i, line := out.await(t, 0, "LEADER")
	first := strings.Fields(line)[1] // "p2/c1"
	victim := strings.Split(first, "/")[0]
	time.Sleep(500 * time.Millisecond) // a few heartbeats
	if err := procs[victim].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	procs[victim].Wait()
	_, line = out.await(t, i+1, "LEADER")
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
	readers.Wait()
}
