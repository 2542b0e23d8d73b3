package barrier_test

import (
	"context"
	"log"
	"time"

	"github.com/zookit/zookit/barrier"
	"github.com/zookit/zookit/recipes"
)

// Hold workers back until a coordinator lets them go. It needs a server on
// 127.0.0.1:2181, so it has no Output line and is only compiled.
func ExampleBarrier() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	b := barrier.New(c, "/jobs/42/start")
	// The coordinator raises the barrier before any worker looks...
	if err := b.Set(ctx); err != nil {
		log.Fatal(err)
	}
	go func() {
		// ...and lowers it once the inputs are in place.
		if err := b.Remove(ctx); err != nil {
			log.Print(err)
		}
	}()
	// A worker, in this process or another, waits for that.
	if err := b.Wait(ctx); err != nil {
		log.Fatal(err)
	}
	log.Print("inputs ready")
}

// Run one phase of a computation in step with the other four processes,
// Go or Java (Curator's DistributedDoubleBarrier), on the same path. It
// needs a server on 127.0.0.1:2181, so it has no Output line and is only
// compiled.
func ExampleDoubleBarrier() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	d := barrier.NewDouble(c, "/jobs/42/phase", 5, barrier.WithData([]byte("worker-3")))
	// Enter returns once all five have entered.
	if err := d.Enter(ctx); err != nil {
		log.Fatal(err)
	}
	log.Print("computing with all five")
	// Leave returns once all five have left.
	if err := d.Leave(ctx); err != nil {
		log.Fatal(err)
	}
}
