package fanout

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Every subscriber gets its first value and then everything published, in
// order, even when it reads only after the publisher is done and closed.
func TestOrderAndClose(t *testing.T) {
	f := New[int]()
	ctx := context.Background()
	a := f.Subscribe(ctx, -1)
	b := f.Subscribe(ctx)
	for i := range 100 {
		f.Publish(i)
	}
	f.Close()
	f.Publish(1000) // after Close: dropped
	for name, ch := range map[string]<-chan int{"a": a, "b": b} {
		want := 0
		if name == "a" {
			want = -1
		}
		for v := range ch {
			if v != want {
				t.Fatalf("%s got %d, want %d", name, v, want)
			}
			want++
		}
		if want != 100 {
			t.Fatalf("%s stopped before %d", name, want)
		}
	}
	if _, ok := <-f.Subscribe(ctx); ok {
		t.Fatal("a subscription after Close delivered a value")
	}
}

// A subscriber whose context ends is closed without draining its queue.
func TestContextEnds(t *testing.T) {
	f := New[int]()
	ctx, cancel := context.WithCancel(context.Background())
	ch := f.Subscribe(ctx)
	f.Publish(1)
	cancel()
	for range ch {
	}
	f.Publish(2) // must not block on the gone subscriber
	f.Close()
}

// Stop ends subscriptions that are not being read, at once.
func TestStop(t *testing.T) {
	f := New[int]()
	ch := f.Subscribe(context.Background(), 0)
	f.Publish(1)
	f.Stop()
	for range ch {
	}
	f.Stop()
}
