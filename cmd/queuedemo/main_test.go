package main

import (
	"bytes"
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zookit/zookit/cmd/internal/demo"
	"github.com/zookit/zookit/cmd/internal/demotest"
	"github.com/zookit/zookit/ensemble/ensembletest"
)

func TestMain(m *testing.M) { demotest.Main(m, main) }

// Six messages, two consumer processes; the first consumer to handle a
// message is killed (SIGKILL) in the middle of it. The other process
// handles that message once the dead session is over, and every message
// is done exactly once.
func TestKilledConsumer(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var put bytes.Buffer
	if err := run(ctx, []string{"-server", srv.Addr(), "-put", "6", "-name", "m"}, demo.NewLog(&put)); err != nil {
		t.Fatal(err)
	}
	out := demotest.NewLines()
	common := []string{"-server", srv.Addr(), "-session-timeout", "2s", "-consumers", "1", "-work", "300ms"}
	procs := map[string]func() error{}
	for _, name := range []string{"a", "b"} {
		cmd := demotest.Start(t, out, append(common, "-name", name)...)
		procs[name] = func() error { return cmd.Process.Signal(syscall.SIGKILL) }
		defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	}
	_, line := out.Await(t, 0, "handling")
	f := strings.Fields(line)
	victim, msg := strings.Split(f[1], "/")[0], f[3]
	if err := procs[victim](); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 6; i++ {
		out.Await(t, 0, "done m-"+string(rune('0'+i)))
	}
	done := map[string]int{}
	for _, l := range out.All() {
		f := strings.Fields(l)
		if len(f) == 4 && f[2] == "done" {
			if strings.HasPrefix(f[1], victim+"/") {
				t.Fatalf("the killed consumer finished a message: %s", l)
			}
			done[f[3]]++
		}
	}
	for m, n := range done {
		if n != 1 {
			t.Fatalf("%s done %d times:\n%s", m, n, out)
		}
	}
	if len(done) != 6 || done[msg] != 1 {
		t.Fatalf("done %v, want m-1 … m-6 once each, %s among them:\n%s", done, msg, out)
	}
}
