package counter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zookit/zookit/internal/fanout"
	"github.com/zookit/zookit/recipes"
)

// Versioned is a SharedCount value with the stat it was read with, as
// Curator's VersionedValue: Version is the node's data version, Zxid its
// mzxid.
type Versioned struct {
	Value   int32
	Version int32
	Zxid    int64
}

// SharedCount is Curator's SharedCount: an int32 every process sees, kept
// locally from a data watch.
type SharedCount struct {
	c      *recipes.Client
	path   string
	stop   context.CancelFunc
	done   chan struct{}
	change *fanout.Fanout[Versioned]

	mu  sync.Mutex
	cur Versioned
}

// NewSharedCount starts a SharedCount on path: it creates the node with
// seed when it does not exist (parents as containers), reads the value and
// follows it until Close.
func NewSharedCount(ctx context.Context, c *recipes.Client, path string, seed int32) (*SharedCount, error) {
	if _, err := c.CreateWithParents(ctx, path, encode(seed), recipes.Persistent); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return nil, fmt.Errorf("shared count %s: %w", path, err)
	}
	s := &SharedCount{c: c, path: path, done: make(chan struct{}), change: fanout.New[Versioned]()}
	ch, err := s.refresh(ctx)
	if err != nil {
		return nil, err
	}
	wctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.follow(wctx, ch)
	return s, nil
}

// Count is the last value seen.
func (s *SharedCount) Count() int32 { return s.Versioned().Value }

// Versioned is the last value seen with its version, for TrySetCount.
func (s *SharedCount) Versioned() Versioned {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Changes delivers every newer value, in order, from the call on until ctx
// ends or the SharedCount is closed (Curator's SharedCountListener).
func (s *SharedCount) Changes(ctx context.Context) <-chan Versioned { return s.change.Subscribe(ctx) }

// SetCount sets the value unconditionally.
func (s *SharedCount) SetCount(ctx context.Context, v int32) error {
	st, err := s.c.Set(ctx, s.path, encode(v), -1)
	if err != nil {
		return fmt.Errorf("shared count %s: %w", s.path, err)
	}
	s.accept(Versioned{Value: v, Version: st.Version, Zxid: st.Mzxid})
	return nil
}

// TrySetCount sets v only if the count is still at prev's version; false
// (and a fresh read) when someone changed it first.
func (s *SharedCount) TrySetCount(ctx context.Context, prev Versioned, v int32) (bool, error) {
	res, err := s.c.Multi(ctx, &zk.SetDataRequest{Path: s.path, Data: encode(v), Version: prev.Version})
	if errors.Is(err, zk.ErrBadVersion) {
		_, err := s.refresh(ctx)
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("shared count %s: %w", s.path, err)
	}
	if st := res[0].Stat; st != nil {
		s.accept(Versioned{Value: v, Version: st.Version, Zxid: st.Mzxid})
	}
	return true, nil
}

// Close stops following the value. Safe to call more than once.
func (s *SharedCount) Close() {
	s.stop()
	<-s.done
	s.change.Close()
}

// refresh reads the value with a watch. While someone has deleted the node
// the value stays as it was, and the watch waits for the node to return.
func (s *SharedCount) refresh(ctx context.Context) (<-chan zk.Event, error) {
	data, st, ch, err := s.c.GetW(ctx, s.path)
	if errors.Is(err, zk.ErrNoNode) {
		var exists *zk.Stat
		exists, ch, err = s.c.ExistsW(ctx, s.path)
		if err == nil && exists == nil {
			return ch, nil
		}
		if err == nil {
			return s.refresh(ctx) // back already
		}
	}
	if err != nil {
		return nil, fmt.Errorf("shared count %s: %w", s.path, err)
	}
	v, err := decode[int32](data)
	if err != nil {
		return nil, fmt.Errorf("shared count %s: %w", s.path, err)
	}
	s.accept(Versioned{Value: v, Version: st.Version, Zxid: st.Mzxid})
	return ch, nil
}

// accept keeps v if it is newer than what is known, as Curator's
// updateValue does, and tells the listeners.
func (s *SharedCount) accept(v Versioned) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.Zxid <= s.cur.Zxid && s.cur.Zxid != 0 {
		return
	}
	s.cur = v
	s.change.Publish(v)
}

// follow re-reads after every event of the data watch; a watch lost with
// the session is set again once the Client is connected.
func (s *SharedCount) follow(ctx context.Context, ch <-chan zk.Event) {
	defer close(s.done)
	for {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
		for {
			var err error
			if ch, err = s.refresh(ctx); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			s.c.Logger().Debug("shared count: re-reading", zap.Error(err))
			if s.c.AwaitConnected(ctx) != nil {
				return
			}
			// Not only a lost connection (corrupt data, say): do not spin.
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return
			}
		}
	}
}
