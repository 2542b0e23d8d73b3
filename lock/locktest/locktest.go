package locktest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
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

// Kinds of lock Workers runs, named as LockPeer.java names them.
const (
	KindMutex     = "mutex"
	KindWrite     = "write"
	KindRead      = "read"
	KindSemaphore = "semaphore"
)

// Check proves exclusion from the server's point of view while l is held,
// with the same marker nodes as LockPeer.java, so Go and Java holders check
// each other: a mutex or write holder creates the ephemeral <path>-holder
// (ErrNodeExists means two holders) and a writer also finds no reader; a
// reader registers under <path>-readers and finds no writer; a semaphore
// holder registers under <path>-holders and counts at most maxLeases.
func Check(ctx context.Context, c *recipes.Client, l *lock.Lease, kind, path string, maxLeases int) error {
	switch kind {
	case KindMutex, KindWrite:
		marker := path + "-holder"
		// Guard: the marker is made only while the lock node exists.
		if _, err := l.Guard(ctx, &zk.CreateRequest{Path: marker, Flags: zk.FlagEphemeral}); err != nil {
			return fmt.Errorf("overlap? create %s: %w", marker, err)
		}
		if kind == KindWrite {
			if n, err := countChildren(ctx, c, path+"-readers"); err != nil || n > 0 {
				return fmt.Errorf("overlap? %d readers inside while writing (%v)", n, err)
			}
		}
		return c.Delete(ctx, marker, -1)
	case KindRead:
		me, err := c.CreateWithParents(ctx, path+"-readers/r-", nil, zk.FlagEphemeralSequential)
		if err != nil {
			return err
		}
		if st, err := c.Exists(ctx, path+"-holder"); err != nil || st != nil {
			return fmt.Errorf("overlap? writer inside while reading (%v)", err)
		}
		return c.Delete(ctx, me, -1)
	case KindSemaphore:
		me, err := c.CreateWithParents(ctx, path+"-holders/h-", nil, zk.FlagEphemeralSequential)
		if err != nil {
			return err
		}
		if n, err := countChildren(ctx, c, path+"-holders"); err != nil || n > maxLeases {
			return fmt.Errorf("overlap? %d lease holders, max %d (%v)", n, maxLeases, err)
		}
		return c.Delete(ctx, me, -1)
	}
	return fmt.Errorf("unknown kind %q", kind)
}

func countChildren(ctx context.Context, c *recipes.Client, p string) (int, error) {
	kids, err := c.Children(ctx, p)
	if errors.Is(err, zk.ErrNoNode) {
		return 0, nil
	}
	return len(kids), err
}

// Workers runs workers goroutines on c, each taking the kind of lock on path
// at least rounds times, and on until until is closed (nil: no more), and
// running Check while holding it. It returns the number of acquisitions;
// failures are reported on t.
func Workers(t testing.TB, ctx context.Context, c *recipes.Client, kind, path string, workers, rounds, maxLeases int, until <-chan struct{}) int64 {
	more := func() bool {
		if until == nil {
			return false
		}
		select {
		case <-until:
			return false
		default:
			return true
		}
	}
	var acquire func(context.Context) (*lock.Lease, error)
	switch kind {
	case KindMutex:
		acquire = lock.NewMutex(c, path).Lock
	case KindWrite:
		acquire = lock.NewRWMutex(c, path).Lock
	case KindRead:
		acquire = lock.NewRWMutex(c, path).RLock
	case KindSemaphore:
		acquire = lock.NewSemaphore(c, path, maxLeases).Acquire
	default:
		t.Fatalf("unknown kind %q", kind)
	}
	var wg sync.WaitGroup
	var acquired atomic.Int64
	var described sync.Once
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds || more(); r++ {
				l, err := acquire(ctx)
				if err != nil {
					t.Errorf("%s: acquire: %v", kind, err)
					described.Do(func() { t.Logf("at the failure:\n%s", Describe(c, path)) })
					return
				}
				if err := Check(ctx, c, l, kind, path, maxLeases); err != nil {
					t.Errorf("%s: %v", kind, err)
				}
				if err := l.Unlock(ctx); err != nil {
					t.Errorf("%s: unlock: %v", kind, err)
				}
				acquired.Add(1)
			}
		}()
	}
	wg.Wait()
	return acquired.Load()
}

// Describe lists the nodes under path with their owners and czxids, and
// the client's session, so that a lock test that times out shows who
// holds or blocks the lock.
func Describe(c *recipes.Client, path string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var b strings.Builder
	if zc, err := c.Conn(); err == nil {
		fmt.Fprintf(&b, "client session 0x%x, state %v\n", zc.SessionID(), zc.State())
	}
	var walk func(p string, depth int)
	walk = func(p string, depth int) {
		kids, err := c.Children(ctx, p)
		if err != nil {
			fmt.Fprintf(&b, "%s%s: %v\n", strings.Repeat("  ", depth), p, err)
			return
		}
		slices.Sort(kids)
		for _, k := range kids {
			child := p + "/" + k
			if st, err := c.Exists(ctx, child); err == nil && st != nil {
				fmt.Fprintf(&b, "%s%s owner=0x%x czxid=%d\n", strings.Repeat("  ", depth), child, st.EphemeralOwner, st.Czxid)
			}
			walk(child, depth+1)
		}
	}
	walk(path, 0)
	return b.String()
}

// Contention runs workers goroutines on each of sessions clients, all taking
// the Mutex on path rounds times, and checks that holders never overlap and
// that no node is left behind.
func Contention(t *testing.T, addr, path string, sessions, workers, rounds int) {
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	var wg sync.WaitGroup
	var acquired atomic.Int64
	for s := 0; s < sessions; s++ {
		c := Connect(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			acquired.Add(Workers(t, ctx, c, KindMutex, path, workers, rounds, 1, nil))
		}()
	}
	wg.Wait()
	if got, want := acquired.Load(), int64(sessions*workers*rounds); got != want {
		t.Errorf("%d acquisitions, want %d", got, want)
	}
	c := Connect(t, addr)
	if n, err := countChildren(ctx, c, path); err != nil || n != 0 {
		t.Errorf("%d nodes left under %s (%v)", n, path, err)
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
	if _, err := la.Guard(ctx, &zk.CreateRequest{Path: path + "-stale", Flags: zk.FlagEphemeral}); !errors.Is(err, lock.ErrNotHeld) {
		t.Fatalf("guarded write by a released lease: %v, want ErrNotHeld", err)
	}
	// A guarded write whose own op fails reports that op, not ErrNotHeld.
	_, err = lb.Guard(ctx, &zk.DeleteRequest{Path: path + "-absent", Version: -1})
	var op *recipes.OpError
	if !errors.Is(err, zk.ErrNoNode) || errors.Is(err, lock.ErrNotHeld) || !errors.As(err, &op) || op.Index != 0 {
		t.Fatalf("guarded delete of a missing node: %v, want the op's own ErrNoNode at index 0", err)
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

// Eventually polls cond until it holds, failing the test with what
// describe says (called then, so it can show the last state seen) when ctx
// ends first. Tests use it for what the server does in the background
// (deleting abandoned nodes, expiring sessions).
func Eventually(t testing.TB, ctx context.Context, cond func() bool, describe func() string) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal(describe())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
