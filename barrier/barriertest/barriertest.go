package barriertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/google/uuid"

	"github.com/zookit/zookit/barrier"
	"github.com/zookit/zookit/internal/contend"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/recipes"
)

// Guard bounds every test so that a bug fails it instead of hanging.
const Guard = locktest.Guard

// Connect opens a Client for a test and closes it when the test ends.
var Connect = locktest.Connect

// Marker directories beside a double barrier's path. Every member, Go or
// Java (see BarrierPeer.java), registers in Arrived before Enter and in
// Leaving before Leave, with persistent nodes that outlive its session, so
// that counting them when Enter or Leave returns shows from the server's
// side whether the barrier waited for everyone.
func Arrived(path string) string { return path + "-arrived" }

// Leaving is the directory members register in before Leave (see Arrived).
func Leaving(path string) string { return path + "-leaving" }

// Run is what one member saw.
type Run struct {
	// Entered is the number of members registered in Arrived when Enter
	// returned: it must be every member.
	Entered int
	// Left is the number registered in Leaving when Leave returned: it must
	// be every member.
	Left int
	// Remaining is the number of members' nodes under the barrier path when
	// Leave returned: it must be none.
	Remaining int
}

// Member is one member of the double barrier on path with members members:
// it registers, enters, counts, calls beforeLeave (when not nil), registers,
// leaves and counts again, the registrations and what is left on path.
func Member(ctx context.Context, c *recipes.Client, path string, members int, beforeLeave func(context.Context) error) (Run, error) {
	var r Run
	if err := register(ctx, c, Arrived(path)); err != nil {
		return r, err
	}
	d := barrier.NewDouble(c, path, members)
	if err := d.Enter(ctx); err != nil {
		return r, err
	}
	var err error
	if r.Entered, err = Count(ctx, c, Arrived(path)); err != nil {
		return r, err
	}
	if beforeLeave != nil {
		if err := beforeLeave(ctx); err != nil {
			return r, err
		}
	}
	if err := register(ctx, c, Leaving(path)); err != nil {
		return r, err
	}
	if err := d.Leave(ctx); err != nil {
		return r, err
	}
	if r.Left, err = Count(ctx, c, Leaving(path)); err != nil {
		return r, err
	}
	r.Remaining, err = Count(ctx, c, path)
	return r, err
}

func register(ctx context.Context, c *recipes.Client, dir string) error {
	_, err := c.CreateWithParents(ctx, dir+"/"+uuid.NewString(), nil, recipes.Persistent)
	return err
}

// Count counts the children of dir other than the ready node: members'
// nodes under a barrier path, registrations under a marker directory. A
// missing dir has none.
func Count(ctx context.Context, c *recipes.Client, dir string) (int, error) {
	kids, err := c.Children(ctx, dir)
	if errors.Is(err, zk.ErrNoNode) {
		return 0, nil
	}
	return countOf(kids), err
}

func countOf(kids []string) int {
	n := 0
	for _, k := range kids {
		if k != "ready" {
			n++
		}
	}
	return n
}

// WaitCount waits until ok holds for Count of dir.
func WaitCount(ctx context.Context, c *recipes.Client, dir string, ok func(n int) bool) error {
	return contend.WaitChildren(ctx, c, dir, func(kids []string) (bool, error) {
		return ok(countOf(kids)), nil
	})
}

// checkEmpty fails the test unless path has no children: no member left
// behind and no ready node.
func checkEmpty(t *testing.T, ctx context.Context, c *recipes.Client, path string) {
	t.Helper()
	kids, err := c.Children(ctx, path)
	if errors.Is(err, zk.ErrNoNode) {
		return
	}
	if err != nil || len(kids) > 0 {
		t.Errorf("children of %s at the end: %v, %v; want none", path, kids, err)
	}
}

// checkRun fails the test unless a member saw every member at both gates.
func checkRun(t *testing.T, who string, r Run, members int) {
	t.Helper()
	if r.Entered != members {
		t.Errorf("%s: Enter returned when %d of %d members had arrived", who, r.Entered, members)
	}
	if r.Left != members {
		t.Errorf("%s: Leave returned when %d of %d members had started leaving", who, r.Left, members)
	}
	if r.Remaining != 0 {
		t.Errorf("%s: Leave returned with %d members' nodes still there", who, r.Remaining)
	}
}

// Simple checks Barrier: Wait passes a barrier that is down, blocks while
// it is up (a data change included) until ctx ends, and every waiter, each
// in its own session, returns only after Remove.
func Simple(t *testing.T, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	b := barrier.New(Connect(t, addr), path)
	if err := b.Wait(ctx); err != nil {
		t.Fatalf("Wait on a barrier that was never set: %v", err)
	}
	for range 2 {
		if err := b.Set(ctx); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if err := b.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on a barrier that is up: %v, want DeadlineExceeded", err)
	}
	const waiters = 3
	var removed atomic.Bool
	errs := make(chan error, waiters)
	for i := range waiters {
		c := Connect(t, addr)
		go func() {
			err := barrier.New(c, path).Wait(ctx)
			if err == nil && !removed.Load() {
				err = fmt.Errorf("waiter %d passed a barrier that was up", i)
			}
			errs <- err
		}()
	}
	// A change that is not the removal wakes the waiters, which must look
	// again and go on waiting.
	c := Connect(t, addr)
	if _, err := c.Set(ctx, path, []byte("still up"), -1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		t.Fatalf("a waiter returned while the barrier was up: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	removed.Store(true)
	for range 2 {
		if err := b.Remove(ctx); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	}
	for range waiters {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if st, err := c.Exists(ctx, path); err != nil || st != nil {
		t.Errorf("barrier node after Remove: %v, %v", st, err)
	}
}

// Double runs members members of the double barrier on path, each in its
// own session. They arrive one by one, each only once the one before it
// waits inside, and leave one by one, each only once the one before it has
// begun to leave; every member must pass Enter only when all have arrived
// and Leave only when all have begun to leave, and nothing may be left
// under path.
func Double(t *testing.T, addr, path string, members int) {
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	obs := Connect(t, addr)
	runs := make([]Run, members)
	var wg sync.WaitGroup
	for i := range members {
		c := Connect(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			leaveAfter := func(ctx context.Context) error {
				return WaitCount(ctx, c, Leaving(path), func(n int) bool { return n >= i })
			}
			r, err := Member(ctx, c, path, members, leaveAfter)
			if err != nil {
				t.Errorf("member %d: %v", i, err)
			}
			runs[i] = r
		}()
		if i == members-1 {
			break
		}
		if err := WaitCount(ctx, obs, path, func(n int) bool { return n > i }); err != nil {
			t.Errorf("member %d never arrived: %v", i, err)
			cancel()
			break
		}
	}
	wg.Wait()
	for i, r := range runs {
		checkRun(t, fmt.Sprintf("member %d", i), r, members)
	}
	checkEmpty(t, ctx, obs, path)
}

// EnterTimeout checks that a member whose Enter times out leaves no node
// behind and is not counted: a second member alone cannot pass, and the
// first, entering again, passes with it.
func EnterTimeout(t *testing.T, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	obs := Connect(t, addr)
	a := barrier.NewDouble(Connect(t, addr), path, 2)
	b := barrier.NewDouble(Connect(t, addr), path, 2)
	noneLeft := func(who string) {
		t.Helper()
		if err := WaitCount(ctx, obs, path, func(n int) bool { return n == 0 }); err != nil {
			t.Fatalf("%s's node left behind after its Enter timed out: %v", who, err)
		}
	}
	for _, m := range []struct {
		name string
		d    *barrier.DoubleBarrier
	}{{"first", a}, {"second", b}} {
		short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
		err := m.d.Enter(short)
		cancelShort()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s member's Enter alone: %v, want DeadlineExceeded", m.name, err)
		}
		noneLeft(m.name)
	}
	errs := make(chan error, 1)
	go func() { errs <- a.Enter(ctx) }()
	if err := b.Enter(ctx); err != nil {
		t.Fatalf("second member's Enter: %v", err)
	}
	if err := <-errs; err != nil {
		t.Fatalf("first member's Enter again: %v", err)
	}
	go func() { errs <- a.Leave(ctx) }()
	if err := b.Leave(ctx); err != nil {
		t.Fatalf("second member's Leave: %v", err)
	}
	if err := <-errs; err != nil {
		t.Fatalf("first member's Leave: %v", err)
	}
	checkEmpty(t, ctx, obs, path)
}

// ForeignChild makes a child of path that is no member come and go a few
// times, which fires the child watches of the members waiting in Enter.
func ForeignChild(ctx context.Context, c *recipes.Client, path string) error {
	for range 5 {
		if _, err := c.Create(ctx, path+"/foreign", nil, recipes.Persistent); err != nil {
			return err
		}
		if err := c.Delete(ctx, path+"/foreign", -1); err != nil {
			return err
		}
	}
	return nil
}

// Spurious has two of three members wait in Enter while disturb (say
// ForeignChild, or a server restart) wakes them for reasons other than the
// barrier opening. Neither may pass before the third member arrives, and
// all must pass once it has.
func Spurious(t *testing.T, addr, path string, disturb func(ctx context.Context, c *recipes.Client, path string) error) {
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	const members = 3
	obs := Connect(t, addr)
	type result struct {
		who string
		r   Run
		err error
	}
	results := make(chan result, members)
	join := func(who string) {
		c := Connect(t, addr)
		go func() {
			r, err := Member(ctx, c, path, members, nil)
			results <- result{who, r, err}
		}()
	}
	join("first")
	join("second")
	if err := WaitCount(ctx, obs, path, func(n int) bool { return n == 2 }); err != nil {
		t.Fatal(err)
	}
	if err := disturb(ctx, obs, path); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-results:
		t.Fatalf("%s member returned with only two of three inside: %+v, %v", r.who, r.r, r.err)
	case <-time.After(500 * time.Millisecond):
	}
	join("third")
	for range members {
		r := <-results
		if r.err != nil {
			t.Errorf("%s member: %v", r.who, r.err)
		}
		checkRun(t, r.who+" member", r.r, members)
	}
	checkEmpty(t, ctx, obs, path)
}
