package counter_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zookit/zookit/counter"
	"github.com/zookit/zookit/recipes/recipestest"
)

// Hand out ids, falling back to a lock under heavy contention.
func ExampleAtomic() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	ids := counter.NewAtomicLong(c, "/ids/orders",
		counter.WithPromotion("/ids/orders-lock", 10*time.Second, nil))
	for range 3 {
		r, err := ids.Increment(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if !r.Succeeded { // only when contention won every try
			log.Fatal("too much contention")
		}
		fmt.Println("order id", r.PostValue)
	}
	// Output:
	// order id 1
	// order id 2
	// order id 3
}

// CompareAndSet succeeds only from the value the caller saw, as Curator's
// compareAndSet compares the stored bytes.
func ExampleAtomic_CompareAndSet() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	gen := counter.NewAtomicInt(c, "/config/generation")
	if err := gen.ForceSet(ctx, 7); err != nil {
		log.Fatal(err)
	}
	for _, from := range []int32{6, 7} {
		r, err := gen.CompareAndSet(ctx, from, 8)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("from %d: %v (was %d)\n", from, r.Succeeded, r.PreValue)
	}
	// Output:
	// from 6: false (was 7)
	// from 7: true (was 7)
}

// Count up together with a versioned set, and follow the count.
func ExampleSharedCount() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	s, err := counter.NewSharedCount(ctx, c, "/config/workers", 1)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	changes := s.Changes(ctx)
	for {
		prev := s.Versioned()
		ok, err := s.TrySetCount(ctx, prev, prev.Value+1)
		if err != nil {
			log.Fatal(err)
		}
		if ok { // false when another process set it first: read and try again
			break
		}
	}
	fmt.Println("workers:", (<-changes).Value)
	// Output: workers: 2
}
