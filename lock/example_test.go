package lock_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/lock"
	"github.com/zookit/zookit/recipes"
)

// connect is what every example starts with; the examples need a server on
// 127.0.0.1:2181, so they have no Output lines and are only compiled.
func connect(ctx context.Context) *recipes.Client {
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// Lock, write under the lock with a guard, unlock.
func ExampleMutex() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := connect(ctx)
	defer c.Close()
	l, err := lock.NewMutex(c, "/locks/orders").Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Unlock(ctx)
	// The write happens only while the lock node exists; ErrNotHeld
	// otherwise. Outside ZooKeeper, pass l.Fence() to the resource.
	if _, err := l.Guard(ctx, &zk.SetDataRequest{Path: "/orders/next", Data: []byte("42"), Version: -1}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("fence", l.Fence())
}

// Readers share, a writer excludes everyone.
func ExampleRWMutex() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := connect(ctx)
	defer c.Close()
	rw := lock.NewRWMutex(c, "/locks/catalog")
	r, err := rw.RLock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	r.Unlock(ctx)
	w, err := rw.Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	w.Unlock(ctx)
}

// At most three holders at a time, as Curator's InterProcessSemaphoreV2.
func ExampleSemaphore() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := connect(ctx)
	defer c.Close()
	lease, err := lock.NewSemaphore(c, "/semaphores/db", 3).Acquire(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer lease.Unlock(ctx)
}

// A non-re-entrant mutex with Curator's InterProcessSemaphoreMutex layout.
func ExampleSemaphoreMutex() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := connect(ctx)
	defer c.Close()
	l, err := lock.NewSemaphoreMutex(c, "/locks/report").TryLock(ctx)
	if err != nil {
		log.Fatal(err) // lock.ErrLocked when someone else holds it
	}
	defer l.Unlock(ctx)
}

// Two locks taken as one, all or nothing.
func ExampleMultiLock() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := connect(ctx)
	defer c.Close()
	both := lock.NewMultiLock(lock.NewMutex(c, "/locks/a"), lock.NewMutex(c, "/locks/b"))
	l, err := both.Lock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer l.Unlock(ctx)
	<-l.Done() // closes when either lock can no longer be trusted
}
