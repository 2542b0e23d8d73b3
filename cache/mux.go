package cache

import (
	"reflect"
	"sync"

	"github.com/go-zookeeper/zk"
)

// shardSize bounds the channels one mux goroutine selects over: reflect.Select
// scans all its cases on every call, so a small shard keeps each wake-up
// cheap while 10,000 watches still need only about a hundred goroutines.
const shardSize = 64

// watchKind is what a watch was set by.
type watchKind int

const (
	dataWatch watchKind = iota + 1
	childWatch
	existsWatch
)

// watchKey names a watch the cache set: its path, kind and the cache epoch
// (session) it belongs to.
type watchKey struct {
	path  string
	kind  watchKind
	epoch uint64
}

// fired is a watch's one event.
type fired struct {
	key watchKey
	ev  zk.Event
}

// watchMux waits on many go-zk watch channels with a few goroutines, instead
// of one goroutine per watch: go-zk gives every one-time watch a channel of
// its own, and a cache of 10,000 nodes holds twice as many watches.
type watchMux struct {
	deliver func(fired)
	stop    chan struct{}
	wg      sync.WaitGroup

	mu     sync.Mutex
	shards []*shard
}

type shard struct {
	add  chan watchReg
	free int // guarded by watchMux.mu
}

type watchReg struct {
	ch  <-chan zk.Event
	key watchKey
}

func newWatchMux(deliver func(fired)) *watchMux {
	return &watchMux{deliver: deliver, stop: make(chan struct{})}
}

// watch hands ch to a shard with room, starting one if none has.
func (m *watchMux) watch(ch <-chan zk.Event, key watchKey) {
	m.mu.Lock()
	var s *shard
	for _, c := range m.shards {
		if c.free > 0 {
			s = c
			break
		}
	}
	if s == nil {
		s = &shard{add: make(chan watchReg), free: shardSize}
		m.shards = append(m.shards, s)
		m.wg.Add(1)
		go m.run(s)
	}
	s.free--
	m.mu.Unlock()
	select {
	case s.add <- watchReg{ch, key}:
	case <-m.stop:
	}
}

func (m *watchMux) run(s *shard) {
	defer m.wg.Done()
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(m.stop)},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.add)},
	}
	keys := make([]watchKey, 2, shardSize+2)
	for {
		i, v, ok := reflect.Select(cases)
		switch i {
		case 0:
			return
		case 1:
			r := v.Interface().(watchReg)
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(r.ch)})
			keys = append(keys, r.key)
		default:
			// go-zk sends one event and closes the channel; a closed
			// channel without one means go-zk gave up on the watch.
			ev := zk.Event{Type: zk.EventNotWatching}
			if ok {
				ev = v.Interface().(zk.Event)
			}
			m.deliver(fired{key: keys[i], ev: ev})
			last := len(cases) - 1
			cases[i], keys[i] = cases[last], keys[last]
			cases, keys = cases[:last], keys[:last]
			m.mu.Lock()
			s.free++
			m.mu.Unlock()
		}
	}
}

// close stops every shard and waits for them. Channels still registered
// are dropped: go-zk's are buffered, so it never blocks on them.
func (m *watchMux) close() {
	close(m.stop)
	m.wg.Wait()
}
