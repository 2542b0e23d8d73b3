package tree

import (
	"cmp"
	"slices"
	"strings"

	"github.com/zookit/zookit/ensemble/proto"
)

// Watch modes a watcher can hold on one path of one manager, as bits
// (ZooKeeper 3.9 WatchStats): a standard watch is dropped when it fires, the
// persistent ones stay.
const (
	modeStandard uint8 = 1 << iota
	modePersistent
	modeRecursive
)

// watchManager is one of ZooKeeper's two WatchManagers (data or child).
type watchManager struct {
	table     map[string]map[Watcher]uint8 // path -> watcher -> modes
	byWatcher map[Watcher]map[string]struct{}
	pathBytes map[Watcher]int // bytes of the paths in byWatcher[w]
	recursive int             // paths holding modeRecursive; zero skips the parent walk
}

func newWatchManager() *watchManager {
	return &watchManager{
		table:     map[string]map[Watcher]uint8{},
		byWatcher: map[Watcher]map[string]struct{}{},
		pathBytes: map[Watcher]int{},
	}
}

// holds reports whether w has a watch of any mode on path.
func (m *watchManager) holds(path string, w Watcher) bool {
	_, ok := m.byWatcher[w][path]
	return ok
}

func (m *watchManager) add(path string, w Watcher, mode uint8) {
	ws := m.table[path]
	if ws == nil {
		ws = map[Watcher]uint8{}
		m.table[path] = ws
	}
	old := ws[w]
	if old&modeRecursive == 0 && mode&modeRecursive != 0 {
		m.recursive++
	}
	ws[w] = old | mode
	ps := m.byWatcher[w]
	if ps == nil {
		ps = map[string]struct{}{}
		m.byWatcher[w] = ps
	}
	if _, ok := ps[path]; !ok {
		ps[path] = struct{}{}
		m.pathBytes[w] += len(path)
	}
}

// set replaces w's modes on path; zero removes the watch.
func (m *watchManager) set(path string, w Watcher, modes uint8) {
	ws := m.table[path]
	old := ws[w]
	if old&modeRecursive != 0 && modes&modeRecursive == 0 {
		m.recursive--
	}
	if modes != 0 {
		ws[w] = modes
		return
	}
	delete(ws, w)
	if len(ws) == 0 {
		delete(m.table, path)
	}
	ps := m.byWatcher[w]
	if _, ok := ps[path]; ok {
		delete(ps, path)
		m.pathBytes[w] -= len(path)
	}
	if len(ps) == 0 {
		delete(m.byWatcher, w)
		delete(m.pathBytes, w)
	}
}

func (m *watchManager) modes(path string, w Watcher) uint8 { return m.table[path][w] }

// remove drops the given modes of w on path and reports whether any was held.
func (m *watchManager) remove(path string, w Watcher, modes uint8) bool {
	old := m.modes(path, w)
	if old&modes == 0 {
		return false
	}
	m.set(path, w, old&^modes)
	return true
}

func (m *watchManager) removeWatcher(w Watcher) {
	for p := range m.byWatcher[w] {
		m.set(p, w, 0)
	}
}

// trigger is WatchManager.triggerWatch: every watcher on path fires (its
// standard watch is consumed), and recursive watchers on any ancestor fire
// too. It adds the watchers to fired.
func (m *watchManager) trigger(path string, fired map[Watcher]struct{}) {
	for w, modes := range m.table[path] {
		fired[w] = struct{}{}
		if modes&modeStandard != 0 {
			m.set(path, w, modes&^modeStandard)
		}
	}
	if m.recursive == 0 {
		return
	}
	for p := path; p != "/" && p != ""; {
		i := strings.LastIndexByte(p, '/')
		switch {
		case i < 0:
			return
		case i == 0:
			p = "/"
		default:
			p = p[:i]
		}
		for w, modes := range m.table[p] {
			if modes&modeRecursive != 0 {
				fired[w] = struct{}{}
			}
		}
	}
}

// watchState holds both managers and the order in which watchers are told
// about an event. Watchers are compared by identity, so an implementation
// must be comparable (a pointer type in practice).
type watchState struct {
	data, child *watchManager
	seq         map[Watcher]uint64 // first-registration order: delivery order
	next        uint64
	// reads reports whether w may READ a node with this ACL; an event the
	// watcher fails it for is dropped, its standard watch consumed all the
	// same, as ServerCnxn.process does in ZooKeeper 3.8.4 and 3.9.2.
	reads func(acl []proto.ACL, w Watcher) bool
	// maxCount and maxBytes bound each watcher's watches (WithWatchLimits).
	maxCount, maxBytes int
	fired              func(eventType int32, watchers int) // WithFiredWatches; may be nil
}

func newWatchState(reads func(acl []proto.ACL, w Watcher) bool) *watchState {
	return &watchState{data: newWatchManager(), child: newWatchManager(), seq: map[Watcher]uint64{}, reads: reads}
}

func (s *watchState) register(w Watcher) {
	if _, ok := s.seq[w]; !ok {
		s.next++
		s.seq[w] = s.next
	}
}

// admit reports whether w may take the watches on path, in the managers
// ms, that it does not hold yet without passing maxCount or maxBytes.
// A watch it already holds costs nothing: adding a mode to it is free.
func (s *watchState) admit(w Watcher, path string, ms ...*watchManager) bool {
	if s.maxCount <= 0 && s.maxBytes <= 0 {
		return true
	}
	n := 0
	for _, m := range ms {
		if !m.holds(path, w) {
			n++
		}
	}
	if n == 0 {
		return true
	}
	count := len(s.data.byWatcher[w]) + len(s.child.byWatcher[w]) + n
	bytes := s.data.pathBytes[w] + s.child.pathBytes[w] + n*len(path)
	return (s.maxCount <= 0 || count <= s.maxCount) && (s.maxBytes <= 0 || bytes <= s.maxBytes)
}

func (s *watchState) addData(path string, w Watcher, mode uint8) {
	s.register(w)
	s.data.add(path, w, mode)
}

func (s *watchState) addChild(path string, w Watcher, mode uint8) {
	s.register(w)
	s.child.add(path, w, mode)
}

// forget drops w from the delivery order once it holds no watch.
func (s *watchState) forget(w Watcher) {
	if s.data.byWatcher[w] == nil && s.child.byWatcher[w] == nil {
		delete(s.seq, w)
	}
}

// deliver notifies the watchers in fired that are not in skip and may read
// a node with acl, in registration order, so every run of the same history
// notifies alike.
func (s *watchState) deliver(fired, skip map[Watcher]struct{}, typ int32, path string, acl []proto.ACL, zxid int64) {
	ws := make([]Watcher, 0, len(fired))
	for w := range fired {
		if _, ok := skip[w]; !ok && s.reads(acl, w) {
			ws = append(ws, w)
		}
	}
	slices.SortFunc(ws, func(a, b Watcher) int { return cmp.Compare(s.seq[a], s.seq[b]) })
	ev := proto.WatcherEvent{Type: typ, State: proto.StateSyncConnected, Path: path}
	// Counted before any watcher hears of it, so a client that has the
	// event finds it in the metrics.
	if s.fired != nil && len(ws) > 0 {
		s.fired(typ, len(ws))
	}
	for _, w := range ws {
		w.Notify(ev, zxid)
	}
	for w := range fired {
		s.forget(w)
	}
}

// change kinds recorded while applying, fired after the whole txn succeeded.
const (
	changeCreated = iota
	changeDeleted
	changeData
)

// change is one applied mutation with the ACLs its events are checked
// against, as they were when it applied: the node's (for a deleted node, its
// last) and, for a create or delete, the parent's, which guards the parent's
// NodeChildrenChanged.
type change struct {
	kind      int
	path      string
	acl       []proto.ACL
	parentACL []proto.ACL
}

// fire runs DataTree's triggers for one applied change.
func (s *watchState) fire(c change, zxid int64) {
	parent, _, _ := splitPath(c.path)
	switch c.kind {
	case changeCreated:
		s.fireOne(s.data, c.path, proto.EventNodeCreated, c.acl, zxid)
		s.fireOne(s.child, watchPath(parent), proto.EventNodeChildrenChanged, c.parentACL, zxid)
	case changeDeleted:
		fired := map[Watcher]struct{}{}
		s.data.trigger(c.path, fired)
		s.deliver(fired, nil, proto.EventNodeDeleted, c.path, c.acl, zxid)
		// A watcher holding both a data and a child watch on the path
		// hears NodeDeleted once; its child watch is consumed all the same.
		second := map[Watcher]struct{}{}
		s.child.trigger(c.path, second)
		s.deliver(second, fired, proto.EventNodeDeleted, c.path, c.acl, zxid)
		s.fireOne(s.child, watchPath(parent), proto.EventNodeChildrenChanged, c.parentACL, zxid)
	case changeData:
		s.fireOne(s.data, c.path, proto.EventNodeDataChanged, c.acl, zxid)
	}
}

func (s *watchState) fireOne(m *watchManager, path string, typ int32, acl []proto.ACL, zxid int64) {
	fired := map[Watcher]struct{}{}
	m.trigger(path, fired)
	s.deliver(fired, nil, typ, path, acl, zxid)
}
