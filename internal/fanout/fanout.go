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
}

type sub[T any] struct {
	queue []T
	wake  chan struct{}
	ended bool // the Fanout closed: deliver what is queued, then stop
}

// New returns an open Fanout.
func New[T any]() *Fanout[T] { return &Fanout[T]{subs: map[*sub[T]]struct{}{}} }

// Subscribe returns a channel that carries first (when non-empty) and then
// every value published after the call, until ctx ends or the Fanout is
// closed and everything queued has been delivered; then it is closed.
func (f *Fanout[T]) Subscribe(ctx context.Context, first ...T) <-chan T {
	out := make(chan T)
	s := &sub[T]{queue: first, wake: make(chan struct{}, 1)}
	f.mu.Lock()
	if f.closed {
		s.ended = true
	} else {
		f.subs[s] = struct{}{}
	}
	f.mu.Unlock()
	go func() {
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

func (s *sub[T]) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
