package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/queue"
	"github.com/zookit/zookit/queue/queuetest"
	"github.com/zookit/zookit/recipes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestExchangeInOrder(t *testing.T) {
	srv := ensembletest.Start(t)
	queuetest.Exchange(t, srv.Addr(), "/queues/order", 3, 1, 30)
}

func TestExchangeContended(t *testing.T) {
	srv := ensembletest.Start(t)
	queuetest.Exchange(t, srv.Addr(), "/queues/many", 4, 4, 25)
}

// Peek and Poll see the head; a foreign child is skipped as Curator skips
// it; Take waits for a message and gives up when ctx ends.
func TestSimpleQueueBasics(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	q := queue.NewSimpleQueue(c, "/q")
	if _, ok, err := q.Poll(ctx); ok || err != nil {
		t.Fatalf("poll of a missing queue: %v, %v", ok, err)
	}
	short, stop := context.WithTimeout(ctx, 100*time.Millisecond)
	defer stop()
	if _, err := q.Take(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("take from an empty queue: %v", err)
	}
	if _, err := c.CreateWithParents(ctx, "/q/foreign", nil, recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"a", "b"} {
		if err := q.Offer(ctx, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if m, ok, err := q.Peek(ctx); string(m) != "a" || !ok || err != nil {
		t.Fatalf("peek: %q, %v, %v", m, ok, err)
	}
	if m, ok, err := q.Poll(ctx); string(m) != "a" || !ok || err != nil {
		t.Fatalf("poll: %q, %v, %v", m, ok, err)
	}
	waiting := make(chan []byte)
	go func() {
		m, _ := q.Take(ctx)
		waiting <- m
		m, _ = q.Take(ctx)
		waiting <- m
	}()
	if m := <-waiting; string(m) != "b" {
		t.Fatalf("take: %q", m)
	}
	if err := q.Offer(ctx, []byte("c")); err != nil {
		t.Fatal(err)
	}
	if m := <-waiting; string(m) != "c" {
		t.Fatalf("take after waiting: %q", m)
	}
	kids, err := c.Children(ctx, "/q")
	if err != nil || len(kids) != 1 || kids[0] != "foreign" {
		t.Fatalf("children after taking everything: %v, %v", kids, err)
	}
}
