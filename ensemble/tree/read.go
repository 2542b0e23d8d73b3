package tree

import (
	"fmt"
	"slices"
	"strings"

	"github.com/zookit/zookit/ensemble/proto"
)

// Errors of reads that hit a bound. Their codes are ZooKeeper's, which has
// neither bound: MARSHALLINGERROR for a reply that cannot be marshalled
// within jute.maxbuffer (a Java client would refuse it anyway, dropping its
// connection), QUOTAEXCEEDED for a watch past the connection's quota.
var (
	ErrReplyTooLarge = fmt.Errorf("%w: the reply would exceed jute.maxbuffer", proto.ErrMarshallingError)
	ErrWatchLimit    = fmt.Errorf("%w: the connection holds as many watches as it may", proto.ErrQuotaExceeded)
)

// Encoded sizes of reply records, for Caller.MaxReply.
const (
	statSize        = 68 // proto.Stat
	multiHeaderSize = 9  // a multi result's type, done flag and error
)

// dataSize is the encoded GetDataResponse of n.
func dataSize(n *node) int { return 4 + len(n.bytes()) + statSize }

// childrenSize is the encoded ChildrenResponse of n.
func (t *Tree) childrenSize(p string, n *node, withStat bool) int {
	size := 4
	t.eachChild(p, n, func(name string) bool {
		size += 4 + len(name)
		return true
	})
	if withStat {
		size += statSize
	}
	return size
}

// fits reports whether a reply record of size bytes is within c.MaxReply.
func (c Caller) fits(size int) bool { return c.MaxReply <= 0 || size <= c.MaxReply }

// Read serves a read-only request from the local tree, with the ACL checks
// and reply records of FinalRequestProcessor. Watches the read sets are
// registered under the same lock as the read, so no change can slip in
// between. Errors are proto.Code values. Ops: OpExists, OpGetData,
// OpGetChildren, OpGetChildren2, OpGetACL, OpGetAllChildrenNumber,
// OpGetEphemerals, OpMultiRead, OpAddWatch, OpCheckWatches, OpRemoveWatches,
// OpSetWatches, OpSetWatches2.
func (t *Tree) Read(c Caller, op proto.Op, req proto.Record) (resp proto.Record, err error) {
	t.ReadThen(c, op, req, func(r proto.Record, _ int64, e error) { resp, err = r, e })
	return resp, err
}

// ReadThen is Read handing its outcome, and the zxid the read reflects, to
// reply while the read lock is still held. A server queues the reply there,
// so that it precedes the notification of any later transaction: clients
// such as go-zk register a watch only when the reply that set it arrives,
// and drop events for watches they do not know. reply must not call back
// into the Tree.
func (t *Tree) ReadThen(c Caller, op proto.Op, req proto.Record, reply func(resp proto.Record, zxid int64, err error)) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	resp, err := t.read(c, op, req)
	reply(resp, t.lastZxid, err)
}

func (t *Tree) read(c Caller, op proto.Op, req proto.Record) (proto.Record, error) {
	switch op {
	case proto.OpExists, proto.OpGetData, proto.OpGetChildren, proto.OpGetChildren2:
		r, ok := req.(*proto.PathWatch)
		if !ok {
			return nil, badRequest(op, req)
		}
		switch op {
		case proto.OpExists:
			return t.exists(c, r)
		case proto.OpGetData:
			return t.getData(c, r)
		}
		return t.getChildren(c, r, op == proto.OpGetChildren2)
	case proto.OpGetACL, proto.OpGetAllChildrenNumber, proto.OpGetEphemerals:
		r, ok := req.(*proto.PathRequest)
		if !ok {
			return nil, badRequest(op, req)
		}
		switch op {
		case proto.OpGetACL:
			return t.getACL(c, r.Path)
		case proto.OpGetAllChildrenNumber:
			return t.allChildrenNumber(c, r.Path)
		}
		return t.getEphemerals(c, r.Path)
	case proto.OpMultiRead:
		r, ok := req.(*proto.MultiRequest)
		if !ok {
			return nil, badRequest(op, req)
		}
		return t.multiRead(c, r)
	case proto.OpAddWatch, proto.OpCheckWatches, proto.OpRemoveWatches:
		r, ok := req.(*proto.PathInt)
		if !ok {
			return nil, badRequest(op, req)
		}
		t.wmu.Lock()
		defer t.wmu.Unlock()
		if op == proto.OpAddWatch {
			return t.addWatch(c, r)
		}
		return nil, t.checkWatches(c, r, op == proto.OpRemoveWatches)
	case proto.OpSetWatches, proto.OpSetWatches2:
		r, ok := req.(*proto.SetWatches)
		if !ok {
			return nil, badRequest(op, req)
		}
		return nil, t.setWatches(c, r)
	}
	return nil, proto.ErrUnimplemented
}

// watch registers w in m unless the caller cannot hold watches; past the
// caller's watch limits it registers nothing and fails.
func (t *Tree) watch(c Caller, data bool, path string, mode uint8) error {
	if c.Watcher == nil {
		return nil
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	m := t.watches.child
	if data {
		m = t.watches.data
	}
	if !t.admit(c.Watcher, path, m) {
		return ErrWatchLimit
	}
	if data {
		t.watches.addData(path, c.Watcher, mode)
	} else {
		t.watches.addChild(path, c.Watcher, mode)
	}
	return nil
}

// admit is watchState.admit, counting refusals. Called with wmu held.
func (t *Tree) admit(w Watcher, path string, ms ...*watchManager) bool {
	if t.watches.admit(w, path, ms...) {
		return true
	}
	t.watchRefusals.Add(1)
	return false
}

// exists checks READ only on a node that exists, and leaves a watch on a
// missing one too, so the caller hears NodeCreated.
func (t *Tree) exists(c Caller, r *proto.PathWatch) (proto.Record, error) {
	if containsNUL(r.Path) {
		return nil, proto.ErrBadArguments
	}
	n := t.lookup(r.Path)
	if n != nil {
		if err := t.checkACL(n.acl.list, proto.PermRead, c.Auth); err != nil {
			return nil, err
		}
	}
	if r.Watch {
		if err := t.watch(c, true, r.Path, modeStandard); err != nil {
			return nil, err
		}
	}
	if n == nil {
		return nil, proto.ErrNoNode
	}
	return &proto.StatResponse{Stat: t.statOut(n)}, nil
}

// readable finds a node the caller may READ.
func (t *Tree) readable(c Caller, path string) (*node, error) {
	n := t.lookup(path)
	if n == nil {
		return nil, proto.ErrNoNode
	}
	if err := t.checkACL(n.acl.list, proto.PermRead, c.Auth); err != nil {
		return nil, err
	}
	return n, nil
}

func (t *Tree) getData(c Caller, r *proto.PathWatch) (*proto.GetDataResponse, error) {
	n, err := t.readable(c, r.Path)
	if err != nil {
		return nil, err
	}
	if !c.fits(dataSize(n)) {
		return nil, ErrReplyTooLarge
	}
	if r.Watch {
		if err := t.watch(c, true, r.Path, modeStandard); err != nil {
			return nil, err
		}
	}
	return &proto.GetDataResponse{Data: cloneData(n.bytes()), Stat: t.statOut(n)}, nil
}

// cloneData copies a node's data for a reply, keeping null data null: a
// client tells a node created with null data from one with empty data, as
// ZooKeeper, which writes the former as length -1, lets it.
func cloneData(b []byte) []byte { return slices.Clone(b) }

func (t *Tree) getChildren(c Caller, r *proto.PathWatch, withStat bool) (*proto.ChildrenResponse, error) {
	n, err := t.readable(c, r.Path)
	if err != nil {
		return nil, err
	}
	size := 4
	if withStat {
		size += statSize
	}
	// One walk both lists and sizes; it stops once the reply is too large.
	capacity := int(n.stat.NumChildren)
	if c.MaxReply > 0 {
		capacity = min(capacity, c.MaxReply/4)
	}
	list := make([]string, 0, capacity)
	t.eachChild(r.Path, n, func(name string) bool {
		size += 4 + len(name)
		list = append(list, name)
		return c.fits(size)
	})
	if !c.fits(size) {
		return nil, ErrReplyTooLarge
	}
	if r.Watch {
		if err := t.watch(c, false, r.Path, modeStandard); err != nil {
			return nil, err
		}
	}
	resp := &proto.ChildrenResponse{Children: list, WithStat: withStat}
	if withStat {
		resp.Stat = t.statOut(n)
	}
	return resp, nil
}

// getACL needs READ or ADMIN; without ADMIN digest hashes are masked.
func (t *Tree) getACL(c Caller, path string) (proto.Record, error) {
	n := t.lookup(path)
	if n == nil {
		return nil, proto.ErrNoNode
	}
	if err := t.checkACL(n.acl.list, proto.PermRead|proto.PermAdmin, c.Auth); err != nil {
		return nil, err
	}
	size := 4 + statSize
	for _, a := range n.acl.list {
		size += 12 + len(a.ID.Scheme) + len(a.ID.ID)
	}
	if !c.fits(size) {
		return nil, ErrReplyTooLarge
	}
	acl := append([]proto.ACL{}, n.acl.list...)
	if !t.allowed(n.acl.list, proto.PermAdmin, c.Auth) {
		acl = maskDigests(acl)
	}
	return &proto.GetACLResponse{ACL: acl, Stat: t.statOut(n)}, nil
}

func (t *Tree) allChildrenNumber(c Caller, path string) (proto.Record, error) {
	if _, err := t.readable(c, path); err != nil {
		return nil, err
	}
	return &proto.IntResponse{N: int32(t.descendants(path))}, nil
}

func (t *Tree) descendants(p string) int {
	count := 0
	t.below(key(p), func(string) (bool, string) {
		count++
		return true, ""
	})
	return count
}

// getEphemerals lists the caller's session's ephemerals whose path starts
// with prefix; an empty or "/" prefix lists them all.
func (t *Tree) getEphemerals(c Caller, prefix string) (proto.Record, error) {
	all := strings.TrimSpace(prefix) == "" || strings.TrimSpace(prefix) == "/"
	list := []string{}
	size := 4
	for _, p := range sortedKeys(t.ephemerals[c.Session]) {
		if all || strings.HasPrefix(p, prefix) {
			if size += 4 + len(p); !c.fits(size) {
				return nil, ErrReplyTooLarge
			}
			list = append(list, p)
		}
	}
	return &proto.ChildrenResponse{Children: list}, nil
}

// multiRead runs getData and getChildren ops independently; a failing op
// gives an error result and the others still run. A reply that would pass
// c.MaxReply fails the whole request before any op runs (and sets any
// watch): the sizes are summed first, under the same read lock.
func (t *Tree) multiRead(c Caller, r *proto.MultiRequest) (proto.Record, error) {
	size := multiHeaderSize
	for _, op := range r.Ops {
		pw, ok := op.Req.(*proto.PathWatch)
		if !ok || op.Op != proto.OpGetData && op.Op != proto.OpGetChildren {
			return nil, badRequest(op.Op, op.Req)
		}
		size += multiHeaderSize
		switch n, err := t.readable(c, pw.Path); {
		case err != nil:
			size += 4
		case op.Op == proto.OpGetData:
			size += dataSize(n)
		default:
			size += t.childrenSize(pw.Path, n, false)
		}
		if !c.fits(size) {
			return nil, ErrReplyTooLarge
		}
	}
	results := make([]proto.MultiResult, 0, len(r.Ops))
	for _, op := range r.Ops {
		pw := op.Req.(*proto.PathWatch)
		var (
			resp proto.Record
			err  error
		)
		if op.Op == proto.OpGetData {
			resp, err = t.getData(c, pw)
		} else {
			resp, err = t.getChildren(c, pw, false)
		}
		if err != nil {
			results = append(results, proto.MultiResult{Op: proto.OpError, Err: proto.CodeOf(err)})
			continue
		}
		results = append(results, proto.MultiResult{Op: op.Op, Resp: resp})
	}
	return &proto.MultiResponse{Results: results}, nil
}

// watchable is the READ check for setting a watch on path: on a node that
// exists, as exists does (a watch on a missing node is allowed so that its
// creation can be heard; delivery checks the created node's ACL).
func (t *Tree) watchable(c Caller, path string) bool {
	n := t.lookup(path)
	return n == nil || t.allowed(n.acl.list, proto.PermRead, c.Auth)
}

// addWatch sets a persistent watch: PERSISTENT in both managers,
// PERSISTENT_RECURSIVE in the data manager only (ZooKeeper 3.9), so the
// latter never hears NodeChildrenChanged. Called with wmu held. Unlike
// ZooKeeper, which filters only at delivery, a path the caller may not read
// is refused with NOAUTH, so the caller learns nothing it could not learn
// from getData.
func (t *Tree) addWatch(c Caller, r *proto.PathInt) (proto.Record, error) {
	if (r.N == proto.AddWatchPersistent || r.N == proto.AddWatchPersistentRecursive) && !t.watchable(c, r.Path) {
		return nil, proto.ErrNoAuth
	}
	switch r.N {
	case proto.AddWatchPersistent:
		if c.Watcher != nil {
			if !t.admit(c.Watcher, r.Path, t.watches.data, t.watches.child) {
				return nil, ErrWatchLimit
			}
			t.watches.addData(r.Path, c.Watcher, modePersistent)
			t.watches.addChild(r.Path, c.Watcher, modePersistent)
		}
	case proto.AddWatchPersistentRecursive:
		if c.Watcher != nil {
			if !t.admit(c.Watcher, r.Path, t.watches.data) {
				return nil, ErrWatchLimit
			}
			t.watches.addData(r.Path, c.Watcher, modeRecursive)
		}
	default:
		// WatcherMode.fromZooDef throws, which ZooKeeper answers with
		// MARSHALLINGERROR.
		return nil, proto.ErrMarshallingError
	}
	return &proto.IntResponse{N: 0}, nil
}

// checkWatches is checkWatches (remove false) and removeWatches (remove
// true) of ZooKeeper 3.9's DataTree. Called with wmu held.
func (t *Tree) checkWatches(c Caller, r *proto.PathInt, remove bool) error {
	if r.N < proto.WatcherChildren || r.N > proto.WatcherPersistentRecursive {
		return proto.ErrMarshallingError
	}
	w := c.Watcher
	if w == nil {
		return proto.ErrNoWatcher
	}
	s := t.watches
	all := modeStandard | modePersistent | modeRecursive
	type target struct {
		m     *watchManager
		modes uint8
	}
	// Which (manager, modes) a type addresses, for checking and removing.
	var check, del []target
	switch r.N {
	case proto.WatcherChildren:
		check = []target{{s.child, modeStandard}}
		del = check
	case proto.WatcherData:
		check = []target{{s.data, modeStandard}}
		del = check
	case proto.WatcherAny:
		check = []target{{s.child, all}, {s.data, all}}
		del = check
	case proto.WatcherPersistent:
		check = []target{{s.data, modePersistent}}
		del = []target{{s.child, modePersistent}, {s.data, modePersistent}}
	case proto.WatcherPersistentRecursive:
		check = []target{{s.data, modeRecursive}}
		del = check
	}
	found := false
	if !remove {
		for _, tg := range check {
			found = found || tg.m.modes(r.Path, w)&tg.modes != 0
		}
	} else {
		for _, tg := range del {
			if tg.m.remove(r.Path, w, tg.modes) {
				found = true
			}
		}
		s.forget(w)
	}
	if !found {
		return proto.ErrNoWatcher
	}
	return nil
}

// setWatches re-arms the watches of a reconnecting client and fires at once
// those whose condition it missed while away (DataTree.setWatches). Such
// events carry zxid -1, as ZooKeeper 3.9 sends for them. A watch on a node
// the caller may not read is dropped without a word: ZooKeeper checks
// nothing here, and an error would fail the whole reconnect for one path.
// A watch past the caller's watch limits is not set either; the others
// are, and the request fails with ErrWatchLimit so the client knows.
func (t *Tree) setWatches(c Caller, r *proto.SetWatches) error {
	w := c.Watcher
	if w == nil {
		return nil
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	s := t.watches
	notify := func(typ int32, path string) {
		w.Notify(proto.WatcherEvent{Type: typ, State: proto.StateSyncConnected, Path: path}, -1)
	}
	var refused error
	admit := func(path string, ms ...*watchManager) bool {
		if t.admit(w, path, ms...) {
			return true
		}
		refused = ErrWatchLimit
		return false
	}
	for _, p := range r.Data {
		if !t.watchable(c, p) {
			continue
		}
		switch n := t.lookup(p); {
		case n == nil:
			notify(proto.EventNodeDeleted, p)
		case n.stat.Mzxid > r.RelativeZxid:
			notify(proto.EventNodeDataChanged, p)
		case admit(p, s.data):
			s.addData(p, w, modeStandard)
		}
	}
	for _, p := range r.Exist {
		if !t.watchable(c, p) {
			continue
		}
		if t.lookup(p) != nil {
			notify(proto.EventNodeCreated, p)
		} else if admit(p, s.data) {
			s.addData(p, w, modeStandard)
		}
	}
	for _, p := range r.Child {
		if !t.watchable(c, p) {
			continue
		}
		switch n := t.lookup(p); {
		case n == nil:
			notify(proto.EventNodeDeleted, p)
		case n.stat.Pzxid > r.RelativeZxid:
			notify(proto.EventNodeChildrenChanged, p)
		case admit(p, s.child):
			s.addChild(p, w, modeStandard)
		}
	}
	for _, p := range r.Persistent {
		if t.watchable(c, p) && admit(p, s.child, s.data) {
			s.addChild(p, w, modePersistent)
			s.addData(p, w, modePersistent)
		}
	}
	for _, p := range r.PersistentRecursive {
		if t.watchable(c, p) && admit(p, s.data) {
			s.addData(p, w, modeRecursive)
		}
	}
	return refused
}
