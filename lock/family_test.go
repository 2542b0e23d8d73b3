package lock_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock"
	"github.com/zookit/zookit/lock/locktest"
)

func TestRWMutexContention(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	var wg sync.WaitGroup
	for _, kind := range []string{locktest.KindWrite, locktest.KindRead, locktest.KindWrite, locktest.KindRead} {
		c := locktest.Connect(t, srv.Addr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			locktest.Workers(t, ctx, c, kind, "/rw", 3, 5, 1, nil)
		}()
	}
	wg.Wait()
}

// Readers share; a writer waits for earlier readers, and a reader that came
// after a waiting writer waits for that writer, while a reader before it
// does not.
func TestRWMutexOrder(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	rw := lock.NewRWMutex(locktest.Connect(t, srv.Addr()), "/rw")
	r1, err := rw.RLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := rw.TryRLock(ctx)
	if err != nil {
		t.Fatalf("second reader: %v", err)
	}
	if _, err := rw.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("writer with readers inside: %v", err)
	}
	wch := make(chan *lock.Lease, 1)
	go func() {
		w, err := rw.Lock(ctx)
		if err != nil {
			t.Error(err)
		}
		wch <- w
	}()
	// Wait until the writer is queued, then a new reader must queue too.
	for {
		ps, err := rw.Participants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := rw.TryRLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("reader behind a waiting writer: %v", err)
	}
	r1.Unlock(ctx)
	r2.Unlock(ctx)
	w := <-wch
	if w == nil {
		t.FailNow()
	}
	// Downgrade: the read lease keeps the writer's place.
	r, err := rw.Downgrade(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(r.Path(), "__READ__"+w.Path()[len(w.Path())-10:]) {
		t.Errorf("downgraded read node %s for writer %s", r.Path(), w.Path())
	}
	if err := w.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rw.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("writer while the downgraded reader holds: %v", err)
	}
	if _, err := rw.TryRLock(ctx); err != nil {
		t.Fatalf("reader beside the downgraded reader: %v", err)
	}
}

func TestSemaphore(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		c := locktest.Connect(t, srv.Addr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			locktest.Workers(t, ctx, c, locktest.KindSemaphore, "/sem", 3, 4, 2, nil)
		}()
	}
	wg.Wait()

	s := lock.NewSemaphore(locktest.Connect(t, srv.Addr()), "/sem", 2)
	a, err := s.TryAcquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TryAcquire(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TryAcquire(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("third lease of two: %v", err)
	}
	a.Unlock(ctx)
	if _, err := s.TryAcquire(ctx); err != nil {
		t.Fatalf("lease after a release: %v", err)
	}
	sm := lock.NewSemaphoreMutex(locktest.Connect(t, srv.Addr()), "/semmutex")
	l, err := sm.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sm.TryLock(ctx); !errors.Is(err, lock.ErrLocked) {
		t.Fatalf("SemaphoreMutex twice: %v", err)
	}
	l.Unlock(ctx)
}

// MultiLock is all or nothing under one deadline, and releases everything.
func TestMultiLock(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	other := locktest.Connect(t, srv.Addr())
	held, err := lock.NewMutex(other, "/m/b").Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ml := lock.NewMultiLock(lock.NewMutex(c, "/m/a"), lock.NewMutex(c, "/m/b"), lock.NewSemaphoreMutex(c, "/m/c"))
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = ml.Lock(short)
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("MultiLock with a part held elsewhere: %v", err)
	}
	if _, err := lock.NewMutex(other, "/m/a").TryLock(ctx); err != nil {
		t.Fatalf("/m/a not released after the failed MultiLock: %v", err)
	}
	held.Unlock(ctx)
	l, err := lock.NewMultiLock(lock.NewMutex(c, "/m/x"), lock.NewMutex(c, "/m/y")).Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Parts()) != 2 || l.Fence() < l.Parts()[1].Fence() {
		t.Fatalf("parts %v fence %d", l.Parts(), l.Fence())
	}
	if err := l.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Parts() {
		<-p.Done()
	}
	<-l.Done()
}

func TestRevocation(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	l, err := lock.NewMutex(c, "/rev", lock.WithRevocation()).Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := locktest.Connect(t, srv.Addr())
	ps, err := lock.NewMutex(other, "/rev").Participants(ctx)
	if err != nil || len(ps) != 1 {
		t.Fatalf("participants %v, %v", ps, err)
	}
	if err := lock.Revoke(ctx, other, ps[0]); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Revoked():
	case <-ctx.Done():
		t.Fatal("revocation not seen")
	}
	select {
	case <-l.Done():
		t.Fatal("Done closed by a revocation request")
	default:
	}
	l.Unlock(ctx)
	if err := lock.Revoke(ctx, other, ps[0]); err != nil {
		t.Fatalf("revoking a released lock: %v", err)
	}
}

// Done closes on Suspended by default, and not within the tolerance.
func TestDoneOnSuspended(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	strict, err := lock.NewMutex(c, "/s1").Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tolerant, err := lock.NewMutex(c, "/s2", lock.WithSuspendTolerance(time.Hour)).Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	<-strict.Done()
	if _, err := tolerant.Guard(ctx); err != nil {
		t.Fatalf("guard after reconnect: %v", err)
	}
	select {
	case <-tolerant.Done():
		t.Fatal("tolerant lease done after a short suspension")
	default:
	}
}
