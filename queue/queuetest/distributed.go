package queuetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/queue"
	"github.com/zookit/zookit/recipes"
)

// open opens the DistributedQueue at path on a new Client.
func open(t testing.TB, ctx context.Context, addr, path string, opts ...queue.Option) *queue.DistributedQueue {
	t.Helper()
	q, err := queue.NewDistributedQueue(ctx, locktest.Connect(t, addr), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// Distributed has producers Clients put n messages each to the
// DistributedQueue at path (every third put a PutMulti of two messages)
// while consumers Clients consume them, and checks that every message is
// delivered exactly once and that the queue, and the lock path if there is
// one (lock-path mode), are left empty.
func Distributed(t *testing.T, addr, path, lockPath string, producers, consumers, n int) {
	var opts []queue.Option
	if lockPath != "" {
		opts = append(opts, queue.WithLockPath(lockPath))
	}
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	total := producers * n
	got := make(chan string, 2*total)
	var left sync.WaitGroup
	left.Add(total)
	consumeCtx, stopConsuming := context.WithCancel(ctx)
	var consumersDone sync.WaitGroup
	for range consumers {
		q := open(t, ctx, addr, path, opts...)
		consumersDone.Add(1)
		go func() {
			defer consumersDone.Done()
			err := q.Consume(consumeCtx, func(_ context.Context, m []byte) error {
				got <- string(m)
				left.Done()
				return nil
			})
			if consumeCtx.Err() == nil {
				t.Errorf("consume: %v", err)
			}
		}()
	}
	for p := range producers {
		q := open(t, ctx, addr, path, opts...)
		go func() {
			for i := 0; i < n; i++ {
				var err error
				if i%3 == 2 && i+1 < n {
					err = q.PutMulti(ctx, []byte(fmt.Sprintf("%d/%04d", p, i)), []byte(fmt.Sprintf("%d/%04d", p, i+1)))
					i++
				} else {
					err = q.Put(ctx, []byte(fmt.Sprintf("%d/%04d", p, i)))
				}
				if err != nil {
					t.Errorf("put: %v", err)
				}
			}
		}()
	}
	left.Wait()
	stopConsuming()
	consumersDone.Wait()
	close(got)
	seen := map[string]bool{}
	for m := range got {
		if seen[m] {
			t.Errorf("%s delivered twice", m)
		}
		seen[m] = true
	}
	if len(seen) != total {
		t.Fatalf("%d distinct messages, want %d", len(seen), total)
	}
	c := locktest.Connect(t, addr)
	checkEmpty(t, ctx, c, path)
	if lockPath != "" {
		checkEmpty(t, ctx, c, lockPath)
	}
}

// checkEmpty wants no child under p.
func checkEmpty(t testing.TB, ctx context.Context, c *recipes.Client, p string) {
	t.Helper()
	locktest.Eventually(t, ctx, func() bool {
		kids, err := c.Children(ctx, p)
		return err == nil && len(kids) == 0
	}, func() string {
		kids, err := c.Children(ctx, p)
		return fmt.Sprintf("%s still has %v (%v)", p, kids, err)
	})
}

// take takes one message.
func take(t testing.TB, ctx context.Context, q interface {
	Take(context.Context, int) ([][]byte, error)
}) string {
	t.Helper()
	msgs, err := q.Take(ctx, 1)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("take: %q, %v", msgs, err)
	}
	return string(msgs[0])
}

// Priority puts messages with mixed priorities and checks that they come
// out lowest priority first, and in put order within a priority.
func Priority(t *testing.T, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	q, err := queue.NewPriorityQueue(ctx, locktest.Connect(t, addr), path)
	if err != nil {
		t.Fatal(err)
	}
	prios := []int32{5, -1, 0, 1 << 30, -1 << 31, 5, -2, 2147483647, 0}
	for i, p := range prios {
		if err := q.Put(ctx, p, []byte(fmt.Sprintf("%d/%d", p, i))); err != nil {
			t.Fatal(err)
		}
	}
	want := make([]string, len(prios))
	order := make([]int, len(prios))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case prios[a] < prios[b]:
			return -1
		case prios[a] > prios[b]:
			return 1
		}
		return 0
	})
	for i, o := range order {
		want[i] = fmt.Sprintf("%d/%d", prios[o], o)
	}
	var got []string
	for range prios {
		got = append(got, take(t, ctx, q))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// Delay checks that a DelayQueue gives an item no earlier than it is due,
// earliest first, and that a consumer sleeping until the first item is
// due still takes an item put meanwhile that is due at once.
func Delay(t *testing.T, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	q, err := queue.NewDelayQueue(ctx, locktest.Connect(t, addr), path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	due := map[string]time.Time{
		"late":  start.Add(4 * time.Second),
		"soon":  start.Add(400 * time.Millisecond),
		"past":  start.Add(-time.Hour),
		"later": start.Add(600 * time.Millisecond),
	}
	for _, m := range []string{"late", "soon", "past", "later"} {
		if err := q.Put(ctx, due[m], []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"past", "soon", "later"} {
		m := take(t, ctx, q)
		if now := time.Now(); m != want || now.Before(due[m].Truncate(time.Millisecond)) {
			t.Fatalf("took %q at +%v, want %q due at +%v", m, now.Sub(start), want, due[want].Sub(start))
		}
	}
	// "late" is not due for seconds; a message put now is taken at once.
	go func() {
		time.Sleep(100 * time.Millisecond)
		if err := q.Put(ctx, time.Now(), []byte("now")); err != nil {
			t.Error(err)
		}
	}()
	// Once "late" is due, "now" would come first anyway: only the time
	// tells that the sleeping consumer woke for it.
	if m := take(t, ctx, q); m != "now" || !time.Now().Before(due["late"]) {
		t.Fatalf("took %q at +%v, want \"now\" before \"late\" is due", m, time.Since(start))
	}
	if m := take(t, ctx, q); m != "late" || time.Now().Before(due["late"].Truncate(time.Millisecond)) {
		t.Fatalf("took %q at +%v, want \"late\" at +%v", m, time.Since(start), due["late"].Sub(start))
	}
}

// IDRemove checks Remove by id, ids holding '/' and '|', and that items
// come out in put order whatever their ids.
func IDRemove(t *testing.T, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	q, err := queue.NewIDQueue(ctx, locktest.Connect(t, addr), path)
	if err != nil {
		t.Fatal(err)
	}
	puts := [][2]string{{"zz", "1"}, {"a/b", "2"}, {"aa", "3"}, {"zz", "4"}, {"a|b", "5"}, {"b", "6"}}
	for _, p := range puts {
		if err := q.Put(ctx, p[0], []byte(p[1])); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []struct {
		id string
		n  int
	}{{"zz", 2}, {"a/b", 2}, {"missing", 0}} {
		if n, err := q.Remove(ctx, r.id); n != r.n || err != nil {
			t.Fatalf("remove %q: %d, %v; want %d", r.id, n, err, r.n)
		}
	}
	for _, want := range []string{"3", "6"} {
		if m := take(t, ctx, q); m != want {
			t.Fatalf("took %q, want %q", m, want)
		}
	}
	if n, err := q.Len(ctx); n != 0 || err != nil {
		t.Fatalf("len %d, %v after taking all", n, err)
	}
}

// KilledConsumer checks lock-path mode: a consumer whose TCP link is cut
// while it handles a message, as a killed process's is (no session close,
// nothing deleted by it), leaves the message to another consumer, which
// gets it once the server has expired that session and its lock node.
func KilledConsumer(t *testing.T, addr, path, lockPath string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	link := ensembletest.NewRelay(t, addr)
	c1 := locktest.Connect(t, link.Addr(), recipes.WithSessionTimeout(2*time.Second))
	q1, err := queue.NewDistributedQueue(ctx, c1, path, queue.WithLockPath(lockPath))
	if err != nil {
		t.Fatal(err)
	}
	q2 := open(t, ctx, addr, path, queue.WithLockPath(lockPath))
	if err := q1.Put(ctx, []byte("job")); err != nil {
		t.Fatal(err)
	}
	holding := make(chan string, 1)
	ctx1, stop1 := context.WithCancel(ctx)
	done1 := make(chan error, 1)
	go func() {
		done1 <- q1.Consume(ctx1, func(ctx context.Context, m []byte) error {
			holding <- string(m)
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	if m := <-holding; m != "job" {
		t.Fatalf("first consumer got %q", m)
	}
	got := make(chan string, 2)
	ctx2, stop2 := context.WithCancel(ctx)
	done2 := make(chan error, 1)
	go func() {
		done2 <- q2.Consume(ctx2, func(_ context.Context, m []byte) error {
			got <- string(m)
			return nil
		})
	}()
	// The second consumer finds the item locked and must not take it.
	select {
	case m := <-got:
		t.Fatalf("second consumer took %q while the first held it", m)
	case <-time.After(300 * time.Millisecond):
	}
	link.SetDown(true)
	select {
	case m := <-got:
		if m != "job" {
			t.Fatalf("second consumer got %q", m)
		}
	case <-ctx.Done():
		t.Fatal("the message of the dead consumer was not delivered again")
	}
	c1.Close()
	stop1()
	if err := <-done1; err == nil {
		t.Error("dead consumer's Consume returned nil")
	}
	c := locktest.Connect(t, addr)
	checkEmpty(t, ctx, c, path)
	checkEmpty(t, ctx, c, lockPath)
	stop2()
	<-done2
	select {
	case m := <-got:
		t.Fatalf("%q delivered again", m)
	default:
	}
}

// Requeue checks the error modes of lock-path mode: under ErrorRequeue a
// failing message goes back to the end of the queue and is delivered
// again; under ErrorDelete it is dropped.
func Requeue(t *testing.T, addr, path, lockPath string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, addr)
	for _, mode := range []queue.ErrorMode{queue.ErrorRequeue, queue.ErrorDelete} {
		q := open(t, ctx, addr, path, queue.WithLockPath(lockPath), queue.WithErrorMode(mode))
		for _, m := range []string{"a", "b", "c"} {
			if err := q.Put(ctx, []byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		failed := false
		cctx, stop := context.WithCancel(ctx)
		want := []string{"a", "b", "c", "a"}
		if mode == queue.ErrorDelete {
			want = want[:3]
		}
		err := q.Consume(cctx, func(_ context.Context, m []byte) error {
			got = append(got, string(m))
			if len(got) == len(want) {
				stop()
			}
			if string(m) == "a" && !failed {
				failed = true
				return errors.New("fails once")
			}
			return nil
		})
		stop()
		if !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("mode %d: delivered %v, want %v", mode, got, want)
		}
		checkEmpty(t, ctx, c, path)
		checkEmpty(t, ctx, c, lockPath)
	}
}

// MaxItems checks the back-pressure of WithMaxItems: a put waits while the
// queue is full and goes ahead once an item is taken.
func MaxItems(t *testing.T, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	q := open(t, ctx, addr, path, queue.WithMaxItems(2))
	for _, m := range []string{"a", "b"} {
		if err := q.Put(ctx, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	short, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	if err := q.Put(short, []byte("c")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("put into a full queue: %v", err)
	}
	put := make(chan error, 1)
	go func() { put <- q.Put(ctx, []byte("c")) }()
	if m := take(t, ctx, q); m != "a" {
		t.Fatalf("took %q", m)
	}
	if err := <-put; err != nil {
		t.Fatal(err)
	}
	msgs, err := q.Take(ctx, 5)
	if err != nil || len(msgs) != 2 || string(msgs[0]) != "b" || string(msgs[1]) != "c" {
		t.Fatalf("batch take: %q, %v", msgs, err)
	}
}

// IdempotentPuts loses the reply to a put of each queue kind and checks
// that the Client's retry recognises the item its first attempt made
// (recipes' own-write check of sequential creates) instead of putting a
// second one, for every name prefix of the family.
func IdempotentPuts(t *testing.T, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	link := ensembletest.NewRelay(t, addr)
	c := locktest.Connect(t, link.Addr())
	dq, err := queue.NewDistributedQueue(ctx, c, path+"/plain")
	if err != nil {
		t.Fatal(err)
	}
	pq, err := queue.NewPriorityQueue(ctx, c, path+"/priority")
	if err != nil {
		t.Fatal(err)
	}
	yq, err := queue.NewDelayQueue(ctx, c, path+"/delay")
	if err != nil {
		t.Fatal(err)
	}
	iq, err := queue.NewIDQueue(ctx, c, path+"/id")
	if err != nil {
		t.Fatal(err)
	}
	puts := []struct {
		kind string
		put  func() error
	}{
		{"plain", func() error { return dq.Put(ctx, []byte("m")) }},
		{"priority", func() error { return pq.Put(ctx, -7, []byte("m")) }},
		{"delay", func() error { return yq.Put(ctx, time.Now(), []byte("m")) }},
		{"id", func() error { return iq.Put(ctx, "a/b", []byte("m")) }},
	}
	for i, p := range puts {
		link.LoseReply("/" + p.kind + "/queue-")
		if err := p.put(); err != nil {
			t.Fatalf("%s put: %v", p.kind, err)
		}
		if link.Lost() != i+1 {
			t.Fatalf("%s put: its reply was not lost", p.kind)
		}
		kids, err := c.Children(ctx, path+"/"+p.kind)
		if err != nil || len(kids) != 1 {
			t.Fatalf("%s put retried after a lost reply: items %v, %v; want one", p.kind, kids, err)
		}
	}
}
