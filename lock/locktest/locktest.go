// Package locktest holds lock tests that take only a server address, so that
// the same bodies run against the in-process ensemble (package lock's tests)
// and against Apache ZooKeeper and zkserver (package interop's tests).
package locktest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/lock"
	"github.com/zookit/zookit/recipes"
)

// Guard bounds every test so that a bug fails it instead of hanging.
const Guard = 90 * time.Second

// Connect opens a Client for a test and closes it when the test ends.
func Connect(t testing.TB, addr string, opts ...recipes.Option) *recipes.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	c, err := recipes.New(ctx, []string{addr}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Overlap proves mutual exclusion from the server's point of view: a holder
// creates the ephemeral marker node under its lock (a guarded multi) and
// deletes it before unlocking, so zk.ErrNodeExists means two holders.
type Overlap struct {
	Marker string
	inside atomic.Int32
}

// Enter creates the marker under l; it fails the test on any overlap.
func (o *Overlap) Enter(t testing.TB, ctx context.Context, l *lock.Lease) {
	t.Helper()
	if n := o.inside.Add(1); n != 1 {
		t.Errorf("%d holders in this process", n)
	}
	if _, err := l.Guard(ctx, &zk.CreateRequest{Path: o.Marker, Flags: zk.FlagEphemeral}); err != nil {
		t.Errorf("enter %s: %v (ErrNodeExists means two holders)", o.Marker, err)
	}
}

// Leave deletes the marker under l.
func (o *Overlap) Leave(t testing.TB, ctx context.Context, l *lock.Lease) {
	t.Helper()
	o.inside.Add(-1)
	if _, err := l.Guard(ctx, &zk.DeleteRequest{Path: o.Marker, Version: -1}); err != nil {
		t.Errorf("leave %s: %v", o.Marker, err)
	}
}

// Contention runs workers goroutines on each of sessions clients, each
// taking the Mutex on path rounds times, and checks that holders never
// overlap, in this process or on the server.
func Contention(t *testing.T, addr, path string, sessions, workers, rounds int) {
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	ov := &Overlap{Marker: path + "-holder"}
	var wg sync.WaitGroup
	var acquired atomic.Int64
	for s := 0; s < sessions; s++ {
		c := Connect(t, addr)
		m := lock.NewMutex(c, path)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := 0; r < rounds; r++ {
					l, err := m.Lock(ctx)
					if err != nil {
						t.Errorf("lock: %v", err)
						return
					}
					ov.Enter(t, ctx, l)
					ov.Leave(t, ctx, l)
					if err := l.Unlock(ctx); err != nil {
						t.Errorf("unlock: %v", err)
					}
					acquired.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	if got, want := acquired.Load(), int64(sessions*workers*rounds); got != want {
		t.Errorf("%d acquisitions, want %d", got, want)
	}
	c := Connect(t, addr)
	if kids, err := c.Children(ctx, path); err != nil && !errors.Is(err, zk.ErrNoNode) {
		t.Fatal(err)
	} else if len(kids) != 0 {
		t.Errorf("nodes left under %s: %v", path, kids)
	}
}

// Fencing checks TryLock, re-entrancy and that each new holder's fence is
// larger than the last.
func Fencing(t *testing.T, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	a := lock.NewMutex(Connect(t, addr), path)
	b := lock.NewMutex(Connect(t, addr), path)
	la, err := a.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("TryLock while held: %v, want ErrLocked", err)
	}
	if err := la.Reenter(); err != nil {
		t.Fatal(err)
	}
	if err := la.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("TryLock while still held once: %v, want ErrLocked", err)
	}
	if err := la.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := la.Unlock(ctx); !errors.Is(err, lock.ErrReleased) {
		t.Fatalf("third Unlock: %v, want ErrReleased", err)
	}
	select {
	case <-la.Done():
	default:
		t.Fatal("Done open after release")
	}
	lb, err := b.TryLock(ctx)
	if err != nil {
		t.Fatalf("TryLock when free: %v", err)
	}
	defer lb.Unlock(ctx)
	if lb.Fence() <= la.Fence() {
		t.Fatalf("fence %d after %d", lb.Fence(), la.Fence())
	}
	// A guarded write from the old holder must fail.
	if _, err := la.Guard(ctx, &zk.CreateRequest{Path: path + "-stale", Flags: zk.FlagEphemeral}); !errors.Is(err, zk.ErrNoNode) {
		t.Fatalf("guarded write by a released lease: %v, want ErrNoNode", err)
	}
}

// Environment of a holder process (see HoldIfAsked).
const (
	envHoldAddr = "ZOOKIT_LOCKTEST_HOLD_ADDR"
	envHoldPath = "ZOOKIT_LOCKTEST_HOLD_PATH"
)

// HoldIfAsked turns the test binary into a lock holder when the environment
// says so: it takes the Mutex, prints "HELD <node>" and waits to be killed.
// Call it from an init function of a _test.go file.
func HoldIfAsked() {
	addr := os.Getenv(envHoldAddr)
	if addr == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	c, err := recipes.New(ctx, []string{addr}, recipes.WithSessionTimeout(4*time.Second))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	l, err := lock.NewMutex(c, os.Getenv(envHoldPath)).Lock(ctx)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	fmt.Println("HELD", l.Path())
	<-ctx.Done()
	os.Exit(3)
}

// KilledHolder starts a holder process (this test binary, see HoldIfAsked),
// kills it with SIGKILL while it holds the lock, and checks that the lock
// passes to a waiter once the server expires the dead session.
func KilledHolder(t *testing.T, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHoldAddr+"="+addr, envHoldPath+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HELD ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("holder process: %q, %v", line, err)
	}
	node := strings.TrimSpace(strings.TrimPrefix(line, "HELD "))
	c := Connect(t, addr)
	if _, err := lock.NewMutex(c, path).TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("TryLock while the holder lives: %v", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	l, err := lock.NewMutex(c, path).Lock(ctx)
	if err != nil {
		t.Fatalf("lock after the holder was killed: %v", err)
	}
	defer l.Unlock(ctx)
	if st, err := c.Exists(ctx, node); err != nil || st != nil {
		t.Fatalf("dead holder's node %s: stat %v, %v", node, st, err)
	}
}
