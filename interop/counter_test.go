package interop

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/counter"
	"github.com/zookit/zookit/counter/countertest"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/recipes"
)

// TestCounter runs package counter's server-independent tests against
// zkserver and against Apache ZooKeeper.
func TestCounter(t *testing.T) {
	Require(t, ZooKeeper)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			t.Run("Increments", func(t *testing.T) { countertest.Increments(t, addr, "/counters/increments", 3, 2, 20, false) })
			t.Run("Promoted", func(t *testing.T) { countertest.Increments(t, addr, "/counters/promoted", 3, 2, 20, true) })
			t.Run("Encoding", func(t *testing.T) { countertest.Encoding(t, addr, "/counters/encoding") })
			t.Run("SharedCounts", func(t *testing.T) { countertest.SharedCounts(t, addr, "/counters/shared", 3, 20) })
		})
	}
}

// TestCounterCurator has Go counters and Curator 5.4's count on the same
// nodes: Atomic[int64] with DistributedAtomicLong (optimistic, then both
// promoted to locks on one path), Atomic[int32] with
// DistributedAtomicInteger, SharedCount with SharedCount, and values of
// every awkward size written by one side and read by the other.
func TestCounterCurator(t *testing.T) {
	Require(t, ZooKeeper, Curator)
	compileCtx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cp, err := CompileJava(compileCtx, t.TempDir(), "CounterPeer")
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			t.Run("AtomicLong", func(t *testing.T) {
				atomicWithCurator(t, cp, addr, atomicRun{
					kind: "long", path: "/interop/atomic-long",
					sessions: 3, workers: 2, threads: 3, n: 30, retries: 3,
				}, counter.NewAtomicLong)
			})
			// No optimistic retry on either side, so that under this
			// contention most updates go through the shared lock.
			t.Run("AtomicLongPromoted", func(t *testing.T) {
				atomicWithCurator(t, cp, addr, atomicRun{
					kind: "long", path: "/interop/atomic-promoted",
					sessions: 3, workers: 2, threads: 3, n: 20, retries: 0,
					lockPath: "/interop/atomic-promoted-lock", lockRetries: 2,
				}, counter.NewAtomicLong)
			})
			t.Run("AtomicInt", func(t *testing.T) {
				atomicWithCurator(t, cp, addr, atomicRun{
					kind: "int", path: "/interop/atomic-int",
					sessions: 2, workers: 1, threads: 2, n: 20, retries: 3,
				}, counter.NewAtomicInt)
			})
			t.Run("SharedCount", func(t *testing.T) { sharedWithCurator(t, cp, addr, "/interop/shared") })
			t.Run("Encoding", func(t *testing.T) { encodingWithCurator(t, cp, addr, "/interop/encoding") })
		})
	}
}

// counterPeer is a running java/CounterPeer.java: one Curator session that
// runs the commands it is sent, one at a time.
type counterPeer struct{ p *PeerProcess }

// startCounterPeer starts a CounterPeer and waits until its session is
// open; it is asked to exit (killed if it does not) when the test ends.
func startCounterPeer(t *testing.T, ctx context.Context, classpath, addr string) *counterPeer {
	t.Helper()
	// Not CommandContext: the peer must outlive ctx to exit cleanly in
	// Cleanup, and every read from it is bounded by ctx anyway.
	seconds := int(hangGuard.Seconds()) - 10
	p, err := StartPeer(exec.Command("java", "-cp", classpath, "CounterPeer", addr, strconv.Itoa(seconds)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ectx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := p.Exit(ectx); err != nil {
			t.Errorf("CounterPeer: %v\nstderr:\n%s", err, p.Stderr())
		} else if t.Failed() {
			t.Logf("CounterPeer stderr:\n%s", p.Stderr())
		}
	})
	if _, err := p.Await(ctx, "READY"); err != nil {
		t.Fatalf("CounterPeer: %v", err)
	}
	return &counterPeer{p}
}

// do sends one command and returns the lines it printed before its "OK"
// line and that line's fields after OK; an "ERROR" line is an error.
func (c *counterPeer) do(ctx context.Context, format string, args ...any) (lines [][]string, ok []string, err error) {
	cmd := fmt.Sprintf(format, args...)
	if err := c.p.Send("%s", cmd); err != nil {
		return nil, nil, fmt.Errorf("CounterPeer %q: %w\nstderr:\n%s", cmd, err, c.p.Stderr())
	}
	for {
		select {
		case l, open := <-c.p.Lines():
			switch {
			case !open:
				return lines, nil, fmt.Errorf("CounterPeer exited (%v) during %q\nstderr:\n%s", c.p.Wait(), cmd, c.p.Stderr())
			case len(l.Fields) == 0:
			case l.Fields[0] == "OK":
				return lines, l.Fields[1:], nil
			case l.Fields[0] == "ERROR":
				return lines, nil, fmt.Errorf("CounterPeer %q: %s", cmd, strings.Join(l.Fields[1:], " "))
			default:
				lines = append(lines, l.Fields)
			}
		case <-ctx.Done():
			return lines, nil, fmt.Errorf("CounterPeer %q: %w\nstderr:\n%s", cmd, ctx.Err(), c.p.Stderr())
		}
	}
}

// value runs a get command and returns what its VALUE line says.
func (c *counterPeer) value(ctx context.Context, format string, args ...any) (int64, error) {
	lines, _, err := c.do(ctx, format, args...)
	if err != nil {
		return 0, err
	}
	if len(lines) != 1 || len(lines[0]) != 2 || lines[0][0] != "VALUE" {
		return 0, fmt.Errorf("CounterPeer %q printed %q, want one VALUE line", fmt.Sprintf(format, args...), lines)
	}
	return strconv.ParseInt(lines[0][1], 10, 64)
}

// peerCommand is a command CounterPeer runs while the Go side works.
type peerCommand struct {
	done  chan struct{} // closed once the command's OK or ERROR is in
	lines [][]string
	ok    []string
	err   error
}

// start sends a command and collects its output in the background.
func (c *counterPeer) start(ctx context.Context, format string, args ...any) *peerCommand {
	r := &peerCommand{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.lines, r.ok, r.err = c.do(ctx, format, args...)
	}()
	return r
}

// busy reports whether the command is still running.
func (r *peerCommand) busy() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// ints parses fields as integers.
func ints(fields []string) ([]int64, error) {
	out := make([]int64, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// atomicRun is one contention run of atomicWithCurator.
type atomicRun struct {
	kind        string // "long" or "int", as CounterPeer's atomic-<kind>
	path        string
	sessions    int // Go Clients
	workers     int // goroutines on each Client, sharing its Atomic
	threads     int // Curator threads on the peer's session
	n           int // successful increments by each goroutine and thread
	retries     int // optimistic retries, on both sides
	lockPath    string
	lockRetries int // retries under the promotion lock, on both sides
}

// handedOut is a value one successful increment handed out, and who got it.
type handedOut struct {
	pre, post int64
	by        string
}

// atomicWithCurator has Go goroutines and Curator threads increment the
// counter at r.path n times each, retrying every increment that did not
// succeed; the Go goroutines go on until Curator's side is done, so that
// the two surely contend however slowly the JVM warms up. No update may be
// lost or counted twice: both sides read the number of successful
// increments at the end, and every value from 1 to it was handed out once,
// by exactly one increment of one side.
func atomicWithCurator[T counter.Integer](t *testing.T, classpath, addr string, r atomicRun, open func(*recipes.Client, string, ...counter.Option) *counter.Atomic[T]) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	java := startCounterPeer(t, ctx, classpath, addr)
	opts := []counter.Option{counter.WithRetry(recipes.RetryNTimes(r.retries, 5*time.Millisecond))}
	javaCmd := fmt.Sprintf("atomic-%s %s %d %d %d", r.kind, r.path, r.threads, r.n, r.retries)
	if r.lockPath != "" {
		opts = append(opts, counter.WithPromotion(r.lockPath, hangGuard/2, recipes.RetryNTimes(r.lockRetries, 5*time.Millisecond)))
		javaCmd += fmt.Sprintf(" %s %d", r.lockPath, r.lockRetries)
	}
	clients := make([]*recipes.Client, r.sessions)
	for i := range clients {
		clients[i] = locktest.Connect(t, addr)
	}

	jr := java.start(ctx, "%s", javaCmd)
	var (
		mu                             sync.Mutex
		got                            []handedOut
		goFailed, goPromoted, goPromOK int
		wg                             sync.WaitGroup
	)
	for i, c := range clients {
		a := open(c, r.path, opts...)
		for w := range r.workers {
			by := fmt.Sprintf("go-%d.%d", i, w)
			wg.Go(func() {
				for done := 0; done < r.n || jr.busy(); {
					res, err := a.Increment(ctx)
					if err != nil {
						t.Errorf("%s: increment: %v", by, err)
						return
					}
					mu.Lock()
					if res.Promoted {
						goPromoted++
					}
					if res.Succeeded {
						done++
						got = append(got, handedOut{int64(res.PreValue), int64(res.PostValue), by})
						if res.Promoted {
							goPromOK++
						}
					} else {
						goFailed++ // lost every race: not an error, try again
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	<-jr.done
	if jr.err != nil {
		t.Fatal(jr.err)
	}
	goOK := len(got)
	for _, l := range jr.lines {
		v, err := ints(l[1:])
		if l[0] != "POST" || len(v) != 3 || err != nil {
			t.Fatalf("CounterPeer printed %q, want POST <pre> <post> <promoted>", l)
		}
		got = append(got, handedOut{v[0], v[1], "java"})
	}
	stats, err := ints(jr.ok)
	if err != nil || len(stats) != 3 || stats[0] != int64(r.threads*r.n) {
		t.Fatalf("CounterPeer: OK %q, want %d successes, failures, promoted", jr.ok, r.threads*r.n)
	}
	t.Logf("Go: %d increments, %d failed attempts, %d promoted attempts (%d succeeded); Curator: %d increments, %d failed attempts, %d promoted",
		goOK, goFailed, goPromoted, goPromOK, stats[0], stats[1], stats[2])

	total := int64(goOK) + stats[0]
	checkHandedOut(t, got, total)
	if v, err := open(clients[0], r.path).Get(ctx); err != nil || int64(v) != total {
		t.Errorf("Go reads %d (%v), want %d increments", v, err, total)
	}
	if v, err := java.value(ctx, "get-%s %s", r.kind, r.path); err != nil || v != total {
		t.Errorf("Curator reads %d (%v), want %d increments", v, err, total)
	}
	if r.lockPath != "" {
		// Every promoted writer of either side released the lock.
		kids, err := clients[0].Children(ctx, r.lockPath)
		if (err != nil && !errors.Is(err, zk.ErrNoNode)) || len(kids) > 0 {
			t.Errorf("lock nodes left under %s: %v (%v)", r.lockPath, kids, err)
		}
	}
}

// checkHandedOut checks that the successful increments of both sides
// handed out every value from 1 to total exactly once, each one more than
// the value it replaced.
func checkHandedOut(t *testing.T, got []handedOut, total int64) {
	t.Helper()
	by := map[int64][]string{}
	for _, h := range got {
		if h.post != h.pre+1 {
			t.Errorf("%s: increment from %d to %d", h.by, h.pre, h.post)
		}
		by[h.post] = append(by[h.post], h.by)
	}
	var missing []int64
	for v := int64(1); v <= total; v++ {
		if len(by[v]) == 0 {
			missing = append(missing, v)
		}
	}
	var twice []string
	for _, v := range slices.Sorted(maps.Keys(by)) {
		if len(by[v]) > 1 || v < 1 || v > total {
			twice = append(twice, fmt.Sprintf("%d by %v", v, by[v]))
		}
	}
	if len(got) != int(total) || len(missing) > 0 || len(twice) > 0 {
		t.Errorf("%d successful increments, want %d; values never handed out: %v; handed out twice or out of range: %v",
			len(got), total, firstFew(missing), firstFew(twice))
	}
	// How often the counter passed from one language to the other: a
	// measure of how much the two sides contended.
	switches, lang := 0, ""
	for v := int64(1); v <= total; v++ {
		if len(by[v]) == 1 {
			l, _, _ := strings.Cut(by[v][0], "-")
			if lang != "" && l != lang {
				switches++
			}
			lang = l
		}
	}
	t.Logf("values 1..%d passed between Go and Curator %d times", total, switches)
}

func firstFew[E any](s []E) []E { return s[:min(len(s), 10)] }

// sharedWithCurator has Go SharedCounts on two sessions and Curator's
// SharedCount each loop trySetCount(prev, prev+1) until it succeeds, n
// times per thread and at least n times per goroutine (the Go side goes on
// until Curator's is done, so that the two surely contend). The count ends
// at the number of successes, every value was set by exactly one of them,
// and the Go Changes stream and Curator's SharedCountListener both deliver
// the final value.
func sharedWithCurator(t *testing.T, classpath, addr, path string) {
	const sessions, workers, threads, n = 2, 2, 2, 25
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	java := startCounterPeer(t, ctx, classpath, addr)
	counts := make([]*counter.SharedCount, sessions)
	for i := range counts {
		s, err := counter.NewSharedCount(ctx, locktest.Connect(t, addr), path, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		counts[i] = s
	}
	// Subscribed before the first update, so that none is missed. Every
	// update adds one, so the stream, in zxid order, only rises.
	var last atomic.Int32
	var order sync.Mutex
	var fell []string
	go func() {
		for v := range counts[0].Changes(ctx) {
			if prev := last.Swap(v.Value); v.Value <= prev {
				order.Lock()
				fell = append(fell, fmt.Sprintf("%d after %d", v.Value, prev))
				order.Unlock()
			}
		}
	}()

	jr := java.start(ctx, "shared-count %s %d %d", path, threads, n)
	var (
		mu       sync.Mutex
		got      []handedOut
		goFailed int
		wg       sync.WaitGroup
	)
	for i, s := range counts {
		for w := range workers {
			by := fmt.Sprintf("go-%d.%d", i, w)
			wg.Go(func() {
				for done := 0; done < n || jr.busy(); {
					prev := s.Versioned()
					ok, err := s.TrySetCount(ctx, prev, prev.Value+1)
					if err != nil {
						t.Errorf("%s: TrySetCount: %v", by, err)
						return
					}
					mu.Lock()
					if ok {
						done++
						got = append(got, handedOut{int64(prev.Value), int64(prev.Value) + 1, by})
					} else {
						goFailed++
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	<-jr.done
	if jr.err != nil {
		t.Fatal(jr.err)
	}
	goOK := len(got)
	for _, l := range jr.lines {
		v, err := ints(l[1:])
		if l[0] != "SET" || len(v) != 1 || err != nil {
			t.Fatalf("CounterPeer printed %q, want SET <value>", l)
		}
		got = append(got, handedOut{v[0] - 1, v[0], "java"})
	}
	stats, err := ints(jr.ok)
	if err != nil || len(stats) != 2 || stats[0] != threads*n {
		t.Fatalf("CounterPeer: OK %q, want %d successes and failures", jr.ok, threads*n)
	}
	t.Logf("Go: %d set, %d trySetCount false; Curator: %d set, %d false", goOK, goFailed, stats[0], stats[1])
	total := int32(goOK) + int32(stats[0])
	checkHandedOut(t, got, int64(total))

	lines, _, err := java.do(ctx, "shared-await %s %d", path, total)
	if err != nil || len(lines) != 1 || !slices.Equal(lines[0], []string{"SEEN", fmt.Sprint(total), fmt.Sprint(total)}) {
		t.Errorf("Curator's listener and count: %q (%v), want %d", lines, err, total)
	}
	locktest.Eventually(t, ctx, func() bool { return last.Load() == total }, func() string {
		return fmt.Sprintf("Go Changes delivered %d last, want %d", last.Load(), total)
	})
	order.Lock()
	if len(fell) > 0 {
		t.Errorf("Go Changes went back: %v", firstFew(fell))
	}
	order.Unlock()
	for i, s := range counts {
		locktest.Eventually(t, ctx, func() bool { return s.Count() == total }, func() string {
			return fmt.Sprintf("Go SharedCount %d stays at %d, want %d", i, s.Count(), total)
		})
	}
	data, _, err := locktest.Connect(t, addr).Get(ctx, path)
	if err != nil || len(data) != 4 || int32(binary.BigEndian.Uint32(data)) != total {
		t.Errorf("%s holds %x (%v), want %d as 4 big-endian bytes", path, data, err, total)
	}
}

// encodingWithCurator has each side write values the other reads: longs
// beyond 32 bits and negative, ints at their limits, SharedCount values;
// and both sides read empty data as 0, refuse data too short, and ignore
// bytes past the encoding alike.
func encodingWithCurator(t *testing.T, classpath, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	java := startCounterPeer(t, ctx, classpath, addr)
	c := locktest.Connect(t, addr)

	longs := []int64{0, 1, -1, math.MaxInt32, math.MinInt32, 1 << 32, 1<<32 + 1, -(1 << 32) - 7, 0x0102030405060708, math.MaxInt64, math.MinInt64}
	ints32 := []int32{0, 1, -1, math.MaxInt32, math.MinInt32, 0x01020304, -123456}

	t.Run("GoToCurator", func(t *testing.T) {
		l := counter.NewAtomicLong(c, path+"/go-long")
		for _, v := range longs {
			if err := l.ForceSet(ctx, v); err != nil {
				t.Fatal(err)
			}
			if got, err := java.value(ctx, "get-long %s", path+"/go-long"); err != nil || got != v {
				t.Errorf("Go wrote long %d, Curator reads %d (%v)", v, got, err)
			}
		}
		i := counter.NewAtomicInt(c, path+"/go-int")
		for _, v := range ints32 {
			if err := i.ForceSet(ctx, v); err != nil {
				t.Fatal(err)
			}
			if got, err := java.value(ctx, "get-int %s", path+"/go-int"); err != nil || got != int64(v) {
				t.Errorf("Go wrote int %d, Curator reads %d (%v)", v, got, err)
			}
		}
		s, err := counter.NewSharedCount(ctx, c, path+"/go-shared", 0)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, v := range ints32 {
			if err := s.SetCount(ctx, v); err != nil {
				t.Fatal(err)
			}
			if got, err := java.value(ctx, "shared-get %s", path+"/go-shared"); err != nil || got != int64(v) {
				t.Errorf("Go set count %d, Curator's SharedCount reads %d (%v)", v, got, err)
			}
		}
	})

	t.Run("CuratorToGo", func(t *testing.T) {
		l := counter.NewAtomicLong(c, path+"/java-long")
		for _, v := range longs {
			if _, _, err := java.do(ctx, "set-long %s %d", path+"/java-long", v); err != nil {
				t.Fatal(err)
			}
			if got, err := l.Get(ctx); err != nil || got != v {
				t.Errorf("Curator wrote long %d, Go reads %d (%v)", v, got, err)
			}
			want := binary.BigEndian.AppendUint64(nil, uint64(v))
			if data, _, err := c.Get(ctx, path+"/java-long"); err != nil || string(data) != string(want) {
				t.Errorf("Curator wrote long %d as %x (%v), Go encodes %x", v, data, err, want)
			}
		}
		i := counter.NewAtomicInt(c, path+"/java-int")
		for _, v := range ints32 {
			if _, _, err := java.do(ctx, "set-int %s %d", path+"/java-int", v); err != nil {
				t.Fatal(err)
			}
			if got, err := i.Get(ctx); err != nil || got != v {
				t.Errorf("Curator wrote int %d, Go reads %d (%v)", v, got, err)
			}
		}
		// A Go SharedCount follows what Curator's sets.
		s, err := counter.NewSharedCount(ctx, c, path+"/java-shared", 0)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		changes := s.Changes(ctx)
		for _, v := range ints32[1:] { // each differs from the one before
			if _, _, err := java.do(ctx, "shared-set %s %d", path+"/java-shared", v); err != nil {
				t.Fatal(err)
			}
			for ch := range changes {
				if ch.Value == v {
					break
				}
			}
			if ctx.Err() != nil {
				t.Fatalf("Curator set count %d, Go's Changes never delivered it; count %d", v, s.Count())
			}
		}
	})

	t.Run("OddData", func(t *testing.T) {
		for _, tc := range []struct {
			name        string
			data        []byte
			long, int   int64 // what both read it as
			longRefused bool  // too short: both refuse it
			intRefused  bool
		}{
			{name: "empty", data: nil},
			{name: "short", data: []byte{1, 2, 3}, longRefused: true, intRefused: true},
			{name: "int-sized", data: []byte{0, 0, 1, 0}, longRefused: true, int: 256},
			{name: "long", data: binary.BigEndian.AppendUint64(nil, 1<<40), long: 1 << 40, int: 1 << 8},
			{name: "long-and-more", data: append(binary.BigEndian.AppendUint64(nil, 5), 0xff), long: 5},
		} {
			p := path + "/odd-" + tc.name
			if _, err := c.CreateWithParents(ctx, p, tc.data, recipes.Persistent); err != nil {
				t.Fatal(err)
			}
			gl, gerr := counter.NewAtomicLong(c, p).Get(ctx)
			jl, jerr := java.value(ctx, "get-long %s", p)
			agree(t, tc.name+" as a long", tc.long, tc.longRefused, gl, gerr, jl, jerr)
			gi, gerr := counter.NewAtomicInt(c, p).Get(ctx)
			ji, jerr := java.value(ctx, "get-int %s", p)
			agree(t, tc.name+" as an int", tc.int, tc.intRefused, int64(gi), gerr, ji, jerr)
		}
	})
}

// agree checks that Go and Curator both read want, or both refuse the
// data (Go with ErrCorrupt).
func agree(t *testing.T, what string, want int64, refused bool, goV int64, goErr error, javaV int64, javaErr error) {
	t.Helper()
	if refused {
		if !errors.Is(goErr, counter.ErrCorrupt) || javaErr == nil {
			t.Errorf("%s: Go reads %d (%v), Curator %d (%v); want both to refuse it", what, goV, goErr, javaV, javaErr)
		}
		return
	}
	if goErr != nil || javaErr != nil || goV != want || javaV != want {
		t.Errorf("%s: Go reads %d (%v), Curator %d (%v); want %d", what, goV, goErr, javaV, javaErr, want)
	}
}
