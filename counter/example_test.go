package counter_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zookit/zookit/counter"
	"github.com/zookit/zookit/recipes"
)

// Hand out ids, falling back to a lock under heavy contention. It needs a
// server on 127.0.0.1:2181, so it has no Output line and is only compiled.
func ExampleAtomic() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ids := counter.NewAtomicLong(c, "/ids/orders",
		counter.WithPromotion("/ids/orders-lock", 10*time.Second, nil))
	for {
		r, err := ids.Increment(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if r.Succeeded { // false only when contention won every try
			fmt.Println("order id", r.PostValue)
			return
		}
	}
}

// Count up together with a versioned set, and follow the count.
func ExampleSharedCount() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	s, err := counter.NewSharedCount(ctx, c, "/config/workers", 1)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	go func() {
		for v := range s.Changes(ctx) {
			fmt.Println("workers:", v.Value)
		}
	}()
	for {
		prev := s.Versioned()
		ok, err := s.TrySetCount(ctx, prev, prev.Value+1)
		if err != nil {
			log.Fatal(err)
		}
		if ok {
			return
		}
	}
}
