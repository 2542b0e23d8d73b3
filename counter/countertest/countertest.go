package countertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zookit/zookit/counter"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/recipes"
)

// Increments has workers goroutines on each of sessions Clients increment
// the AtomicLong at path n times each, retrying every increment that did
// not succeed, and checks that no update was lost or counted twice: the
// final value is the number of increments, and every post value was handed
// out once. With promote, updates that lose their optimistic attempt (one
// try only, to make that common) take the lock at path+"-lock".
func Increments(t *testing.T, addr, path string, sessions, workers, n int, promote bool) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	opts := []counter.Option{counter.WithRetry(recipes.RetryNTimes(3, time.Millisecond))}
	if promote {
		opts = []counter.Option{
			counter.WithRetry(recipes.RetryNTimes(0, 0)),
			counter.WithPromotion(path+"-lock", locktest.Guard, recipes.RetryNTimes(3, time.Millisecond)),
		}
	}
	var mu sync.Mutex
	seen := map[int64]bool{}
	promoted := 0
	var wg sync.WaitGroup
	for range sessions {
		a := counter.NewAtomicLong(locktest.Connect(t, addr), path, opts...)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for done := 0; done < n; {
					r, err := a.Increment(ctx)
					if err != nil {
						t.Errorf("increment: %v", err)
						return
					}
					if !r.Succeeded {
						continue
					}
					done++
					mu.Lock()
					if seen[r.PostValue] || r.PostValue != r.PreValue+1 {
						t.Errorf("post value %d (pre %d) handed out twice or not by one", r.PostValue, r.PreValue)
					}
					seen[r.PostValue] = true
					if r.Promoted {
						promoted++
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	got, err := counter.NewAtomicLong(locktest.Connect(t, addr), path).Get(ctx)
	want := int64(sessions * workers * n)
	if err != nil || got != want {
		t.Fatalf("final value %d (%v), want %d", got, err, want)
	}
	t.Logf("%d increments, %d through the promotion lock", want, promoted)
}

// Encoding checks Curator's encodings on the wire: 8 and 4 big-endian
// bytes, empty data read as 0, and short data refused.
func Encoding(t *testing.T, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, addr)
	long := counter.NewAtomicLong(c, path+"/long")
	if err := long.ForceSet(ctx, -5_000_000_000); err != nil {
		t.Fatal(err)
	}
	data, _, err := c.Get(ctx, path+"/long")
	if err != nil || fmt.Sprintf("%x", data) != "fffffffed5fa0e00" {
		t.Fatalf("long bytes %x (%v)", data, err)
	}
	i := counter.NewAtomicInt(c, path+"/int")
	if ok, err := i.Initialize(ctx, -2); !ok || err != nil {
		t.Fatalf("initialize: %v, %v", ok, err)
	}
	if ok, err := i.Initialize(ctx, 7); ok || err != nil {
		t.Fatalf("second initialize: %v, %v; want false", ok, err)
	}
	if data, _, err = c.Get(ctx, path+"/int"); err != nil || fmt.Sprintf("%x", data) != "fffffffe" {
		t.Fatalf("int bytes %x (%v)", data, err)
	}
	if r, err := i.CompareAndSet(ctx, 3, 4); err != nil || r.Succeeded {
		t.Fatalf("compare-and-set from a wrong value: %+v, %v", r, err)
	}
	if r, err := i.CompareAndSet(ctx, -2, 4); err != nil || !r.Succeeded || r.PreValue != -2 || r.PostValue != 4 {
		t.Fatalf("compare-and-set: %+v, %v", r, err)
	}
	// Curator compares bytes: a missing node never matches, nor does
	// empty data (which reads as 0) or data longer than the encoding.
	missing := counter.NewAtomicLong(c, path+"/missing")
	if r, err := missing.CompareAndSet(ctx, 0, 5); err != nil || r.Succeeded {
		t.Fatalf("compare-and-set on a missing node: %+v, %v", r, err)
	}
	if st, err := c.Exists(ctx, path+"/missing"); st != nil || err != nil {
		t.Fatalf("compare-and-set created the node: %v, %v", st, err)
	}
	if _, err := c.Create(ctx, path+"/long9", append(encodeLong(7), 0), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	if r, err := counter.NewAtomicLong(c, path+"/long9").CompareAndSet(ctx, 7, 5); err != nil || r.Succeeded {
		t.Fatalf("compare-and-set on 9 bytes: %+v, %v", r, err)
	}
	if _, err := c.Create(ctx, path+"/empty", nil, recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	if r, err := counter.NewAtomicLong(c, path+"/empty").CompareAndSet(ctx, 0, 5); err != nil || r.Succeeded {
		t.Fatalf("compare-and-set on empty data: %+v, %v", r, err)
	}
	if v, err := counter.NewAtomicLong(c, path+"/empty").Get(ctx); v != 0 || err != nil {
		t.Fatalf("empty node: %d, %v; want 0", v, err)
	}
	if _, err := c.Set(ctx, path+"/empty", []byte{1, 2, 3}, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := counter.NewAtomicLong(c, path+"/empty").Increment(ctx); err == nil {
		t.Fatal("increment of 3-byte data succeeded")
	}
}

// SharedCounts has sessions SharedCounts on path count up with TrySetCount
// n times each, and checks the total and that a listener saw the last value.
func SharedCounts(t *testing.T, addr, path string, sessions, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	watcher, err := counter.NewSharedCount(ctx, locktest.Connect(t, addr), path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	changes := watcher.Changes(ctx)
	want := int32(sessions * n)
	var wg sync.WaitGroup
	for range sessions {
		s, err := counter.NewSharedCount(ctx, locktest.Connect(t, addr), path, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := 0; done < n; {
				prev := s.Versioned()
				ok, err := s.TrySetCount(ctx, prev, prev.Value+1)
				if err != nil {
					t.Errorf("try set: %v", err)
					return
				}
				if ok {
					done++
				}
			}
		}()
	}
	wg.Wait()
	for v := range changes {
		if v.Value == want {
			break
		}
		if v.Value > want {
			t.Fatalf("listener saw %d, more than the %d increments", v.Value, want)
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("listener never saw %d", want)
	}
	if got := watcher.Count(); got != want {
		t.Fatalf("count %d, want %d", got, want)
	}
}

// encodeLong is Curator's 8-byte big-endian encoding, written out here so
// the test does not trust the code it checks.
func encodeLong(v int64) []byte {
	b := make([]byte, 8)
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
	return b
}
