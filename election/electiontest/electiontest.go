package electiontest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/election"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/recipes"
)

// Guard bounds every test so that a bug fails it instead of hanging.
const Guard = locktest.Guard

// Exclusive proves from the server's point of view that l leads alone: it
// creates the ephemeral marker <path>-leader guarded by l (ErrNodeExists
// means two leaders), then deletes it. Java peers use the same marker.
func Exclusive(ctx context.Context, c *recipes.Client, l *election.Leadership, path string) error {
	marker := path + "-leader"
	if _, err := l.Guard(ctx, &zk.CreateRequest{Path: marker, Flags: zk.FlagEphemeral}); err != nil {
		if errors.Is(err, election.ErrNotHeld) {
			return nil // the term ended first: nothing to prove
		}
		return fmt.Errorf("two leaders? create %s: %w", marker, err)
	}
	return c.Delete(ctx, marker, -1)
}

// LatchHandover starts latches on path, one Client each, and checks that
// exactly one leads, that Participants lists them all with the leader
// first, and that leadership passes on as each leader closes, with the
// closing leader told on Changes and each new leader's fence larger.
func LatchHandover(t *testing.T, addr, path string, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	latches := make([]*election.LeaderLatch, n)
	for i := range latches {
		l := election.NewLeaderLatch(locktest.Connect(t, addr), path, fmt.Sprintf("p%d", i))
		latches[i] = l
		t.Cleanup(func() { l.Close(context.Background(), election.Silent) })
	}
	var lastFence int64
	for remaining := n; remaining > 0; remaining-- {
		leader, term := awaitAny(t, ctx, latches)
		if term.Fence() <= lastFence {
			t.Errorf("fence %d after %d", term.Fence(), lastFence)
		}
		lastFence = term.Fence()
		for _, l := range latches {
			if l != nil && l != latches[leader] && l.HasLeadership() {
				t.Fatalf("two latches lead")
			}
		}
		ps, err := latches[leader].Participants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for len(ps) != remaining { // closed latches' nodes go in the background
			time.Sleep(20 * time.Millisecond)
			if ps, err = latches[leader].Participants(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if !ps[0].IsLeader || ps[0].ID != fmt.Sprintf("p%d", leader) || ps[0].Path != term.Path() {
			t.Fatalf("participants %+v, leader p%d at %s", ps, leader, term.Path())
		}
		changes := latches[leader].Changes(ctx)
		if err := latches[leader].Close(ctx, election.NotifyLeader); err != nil {
			t.Fatal(err)
		}
		if v, ok := <-changes; !ok || v {
			t.Fatalf("Changes after closing the leader: %v, %v; want false", v, ok)
		}
		if _, ok := <-changes; ok {
			t.Fatal("Changes open after Close")
		}
		select {
		case <-term.Done():
		default:
			t.Fatal("term not done after Close")
		}
		if _, err := term.Guard(ctx); !errors.Is(err, election.ErrNotHeld) {
			t.Fatalf("guard after Close: %v, want ErrNotHeld", err)
		}
		latches[leader] = nil
	}
}

// awaitAny waits until one of the open latches leads.
func awaitAny(t *testing.T, ctx context.Context, latches []*election.LeaderLatch) (int, *election.Leadership) {
	t.Helper()
	type won struct {
		i    int
		term *election.Leadership
	}
	ch := make(chan won, len(latches))
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, l := range latches {
		if l == nil {
			continue
		}
		go func() {
			if term, err := l.Await(wctx); err == nil {
				ch <- won{i, term}
			}
		}()
	}
	select {
	case w := <-ch:
		return w.i, w.term
	case <-ctx.Done():
		t.Fatal("no latch leads")
		return 0, nil
	}
}

// Campaigns runs workers goroutines on each of sessions Clients, each
// campaigning on path terms times and proving it leads alone while it does.
func Campaigns(t *testing.T, addr, path string, sessions, workers, terms int) {
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	var wg sync.WaitGroup
	var won atomic.Int64
	for s := range sessions {
		c := locktest.Connect(t, addr)
		e := election.New(c, path, fmt.Sprintf("s%d", s))
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range terms {
					l, err := e.Campaign(ctx)
					if err != nil {
						t.Errorf("campaign: %v", err)
						return
					}
					if err := Exclusive(ctx, c, l, path); err != nil {
						t.Error(err)
					}
					won.Add(1)
					if err := l.Resign(ctx); err != nil {
						t.Errorf("resign: %v", err)
					}
				}
			}()
		}
	}
	wg.Wait()
	if got, want := won.Load(), int64(sessions*workers*terms); got != want {
		t.Errorf("%d terms, want %d", got, want)
	}
}

// Observe checks that Observe reports each new leader: it runs Run on two
// Clients, each for one term that lasts until told to end, and sees both ids
// lead in turn.
func Observe(t *testing.T, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), Guard)
	defer cancel()
	watcher := election.New(locktest.Connect(t, addr), path, "watcher")
	seen := watcher.Observe(ctx)
	if p := <-seen; p.Path != "" {
		t.Fatalf("first observation %+v, want no leader", p)
	}
	ends := make(chan struct{})
	var wg sync.WaitGroup
	for _, id := range []string{"a", "b"} {
		e := election.New(locktest.Connect(t, addr), path, id)
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.Run(ctx, func(ctx context.Context, l *election.Leadership) error {
				select {
				case <-ends:
				case <-ctx.Done():
				}
				return nil
			})
		}()
	}
	leaders := map[string]bool{}
	for len(leaders) < 2 {
		select {
		case p := <-seen:
			if p.Path == "" {
				continue
			}
			if !p.IsLeader || leaders[p.ID] {
				t.Fatalf("observed %+v after %v", p, leaders)
			}
			leaders[p.ID] = true
			ends <- struct{}{}
		case <-ctx.Done():
			t.Fatalf("observed leaders %v, want a and b", leaders)
		}
	}
	wg.Wait()
}
