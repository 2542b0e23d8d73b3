package lock_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/goleak"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/recipes"
)

func init() { locktest.HoldIfAsked() }

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMutexContention(t *testing.T) {
	srv := ensembletest.Start(t)
	locktest.Contention(t, srv.Addr(), "/locks/contention", 3, 4, 5)
}

func TestMutexFencing(t *testing.T) {
	srv := ensembletest.Start(t)
	locktest.Fencing(t, srv.Addr(), "/locks/fence")
}

func TestMutexKilledHolder(t *testing.T) {
	srv := ensembletest.Start(t)
	locktest.KilledHolder(t, srv.Addr(), "/locks/killed")
}

// A failed TryLock takes its node away before it returns, so the next try
// on the path, here or in another process, does not find it in the way.
func TestMutexFailedTryLeavesNoNode(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	m := lock.NewMutex(locktest.Connect(t, srv.Addr()), "/locks/try")
	if _, err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	other := lock.NewMutex(locktest.Connect(t, srv.Addr()), "/locks/try")
	holderAlone := func(after string, i int) {
		t.Helper()
		ps, err := m.Participants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 1 {
			t.Fatalf("after %s %d the path holds %v, want the holder's node alone", after, i, ps)
		}
	}
	for i := 0; i < 20; i++ {
		if _, err := other.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
			t.Fatalf("TryLock on a held mutex: %v", err)
		}
		holderAlone("failed try", i)
	}
	// A wait whose context ends leaves nothing behind either, though its
	// context can no longer carry the delete.
	for i := 0; i < 5; i++ {
		wctx, wcancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err := other.Lock(wctx)
		wcancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock on a held mutex until a deadline: %v", err)
		}
		holderAlone("timed-out wait", i)
	}
}

var curatorName = regexp.MustCompile(`^_c_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-lock-\d{10}$`)

func TestMutexLayout(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr(), recipes.WithNamespace("app"))
	l, err := lock.NewMutex(c, "/a/b", lock.WithData([]byte("me"))).Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw := locktest.Connect(t, srv.Addr())
	kids, err := raw.Children(ctx, "/app/a/b")
	if err != nil || len(kids) != 1 || !curatorName.MatchString(kids[0]) {
		t.Fatalf("children of /app/a/b: %v, %v; want one Curator-style lock node", kids, err)
	}
	if "/a/b/"+kids[0] != l.Path() {
		t.Errorf("lease path %s, node %s", l.Path(), kids[0])
	}
	data, st, err := raw.Get(ctx, "/app/a/b/"+kids[0])
	if err != nil || string(data) != "me" || st.EphemeralOwner != c.SessionID() || st.Czxid != l.Fence() {
		t.Errorf("node data %q stat %+v err %v; fence %d", data, st, err, l.Fence())
	}
	// Parents, namespace included, are containers: the server reaps them
	// once the lock is released.
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		st, err := raw.Exists(ctx, "/app")
		if err != nil {
			t.Fatal(err)
		}
		if st == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("container parents never reaped")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestMutexSessionExpiry: when the holder's session expires, Done closes,
// its node is gone and the next contender proceeds.
func TestMutexSessionExpiry(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	a := locktest.Connect(t, srv.Addr())
	b := locktest.Connect(t, srv.Addr())
	la, err := lock.NewMutex(a, "/locks/expiry").Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *lock.Lease, 1)
	go func() {
		lb, err := lock.NewMutex(b, "/locks/expiry").Lock(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- lb
	}()
	if err := srv.ExpireSession(a.SessionID()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-la.Done():
	case <-ctx.Done():
		t.Fatal("Done not closed after session expiry")
	}
	lb := <-got
	if lb == nil {
		t.FailNow()
	}
	if st, err := b.Exists(ctx, la.Path()); err != nil || st != nil {
		t.Errorf("expired holder's node: %v, %v", st, err)
	}
	// The client moved on to a new session and can lock again.
	if err := lb.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	la2, err := lock.NewMutex(a, "/locks/expiry").Lock(ctx)
	if err != nil {
		t.Fatalf("lock on the new session: %v", err)
	}
	la2.Unlock(ctx)
}

// TestMutexServerRestart restarts the server while many contenders create
// and wait: afterwards every lock node belongs to a live contender (no
// orphan, no duplicate), and the lock still excludes.
func TestMutexServerRestart(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	const path = "/locks/restart"
	c := locktest.Connect(t, srv.Addr(), recipes.WithRetry(recipes.RetryUntilElapsed(20*time.Second, 50*time.Millisecond)))
	m := lock.NewMutex(c, path, lock.WithSuspendTolerance(time.Minute))
	// Only an in-process check here: a guarded marker create whose reply is
	// lost in the restart would report a false overlap on its retry.
	var inside atomic.Int32
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			for r := 0; r < 4; r++ {
				l, err := m.Lock(ctx)
				if err != nil {
					errs <- err
					return
				}
				if n := inside.Add(1); n != 1 {
					t.Errorf("%d holders", n)
				}
				inside.Add(-1)
				l.Unlock(ctx)
			}
			errs <- nil
		}()
	}
	srv.Restart()
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	kids, err := c.Children(ctx, path)
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		t.Fatal(err)
	}
	if len(kids) != 0 {
		t.Errorf("orphans under %s: %s", path, strings.Join(kids, " "))
	}
}
