package election_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zookit/zookit/election"
	"github.com/zookit/zookit/election/electiontest"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/recipes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLatchHandover(t *testing.T) {
	srv := ensembletest.Start(t)
	electiontest.LatchHandover(t, srv.Addr(), "/election/latch", 3)
}

func TestCampaigns(t *testing.T) {
	srv := ensembletest.Start(t)
	electiontest.Campaigns(t, srv.Addr(), "/election/campaign", 3, 2, 4)
}

func TestObserve(t *testing.T) {
	srv := ensembletest.Start(t)
	electiontest.Observe(t, srv.Addr(), "/election/observe")
}

var latchName = regexp.MustCompile(`^_c_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-latch-\d{10}$`)

// The latch node is laid out as Curator lays it out, with the id as data.
func TestLatchLayout(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	l := election.NewLeaderLatch(c, "/a/latch", "me")
	defer l.Close(ctx, election.Silent)
	term, err := l.Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kids, err := c.Children(ctx, "/a/latch")
	if err != nil || len(kids) != 1 || !latchName.MatchString(kids[0]) || "/a/latch/"+kids[0] != term.Path() {
		t.Fatalf("children %v (%v), term at %s", kids, err, term.Path())
	}
	data, st, err := c.Get(ctx, term.Path())
	if err != nil || string(data) != "me" || st.EphemeralOwner != c.SessionID() || st.Czxid != term.Fence() {
		t.Fatalf("node data %q stat %+v err %v, fence %d", data, st, err, term.Fence())
	}
	// An ended context ends Await even while the latch leads.
	ended, end := context.WithCancel(ctx)
	end()
	if _, err := l.Await(ended); !errors.Is(err, context.Canceled) {
		t.Fatalf("Await with an ended context while leading: %v", err)
	}
}

// When the leader's session expires, its term ends, another latch leads,
// and the expired latch rejoins with a node of its new session.
func TestLatchSessionExpiry(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	a := locktest.Connect(t, srv.Addr())
	b := locktest.Connect(t, srv.Addr())
	la := election.NewLeaderLatch(a, "/latch", "a")
	defer la.Close(ctx, election.Silent)
	ta, err := la.Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lb := election.NewLeaderLatch(b, "/latch", "b")
	defer lb.Close(ctx, election.Silent)
	old := a.SessionID()
	if err := srv.ExpireSession(old); err != nil {
		t.Fatal(err)
	}
	<-ta.Done()
	tb, err := lb.Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if la.HasLeadership() {
		t.Fatal("expired latch still leads")
	}
	var ps []election.Participant
	locktest.Eventually(t, ctx, func() bool {
		ps = participantsOf(t, ctx, lb)
		return len(ps) == 2 && ps[0].Path == tb.Path() && ps[1].Path == la.Path()
	}, func() string { return fmt.Sprintf("participants %+v; want b leading and a rejoined", ps) })
	_, st, err := a.Get(ctx, la.Path())
	if err != nil || st.EphemeralOwner == old || st.EphemeralOwner != a.SessionID() {
		t.Fatalf("rejoined node %s: owner %#x, old session %#x, new %#x (%v)", la.Path(), st.EphemeralOwner, old, a.SessionID(), err)
	}
}

// Run with WithRequeue campaigns again after each term; a term's context
// ends when its leadership does.
func TestRunRequeue(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	e := election.New(c, "/requeue", "me", election.WithRequeue())
	var terms atomic.Int32
	runCtx, stop := context.WithCancel(ctx)
	err := e.Run(runCtx, func(ctx context.Context, l *election.Leadership) error {
		if terms.Add(1) == 3 {
			stop()
		}
		return electiontest.Exclusive(ctx, c, l, "/requeue")
	})
	if err != nil && runCtx.Err() == nil {
		t.Fatal(err)
	}
	if terms.Load() != 3 {
		t.Fatalf("%d terms, want 3", terms.Load())
	}
	// A term ends with its session: the expiry cancels the leader's context.
	srvTerm := make(chan struct{})
	go e.Run(ctx, func(ctx context.Context, l *election.Leadership) error {
		close(srvTerm)
		<-ctx.Done()
		return nil
	})
	<-srvTerm
	if err := srv.ExpireSession(c.SessionID()); err != nil {
		t.Fatal(err)
	}
}

// CURATOR-696: a session that ends while the client is cut off leaves a
// node that still sorts first when the client comes back on a new session.
// The latch must not lead on it: it checks the owner, deletes the node and
// leads with a node of its own session. Meanwhile no two latches lead.
func TestLatchNodeOfExpiredSession(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	// Short sessions, so the client declares them lost while the server is
	// down; the restarted server keeps the old sessions for a full timeout.
	opt := recipes.WithSessionTimeout(2 * time.Second)
	a := locktest.Connect(t, srv.Addr(), opt)
	b := locktest.Connect(t, srv.Addr(), opt)
	la := election.NewLeaderLatch(a, "/latch696", "a")
	defer la.Close(ctx, election.Silent)
	if _, err := la.Await(ctx); err != nil {
		t.Fatal(err)
	}
	lb := election.NewLeaderLatch(b, "/latch696", "b")
	defer lb.Close(ctx, election.Silent)
	for len(participantsOf(t, ctx, lb)) != 2 {
		time.Sleep(20 * time.Millisecond)
	}
	oldA := a.SessionID()
	lost := a.Listen(ctx)
	srv.Stop()
	for st := range lost {
		if st == recipes.Lost {
			break
		}
	}
	stopCheck := checkOneLeader(t, la, lb)
	defer stopCheck()
	srv.Restart()
	// Whoever leads now must lead on a node of its current session.
	for {
		for _, x := range []struct {
			l *election.LeaderLatch
			c *recipes.Client
		}{{la, a}, {lb, b}} {
			term, err := x.l.Await(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, st, err := x.c.Get(ctx, term.Path())
			if err != nil {
				continue // the term ended meanwhile
			}
			if st.EphemeralOwner != x.c.SessionID() || st.EphemeralOwner == oldA {
				t.Fatalf("leads on %s owned by %#x; session %#x, a's old session %#x", term.Path(), st.EphemeralOwner, x.c.SessionID(), oldA)
			}
			return
		}
	}
}

func participantsOf(t *testing.T, ctx context.Context, l *election.LeaderLatch) []election.Participant {
	ps, err := l.Participants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// checkOneLeader samples the latches until stopped and fails the test when
// two lead at once.
func checkOneLeader(t *testing.T, latches ...*election.LeaderLatch) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			n := 0
			for _, l := range latches {
				if l.HasLeadership() {
					n++
				}
			}
			if n > 1 {
				t.Errorf("%d latches lead at once", n)
				return
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() { close(done); <-finished }
}
