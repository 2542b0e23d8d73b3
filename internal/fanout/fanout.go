package fanout

import (
	"context"
	"sync"
)

// Fanout is a publisher. The zero value is not usable; call New.
type Fanout[T any] struct {
	mu     sync.Mutex
	subs   map[*sub[T]]struct{}
	closed bool
	live   sync.WaitGroup // subscription goroutines, for Stop
}

type sub[T any] struct {
	queue []T
	wake  chan struct{}
	ended bool          // the Fanout closed: deliver what is queued, then stop
	abort chan struct{} // closed by Stop: stop now
}

// New returns an open Fanout.
func New[T any]() *Fanout[T] { return &Fanout[T]{subs: map[*sub[T]]struct{}{}} }

// Subscribe returns a channel that carries first (when non-empty) and then
// every value published after the call, until ctx ends or the Fanout is
// closed and everything queued has been delivered; then it is closed. After
// Close or Stop it is closed at once.
func (f *Fanout[T]) Subscribe(ctx context.Context, first ...T) <-chan T {
	out := make(chan T)
	s := &sub[T]{queue: first, wake: make(chan struct{}, 1), abort: make(chan struct{})}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		close(out)
		return out
	}
	f.subs[s] = struct{}{}
	f.live.Add(1)
	f.mu.Unlock()
	go func() {
		defer f.live.Done()
		defer close(out)
		defer f.unsubscribe(s)
		for {
			f.mu.Lock()
			q, ended := s.queue, s.ended
			s.queue = nil
			f.mu.Unlock()
			for _, v := range q {
				select {
				case out <- v:
				case <-ctx.Done():
					return
				case <-s.abort:
					return
				}
			}
			if ended && len(q) == 0 {
				return
			}
			if len(q) > 0 {
				continue
			}
			select {
			case <-s.wake:
			case <-ctx.Done():
				return
			case <-s.abort:
				return
			}
		}
	}()
	return out
}

func (f *Fanout[T]) unsubscribe(s *sub[T]) {
	f.mu.Lock()
	delete(f.subs, s)
	f.mu.Unlock()
}

// Publish queues v for every subscriber. It does nothing once closed.
func (f *Fanout[T]) Publish(v T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	for s := range f.subs {
		s.queue = append(s.queue, v)
		s.poke()
	}
}

// Close ends every subscription once its queue is delivered. Safe to call
// more than once.
func (f *Fanout[T]) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for s := range f.subs {
		s.ended = true
		s.poke()
	}
}

// Stop ends every subscription at once, without delivering what is
// queued, and waits until their channels are closed. Safe to call more than
// once, and after Close.
func (f *Fanout[T]) Stop() {
	f.mu.Lock()
	f.closed = true
	for s := range f.subs {
		close(s.abort)
		delete(f.subs, s)
	}
	f.mu.Unlock()
	f.live.Wait()
}

func (s *sub[T]) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
