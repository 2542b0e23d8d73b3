package interop

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/queue"
	"github.com/zookit/zookit/queue/queuetest"
	"github.com/zookit/zookit/recipes"
)

// TestQueue runs package queue's server-independent tests against zkserver
// and against Apache ZooKeeper.
func TestQueue(t *testing.T) {
	Require(t, ZooKeeper)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			t.Run("InOrder", func(t *testing.T) { queuetest.Exchange(t, addr, "/queues/order", 3, 1, 20) })
			t.Run("Contended", func(t *testing.T) { queuetest.Exchange(t, addr, "/queues/many", 3, 3, 20) })
			t.Run("Distributed", func(t *testing.T) { queuetest.Distributed(t, addr, "/dq/plain", "", 3, 3, 20) })
			t.Run("DistributedLocked", func(t *testing.T) { queuetest.Distributed(t, addr, "/dq/safe", "/dq/safe-locks", 3, 3, 20) })
			t.Run("Priority", func(t *testing.T) { queuetest.Priority(t, addr, "/dq/prio") })
			t.Run("Delay", func(t *testing.T) { queuetest.Delay(t, addr, "/dq/delay") })
			t.Run("IDRemove", func(t *testing.T) { queuetest.IDRemove(t, addr, "/dq/id") })
			t.Run("KilledConsumer", func(t *testing.T) { queuetest.KilledConsumer(t, addr, "/dq/killed", "/dq/killed-locks") })
			t.Run("Requeue", func(t *testing.T) { queuetest.Requeue(t, addr, "/dq/requeue", "/dq/requeue-locks") })
			t.Run("MaxItems", func(t *testing.T) { queuetest.MaxItems(t, addr, "/dq/max") })
			t.Run("IdempotentPuts", func(t *testing.T) { queuetest.IdempotentPuts(t, addr, "/dq/idem") })
		})
	}
}

// TestQueueCurator exchanges messages between Go's SimpleQueue and
// Curator 5.4's SimpleDistributedQueue on one path, both ways: every
// message arrives once, in the order it was offered.
func TestQueueCurator(t *testing.T) {
	cp := compileQueuePeer(t)
	const n = 50
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			t.Run("GoToCurator", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
				defer cancel()
				q := queue.NewSimpleQueue(locktest.Connect(t, addr), "/interop/q1")
				for i := range n {
					if err := q.Offer(ctx, []byte(fmt.Sprintf("go/%04d", i))); err != nil {
						t.Fatal(err)
					}
				}
				out := runQueuePeer(t, ctx, cp, addr, "take", "/interop/q1", n)
				checkInOrder(t, peerMessages(out), "go", n)
			})
			t.Run("CuratorToGo", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
				defer cancel()
				runQueuePeer(t, ctx, cp, addr, "offer", "/interop/q2", n, "java")
				q := queue.NewSimpleQueue(locktest.Connect(t, addr), "/interop/q2")
				var got []string
				for range n {
					m, err := q.Take(ctx)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, string(m))
				}
				checkInOrder(t, got, "java", n)
				if m, ok, err := q.Poll(ctx); ok || err != nil {
					t.Fatalf("left in the queue: %q, %v", m, err)
				}
			})
		})
	}
}

// TestQueueCuratorDistributed exchanges messages between Go's
// DistributedQueue family and Curator 5.4's on one path, both ways, on
// both servers: plain queues in default and lock-path mode (each message
// delivered once, PutMulti batches included), Go and Curator consumers side
// by side, a consumer of either language SIGKILLed or cut off mid-message
// leaving its message to the other, and priority, delay and id queues
// ordering, timing and removing alike on both sides.
func TestQueueCuratorDistributed(t *testing.T) {
	cp := compileQueuePeer(t)
	const n = 40
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			for _, mode := range []struct{ name, lockPath string }{{"Default", ""}, {"Locked", "/interop/dlocks"}} {
				t.Run("GoToCurator"+mode.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
					defer cancel()
					p := "/interop/dq-go-" + mode.name
					q := openDistributed(t, ctx, addr, p, mode.lockPath)
					for i := 0; i < n; i++ {
						var err error
						if i%3 == 2 && i+1 < n {
							err = q.PutMulti(ctx, []byte(fmt.Sprintf("go/%04d", i)), []byte(fmt.Sprintf("go/%04d", i+1)))
							i++
						} else {
							err = q.Put(ctx, []byte(fmt.Sprintf("go/%04d", i)))
						}
						if err != nil {
							t.Fatal(err)
						}
					}
					out := runQueuePeer(t, ctx, cp, addr, "dtake", p, n, orDash(mode.lockPath))
					checkInOrder(t, peerMessages(out), "go", n)
					checkQueueEmpty(t, ctx, q)
				})
				t.Run("CuratorToGo"+mode.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
					defer cancel()
					p := "/interop/dq-java-" + mode.name
					runQueuePeer(t, ctx, cp, addr, "dput", p, n, "java")
					q := openDistributed(t, ctx, addr, p, mode.lockPath)
					var got []string
					cctx, stop := context.WithCancel(ctx)
					err := q.Consume(cctx, func(_ context.Context, m []byte) error {
						if got = append(got, string(m)); len(got) == n {
							stop()
						}
						return nil
					})
					if !errors.Is(err, context.Canceled) {
						t.Fatal(err)
					}
					checkInOrder(t, got, "java", n)
					checkQueueEmpty(t, ctx, q)
				})
			}
			t.Run("MixedConsumers", func(t *testing.T) { mixedConsumers(t, cp, addr) })
			t.Run("CuratorKilled", func(t *testing.T) { curatorConsumerKilled(t, cp, addr) })
			t.Run("GoKilled", func(t *testing.T) { goConsumerKilled(t, cp, addr) })
			t.Run("DelayGoToCurator", func(t *testing.T) { delayGoToCurator(t, cp, addr) })
			t.Run("DelayCuratorToGo", func(t *testing.T) { delayCuratorToGo(t, cp, addr) })
			t.Run("IDGoToCurator", func(t *testing.T) { idGoToCurator(t, cp, addr) })
			t.Run("IDCuratorToGo", func(t *testing.T) { idCuratorToGo(t, cp, addr) })
			t.Run("PriorityGoToCurator", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
				defer cancel()
				q, err := queue.NewPriorityQueue(ctx, locktest.Connect(t, addr), "/interop/pq-go")
				if err != nil {
					t.Fatal(err)
				}
				for i, p := range queuePriorities {
					if err := q.Put(ctx, p, []byte(fmt.Sprintf("%d/%d", p, i))); err != nil {
						t.Fatal(err)
					}
				}
				out := runQueuePeer(t, ctx, cp, addr, "ptake", "/interop/pq-go", len(queuePriorities))
				checkPriorityOrder(t, peerMessages(out))
			})
			t.Run("PriorityCuratorToGo", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
				defer cancel()
				var args []string
				for _, p := range queuePriorities {
					args = append(args, strconv.Itoa(int(p)))
				}
				runQueuePeerArgs(t, ctx, cp, addr, "pput", "/interop/pq-java", args...)
				q, err := queue.NewPriorityQueue(ctx, locktest.Connect(t, addr), "/interop/pq-java")
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for range queuePriorities {
					msgs, err := q.Take(ctx, 1)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, string(msgs[0]))
				}
				checkPriorityOrder(t, got)
			})
		})
	}
}

// queuePriorities are put in this order; "<p>/<i>" must come out sorted by
// p, then by i.
var queuePriorities = []int32{7, -3, 0, 7, math.MaxInt32, math.MinInt32, -1, 2, 0}

func checkPriorityOrder(t *testing.T, got []string) {
	t.Helper()
	var want []string
	idx := make([]int, len(queuePriorities))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(queuePriorities[a], queuePriorities[b]) })
	for _, i := range idx {
		want = append(want, fmt.Sprintf("%d/%d", queuePriorities[i], i))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// queueDelays are the due times, from the put, of the delay tests' items,
// in put order; they come out earliest first.
var queueDelays = []time.Duration{1500 * time.Millisecond, -time.Hour, 500 * time.Millisecond, 0}

// delayGoToCurator: Curator's DistributedDelayQueue reads the due times in
// Go's item names: it delivers each item no earlier than it is due,
// earliest first.
func delayGoToCurator(t *testing.T, cp, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	q, err := queue.NewDelayQueue(ctx, locktest.Connect(t, addr), "/interop/yq-go")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	due := map[string]time.Time{}
	for i, d := range queueDelays {
		m := strconv.Itoa(i)
		due[m] = now.Add(d)
		if err := q.Put(ctx, due[m], []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	out := runQueuePeer(t, ctx, cp, addr, "ytake", "/interop/yq-go", len(queueDelays))
	var order []string
	for _, l := range peerMessages(out) {
		var m string
		var at int64
		if _, err := fmt.Sscanf(l, "%s %d", &m, &at); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if at < due[m].UnixMilli() {
			t.Errorf("%s delivered %d ms before it was due", m, due[m].UnixMilli()-at)
		}
		order = append(order, m)
	}
	if want := []string{"1", "3", "2", "0"}; !slices.Equal(order, want) {
		t.Fatalf("Curator delivered %v, want %v", order, want)
	}
}

// delayCuratorToGo: Go's DelayQueue reads the due times in Curator's item
// names.
func delayCuratorToGo(t *testing.T, cp, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	var args []string
	for _, d := range queueDelays {
		args = append(args, strconv.FormatInt(d.Milliseconds(), 10))
	}
	put := time.Now()
	runQueuePeerArgs(t, ctx, cp, addr, "yput", "/interop/yq-java", args...)
	q, err := queue.NewDelayQueue(ctx, locktest.Connect(t, addr), "/interop/yq-java")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1", "3", "2", "0"} {
		msgs, err := q.Take(ctx, 1)
		if err != nil || len(msgs) != 1 || string(msgs[0]) != want {
			t.Fatalf("took %q, %v; want %q", msgs, err, want)
		}
		i, _ := strconv.Atoi(want)
		if early := put.Add(queueDelays[i]).Sub(time.Now()); early > 0 {
			t.Errorf("%s taken at least %v before it was due", want, early)
		}
	}
}

// queueIDs are the id queue tests' items in put order: id=text.
var queueIDs = []string{"zz=1", "a/b=2", "aa=3", "zz=4", "x|y=5", "b=6"}

// idGoToCurator: Curator's DistributedIdQueue removes Go's items by id and
// takes the others in put order, whatever their id; ids holding '/' or
// '|' reach Curator as Go fixed them.
func idGoToCurator(t *testing.T, cp, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	const p = "/interop/iq-go"
	q, err := queue.NewIDQueue(ctx, locktest.Connect(t, addr), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range queueIDs {
		id, text, _ := strings.Cut(it, "=")
		if err := q.Put(ctx, id, []byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	if out := runQueuePeerArgs(t, ctx, cp, addr, "iremove", p, "zz"); !strings.Contains(out, "REMOVED 2\n") {
		t.Fatalf("Curator's remove of zz: %q", out)
	}
	// Curator compares the id given with the fixed one stored.
	if out := runQueuePeerArgs(t, ctx, cp, addr, "iremove", p, "x_y"); !strings.Contains(out, "REMOVED 1\n") {
		t.Fatalf("Curator's remove of x_y: %q", out)
	}
	out := runQueuePeer(t, ctx, cp, addr, "itake", p, 3)
	if got, want := peerMessages(out), []string{"2", "3", "6"}; !slices.Equal(got, want) {
		t.Fatalf("Curator took %v, want %v", got, want)
	}
}

// idCuratorToGo: Go's IDQueue removes Curator's items by id and takes the
// others in put order.
func idCuratorToGo(t *testing.T, cp, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	const p = "/interop/iq-java"
	runQueuePeerArgs(t, ctx, cp, addr, "iput", p, queueIDs...)
	q, err := queue.NewIDQueue(ctx, locktest.Connect(t, addr), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		id string
		n  int
	}{{"zz", 2}, {"x|y", 1}} {
		if n, err := q.Remove(ctx, r.id); n != r.n || err != nil {
			t.Fatalf("remove %q: %d, %v; want %d", r.id, n, err, r.n)
		}
	}
	var got []string
	for range 3 {
		msgs, err := q.Take(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(msgs[0]))
	}
	if want := []string{"2", "3", "6"}; !slices.Equal(got, want) {
		t.Fatalf("Go took %v, want %v", got, want)
	}
}

// mixedConsumers: a Curator and a Go consumer in lock-path mode consume
// one queue side by side while Go puts; every message is delivered to one
// of them, once.
func mixedConsumers(t *testing.T, cp, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	const p, locks, n = "/interop/dq-mixed", "/interop/dq-mixed-locks", 60
	java, err := StartPeer(exec.CommandContext(ctx, "java", "-cp", cp, "QueuePeer", addr, "dserve", p, locks))
	if err != nil {
		t.Fatal(err)
	}
	defer java.Kill()
	if _, err := java.Await(ctx, "STARTED"); err != nil {
		t.Fatal(err)
	}
	type delivery struct{ by, msg string }
	got := make(chan delivery, 2*n)
	go func() {
		for l := range java.Lines() {
			if len(l.Fields) == 2 && l.Fields[0] == "MSG" {
				got <- delivery{"curator", l.Fields[1]}
			}
		}
	}()
	consumer := openDistributed(t, ctx, addr, p, locks)
	cctx, stop := context.WithCancel(ctx)
	consumed := make(chan error, 1)
	go func() {
		consumed <- consumer.Consume(cctx, func(_ context.Context, m []byte) error {
			got <- delivery{"go", string(m)}
			// Slower than Curator's, so that both get a share.
			time.Sleep(5 * time.Millisecond)
			return nil
		})
	}()
	producer := openDistributed(t, ctx, addr, p, locks)
	for i := 0; i < n; i++ {
		if err := producer.Put(ctx, []byte(fmt.Sprintf("m/%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]string{}
	count := map[string]int{}
	for len(seen) < n {
		select {
		case d := <-got:
			if by, dup := seen[d.msg]; dup {
				t.Fatalf("%s delivered to %s and to %s", d.msg, by, d.by)
			}
			seen[d.msg] = d.by
			count[d.by]++
		case <-ctx.Done():
			t.Fatalf("%d of %d messages delivered", len(seen), n)
		}
	}
	locktest.Eventually(t, ctx, func() bool {
		left, err := producer.Len(ctx)
		return err == nil && left == 0
	}, func() string { return "items left in the queue" })
	if err := java.Exit(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	<-consumed
	select {
	case d := <-got:
		t.Fatalf("%s delivered again, to %s", d.msg, d.by)
	default:
	}
	t.Logf("deliveries: %v", count)
}

// curatorConsumerKilled: a Curator lock-path consumer is SIGKILLed while it
// handles a message; a Go consumer waiting behind its lock takes the
// message once the dead session has expired.
func curatorConsumerKilled(t *testing.T, cp, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	const p, locks = "/interop/dq-jkill", "/interop/dq-jkill-locks"
	q := openDistributed(t, ctx, addr, p, locks)
	java, err := StartPeer(exec.CommandContext(ctx, "java", "-cp", cp, "QueuePeer", addr, "dhold", p, locks, "4000"))
	if err != nil {
		t.Fatal(err)
	}
	defer java.Kill()
	if _, err := java.Await(ctx, "STARTED"); err != nil {
		t.Fatal(err)
	}
	if err := q.Put(ctx, []byte("job")); err != nil {
		t.Fatal(err)
	}
	if _, err := java.Await(ctx, "HOLDING", "job"); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	java.Kill()
	msgs, err := q.Take(ctx, 1)
	if err != nil || len(msgs) != 1 || string(msgs[0]) != "job" {
		t.Fatalf("Go consumer after the Curator one was killed: %q, %v", msgs, err)
	}
	t.Logf("taken by Go %v after SIGKILL of the Curator consumer (its session timeout 4s)", time.Since(killed).Round(time.Millisecond))
	checkQueueEmpty(t, ctx, q)
}

// goConsumerKilled: a Go lock-path consumer's TCP link is cut while it
// handles a message, as a killed process's is, so its session expires with
// nothing deleted by it; a Curator consumer then takes the message. Curator
// lists the queue again only when its children change, so a second message
// put once the dead session's lock node is gone nudges it.
func goConsumerKilled(t *testing.T, cp, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	const p, locks = "/interop/dq-gkill", "/interop/dq-gkill-locks"
	link := ensembletest.NewRelay(t, addr)
	c1 := locktest.Connect(t, link.Addr(), recipes.WithSessionTimeout(4*time.Second))
	q1, err := queue.NewDistributedQueue(ctx, c1, p, queue.WithLockPath(locks))
	if err != nil {
		t.Fatal(err)
	}
	holding := make(chan struct{})
	ctx1, stop1 := context.WithCancel(ctx)
	done1 := make(chan error, 1)
	defer func() { stop1(); <-done1 }()
	go func() {
		done1 <- q1.Consume(ctx1, func(ctx context.Context, m []byte) error {
			close(holding)
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	if err := q1.Put(ctx, []byte("job")); err != nil {
		t.Fatal(err)
	}
	<-holding
	java, err := StartPeer(exec.CommandContext(ctx, "java", "-cp", cp, "QueuePeer", addr, "dtake", p, "2", locks))
	if err != nil {
		t.Fatal(err)
	}
	defer java.Kill()
	if _, err := java.Await(ctx, "STARTED"); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-java.Lines():
		t.Fatalf("Curator consumed while the Go consumer held the message: %v", l.Fields)
	case <-time.After(time.Second):
	}
	link.SetDown(true)
	q2 := openDistributed(t, ctx, addr, p, locks)
	obs := locktest.Connect(t, addr)
	locktest.Eventually(t, ctx, func() bool {
		kids, err := obs.Children(ctx, locks)
		return err == nil && len(kids) == 0
	}, func() string { return "the cut-off consumer's lock node outlived its session" })
	c1.Close()
	if err := q2.Put(ctx, []byte("nudge")); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for range 2 {
		l, err := java.Await(ctx, "MSG")
		if err != nil {
			t.Fatal(err)
		}
		got[strings.Join(l.Fields[1:], " ")]++
	}
	if got["job"] != 1 || got["nudge"] != 1 {
		t.Fatalf("Curator consumed %v", got)
	}
	if _, err := java.Await(ctx, "OK"); err != nil {
		t.Fatal(err)
	}
	checkQueueEmpty(t, ctx, q2)
}

// compileQueuePeer compiles QueuePeer.java and returns its classpath.
func compileQueuePeer(t *testing.T) string {
	t.Helper()
	Require(t, ZooKeeper, Curator)
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cp, err := CompileJava(ctx, t.TempDir(), "QueuePeer")
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func openDistributed(t *testing.T, ctx context.Context, addr, p, lockPath string) *queue.DistributedQueue {
	t.Helper()
	var opts []queue.Option
	if lockPath != "" {
		opts = append(opts, queue.WithLockPath(lockPath))
	}
	q, err := queue.NewDistributedQueue(ctx, locktest.Connect(t, addr), p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func checkQueueEmpty(t *testing.T, ctx context.Context, q *queue.DistributedQueue) {
	t.Helper()
	if n, err := q.Len(ctx); n != 0 || err != nil {
		t.Fatalf("%d items left, %v", n, err)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// peerMessages are the texts of a peer's MSG lines.
func peerMessages(out string) []string {
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if m, ok := strings.CutPrefix(l, "MSG "); ok {
			got = append(got, m)
		}
	}
	return got
}

func runQueuePeer(t *testing.T, ctx context.Context, classpath, addr, mode, path string, n int, extra ...string) string {
	t.Helper()
	return runQueuePeerArgs(t, ctx, classpath, addr, mode, path, append([]string{strconv.Itoa(n)}, extra...)...)
}

func runQueuePeerArgs(t *testing.T, ctx context.Context, classpath, addr, mode, path string, extra ...string) string {
	t.Helper()
	args := append([]string{"-cp", classpath, "QueuePeer", addr, mode, path}, extra...)
	cmd := exec.CommandContext(ctx, "java", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.HasSuffix(strings.TrimSpace(stdout.String()), "OK") {
		t.Fatalf("QueuePeer %s: %v\nstdout:\n%s\nstderr:\n%s", mode, err, lastBytes(stdout.String(), 4<<10), lastBytes(stderr.String(), 4<<10))
	}
	return stdout.String()
}

// checkInOrder wants prefix/0000 .. prefix/n-1, each once, in order.
func checkInOrder(t *testing.T, got []string, prefix string, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d messages, want %d: %v", len(got), n, got)
	}
	for i, m := range got {
		if want := fmt.Sprintf("%s/%04d", prefix, i); m != want {
			t.Fatalf("message %d is %q, want %q", i, m, want)
		}
	}
}
