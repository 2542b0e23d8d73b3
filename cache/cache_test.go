package cache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/zookit/zookit/cache"
	"github.com/zookit/zookit/cache/cachetest"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/recipes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRandomChanges(t *testing.T) {
	srv := ensembletest.Start(t)
	cachetest.RandomChanges(t, srv.Addr(), "/tree", 3, 200)
}

func TestMissingRoot(t *testing.T) {
	srv := ensembletest.Start(t)
	cachetest.MissingRoot(t, srv.Addr(), "/later")
}

func TestDepth(t *testing.T) {
	srv := ensembletest.Start(t)
	cachetest.Depth(t, srv.Addr(), "/shallow")
}

func TestNodeLifecycle(t *testing.T) {
	srv := ensembletest.Start(t)
	cachetest.NodeLifecycle(t, srv.Addr(), "/config/x")
}

// A cache under a namespace reports Client paths.
func TestNamespace(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr(), recipes.WithNamespace("app"))
	tc := cache.NewTreeCache(c, "/")
	defer tc.Close()
	if _, err := c.CreateWithParents(ctx, "/a/b", []byte("b"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	cachetest.AwaitEqual(t, ctx, tc, c, "/", -1)
	if _, ok := tc.Get("/a/b"); !ok {
		t.Fatalf("snapshot %v", tc.Snapshot())
	}
}

// After the session expires the cache reads everything again in the new
// session: a change made meanwhile shows up as the difference, the events
// end with Initialized, and watches of the new session work.
func TestRebuildAfterExpiry(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	w := locktest.Connect(t, srv.Addr())
	for _, p := range []string{"/r/keep", "/r/gone/child", "/r/changed"} {
		if _, err := w.CreateWithParents(ctx, p, []byte("v1"), recipes.Persistent); err != nil {
			t.Fatal(err)
		}
	}
	tc := cache.NewTreeCache(c, "/r")
	defer tc.Close()
	events := tc.Events(ctx)
	if err := tc.AwaitInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	f := cachetest.Follow(events)
	// Expire first, then change, so that only the rebuild can see it.
	first := c.SessionID()
	if err := srv.ExpireSession(first); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/r/gone/child", "/r/gone"} {
		if err := w.Delete(ctx, p, -1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Set(ctx, "/r/changed", []byte("v2"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Create(ctx, "/r/new", []byte("v1"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	locktest.Eventually(t, ctx, func() bool { return f.Count(cache.Lost) == 1 && f.Count(cache.Initialized) == 2 },
		func() string { return "no Lost and second Initialized" })
	cachetest.AwaitEqual(t, ctx, tc, c, "/r", -1)
	if _, err := w.Set(ctx, "/r/keep", []byte("v2"), -1); err != nil {
		t.Fatal(err)
	}
	cachetest.AwaitEqual(t, ctx, tc, c, "/r", -1)
	f.Check(t, ctx, tc)
	if f.Count(cache.Removed) != 2 || f.Count(cache.Added) != 5+1 || f.Count(cache.Updated) != 2 {
		t.Fatalf("events: Removed %d, Added %d, Updated %d; want 2, 6, 2",
			f.Count(cache.Removed), f.Count(cache.Added), f.Count(cache.Updated))
	}
}

// Changes made while the cache's client is cut off (same session) reach
// the cache after it reconnects, through the watches go-zk sets again.
func TestChangesWhileDisconnected(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	g := ensembletest.NewRelay(t, srv.Addr())
	c := locktest.Connect(t, g.Addr(), recipes.WithSessionTimeout(20*time.Second))
	w := locktest.Connect(t, srv.Addr())
	for _, p := range []string{"/d/a/x", "/d/b"} {
		if _, err := w.CreateWithParents(ctx, p, []byte("v1"), recipes.Persistent); err != nil {
			t.Fatal(err)
		}
	}
	tc := cache.NewTreeCache(c, "/d")
	defer tc.Close()
	f := cachetest.Follow(tc.Events(ctx))
	if err := tc.AwaitInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	session := c.SessionID()
	g.SetDown(true)
	locktest.Eventually(t, ctx, func() bool { return f.Count(cache.Suspended) == 1 }, func() string { return "no Suspended" })
	if _, err := w.Set(ctx, "/d/a/x", []byte("v2"), -1); err != nil {
		t.Fatal(err)
	}
	if err := w.Delete(ctx, "/d/b", -1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Create(ctx, "/d/a/y", []byte("v1"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	g.SetDown(false)
	cachetest.AwaitEqual(t, ctx, tc, c, "/d", -1)
	f.Check(t, ctx, tc)
	if c.SessionID() != session || f.Count(cache.Reconnected) != 1 || f.Count(cache.Lost) != 0 || f.Count(cache.Initialized) != 1 {
		t.Fatalf("session %x (was %x); Reconnected %d, Lost %d, Initialized %d; want the same session, 1, 0, 1",
			c.SessionID(), session, f.Count(cache.Reconnected), f.Count(cache.Lost), f.Count(cache.Initialized))
	}
}

// A session the client gives up on while cut off (Lost after the session
// timeout, then a new session) is rebuilt like an expired one; the old
// connection's watches, closed by go-zk, must not confuse the new epoch.
func TestRebuildAfterSimulatedExpiry(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	g := ensembletest.NewRelay(t, srv.Addr())
	c := locktest.Connect(t, g.Addr(), recipes.WithSessionTimeout(time.Second))
	w := locktest.Connect(t, srv.Addr())
	if _, err := w.CreateWithParents(ctx, "/s/a", []byte("v1"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	tc := cache.NewTreeCache(c, "/s")
	defer tc.Close()
	f := cachetest.Follow(tc.Events(ctx))
	if err := tc.AwaitInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	g.SetDown(true)
	locktest.Eventually(t, ctx, func() bool { return f.Count(cache.Lost) == 1 }, func() string { return "no Lost" })
	if _, err := w.Set(ctx, "/s/a", []byte("v2"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Create(ctx, "/s/b", []byte("v1"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	g.SetDown(false)
	locktest.Eventually(t, ctx, func() bool { return f.Count(cache.Initialized) == 2 }, func() string { return "no second Initialized" })
	cachetest.AwaitEqual(t, ctx, tc, c, "/s", -1)
	if err := w.Delete(ctx, "/s/a", -1); err != nil {
		t.Fatal(err)
	}
	cachetest.AwaitEqual(t, ctx, tc, c, "/s", -1)
	f.Check(t, ctx, tc)
}

// Reads that fail while the client is cut off (its retries spent) are
// done again after it reconnects in the same session.
func TestFailedReadsRetried(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	g := ensembletest.NewRelay(t, srv.Addr())
	core, logs := observer.New(zap.DebugLevel)
	c := locktest.Connect(t, g.Addr(), recipes.WithSessionTimeout(20*time.Second),
		recipes.WithRetry(recipes.RetryNTimes(1, 10*time.Millisecond)), recipes.WithLogger(zap.New(core)))
	w := locktest.Connect(t, srv.Addr())
	const n = 1000
	var ops []any
	for i := range n {
		ops = append(ops, &zk.CreateRequest{Path: fmt.Sprintf("/f/n%04d", i), Acl: zk.WorldACL(zk.PermAll)})
	}
	if _, err := w.Create(ctx, "/f", nil, recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	tc := cache.NewTreeCache(c, "/f")
	defer tc.Close()
	if err := tc.AwaitInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	// One multi makes the cache read a thousand new nodes, one at a time;
	// the cut lands while it does.
	if _, err := w.Multi(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	locktest.Eventually(t, ctx, func() bool { return len(tc.Snapshot()) > 1 }, func() string { return "no node read" })
	g.SetDown(true)
	locktest.Eventually(t, ctx, func() bool { return logs.FilterMessageSnippet("will retry").Len() > 0 },
		func() string { return "no read failed" })
	g.SetDown(false)
	cachetest.AwaitEqual(t, ctx, tc, c, "/f", -1)
}

func TestUnreadable(t *testing.T) {
	srv := ensembletest.Start(t)
	cachetest.Unreadable(t, srv.Addr(), "/acl")
}

// AwaitInitialized fails once the cache is closed.
func TestAwaitAfterClose(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	srv.Stop()
	tc := cache.NewTreeCache(c, "/x")
	tc.Close()
	if err := tc.AwaitInitialized(ctx); !errors.Is(err, cache.ErrClosed) {
		t.Fatalf("AwaitInitialized: %v, want ErrClosed", err)
	}
}

// A late subscriber gets the content as Added events, then Initialized.
func TestEventsReplay(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	if _, err := c.CreateWithParents(ctx, "/p/q", []byte("q"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	tc := cache.NewTreeCache(c, "/p")
	defer tc.Close()
	if err := tc.AwaitInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	events := tc.Events(ctx)
	for _, want := range []cache.Event{{Type: cache.Added, Node: cache.Node{Path: "/p"}}, {Type: cache.Added, Node: cache.Node{Path: "/p/q"}}, {Type: cache.Initialized}} {
		if e := <-events; e.Type != want.Type || e.Node.Path != want.Node.Path {
			t.Fatalf("event %v %s, want %v %s", e.Type, e.Node.Path, want.Type, want.Node.Path)
		}
	}
}

// Close stops everything even while reads fail and the root is missing,
// and closes the Events channels; TestMain's goleak checks the rest.
func TestCloseWhileDisconnected(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	tc := cache.NewTreeCache(c, "/none")
	events := tc.Events(ctx)
	if err := tc.AwaitInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	tc.Close()
	for range events {
	}
}
