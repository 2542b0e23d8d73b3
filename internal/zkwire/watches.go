package zkwire

import (
	"maps"
	"slices"

	"github.com/zookit/zookit/ensemble/proto"
)

// WatcherType selects watches for RemoveWatches and CheckWatches
// (Watcher.WatcherType).
type WatcherType int32

const (
	WatchChildren            WatcherType = 1
	WatchData                WatcherType = 2
	WatchAny                 WatcherType = 3
	WatchPersistent          WatcherType = 4
	WatchPersistentRecursive WatcherType = 5
)

// AddWatchMode is addWatch's mode (AddWatchMode).
type AddWatchMode int32

const (
	AddWatchPersistent          AddWatchMode = 0
	AddWatchPersistentRecursive AddWatchMode = 1
)

// watchSet is the client's copy of the watches it holds on the server, by
// server path, so they can be re-registered on another connection.
type watchSet struct {
	data, exist, child, persistent, recursive map[string]bool
}

func newWatchSet() watchSet {
	return watchSet{data: map[string]bool{}, exist: map[string]bool{}, child: map[string]bool{},
		persistent: map[string]bool{}, recursive: map[string]bool{}}
}

// fired drops the one-shot watches a server event triggered.
func (w *watchSet) fired(path string, t EventType) {
	switch t {
	case EventNodeCreated, EventNodeDataChanged:
		delete(w.data, path)
		delete(w.exist, path)
	case EventNodeDeleted:
		delete(w.data, path)
		delete(w.exist, path)
		delete(w.child, path)
	case EventNodeChildrenChanged:
		delete(w.child, path)
	}
}

// remove drops the watches of type t on path and returns the removal
// events the client owes its watcher, in the order data, child, persistent.
func (w *watchSet) remove(path string, t WatcherType) []EventType {
	take := func(m map[string]bool) bool {
		had := m[path]
		delete(m, path)
		return had
	}
	var data, child, persistent bool
	switch t {
	case WatchChildren:
		child = take(w.child)
	case WatchData:
		data = take(w.data)
		data = take(w.exist) || data
	case WatchAny:
		child = take(w.child)
		data = take(w.data)
		data = take(w.exist) || data
		persistent = take(w.persistent)
		persistent = take(w.recursive) || persistent
	case WatchPersistent:
		persistent = take(w.persistent)
	case WatchPersistentRecursive:
		persistent = take(w.recursive)
	}
	var evs []EventType
	if data {
		evs = append(evs, EventDataWatchRemoved)
	}
	if child {
		evs = append(evs, EventChildWatchRemoved)
	}
	if persistent {
		evs = append(evs, EventPersistentWatchRemoved)
	}
	return evs
}

// setWatchesLimit keeps each setWatches2 packet well under jute.maxbuffer,
// as Java's client does (ZOOKEEPER-706).
const setWatchesLimit = 128 << 10

// setWatches builds the setWatches2 packets that re-register every watch.
func (w *watchSet) setWatches(relZxid int64) []*proto.SetWatches {
	var out []*proto.SetWatches
	cur, size := &proto.SetWatches{RelativeZxid: relZxid, V2: true}, 0
	lists := []struct {
		m   map[string]bool
		dst func(*proto.SetWatches) *[]string
	}{
		{w.data, func(s *proto.SetWatches) *[]string { return &s.Data }},
		{w.exist, func(s *proto.SetWatches) *[]string { return &s.Exist }},
		{w.child, func(s *proto.SetWatches) *[]string { return &s.Child }},
		{w.persistent, func(s *proto.SetWatches) *[]string { return &s.Persistent }},
		{w.recursive, func(s *proto.SetWatches) *[]string { return &s.PersistentRecursive }},
	}
	for _, l := range lists {
		for _, p := range slices.Sorted(maps.Keys(l.m)) {
			if size+len(p) > setWatchesLimit && size > 0 {
				out = append(out, cur)
				cur, size = &proto.SetWatches{RelativeZxid: relZxid, V2: true}, 0
			}
			d := l.dst(cur)
			*d = append(*d, p)
			size += len(p) + 4
		}
	}
	if size > 0 {
		out = append(out, cur)
	}
	// Empty lists go out as empty vectors, not null ones, as Java sends.
	for _, s := range out {
		for _, l := range lists {
			if d := l.dst(s); *d == nil {
				*d = []string{}
			}
		}
	}
	return out
}
