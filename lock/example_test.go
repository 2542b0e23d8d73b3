package lock_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"path"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/lock"
	"github.com/zookit/zookit/recipes"
	"github.com/zookit/zookit/recipes/recipestest"
)

// Lock, write under the lock with a guard, unlock. Once unlocked, the
// guarded write fails with ErrNotHeld: a lock lost to a session expiry
// cannot be written under either.
func ExampleMutex() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	if _, err := c.CreateWithParents(ctx, "/orders/next", nil, recipes.Persistent); err != nil {
		log.Fatal(err)
	}
	l, err := lock.NewMutex(c, "/locks/orders").Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	// The write happens only while the lock node exists. Outside
	// ZooKeeper, hand l.Fence() to the resource to refuse stale holders.
	set := &zk.SetDataRequest{Path: "/orders/next", Data: []byte("42"), Version: -1}
	if _, err := l.Guard(ctx, set); err != nil {
		log.Fatal(err)
	}
	fmt.Println("written under", recipes.StripProtected(path.Base(l.Path())))
	if err := l.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	_, err = l.Guard(ctx, set)
	fmt.Println(errors.Is(err, lock.ErrNotHeld))
	// Output:
	// written under lock-0000000000
	// true
}

// Readers share, a writer excludes everyone.
func ExampleRWMutex() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	rw := lock.NewRWMutex(c, "/locks/catalog")
	r1, err := rw.RLock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	r2, err := rw.RLock(ctx) // a second reader does not wait
	if err != nil {
		log.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = rw.Lock(short) // a writer waits for both
	cancelShort()
	fmt.Println("writer while read-locked:", errors.Is(err, context.DeadlineExceeded))
	r1.Unlock(ctx)
	r2.Unlock(ctx)
	w, err := rw.Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("writer after the readers left")
	w.Unlock(ctx)
	// Output:
	// writer while read-locked: true
	// writer after the readers left
}

// At most two holders at a time, as Curator's InterProcessSemaphoreV2.
func ExampleSemaphore() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	sem := lock.NewSemaphore(c, "/semaphores/db", 2)
	var leases []*lock.Lease
	for range 2 {
		l, err := sem.Acquire(ctx)
		if err != nil {
			log.Fatal(err)
		}
		leases = append(leases, l)
	}
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = sem.Acquire(short)
	cancelShort()
	fmt.Println("third lease waits:", errors.Is(err, context.DeadlineExceeded))
	for _, l := range leases {
		l.Unlock(ctx)
	}
	// Output: third lease waits: true
}

// A non-re-entrant mutex with Curator's InterProcessSemaphoreMutex layout:
// a second TryLock fails with ErrLocked even in the same process.
func ExampleSemaphoreMutex() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	m := lock.NewSemaphoreMutex(c, "/locks/report")
	l, err := m.TryLock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Unlock(ctx)
	_, err = m.TryLock(ctx)
	fmt.Println(errors.Is(err, lock.ErrLocked))
	// Output: true
}

// Two locks taken as one, all or nothing.
func ExampleMultiLock() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	both := lock.NewMultiLock(lock.NewMutex(c, "/locks/a"), lock.NewMutex(c, "/locks/b"))
	l, err := both.Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Unlock(ctx)
	fmt.Println(len(l.Parts()), "locks held")
	// l.Done() closes when either lock can no longer be trusted.
	// Output: 2 locks held
}

// Revoke asks a holder to let go; the holder learns of it on Revoked, as
// with Curator's Revocable locks.
func ExampleRevoke() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	l, err := lock.NewMutex(c, "/locks/nightly", lock.WithRevocation()).Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := lock.Revoke(ctx, c, l.Path()); err != nil {
		log.Fatal(err)
	}
	<-l.Revoked()
	fmt.Println("asked to release")
	if err := l.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: asked to release
}
