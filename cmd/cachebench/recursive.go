package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/internal/zkwire"
)

// recursive keeps the subtree with one PERSISTENT_RECURSIVE watch on the
// root, as CuratorCache does: every create, delete and data change below
// the root arrives as an event, answered by one getData. Like the
// TreeCache it reads one node at a time. go-zk has no addWatch, so it
// runs on zkwire.
type recursive struct {
	c   *zkwire.Client
	ctx context.Context
	wg  sync.WaitGroup
	mu  sync.Mutex
	tr  map[string]int32

	added, updated, removed atomic.Int64
}

func startRecursive(ctx context.Context, addr, root string) (*recursive, error) {
	c, err := zkwire.New(addr, zkwire.Config{SessionTimeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	f := &recursive{c: c, ctx: ctx, tr: map[string]int32{}}
	// Watch first, then read: a change made during the read is then an
	// event that follows it.
	if err := c.AddWatch(ctx, root, zkwire.AddWatchPersistentRecursive); err != nil {
		c.Close()
		return nil, err
	}
	var walk func(p string) error
	walk = func(p string) error {
		_, st, err := c.Get(ctx, p, false)
		if errors.Is(err, proto.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		f.tr[p] = st.Version
		kids, _, err := c.Children(ctx, p, false)
		if errors.Is(err, proto.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := walk(p + "/" + k); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		c.Close()
		return nil, err
	}
	f.wg.Add(1)
	go f.follow()
	return f, nil
}

// follow applies events until Close ends the stream.
func (f *recursive) follow() {
	defer f.wg.Done()
	for ev := range f.c.Events() {
		switch ev.Type {
		case zkwire.EventNodeCreated, zkwire.EventNodeDataChanged:
			_, st, err := f.c.Get(f.ctx, ev.Path, false)
			switch {
			case errors.Is(err, proto.ErrNoNode):
				f.remove(ev.Path)
			case err == nil:
				f.put(ev.Path, st.Version)
			}
		case zkwire.EventNodeDeleted:
			f.remove(ev.Path)
		}
	}
}

func (f *recursive) put(p string, version int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.tr[p]
	f.tr[p] = version
	switch {
	case !ok:
		f.added.Add(1)
	case old != version:
		f.updated.Add(1)
	}
}

func (f *recursive) remove(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.tr[p]; ok {
		delete(f.tr, p)
		f.removed.Add(1)
	}
}

func (f *recursive) counts() (int64, int64, int64) {
	return f.added.Load(), f.updated.Load(), f.removed.Load()
}

func (f *recursive) tree() map[string]int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int32, len(f.tr))
	for p, v := range f.tr {
		out[p] = v
	}
	return out
}

func (f *recursive) close() {
	f.c.Close()
	f.wg.Wait()
}
