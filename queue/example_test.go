package queue_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/zookit/zookit/queue"
	"github.com/zookit/zookit/recipes/recipestest"
)

// A producer and a consumer on Curator's SimpleDistributedQueue layout.
func ExampleSimpleQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	q := queue.NewSimpleQueue(c, "/queues/jobs")
	if err := q.Offer(ctx, []byte("resize image 42")); err != nil {
		log.Fatal(err)
	}
	job, err := q.Take(ctx) // waits on a child watch until there is one
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(job))
	// Output: resize image 42
}

// A producer puts jobs, one of them a batch in one node, and a consumer in
// lock-path mode handles them: an item stays in the queue until its
// handler returns, so a consumer that dies mid-job leaves it to another.
func ExampleDistributedQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	q, err := queue.NewDistributedQueue(ctx, c, "/queues/jobs", queue.WithLockPath("/queues/jobs-locks"))
	if err != nil {
		log.Fatal(err)
	}
	if err := q.Put(ctx, []byte("resize 1")); err != nil {
		log.Fatal(err)
	}
	if err := q.PutMulti(ctx, []byte("resize 2"), []byte("resize 3")); err != nil {
		log.Fatal(err)
	}
	consumeCtx, stop := context.WithCancel(ctx)
	handled := 0
	err = q.Consume(consumeCtx, func(_ context.Context, job []byte) error {
		fmt.Println(string(job))
		if handled++; handled == 3 {
			stop()
		}
		return nil
	})
	fmt.Println(errors.Is(err, context.Canceled))
	// Output:
	// resize 1
	// resize 2
	// resize 3
	// true
}

// Lower priority values come out first.
func ExamplePriorityQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	q, err := queue.NewPriorityQueue(ctx, c, "/queues/mail")
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range []int32{10, -5, 0} {
		if err := q.Put(ctx, p, []byte(fmt.Sprint("priority ", p))); err != nil {
			log.Fatal(err)
		}
	}
	msgs, err := q.Take(ctx, 3)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range msgs {
		fmt.Println(string(m))
	}
	// Output:
	// priority -5
	// priority 0
	// priority 10
}

// A message is taken only once it is due; Take sleeps until then.
func ExampleDelayQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	q, err := queue.NewDelayQueue(ctx, c, "/queues/reminders")
	if err != nil {
		log.Fatal(err)
	}
	due := time.Now().Add(200 * time.Millisecond)
	if err := q.Put(ctx, due, []byte("call back")); err != nil {
		log.Fatal(err)
	}
	msgs, err := q.Take(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(msgs[0]), !time.Now().Before(due.Truncate(time.Millisecond)))
	// Output: call back true
}

// Items are put under an id and can be withdrawn by it before a consumer
// takes them.
func ExampleIDQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	q, err := queue.NewIDQueue(ctx, c, "/queues/orders")
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range [][2]string{{"customer-1", "order a"}, {"customer-2", "order b"}, {"customer-1", "order c"}} {
		if err := q.Put(ctx, o[0], []byte(o[1])); err != nil {
			log.Fatal(err)
		}
	}
	n, err := q.Remove(ctx, "customer-1")
	if err != nil {
		log.Fatal(err)
	}
	msgs, err := q.Take(ctx, 10)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "withdrawn;", string(msgs[0]), "left")
	// Output: 2 withdrawn; order b left
}
