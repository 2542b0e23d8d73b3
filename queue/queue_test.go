package queue_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
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

func TestDistributedDefaultMode(t *testing.T) {
	srv := ensembletest.Start(t)
	queuetest.Distributed(t, srv.Addr(), "/dq/plain", "", 3, 3, 30)
}

func TestDistributedLockMode(t *testing.T) {
	srv := ensembletest.Start(t)
	queuetest.Distributed(t, srv.Addr(), "/dq/safe", "/dq/safe-locks", 3, 3, 30)
}

func TestPriorityOrder(t *testing.T) {
	srv := ensembletest.Start(t)
	queuetest.Priority(t, srv.Addr(), "/dq/prio")
}

func TestDelayNotBeforeDue(t *testing.T) {
	srv := ensembletest.Start(t)
	queuetest.Delay(t, srv.Addr(), "/dq/delay")
}

func TestIDRemove(t *testing.T) {
	srv := ensembletest.Start(t)
	queuetest.IDRemove(t, srv.Addr(), "/dq/id")
}

func TestKilledConsumer(t *testing.T) {
	srv := ensembletest.Start(t)
	queuetest.KilledConsumer(t, srv.Addr(), "/dq/killed", "/dq/killed-locks")
}

func TestRequeue(t *testing.T) {
	srv := ensembletest.Start(t)
	queuetest.Requeue(t, srv.Addr(), "/dq/requeue", "/dq/requeue-locks")
}

func TestMaxItems(t *testing.T) {
	srv := ensembletest.Start(t)
	queuetest.MaxItems(t, srv.Addr(), "/dq/max")
}

// The names each queue gives its items, byte for byte as Curator 5.4 names
// them, and the item data in Curator's envelope.
func TestItemNames(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	dq, err := queue.NewDistributedQueue(ctx, c, "/n/plain")
	if err != nil {
		t.Fatal(err)
	}
	pq, err := queue.NewPriorityQueue(ctx, c, "/n/prio")
	if err != nil {
		t.Fatal(err)
	}
	yq, err := queue.NewDelayQueue(ctx, c, "/n/delay")
	if err != nil {
		t.Fatal(err)
	}
	iq, err := queue.NewIDQueue(ctx, c, "/n/id")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := queue.NewIDQueue(ctx, c, "/n/a|b"); err == nil {
		t.Fatal("id queue on a path with '|'")
	}
	for _, err := range []error{
		dq.Put(ctx, []byte("m")),
		pq.Put(ctx, 5, []byte("m")),
		pq.Put(ctx, -1, []byte("m")),
		yq.Put(ctx, time.UnixMilli(0x18C0000000A), []byte("m")),
		iq.Put(ctx, "a/b|c", []byte("m")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := yq.Put(ctx, time.UnixMilli(0), []byte("m")); err == nil {
		t.Fatal("delay put due at the epoch")
	}
	if err := iq.Put(ctx, "", []byte("m")); err == nil {
		t.Fatal("id put with an empty id")
	}
	want := map[string][]string{
		"/n/plain": {"queue-0000000000"},
		"/n/prio":  {"queue-0FFFFFFFF0000000001", "queue-1000000050000000000"},
		"/n/delay": {"queue-|18C0000000A|0000000000"},
		"/n/id":    {"queue-|a_b_c|0000000000"},
	}
	for p, names := range want {
		kids, err := c.Children(ctx, p)
		slices.Sort(kids)
		if err != nil || !slices.Equal(kids, names) {
			t.Fatalf("%s: %v, %v; want %v", p, kids, err, names)
		}
		data, _, err := c.Get(ctx, p+"/"+names[0])
		if err != nil || !bytes.Equal(data, queue.EncodeItem([]byte("m"))) {
			t.Fatalf("%s data % x, %v", names[0], data, err)
		}
	}
}

// A foreign child is skipped as Curator skips it, and a corrupt item is
// dropped without stopping the consumer.
func TestForeignAndCorrupt(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	for _, lockPath := range []string{"", "/fc/locks"} {
		var opts []queue.Option
		if lockPath != "" {
			opts = append(opts, queue.WithLockPath(lockPath))
		}
		q, err := queue.NewDistributedQueue(ctx, c, "/fc/q", opts...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Create(ctx, "/fc/q/foreign", nil, recipes.Persistent); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Create(ctx, "/fc/q/queue-", []byte("not an item"), recipes.PersistentSequential); err != nil {
			t.Fatal(err)
		}
		if err := q.PutMulti(ctx, []byte("a"), []byte("b")); err != nil {
			t.Fatal(err)
		}
		if err := q.PutMulti(ctx); err == nil {
			t.Fatal("put of no message")
		}
		msgs, err := q.Take(ctx, 10)
		if err != nil || len(msgs) != 2 || string(msgs[0]) != "a" || string(msgs[1]) != "b" {
			t.Fatalf("take: %q, %v", msgs, err)
		}
		kids, err := c.Children(ctx, "/fc/q")
		if err != nil || !slices.Equal(kids, []string{"foreign"}) {
			t.Fatalf("children after taking: %v, %v", kids, err)
		}
		if n, err := q.Len(ctx); n != 0 || err != nil {
			t.Fatalf("len %d, %v", n, err)
		}
		if err := c.Delete(ctx, "/fc/q/foreign", -1); err != nil {
			t.Fatal(err)
		}
	}
}

// Without a lock path a failing Handler loses nothing more than Curator's
// does: the item is gone already, and under ErrorRequeue (Curator's only
// mode there) the failing message ends the delivery of its item.
func TestDefaultModeHandlerError(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	for _, tc := range []struct {
		mode queue.ErrorMode
		want string
	}{{queue.ErrorRequeue, "ab"}, {queue.ErrorDelete, "abc"}} {
		q, err := queue.NewDistributedQueue(ctx, c, "/dm", queue.WithErrorMode(tc.mode))
		if err != nil {
			t.Fatal(err)
		}
		if err := q.PutMulti(ctx, []byte("a"), []byte("b"), []byte("c")); err != nil {
			t.Fatal(err)
		}
		if err := q.Put(ctx, []byte("end")); err != nil {
			t.Fatal(err)
		}
		got := ""
		cctx, stop := context.WithCancel(ctx)
		err = q.Consume(cctx, func(_ context.Context, m []byte) error {
			if string(m) == "end" {
				stop()
				return nil
			}
			got += string(m)
			if string(m) == "b" {
				return errors.New("fails")
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) || got != tc.want {
			t.Fatalf("mode %d: delivered %q (%v), want %q", tc.mode, got, err, tc.want)
		}
		if n, err := q.Len(ctx); n != 0 || err != nil {
			t.Fatalf("mode %d: %d items left, %v", tc.mode, n, err)
		}
	}
}

func TestIdempotentPuts(t *testing.T) {
	srv := ensembletest.Start(t)
	queuetest.IdempotentPuts(t, srv.Addr(), "/idem")
}

// A queue whose child list has outgrown the Client's reply bound (its
// jute.maxbuffer) fails every consumer's take with ErrReplyTooLarge at
// once, where a Java consumer would reconnect for ever; a producer's put
// still works, and a Client with a larger bound drains the queue.
func TestChildListTooLarge(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	big := locktest.Connect(t, srv.Addr())
	dq, err := queue.NewDistributedQueue(ctx, big, "/dq")
	if err != nil {
		t.Fatal(err)
	}
	sq := queue.NewSimpleQueue(big, "/sq")
	// 300 names of 16 bytes make a child list of about 6 KB.
	for i := range 300 {
		if err := dq.Put(ctx, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if err := sq.Offer(ctx, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	small := locktest.Connect(t, srv.Addr(), recipes.WithMaxReply(4096))
	sdq, err := queue.NewDistributedQueue(ctx, small, "/dq", queue.WithLockPath("/dq-locks"))
	if err != nil {
		t.Fatal(err)
	}
	ssq := queue.NewSimpleQueue(small, "/sq")
	for what, take := range map[string]func() error{
		"DistributedQueue.Take": func() error { _, err := sdq.Take(ctx, 1); return err },
		"DistributedQueue.Consume": func() error {
			return sdq.Consume(ctx, func(context.Context, []byte) error { return nil })
		},
		"SimpleQueue.Take": func() error { _, err := ssq.Take(ctx); return err },
		"SimpleQueue.Poll": func() error { _, _, err := ssq.Poll(ctx); return err },
	} {
		if err := take(); !errors.Is(err, recipes.ErrReplyTooLarge) {
			t.Fatalf("%s on a 6 KB child list under a 4 KB bound: %v, want ErrReplyTooLarge", what, err)
		}
	}
	if err := sdq.Put(ctx, []byte("more")); err != nil {
		t.Fatalf("put beside the refused take: %v", err)
	}
	got, err := dq.Take(ctx, 400)
	if err != nil || len(got) != 301 {
		t.Fatalf("default bound took %d messages, %v; want 301", len(got), err)
	}
}
