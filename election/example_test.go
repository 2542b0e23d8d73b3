package election_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/election"
	"github.com/zookit/zookit/recipes"
	"github.com/zookit/zookit/recipes/recipestest"
)

// A LeaderLatch takes part until it is closed; Await returns each term.
// Writes made as leader are guarded, so they fail with ErrNotHeld once the
// term is over instead of racing a new leader.
func ExampleLeaderLatch() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	if _, err := c.CreateWithParents(ctx, "/services/indexer/epoch", nil, recipes.Persistent); err != nil {
		log.Fatal(err)
	}
	latch := election.NewLeaderLatch(c, "/services/indexer/leader", "host-1:8080")
	term, err := latch.Await(ctx)
	if err != nil {
		log.Fatal(err)
	}
	set := &zk.SetDataRequest{Path: "/services/indexer/epoch", Data: []byte("1"), Version: -1}
	if _, err := term.Guard(ctx, set); err != nil {
		log.Fatal(err)
	}
	fmt.Println("leading:", latch.HasLeadership())
	if err := latch.Close(ctx, election.NotifyLeader); err != nil {
		log.Fatal(err)
	}
	<-term.Done() // suspended, lost or closed: stop acting as leader
	_, err = term.Guard(ctx, set)
	fmt.Println("after close:", errors.Is(err, election.ErrNotHeld))
	// Output:
	// leading: true
	// after close: true
}

// Run leads with a function whose context ends with the term, and
// WithRequeue campaigns again after each one, as Curator's LeaderSelector
// with autoRequeue does.
func ExampleElection_Run() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	runCtx, stop := context.WithCancel(ctx)
	terms := 0
	e := election.New(c, "/services/scheduler/leader", "host-1", election.WithRequeue())
	err = e.Run(runCtx, func(ctx context.Context, l *election.Leadership) error {
		terms++
		fmt.Println("term", terms)
		if terms == 2 {
			stop() // the process is shutting down
		}
		return nil // hand over; WithRequeue campaigns again
	})
	fmt.Println("stopped without error:", err == nil)
	// Output:
	// term 1
	// term 2
	// stopped without error: true
}

// Campaign returns one term; Resign ends it.
func ExampleElection_Campaign() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	e := election.New(c, "/services/compactor/leader", "host-1")
	l, err := e.Campaign(ctx)
	if err != nil {
		log.Fatal(err)
	}
	leader, err := e.Leader(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("leader:", leader.ID)
	if err := l.Resign(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: leader: host-1
}

// Observe follows who leads without taking part.
func ExampleElection_Observe() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	const path = "/services/scheduler/leader"
	leaders := election.New(c, path, "").Observe(ctx)
	show := func(p election.Participant) {
		if p.Path == "" {
			fmt.Println("no leader")
			return
		}
		fmt.Println("leader:", p.ID)
	}
	show(<-leaders)
	l, err := election.New(c, path, "host-2").Campaign(ctx)
	if err != nil {
		log.Fatal(err)
	}
	show(<-leaders)
	l.Resign(ctx)
	show(<-leaders)
	// Output:
	// no leader
	// leader: host-2
	// no leader
}
