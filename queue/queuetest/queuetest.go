package queuetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/queue"
)

// Exchange has producers Clients offer n messages each to the SimpleQueue
// at path while consumers Clients take, and checks that every message is
// taken exactly once and that each producer's messages come out in the
// order it offered them.
func Exchange(t *testing.T, addr, path string, producers, consumers, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	total := producers * n
	got := make(chan string, total)
	var left sync.WaitGroup
	left.Add(total)
	takeCtx, stopTaking := context.WithCancel(ctx)
	var consumersDone sync.WaitGroup
	for range consumers {
		q := queue.NewSimpleQueue(locktest.Connect(t, addr), path)
		consumersDone.Add(1)
		go func() {
			defer consumersDone.Done()
			for {
				msg, err := q.Take(takeCtx)
				if err != nil {
					if takeCtx.Err() == nil {
						t.Errorf("take: %v", err)
					}
					return
				}
				got <- string(msg)
				left.Done()
			}
		}()
	}
	for p := range producers {
		q := queue.NewSimpleQueue(locktest.Connect(t, addr), path)
		go func() {
			for i := range n {
				if err := q.Offer(ctx, []byte(fmt.Sprintf("%d/%04d", p, i))); err != nil {
					t.Errorf("offer: %v", err)
				}
			}
		}()
	}
	left.Wait()
	stopTaking()
	consumersDone.Wait()
	close(got)
	seen := map[string]bool{}
	last := map[int]int{}
	for m := range got {
		if seen[m] {
			t.Errorf("%s taken twice", m)
		}
		seen[m] = true
		var p, i int
		fmt.Sscanf(m, "%d/%d", &p, &i)
		if consumers == 1 {
			if prev, ok := last[p]; ok && i != prev+1 {
				t.Errorf("producer %d: %d after %d", p, i, prev)
			}
			last[p] = i
		}
	}
	if len(seen) != total {
		t.Fatalf("%d distinct messages, want %d", len(seen), total)
	}
	if msg, ok, err := queue.NewSimpleQueue(locktest.Connect(t, addr), path).Poll(ctx); ok || err != nil {
		t.Fatalf("queue not empty after all were taken: %q, %v", msg, err)
	}
}
