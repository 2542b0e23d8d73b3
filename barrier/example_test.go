package barrier_test

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/zookit/zookit/barrier"
	"github.com/zookit/zookit/recipes/recipestest"
)

// Hold workers back until a coordinator lets them go.
func ExampleBarrier() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	b := barrier.New(c, "/jobs/42/start")
	// The coordinator raises the barrier before any worker looks...
	if err := b.Set(ctx); err != nil {
		log.Fatal(err)
	}
	go func() {
		// ...and lowers it once the inputs are in place.
		time.Sleep(50 * time.Millisecond)
		if err := b.Remove(ctx); err != nil {
			log.Print(err)
		}
	}()
	// A worker, in this process or another, waits for that.
	if err := b.Wait(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("inputs ready")
	// Output: inputs ready
}

// Run one phase of a computation in step with the other members, Go or
// Java (Curator's DistributedDoubleBarrier), on the same path: Enter
// returns once all three have entered, Leave once all three have left.
func ExampleDoubleBarrier() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	const members = 3
	var entered, left sync.WaitGroup
	entered.Add(members)
	left.Add(members)
	for i := range members {
		go func() {
			d := barrier.NewDouble(c, "/jobs/42/phase", members, barrier.WithData([]byte(fmt.Sprint("worker-", i))))
			if err := d.Enter(ctx); err != nil {
				log.Fatal(err)
			}
			entered.Done()
			if err := d.Leave(ctx); err != nil {
				log.Fatal(err)
			}
			left.Done()
		}()
	}
	entered.Wait()
	fmt.Println("all entered")
	left.Wait()
	fmt.Println("all left")
	// Output:
	// all entered
	// all left
}
