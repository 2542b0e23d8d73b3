package recipes

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/ensembletest"
)

// A call whose context ends while no server is reachable returns ctx's
// error then, not when the session times out. The bound is loose: this
// checks that nothing waits for the session, not how fast calls are.
func TestCallsEndWithContextWhileServerDown(t *testing.T) {
	srv := ensembletest.Start(t)
	c := connect(t, srv.Addr(), WithSessionTimeout(10*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if _, err := c.Create(ctx, "/d", nil, Persistent); err != nil {
		t.Fatal(err)
	}
	states := c.Listen(ctx)
	expectStates(t, ctx, states, Connected)
	srv.Stop()
	expectStates(t, ctx, states, Suspended)
	calls := map[string]func(context.Context) error{
		"Create": func(ctx context.Context) error {
			_, err := c.Create(ctx, "/x", []byte("x"), PersistentSequential)
			return err
		},
		"CreateProtected": func(ctx context.Context) error {
			_, err := c.CreateProtected(ctx, "/p/x", nil, EphemeralSequential)
			return err
		},
		"Multi": func(ctx context.Context) error {
			_, err := c.Multi(ctx, &zk.CreateRequest{Path: "/y"}, &zk.SetDataRequest{Path: "/d", Version: -1})
			return err
		},
		"DeleteGuaranteed": func(ctx context.Context) error { return c.DeleteGuaranteed(ctx, "/d") },
		"Get": func(ctx context.Context) error {
			_, _, err := c.Get(ctx, "/d")
			return err
		},
		"Sync": func(ctx context.Context) error { return c.Sync(ctx, "/d") },
		"Retry": func(ctx context.Context) error {
			return c.Retry(ctx, func(conn *zk.Conn) error {
				_, err := conn.Sync("/d")
				return err
			})
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			callCtx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := call(callCtx)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err %v, want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("returned after %v, with a 200ms context and a 10s session", d)
			}
		})
	}
	// A listener whose context ends stops too.
	listenCtx, stop := context.WithCancel(context.Background())
	ch := c.Listen(listenCtx)
	stop()
	deadline := time.After(5 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-deadline:
			t.Fatal("Listen's channel still open after its context ended")
		}
	}
}

// A protected create given up on while its request waits to be sent makes
// the node when the request goes out after all; the background cleanup
// must see that node, so it searches only once the request has ended.
func TestCreateProtectedLateRequestLeavesNoOrphan(t *testing.T) {
	srv := ensembletest.Start(t)
	opt, lc := withLossyCreates(0)
	c := connect(t, srv.Addr(), opt)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if _, err := c.Create(ctx, "/p", nil, Persistent); err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	release := sync.OnceFunc(func() { close(gate) })
	defer release()
	lc.mu.Lock()
	lc.gate = gate
	lc.mu.Unlock()
	callCtx, stop := context.WithCancel(ctx)
	time.AfterFunc(100*time.Millisecond, stop)
	if _, err := c.CreateProtected(callCtx, "/p/n-", nil, PersistentSequential); !errors.Is(err, context.Canceled) {
		t.Fatalf("create: %v, want context.Canceled", err)
	}
	// Give a cleanup that does not wait for the request time to finish.
	time.Sleep(300 * time.Millisecond)
	release()
	waitFor(t, ctx, func() bool {
		kids, err := c.Children(ctx, "/p")
		return err == nil && len(kids) == 0
	})
}

// A plain create given up on while its request waits to be sent makes its
// node when the request goes out after all; the caller was told it failed,
// so the Client deletes that node rather than leave an orphan (an
// ephemeral lock node would hold its lock until the session ended).
func TestCreateLateRequestIsUndone(t *testing.T) {
	srv := ensembletest.Start(t)
	opt, lc := withLossyCreates(0)
	c := connect(t, srv.Addr(), opt)
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if _, err := c.Create(ctx, "/p", nil, Persistent); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []CreateMode{EphemeralSequential, Persistent} {
		gate := make(chan struct{})
		lc.mu.Lock()
		lc.gate = gate
		lc.mu.Unlock()
		callCtx, stop := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, stop)
		if _, err := c.Create(callCtx, "/p/n-"+mode.String(), nil, mode); !errors.Is(err, context.Canceled) {
			t.Fatalf("%v create: %v, want context.Canceled", mode, err)
		}
		_, made, err := c.ChildrenW(ctx, "/p")
		if err != nil {
			t.Fatal(err)
		}
		close(gate)
		select {
		case <-made: // the late create landed
		case <-ctx.Done():
			t.Fatalf("%v: the late create never landed", mode)
		}
		waitFor(t, ctx, func() bool {
			kids, err := c.Children(ctx, "/p")
			return err == nil && len(kids) == 0
		})
	}
}
