package interop

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/ensembletest"
)

// reconfigOptions enable dynamic reconfiguration, as Kazoo's and
// Curator's test clusters do.
var reconfigOptions = Options{Config: map[string]string{"reconfigEnabled": "true"}}

// TestReconfigClients runs Kazoo's TestReconfig steps, and the same with
// Curator's reconfig API, against a three-server zkserver ensemble and an
// Apache ZooKeeper one, and compares what the clients see: a client
// without super gets NoAuth, super adds an observer (its spec comes back in
// the config, which getConfig then reads) and removes it, a config version
// from the future is BadVersion, and a malformed spec is BadArguments.
func TestReconfigClients(t *testing.T) {
	Require(t, ZooKeeper, Kazoo, Curator)
	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	cp, err := CompileJava(ctx, t.TempDir(), "ReconfigCheck")
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("python", "kazoo_reconfig.py"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"no super: NoAuthError",
		"added observer: True",
		"removed observer: True",
		"last line: version",
		"future version: BadVersionError",
		"bad input: BadArgumentsError",
	}, "\n") + "\n"
	for _, e := range []struct {
		name  string
		start EnsembleStarter
	}{{"zkserver", StartZookitEnsemble}, {"apache", StartApacheEnsemble}} {
		t.Run(e.name, func(t *testing.T) {
			addrs := e.start(t, 3, 0, reconfigOptions)
			// Ports nothing listens on: the observer is never started,
			// as in Kazoo's test.
			p := ensembletest.FreePorts(t, 3)
			joining := fmt.Sprintf("server.100=0.0.0.0:%d:%d:observer;0.0.0.0:%d", p[0], p[1], p[2])
			out, err := exec.Command(KazooPython(), script, strings.Join(addrs, ","), joining).CombinedOutput()
			if err != nil || string(out) != want {
				t.Errorf("%s: %v\n%s\nwant:\n%s", e.name, err, out, want)
			}
			var stdout, stderr strings.Builder
			cmd := exec.Command("java", "-cp", cp, "ReconfigCheck", strings.Join(addrs, ","), joining)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("ReconfigCheck: %v\n%s\n%s", err, stdout.String(), lastBytes(stderr.String(), 4<<10))
			}
			for _, want := range []string{"OK no super: NoAuth", "OK added observer", "OK getConfig is reconfig's answer",
				"OK removed observer", "OK future version: BadVersion", "OK bad input: BadArguments"} {
				if !strings.Contains(stdout.String(), want+"\n") {
					t.Errorf("ReconfigCheck did not print %q:\n%s", want, stdout.String())
				}
			}
		})
	}
}

// TestReconfigGrowAndShrink grows a three-process ensemble to five by
// reconfig and shrinks it back to three, removing the current leader on
// the way, while a client keeps writing; zkserver and Apache ZooKeeper side
// by side. Every write a server acknowledged must be on every remaining
// server at the end.
func TestReconfigGrowAndShrink(t *testing.T) {
	Require(t, ZooKeeper)
	for _, name := range []string{"zkserver", "zookeeper"} {
		t.Run(name, func(t *testing.T) {
			e := StartGrowableEnsemble(t, name, 3, reconfigOptions)
			admin := superClient(t, e.Addrs())
			stop := writeLoad(t, e.Addrs())

			for range 2 {
				id, addr, spec := e.Add()
				reconfigure(t, admin, []string{spec}, nil)
				waitServing(t, addr)
				t.Logf("%s: server.%d joined", name, id)
			}
			reconfigure(t, admin, nil, []string{"5"})
			leader := leaderID(t, e.Addrs()[:4])
			reconfigure(t, admin, nil, []string{strconv.Itoa(leader)})
			t.Logf("%s: removed server.5 and the leader, server.%d", name, leader)

			paths := stop()
			if len(paths) == 0 {
				t.Fatal("no write was acknowledged")
			}
			var remaining []string
			for i, a := range e.Addrs()[:4] {
				if i+1 != leader {
					remaining = append(remaining, a)
				}
			}
			for _, a := range remaining {
				// ZooKeeper's servers elect again after their leader
				// leaves, refusing clients meanwhile.
				waitServing(t, a)
				c := connectOne(t, a)
				syncWhenServing(t, c, a)
				for _, p := range paths {
					if ok, _, err := c.Exists(p); err != nil || !ok {
						t.Errorf("%s: acknowledged %s is missing (%v)", a, p, err)
						break
					}
				}
				data, _, err := c.Get("/zookeeper/config")
				if err != nil {
					t.Fatal(err)
				}
				if n := strings.Count(string(data), "server."); n != 3 {
					t.Errorf("%s: /zookeeper/config lists %d servers:\n%s", a, n, data)
				}
			}
			t.Logf("%s: %d acknowledged writes, all on the %d remaining servers", name, len(paths), len(remaining))
		})
	}
}

// superClient connects to addrs as the super user, whom reconfig needs.
func superClient(t *testing.T, addrs []string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect(addrs, 10*time.Second, zk.WithLogger(quietLogger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.AddAuth("digest", []byte("super:test")); err != nil {
		t.Fatal(err)
	}
	return c
}

func connectOne(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(quietLogger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// reconfigure applies an incremental reconfig, retrying what may be
// transient (a lost connection while the leader goes, a change still in
// progress) until /zookeeper/config shows the change made.
func reconfigure(t *testing.T, c *zk.Conn, joining, leaving []string) {
	t.Helper()
	done := func() bool {
		data, _, err := c.Get("/zookeeper/config")
		if err != nil {
			return false
		}
		for _, j := range joining {
			if !strings.Contains(string(data), j) {
				return false
			}
		}
		for _, l := range leaving {
			if strings.Contains(string(data), "server."+l+"=") {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(hangGuard)
	for {
		_, err := c.IncrementalReconfig(joining, leaving, -1)
		if err == nil || done() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reconfig +%v -%v: %v", joining, leaving, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitServing waits until the server at addr is a leader or follower.
func waitServing(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	defer cancel()
	for m := Mode(ctx, addr); m != "leader" && m != "follower"; m = Mode(ctx, addr) {
		select {
		case <-ctx.Done():
			t.Fatalf("%s never became a leader or follower", addr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// syncWhenServing syncs c, connected to addr alone, retrying while the
// server refuses the connection (it is between leaders).
func syncWhenServing(t *testing.T, c *zk.Conn, addr string) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		_, err := c.Sync("/")
		if err == nil {
			return
		}
		if !errors.Is(err, zk.ErrNoServer) || time.Now().After(deadline) {
			t.Fatalf("sync on %s: %v", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// leaderID is the id (position + 1) of the server in addrs that leads.
func leaderID(t *testing.T, addrs []string) int {
	t.Helper()
	for i, a := range addrs {
		if Mode(t.Context(), a) == "leader" {
			return i + 1
		}
	}
	t.Fatalf("no leader among %v", addrs)
	return 0
}

// writeLoad creates nodes one after another until stop, which returns the
// paths whose create was acknowledged. Failures (a lost connection while a
// server leaves) are retried with the next path.
func writeLoad(t *testing.T, addrs []string) (stop func() []string) {
	t.Helper()
	c, _, err := zk.Connect(addrs, 10*time.Second, zk.WithLogger(quietLogger))
	if err != nil {
		t.Fatal(err)
	}
	quit, done := make(chan struct{}), make(chan []string)
	go func() {
		var acked []string
		for i := 0; ; i++ {
			select {
			case <-quit:
				c.Close()
				done <- acked
				return
			default:
			}
			p := fmt.Sprintf("/load-%06d", i)
			if _, err := c.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err == nil {
				acked = append(acked, p)
			} else {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()
	return func() []string {
		close(quit)
		return <-done
	}
}
