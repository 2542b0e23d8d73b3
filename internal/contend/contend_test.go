package contend_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/goleak"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/internal/contend"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/recipes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMaxLeases(t *testing.T) {
	kids := []string{"a", "b", "c", "d"}
	for _, tc := range []struct {
		n     int
		ours  string
		won   bool
		watch string
		err   error
	}{
		{1, "a", true, "", nil},
		{1, "b", false, "a", nil},
		{1, "d", false, "c", nil},
		{2, "b", true, "", nil},
		{2, "d", false, "b", nil},
		{1, "x", false, "", contend.ErrMissing},
	} {
		won, watch, err := contend.MaxLeases(tc.n)(kids, tc.ours)
		if won != tc.won || watch != tc.watch || !errors.Is(err, tc.err) {
			t.Errorf("MaxLeases(%d)(%s) = %v, %q, %v; want %v, %q, %v", tc.n, tc.ours, won, watch, err, tc.won, tc.watch, tc.err)
		}
	}
}

func mutex(c *recipes.Client, base string) *contend.Contender {
	return &contend.Contender{Client: c, Base: base, Name: "lock-", Won: contend.MaxLeases(1)}
}

// waitGone polls until p no longer exists: abandoned nodes are deleted in
// the background.
func waitGone(t *testing.T, ctx context.Context, c *recipes.Client, p string) {
	t.Helper()
	locktest.Eventually(t, ctx, func() bool {
		st, err := c.Exists(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return st == nil
	}, func() string { return p + " never deleted" })
}

// A try that would wait, and a wait whose context ends, leave no node.
func TestAbandonedNodesGo(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	k := mutex(c, "/m")
	held, _, err := k.Acquire(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.Acquire(ctx, true); !errors.Is(err, contend.ErrWouldWait) {
		t.Fatalf("try while held: %v, want ErrWouldWait", err)
	}
	short, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	if _, _, err := k.Acquire(short, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait with an ending context: %v", err)
	}
	var kids []string
	locktest.Eventually(t, ctx, func() bool {
		if kids, err = k.Sorted(ctx); err != nil {
			t.Fatal(err)
		}
		return len(kids) == 1 && "/m/"+kids[0] == held
	}, func() string { return fmt.Sprintf("children %v; want only the holder %s", kids, held) })
}

// WaitChildren waits for a parent that does not exist yet.
func TestWaitChildrenMissingParent(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	done := make(chan error, 1)
	go func() {
		done <- contend.WaitChildren(ctx, c, "/later", func(kids []string) (bool, error) { return len(kids) == 2, nil })
	}()
	for _, p := range []string{"/later", "/later/a", "/later/b"} {
		select {
		case err := <-done:
			t.Fatalf("returned before %s: %v", p, err)
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := c.Create(ctx, p, nil, recipes.Persistent); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A Hold whose node someone deletes closes Done, and its guarded writes
// fail with ErrNotHeld, while a caller's own failing op is reported as
// that op.
func TestHoldGuard(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	a, err := mutex(c, "/a").Hold(ctx, false, contend.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.Exists(ctx, a.Path()); err != nil || st == nil || st.Czxid != a.Fence() {
		t.Fatalf("fence %d, node %+v %v", a.Fence(), st, err)
	}
	b, err := mutex(c, "/b").Hold(ctx, false, contend.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	both := contend.Combine([]*contend.Hold{a, b})
	if both.Fence() != max(a.Fence(), b.Fence()) || both.Path() != "" {
		t.Fatalf("combined fence %d path %q", both.Fence(), both.Path())
	}
	_, err = both.Guard(ctx, &zk.DeleteRequest{Path: "/absent", Version: -1})
	var op *recipes.OpError
	if errors.Is(err, contend.ErrNotHeld) || !errors.As(err, &op) || op.Index != 0 || !errors.Is(err, zk.ErrNoNode) {
		t.Fatalf("guarded delete of a missing node: %v", err)
	}
	if err := c.Delete(ctx, b.Path(), -1); err != nil {
		t.Fatal(err)
	}
	<-b.Done()
	<-both.Done()
	select {
	case <-a.Done():
		t.Fatal("a's Done closed with b's")
	default:
	}
	if _, err := both.Guard(ctx, &zk.CreateRequest{Path: "/x", Flags: zk.FlagEphemeral}); !errors.Is(err, contend.ErrNotHeld) {
		t.Fatalf("guard with b gone: %v, want ErrNotHeld", err)
	}
	if st, _ := c.Exists(ctx, "/x"); st != nil {
		t.Fatal("a guarded create happened without the hold")
	}
	if err := contend.Release(ctx, both); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ctx, c, a.Path())
	if _, err := a.Guard(ctx); !errors.Is(err, contend.ErrNotHeld) {
		t.Fatalf("guard after release: %v, want ErrNotHeld", err)
	}
}

// Done closes when the node is deleted, whether the deletion comes before
// or after Done is first called (which is when the node's watch is set).
func TestHoldDoneOnDeletion(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	for _, early := range []bool{true, false} {
		h, err := mutex(c, "/d").Hold(ctx, false, contend.Policy{})
		if err != nil {
			t.Fatal(err)
		}
		var done <-chan struct{}
		if early {
			done = h.Done()
		}
		if err := c.Delete(ctx, h.Path(), -1); err != nil {
			t.Fatal(err)
		}
		if !early {
			done = h.Done()
		}
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatalf("Done called early=%v never closed after the node was deleted", early)
		}
		contend.Release(ctx, h)
	}
}

// Take refuses a node another session owns, however it sorts.
func TestTakeChecksOwner(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	mine := locktest.Connect(t, srv.Addr())
	other := locktest.Connect(t, srv.Addr())
	node, _, err := mutex(other, "/t").Acquire(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := contend.Take(ctx, mine, node, contend.Policy{}); !errors.Is(err, contend.ErrMissing) {
		t.Fatalf("take of another session's node: %v, want ErrMissing", err)
	}
	h, err := contend.Take(ctx, other, node, contend.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	contend.Release(ctx, h)
}
