package queue_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zookit/zookit/queue"
	"github.com/zookit/zookit/recipes"
)

// A producer and a consumer on Curator's SimpleDistributedQueue layout. It
// needs a server on 127.0.0.1:2181, so it has no Output line and is only
// compiled.
func ExampleSimpleQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	q := queue.NewSimpleQueue(c, "/queues/jobs")
	if err := q.Offer(ctx, []byte("resize image 42")); err != nil {
		log.Fatal(err)
	}
	job, err := q.Take(ctx) // waits on a child watch until there is one
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(job))
}
