package election_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/election"
	"github.com/zookit/zookit/recipes"
)

// connect is what every example starts with; the examples need a server on
// 127.0.0.1:2181, so they have no Output lines and are only compiled.
func connect(ctx context.Context) *recipes.Client {
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// A LeaderLatch takes part until it is closed; Await returns each term.
// Writes made as leader are guarded, so they fail with ErrNotHeld once the
// term is over instead of racing a new leader.
func ExampleLeaderLatch() {
	ctx := context.Background()
	c := connect(ctx)
	defer c.Close()
	latch := election.NewLeaderLatch(c, "/services/indexer/leader", "host-1:8080")
	defer latch.Close(ctx, election.NotifyLeader)
	for {
		term, err := latch.Await(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("leading with fence", term.Fence())
		_, err = term.Guard(ctx, &zk.SetDataRequest{Path: "/services/indexer/epoch", Data: []byte("1"), Version: -1})
		if err != nil {
			log.Println("not written:", err)
		}
		<-term.Done() // suspended, lost or closed: stop acting as leader
	}
}

// Run leads with a function whose context ends with the term, and
// WithRequeue campaigns again after each one, as Curator's LeaderSelector
// with autoRequeue does.
func ExampleElection_Run() {
	ctx := context.Background()
	c := connect(ctx)
	defer c.Close()
	e := election.New(c, "/services/scheduler/leader", "host-1", election.WithRequeue())
	err := e.Run(ctx, func(ctx context.Context, l *election.Leadership) error {
		fmt.Println("leading at", l.Path())
		select {
		case <-ctx.Done(): // leadership lost or the caller gave up
		case <-time.After(time.Minute): // hand over after a minute
		}
		return nil
	})
	log.Println(err)
}

// Campaign returns one term; Resign ends it.
func ExampleElection_Campaign() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := connect(ctx)
	defer c.Close()
	e := election.New(c, "/services/compactor/leader", "host-1")
	l, err := e.Campaign(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Resign(ctx)
	fmt.Println("leader, fence", l.Fence())
}

// Observe follows who leads without taking part.
func ExampleElection_Observe() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := connect(ctx)
	defer c.Close()
	for p := range election.New(c, "/services/scheduler/leader", "").Observe(ctx) {
		if p.Path == "" {
			fmt.Println("no leader")
			continue
		}
		fmt.Println("leader:", p.ID)
	}
}
