package tree

import (
	"fmt"
	"slices"

	"github.com/zookit/zookit/ensemble/proto"
)

// Txn is one replicated state change, as stored in the log.
type Txn struct {
	Origin  uint64       // server that proposed it; opaque to the tree, round-tripped
	Seq     uint64       // proposer's request number; opaque, round-tripped
	Session int64        // session the request came from (0: the server itself, e.g. reaping)
	Time    int64        // proposer's wall clock, ms since epoch: becomes ctime/mtime, drives TTL
	Op      proto.Op     // see Apply
	Req     proto.Record // the decoded request (nil for session ops)
	// Auth is the identities of the requesting connection, for ACL checks
	// and the "auth" ACL scheme: whole when NeedsFullAuth says the request
	// expands that scheme, else as CompactAuth makes them, so that a
	// txn does not carry a session's long names into the log.
	Auth    []proto.ID
	Timeout int32  // OpCreateSession: negotiated timeout ms
	Passwd  []byte // OpCreateSession: session password
}

// Result is what applying a Txn produced, to be sent to the client that
// proposed it.
type Result struct {
	Err  proto.Code   // error of a single op; multi always has OK here and per-op results in Resp
	Resp proto.Record // reply body or nil
}

// applier runs one transaction. Every mutation pushes its inverse on undo so
// that a failing multi can be rolled back, and records the change whose
// watches fire once the whole transaction has succeeded.
type applier struct {
	t       *Tree
	zxid    int64
	txn     *Txn
	undo    []func()
	changes []change
	digest  int64 // the tree digest before the txn, which a rollback restores
}

// OpAttachSession is the transaction, internal to zookit, that moves a
// session to the server its client re-attached through (Txn.Origin).
const OpAttachSession proto.Op = -20

// Apply validates txn against the current state and applies it or rejects
// it, as ZooKeeper's PrepRequestProcessor and DataTree together do, then
// fires the watches it triggers. A failed transaction changes nothing but
// still records zxid as the last one, since ZooKeeper logs it as an error
// txn. Ops: OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL, OpDelete,
// OpSetData, OpSetACL, OpCheck, OpMulti, OpCreateSession, OpCloseSession,
// OpAttachSession and
// OpDeleteContainer (Req *proto.PathRequest: reap one container or TTL node).
func (t *Tree) Apply(zxid int64, txn *Txn) Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	if zxid > t.lastZxid {
		t.lastZxid = zxid
	}
	// Failed txns too, as ZooKeeper logs its error txns.
	defer t.logDigest(zxid)
	a := &applier{t: t, zxid: zxid, txn: txn, digest: t.digest}
	var res Result
	if txn.Op == proto.OpMulti {
		res = a.multi()
	} else {
		resp, err := a.op(txn.Op, txn.Req)
		if err != nil {
			a.rollback()
			return Result{Err: proto.CodeOf(err)}
		}
		res = Result{Resp: resp}
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	for _, c := range a.changes {
		t.watches.fire(c, zxid)
	}
	return res
}

func (a *applier) rollback() {
	for i := len(a.undo) - 1; i >= 0; i-- {
		a.undo[i]()
	}
	a.t.digest = a.digest
	a.undo, a.changes = nil, nil
}

func (a *applier) op(op proto.Op, req proto.Record) (proto.Record, error) {
	switch op {
	case proto.OpCreateSession:
		return nil, a.createSession()
	case proto.OpCloseSession:
		return nil, a.closeSession()
	case OpAttachSession:
		return nil, a.attachSession()
	}
	if err := a.checkSession(); err != nil {
		return nil, err
	}
	switch op {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		if r, ok := req.(*proto.CreateRequest); ok {
			return a.create(op, r)
		}
	case proto.OpDelete:
		if r, ok := req.(*proto.PathInt); ok {
			return nil, a.delete(r.Path, r.N)
		}
	case proto.OpDeleteContainer:
		if r, ok := req.(*proto.PathRequest); ok {
			return nil, a.deleteContainer(r.Path)
		}
	case proto.OpSetData:
		if r, ok := req.(*proto.SetDataRequest); ok {
			return a.setData(r)
		}
	case proto.OpSetACL:
		if r, ok := req.(*proto.SetACLRequest); ok {
			return a.setACL(r)
		}
	case proto.OpCheck:
		if r, ok := req.(*proto.PathInt); ok {
			return nil, a.check(r)
		}
	default:
		return nil, proto.ErrUnimplemented
	}
	return nil, badRequest(op, req)
}

// badRequest reports a request record of the wrong type for its op.
func badRequest(op proto.Op, req proto.Record) error {
	return fmt.Errorf("%w: %v with request %T", proto.ErrMarshallingError, op, req)
}

// checkSession refuses ops of a session that is not (or no longer) in the
// table, because it expired between proposal and apply, and ops proposed
// through a server the session has since moved away from.
func (a *applier) checkSession() error {
	if a.txn.Session == 0 {
		return nil
	}
	s := a.t.sessions[a.txn.Session]
	switch {
	case s == nil:
		return proto.ErrSessionExpired
	case s.Owner != a.txn.Origin:
		return proto.ErrSessionMoved
	}
	return nil
}

// attachSession records that the session's client is now attached through
// txn.Origin. The server proposes it when a client re-attaches, and
// answers the client only once it is applied, so every write the session
// proposed before is then applied or can no longer be.
func (a *applier) attachSession() error {
	s := a.t.sessions[a.txn.Session]
	if s == nil {
		return proto.ErrSessionExpired
	}
	s.Owner = a.txn.Origin
	return nil
}

func (a *applier) createSession() error {
	id := a.txn.Session
	switch {
	case id == 0:
		return proto.ErrBadArguments
	case a.t.sessions[id] != nil:
		return proto.ErrSystemError
	}
	a.t.sessions[id] = &Session{ID: id, Timeout: a.txn.Timeout, Passwd: slices.Clone(a.txn.Passwd), Owner: a.txn.Origin}
	return nil
}

// closeSession deletes the session's ephemerals in path order, each like a
// delete, then the session. Any server may close a session: the leader
// expires sessions attached elsewhere.
func (a *applier) closeSession() error {
	id := a.txn.Session
	if id == 0 || a.t.sessions[id] == nil {
		return proto.ErrSessionExpired
	}
	for _, p := range sortedKeys(a.t.ephemerals[id]) {
		a.remove(p)
	}
	delete(a.t.sessions, id)
	return nil
}

func checkVersion(current, expected int32) error {
	if expected != -1 && expected != current {
		return proto.ErrBadVersion
	}
	return nil
}

func (a *applier) create(op proto.Op, r *proto.CreateRequest) (proto.Record, error) {
	t := a.t
	if r.Flags < proto.FlagPersistent || r.Flags > proto.FlagPersistentSeqTTL {
		return nil, proto.ErrBadArguments
	}
	ttlMode := r.Flags == proto.FlagPersistentTTL || r.Flags == proto.FlagPersistentSeqTTL
	sequential := r.Flags&proto.FlagSequential != 0 // 2, 3 and 6
	ttl := int64(-1)
	if op == proto.OpCreateTTL {
		ttl = r.TTL
	}
	if ttlMode && !t.opts.extended {
		return nil, proto.ErrUnimplemented
	}
	// EphemeralType.validateTTL. createTTL with a mode that is not a TTL
	// one and a negative ttl passes it, then breaks ZooKeeper's DataTree;
	// refuse it here.
	if ttlMode && (ttl <= 0 || ttl > maxTTL) || !ttlMode && (ttl >= 0 || op == proto.OpCreateTTL) {
		return nil, proto.ErrBadArguments
	}
	parentPath, _, ok := splitPath(r.Path)
	if !ok || containsNUL(r.Path) {
		return nil, proto.ErrBadArguments
	}
	acl, err := fixupACL(r.ACL, a.txn.Auth)
	if err != nil {
		return nil, err
	}
	parent := t.lookup(parentPath)
	if parent == nil {
		return nil, proto.ErrNoNode
	}
	if err := t.checkACL(parent.acl.list, proto.PermCreate, a.txn.Auth); err != nil {
		return nil, err
	}
	p := r.Path
	if sequential {
		p += fmt.Sprintf("%010d", parent.stat.Cversion)
	}
	if !validatePath(p) {
		return nil, proto.ErrBadArguments
	}
	if t.lookup(p) != nil {
		return nil, proto.ErrNodeExists
	}
	if t.kind(parent.stat.EphemeralOwner) == ownerSession {
		return nil, proto.ErrNoChildrenForEph
	}

	var owner int64
	switch {
	case op == proto.OpCreateContainer:
		owner = containerOwner
	case op == proto.OpCreateTTL:
		owner = extendedMask | ttl
	case r.Flags == proto.FlagEphemeral || r.Flags == proto.FlagEphemeralSequential:
		owner = a.txn.Session
	}
	n := &node{
		data: t.newData(p, slices.Clone(r.Data)),
		acl:  t.acls.intern(acl),
		stat: stat{
			Czxid: a.zxid, Mzxid: a.zxid, Pzxid: a.zxid,
			Ctime: a.txn.Time, Mtime: a.txn.Time,
			EphemeralOwner: owner,
		},
	}
	np := parent.clone()
	np.stat.NumChildren++
	// int32 arithmetic as in Java: at the wrap the "larger" test fails and
	// ZooKeeper leaves cversion and pzxid alone.
	if cv := np.stat.Cversion + 1; cv > np.stat.Cversion {
		np.stat.Cversion = cv
		np.stat.Pzxid = a.zxid
	}
	t.replace(parentPath, parent, np)
	t.insert(p, n)
	a.undo = append(a.undo, func() {
		t.drop(p, n)
		t.replace(parentPath, np, parent)
	})
	a.changes = append(a.changes, change{changeCreated, p, n.acl.list, np.acl.list})
	if op == proto.OpCreate {
		return &proto.PathRequest{Path: p}, nil
	}
	return &proto.Create2Response{Path: p, Stat: t.statOut(n)}, nil
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// deletable runs getParentPathAndValidate and finds the parent and the node.
func (a *applier) deletable(p string) (parent, n *node, err error) {
	parentPath, _, ok := splitPath(p)
	if !ok || containsNUL(p) || isSpecialPath(p) {
		return nil, nil, proto.ErrBadArguments
	}
	if parent = a.t.lookup(parentPath); parent == nil {
		return nil, nil, proto.ErrNoNode
	}
	n = a.t.lookup(p)
	return parent, n, nil
}

func (a *applier) delete(p string, version int32) error {
	parent, n, err := a.deletable(p)
	if err != nil {
		return err
	}
	if err := a.t.checkACL(parent.acl.list, proto.PermDelete, a.txn.Auth); err != nil {
		return err
	}
	if n == nil {
		return proto.ErrNoNode
	}
	if err := checkVersion(n.stat.Version, version); err != nil {
		return err
	}
	if n.stat.NumChildren > 0 {
		return proto.ErrNotEmpty
	}
	a.remove(p)
	return nil
}

// deleteContainer reaps a container or TTL node. ZooKeeper checks only that
// it has no children and is not a session's ephemeral; here the reaping rule
// is checked again at txn.Time, so a node that was used or touched since
// ReapCandidates chose it, or replaced by a plain node, survives.
func (a *applier) deleteContainer(p string) error {
	_, n, err := a.deletable(p)
	if err != nil {
		return err
	}
	if n == nil {
		return proto.ErrNoNode
	}
	if n.stat.NumChildren > 0 {
		return proto.ErrNotEmpty
	}
	if !a.t.reapable(n, a.txn.Time) {
		return proto.ErrBadVersion
	}
	a.remove(p)
	return nil
}

// remove deletes a childless node the way DataTree.deleteNode does: the
// parent's pzxid moves forward, its cversion does not.
func (a *applier) remove(p string) {
	t := a.t
	parentPath, _, _ := splitPath(p)
	parent, n := t.lookup(parentPath), t.lookup(p)
	np := parent.clone()
	np.stat.NumChildren--
	np.stat.Pzxid = max(np.stat.Pzxid, a.zxid)
	t.replace(parentPath, parent, np)
	t.drop(p, n)
	a.undo = append(a.undo, func() {
		t.insert(p, n)
		t.replace(parentPath, np, parent)
	})
	a.changes = append(a.changes, change{changeDeleted, p, n.acl.list, np.acl.list})
}

func (a *applier) setData(r *proto.SetDataRequest) (proto.Record, error) {
	t := a.t
	if !validatePath(r.Path) {
		return nil, proto.ErrBadArguments
	}
	n := t.lookup(r.Path)
	if n == nil {
		return nil, proto.ErrNoNode
	}
	if err := t.checkACL(n.acl.list, proto.PermWrite, a.txn.Auth); err != nil {
		return nil, err
	}
	if err := checkVersion(n.stat.Version, r.Version); err != nil {
		return nil, err
	}
	m := n.clone()
	m.data = t.newData(r.Path, slices.Clone(r.Data))
	m.stat.Version++
	m.stat.Mtime = a.txn.Time
	m.stat.Mzxid = a.zxid
	t.replace(r.Path, n, m)
	a.undo = append(a.undo, func() { t.replace(r.Path, m, n) })
	a.changes = append(a.changes, change{changeData, r.Path, m.acl.list, nil})
	return &proto.StatResponse{Stat: t.statOut(m)}, nil
}

func (a *applier) setACL(r *proto.SetACLRequest) (proto.Record, error) {
	t := a.t
	if !validatePath(r.Path) {
		return nil, proto.ErrBadArguments
	}
	acl, err := fixupACL(r.ACL, a.txn.Auth)
	if err != nil {
		return nil, err
	}
	n := t.lookup(r.Path)
	if n == nil {
		return nil, proto.ErrNoNode
	}
	if err := t.checkACL(n.acl.list, proto.PermAdmin, a.txn.Auth); err != nil {
		return nil, err
	}
	if err := checkVersion(n.stat.Aversion, r.Version); err != nil {
		return nil, err
	}
	m := n.clone()
	m.acl = t.acls.intern(acl)
	m.stat.Aversion++
	t.replace(r.Path, n, m)
	a.undo = append(a.undo, func() { t.replace(r.Path, m, n) })
	return &proto.StatResponse{Stat: t.statOut(m)}, nil
}

func (a *applier) check(r *proto.PathInt) error {
	if !validatePath(r.Path) {
		return proto.ErrBadArguments
	}
	n := a.t.lookup(r.Path)
	if n == nil {
		return proto.ErrNoNode
	}
	if err := a.t.checkACL(n.acl.list, proto.PermRead, a.txn.Auth); err != nil {
		return err
	}
	return checkVersion(n.stat.Version, r.N)
}

// multi applies the ops in order, each seeing the earlier ones' effects. On
// the first failure everything is rolled back and the results are laid out
// as ZooKeeper does: 0 for the ops before, the code for the failing op,
// RUNTIMEINCONSISTENCY for the ops after.
func (a *applier) multi() Result {
	req, ok := a.txn.Req.(*proto.MultiRequest)
	if !ok {
		return Result{Err: proto.ErrMarshallingError}
	}
	results := make([]proto.MultiResult, len(req.Ops))
	for i, op := range req.Ops {
		var resp proto.Record
		var err error = proto.ErrUnimplemented
		switch op.Op {
		case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL,
			proto.OpDelete, proto.OpSetData, proto.OpCheck:
			resp, err = a.op(op.Op, op.Req)
		}
		if err != nil {
			a.rollback()
			for j := range results {
				code := proto.OK
				switch {
				case j == i:
					code = proto.CodeOf(err)
				case j > i:
					code = proto.ErrRuntimeInconsistency
				}
				results[j] = proto.MultiResult{Op: proto.OpError, Err: code}
			}
			break
		}
		resultOp := op.Op
		if op.Op == proto.OpCreateContainer || op.Op == proto.OpCreateTTL {
			resultOp = proto.OpCreate2
		}
		results[i] = proto.MultiResult{Op: resultOp, Resp: resp}
	}
	return Result{Resp: &proto.MultiResponse{Results: results}}
}
