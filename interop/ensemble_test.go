package interop

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// ensembles lists the quorums the failover tests run against: zkserver, and
// Apache ZooKeeper as the control that shows the expectations are right.
var ensembles = []struct {
	name  string
	start EnsembleStarter
}{
	{"zkserver", StartZookitEnsemble},
	{"apache", StartApacheEnsemble},
}

// failoverOpts shortens the tick so that the sessions' 10 s timeout is the
// most the servers allow (20 ticks): a session that survives a failover does
// so by moving, not by outlasting a long timeout.
var failoverOpts = Options{TickTime: 500}

const failoverSessionTimeout = 10 * time.Second

// TestEnsembleFailoverGoClient kills the server a go-zookeeper/zk session is
// connected to, once a follower and once the leader, and requires the client
// to resume the same session on another server with its ephemeral node intact
// and writes accepted.
func TestEnsembleFailoverGoClient(t *testing.T) {
	Require(t, ZooKeeper)
	for _, e := range ensembles {
		for _, victim := range []string{"follower", "leader"} {
			t.Run(e.name+"/"+victim, func(t *testing.T) {
				addrs := e.start(t, 3, 0, failoverOpts)
				// The session lands on the victim first and would move on
				// in ensemble order.
				i := slices.IndexFunc(addrs, func(a string) bool { return Mode(t.Context(), a) == victim })
				if i < 0 {
					t.Fatalf("no %s among %v", victim, addrs)
				}
				order := append(slices.Clone(addrs[i:]), addrs[:i]...)
				conn, events, err := zk.Connect(order, failoverSessionTimeout,
					zk.WithLogger(quietLogger), zk.WithHostProvider(&orderedHosts{addrs: order}))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(conn.Close)
				awaitState(t, events, zk.StateHasSession)
				if got := conn.Server(); got != order[0] {
					t.Fatalf("connected to %s, want the %s %s", got, victim, order[0])
				}
				const path = "/failover-go"
				if _, err := conn.Create(path, []byte("before"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
					t.Fatal(err)
				}
				sid := conn.SessionID()

				Kill(t, order[0])
				killed := time.Now()
				awaitState(t, events, zk.StateDisconnected)
				awaitState(t, events, zk.StateHasSession)
				var ok bool
				var st *zk.Stat
				if err := retryConnLoss(func() (err error) { ok, st, err = conn.Exists(path); return err }); err != nil || !ok {
					t.Fatalf("ephemeral %s after failover: exists %v, %v", path, ok, err)
				}
				if st.EphemeralOwner != sid {
					t.Fatalf("ephemeral owner %#x, want the session %#x", st.EphemeralOwner, sid)
				}
				if err := retryConnLoss(func() error { _, err := conn.Set(path, []byte("after"), -1); return err }); err != nil {
					t.Fatalf("set after failover: %v", err)
				}
				wrote := time.Since(killed)
				if got := conn.SessionID(); got != sid {
					t.Fatalf("session %#x after failover, want %#x", got, sid)
				}
				moved := conn.Server()
				if moved == order[0] {
					t.Fatalf("still connected to the killed server %s", moved)
				}
				// The write must have reached the quorum, not only the
				// server that took the session over.
				other := order[1]
				if other == moved {
					other = order[2]
				}
				expectReplicated(t, other, path, "after", sid)
				t.Logf("session %#x moved from the %s %s to %s; first write %v after the kill", sid, victim, order[0], moved, wrote.Round(time.Millisecond))
			})
		}
	}
}

// TestEnsembleFailoverCurator runs java/FailoverCheck.java with the full
// connect string, kills the server its session is on (found with cons), and
// requires Curator to keep the session: no LOST state, the ephemeral node
// still its own, writes accepted.
func TestEnsembleFailoverCurator(t *testing.T) {
	Require(t, ZooKeeper, Curator)
	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	cp, err := CompileJava(ctx, t.TempDir(), "FailoverCheck")
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ensembles {
		t.Run(e.name, func(t *testing.T) {
			addrs := e.start(t, 3, 0, failoverOpts)
			const path = "/failover-curator"
			ctx, cancel := context.WithTimeout(t.Context(), 2*hangGuard)
			defer cancel()
			cmd := exec.CommandContext(ctx, "java", "-cp", cp, "FailoverCheck", strings.Join(addrs, ","), path)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			var seen []string
			// next returns the next stdout line that starts with prefix,
			// failing the test when the program ends or stalls first.
			next := func(prefix string) string {
				t.Helper()
				for {
					select {
					case l, ok := <-lines:
						if !ok {
							stdin.Close()
							t.Fatalf("FailoverCheck ended before printing %q: %v\nstdout:\n%s\nstderr:\n%s",
								prefix, cmd.Wait(), strings.Join(seen, "\n"), lastBytes(stderr.String(), 4<<10))
						}
						seen = append(seen, l)
						if strings.HasPrefix(l, prefix) {
							return l
						}
					case <-time.After(hangGuard):
						t.Fatalf("FailoverCheck did not print %q within %v; stdout:\n%s", prefix, hangGuard, strings.Join(seen, "\n"))
					}
				}
			}
			t.Cleanup(func() {
				stdin.Close()
				cmd.Process.Kill()
				for range lines {
				}
				cmd.Wait()
			})

			sid := strings.TrimPrefix(next("SESSION "), "SESSION ")
			victim := sessionServer(t, addrs, sid)
			role := Mode(ctx, victim)
			Kill(t, victim)
			if _, err := fmt.Fprintln(stdin, "killed"); err != nil {
				t.Fatal(err)
			}
			for _, ok := range []string{"OK same session", "OK ephemeral kept", "OK wrote after failover", "OK reconnected without LOST"} {
				next(ok)
			}
			var owner int64
			if _, err := fmt.Sscanf(sid, "0x%x", &owner); err != nil {
				t.Fatalf("session id %q: %v", sid, err)
			}
			expectReplicated(t, addrs[slices.IndexFunc(addrs, func(a string) bool { return a != victim })], path, "after", owner)
			stdin.Close()
			for l := range lines {
				seen = append(seen, l)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("FailoverCheck: %v\nstdout:\n%s\nstderr:\n%s", err, strings.Join(seen, "\n"), lastBytes(stderr.String(), 4<<10))
			}
			if slices.Contains(seen, "STATE LOST") {
				t.Fatalf("Curator reported LOST:\n%s", strings.Join(seen, "\n"))
			}
			t.Logf("Curator session %s survived the kill of the %s %s; states: %v", sid, role, victim,
				slices.DeleteFunc(slices.Clone(seen), func(l string) bool { return !strings.HasPrefix(l, "STATE ") }))
		})
	}
}

// sessionServer returns the server whose cons lists a connection of session
// sid (0x-prefixed hex, as cons prints it).
func sessionServer(t *testing.T, addrs []string, sid string) string {
	t.Helper()
	for _, a := range addrs {
		out, err := FourLetterWord(t.Context(), a, "cons")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, ",sid="+sid+",") {
			return a
		}
	}
	t.Fatalf("no server lists session %s in cons", sid)
	return ""
}

// expectReplicated reads path on the server at addr, in a session of its own
// after a sync, and requires the data and ephemeral owner a failed-over
// session left there.
func expectReplicated(t *testing.T, addr, path, data string, owner int64) {
	t.Helper()
	conn, _, err := zk.Connect([]string{addr}, failoverSessionTimeout, zk.WithLogger(quietLogger))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Sync(path); err != nil {
		t.Fatalf("sync on %s: %v", addr, err)
	}
	got, st, err := conn.Get(path)
	if err != nil {
		t.Fatalf("get %s on %s: %v", path, addr, err)
	}
	if string(got) != data || st.EphemeralOwner != owner {
		t.Fatalf("%s on %s: data %q owner %#x, want %q owner %#x", path, addr, got, st.EphemeralOwner, data, owner)
	}
}

// awaitState reads session events until want, failing on expiry or after
// hangGuard.
func awaitState(t *testing.T, events <-chan zk.Event, want zk.State) {
	t.Helper()
	timeout := time.After(hangGuard)
	for {
		select {
		case ev := <-events:
			if ev.Type != zk.EventSession {
				continue
			}
			if ev.State == zk.StateExpired {
				t.Fatalf("session expired while waiting for %v", want)
			}
			if ev.State == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %v within %v", want, hangGuard)
		}
	}
}

// retryConnLoss repeats op while it fails with the connection losses a
// failover causes, as a ZooKeeper client must: a request in flight when its
// server goes is lost with the connection. It gives up after hangGuard.
func retryConnLoss(op func() error) error {
	deadline := time.Now().Add(hangGuard)
	for {
		err := op()
		if !errors.Is(err, zk.ErrConnectionClosed) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// orderedHosts is a zk.HostProvider that tries the servers in its own order,
// where go-zk shuffles them (Connect even shuffles the list it gives Init), so
// that a test decides which server a session is on.
type orderedHosts struct {
	addrs []string
	next  int
	// untried counts the servers left before every one has failed since the
	// last connection, when go-zk wants retryStart to pause.
	untried int
}

func (h *orderedHosts) Init([]string) error {
	h.untried = len(h.addrs)
	return nil
}

func (h *orderedHosts) Len() int { return len(h.addrs) }

func (h *orderedHosts) Next() (string, bool) {
	retryStart := h.untried == 0
	if retryStart {
		h.untried = len(h.addrs)
	}
	h.untried--
	addr := h.addrs[h.next%len(h.addrs)]
	h.next++
	return addr, retryStart
}

func (h *orderedHosts) Connected() { h.untried = len(h.addrs) }
