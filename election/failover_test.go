package election_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zookit/zookit/election"
	"github.com/zookit/zookit/election/electiontest"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/recipes"
)

func connectTo(t *testing.T, addrs []string, opts ...recipes.Option) *recipes.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c, err := recipes.New(ctx, addrs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// The leader's server is cut off from its quorum; the majority expires the
// leader's session and elects another. The old leader's Done must close
// before the new leader's term begins, with the default policy and with a
// (capped) suspend tolerance: leadership is never held twice as far as the
// handles can tell.
func TestLeadershipEndsBeforeNextBegins(t *testing.T) {
	for _, tolerance := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprintf("tolerance=%v", tolerance), func(t *testing.T) {
			cl := ensembletest.StartCluster(t, 3, 0)
			ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
			defer cancel()
			cut := cl.Member(1)
			opt := recipes.WithSessionTimeout(3 * time.Second)
			a := connectTo(t, []string{cut.Addr()}, opt)
			b := connectTo(t, []string{cl.Member(2).Addr(), cl.Member(3).Addr()}, opt)
			la := election.NewLeaderLatch(a, "/failover", "a", election.WithSuspendTolerance(tolerance))
			defer la.Close(ctx, election.Silent)
			ta, err := la.Await(ctx)
			if err != nil {
				t.Fatal(err)
			}
			lb := election.NewLeaderLatch(b, "/failover", "b")
			defer lb.Close(ctx, election.Silent)
			for len(participantsOf(t, ctx, lb)) != 2 {
				time.Sleep(20 * time.Millisecond)
			}
			var mu sync.Mutex
			var aDone time.Time
			go func() {
				<-ta.Done()
				mu.Lock()
				aDone = time.Now()
				mu.Unlock()
			}()
			cut.Pause()
			defer cut.Resume()
			tb, err := lb.Await(ctx)
			if err != nil {
				t.Fatal(err)
			}
			bBegan := time.Now()
			mu.Lock()
			ended := aDone
			mu.Unlock()
			if ended.IsZero() || ended.After(bBegan) {
				t.Fatalf("a's term ended at %v, b's began at %v", ended, bBegan)
			}
			if err := electiontest.Exclusive(ctx, b, tb, "/failover"); err != nil {
				t.Fatal(err)
			}
			cut.Resume()
			// a comes back on a new session and queues behind b.
			var ps []election.Participant
			locktest.Eventually(t, ctx, func() bool {
				ps = participantsOf(t, ctx, lb)
				return len(ps) == 2 && ps[0].ID == "b" && ps[1].ID == "a" && !la.HasLeadership()
			}, func() string { return fmt.Sprintf("participants %+v; want b leading and a queued", ps) })
		})
	}
}

// Latches keep electing exactly one leader while the server restarts
// under them again and again; every term proves its exclusion on the
// server with a guarded marker.
func TestLatchReconnectRaces(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	const path = "/races"
	var latches []*election.LeaderLatch
	var clients []*recipes.Client
	for i := range 3 {
		c := locktest.Connect(t, srv.Addr())
		l := election.NewLeaderLatch(c, path, fmt.Sprintf("p%d", i))
		defer l.Close(ctx, election.Silent)
		latches = append(latches, l)
		clients = append(clients, c)
	}
	stopCheck := checkOneLeader(t, latches...)
	var wg sync.WaitGroup
	proveCtx, stopProving := context.WithCancel(ctx)
	for i, l := range latches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for proveCtx.Err() == nil {
				term, err := l.Await(proveCtx)
				if err != nil {
					return
				}
				if err := electiontest.Exclusive(proveCtx, clients[i], term, path); err != nil && proveCtx.Err() == nil && !recipes.Retryable(err) {
					t.Error(err)
				}
				select {
				case <-term.Done():
				case <-time.After(10 * time.Millisecond):
				case <-proveCtx.Done():
				}
			}
		}()
	}
	for range 4 {
		srv.Restart()
		if _, err := awaitLeader(ctx, latches); err != nil {
			t.Fatal(err)
		}
	}
	stopProving()
	wg.Wait()
	stopCheck()
	// A latch whose connection was lost in the last restart may still be
	// making its node again; it must get there, with no node to spare.
	var ps []election.Participant
	locktest.Eventually(t, ctx, func() bool {
		var err error
		ps, err = latches[0].Participants(ctx)
		return err == nil && len(ps) == 3
	}, func() string { return fmt.Sprintf("after the restarts: participants %+v, want one node per latch", ps) })
}

func awaitLeader(ctx context.Context, latches []*election.LeaderLatch) (*election.LeaderLatch, error) {
	for {
		for _, l := range latches {
			if l.HasLeadership() {
				return l, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
