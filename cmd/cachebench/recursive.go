package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zookit/zookit/ensemble/proto"
)

// ZooKeeper's watcher event types.
const (
	eventCreated     = 1
	eventDeleted     = 2
	eventDataChanged = 3
)

// recursive keeps the subtree with one PERSISTENT_RECURSIVE watch on the
// root, as CuratorCache does: every create, delete and data change below
// the root arrives as an event, answered by one getData. Like the
// TreeCache it reads one node at a time.
type recursive struct {
	c    *rawConn
	wg   sync.WaitGroup
	mu   sync.Mutex
	tr   map[string]int32
	stop atomic.Bool

	added, updated, removed atomic.Int64
}

func startRecursive(_ context.Context, addr, root string) (*recursive, error) {
	c, err := dialRaw(addr, 30*time.Second)
	if err != nil {
		return nil, err
	}
	f := &recursive{c: c, tr: map[string]int32{}}
	// Watch first, then read: a change made during the read is then an
	// event that follows it.
	if err := c.addWatch(root, addWatchRecursive); err != nil {
		c.close()
		return nil, err
	}
	var walk func(p string) error
	walk = func(p string) error {
		_, st, err := c.getData(p)
		if errors.Is(err, proto.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		f.tr[p] = st.Version
		kids, err := c.children(p)
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
		c.close()
		return nil, err
	}
	f.wg.Add(1)
	go f.follow()
	return f, nil
}

func (f *recursive) follow() {
	defer f.wg.Done()
	for {
		evs := f.c.nextEvents()
		if evs == nil {
			return
		}
		for _, ev := range evs {
			switch ev.Type {
			case eventCreated, eventDataChanged:
				_, st, err := f.c.getData(ev.Path)
				switch {
				case errors.Is(err, proto.ErrNoNode):
					f.remove(ev.Path)
				case err == nil:
					f.put(ev.Path, st.Version)
				}
			case eventDeleted:
				f.remove(ev.Path)
			}
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
	f.c.close()
	f.wg.Wait()
}
