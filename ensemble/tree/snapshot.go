package tree

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/zookit/zookit/ensemble/proto"
)

// snapshotMagic starts every snapshot; the digit is the format version.
const snapshotMagic = "zktree2"

// ErrBadSnapshot reports bytes that are not a snapshot of this format.
var ErrBadSnapshot = errors.New("tree: malformed snapshot")

// Frozen is the replicated state as of the moment Freeze was called; later
// Apply calls do not change it, and Encode may run concurrently with them.
type Frozen struct {
	data []byte
	err  error
}

// Freeze captures the state for a snapshot.
func (t *Tree) Freeze() *Frozen {
	b, err := t.Snapshot()
	return &Frozen{data: b, err: err}
}

// Encode serializes the frozen state, as Snapshot would have at Freeze.
func (f *Frozen) Encode() ([]byte, error) { return f.data, f.err }

// Snapshot encodes the whole replicated state: every node (data, ACL, Stat
// with cversion and pzxid), the sessions and the last zxid; ephemeral,
// container and TTL indexes and the digest follow from the nodes. Watches
// are local to a server and are not included, nor is the digest log. Equal states give equal bytes.
func (t *Tree) Snapshot() ([]byte, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	// Sized up front: growing a multi-megabyte buffer by doubling costs
	// as much as encoding it.
	const perNode = 128 // stat, lengths and a typical ACL
	e := &proto.Encoder{Buf: make([]byte, 0, int(t.dataSize)+perNode*len(t.nodes)+64)}
	e.Buf = append(e.Buf, snapshotMagic...)
	e.Long(t.lastZxid)
	// Sorted paths put every parent before its children.
	paths := slices.Sorted(maps.Keys(t.nodes))
	e.Int(int32(len(paths)))
	for _, p := range paths {
		n := t.nodes[p]
		e.String(p)
		e.Buffer(n.data)
		e.Int(int32(len(n.acl)))
		for i := range n.acl {
			n.acl[i].Encode(e)
		}
		s := n.stat
		e.Long(s.Czxid)
		e.Long(s.Mzxid)
		e.Long(s.Ctime)
		e.Long(s.Mtime)
		e.Int(s.Version)
		e.Int(s.Cversion)
		e.Int(s.Aversion)
		e.Long(s.EphemeralOwner)
		e.Long(s.Pzxid)
	}
	ids := slices.Sorted(maps.Keys(t.sessions))
	e.Int(int32(len(ids)))
	for _, id := range ids {
		s := t.sessions[id]
		e.Long(s.ID)
		e.Int(s.Timeout)
		e.Buffer(s.Passwd)
		e.Long(int64(s.Owner))
	}
	return e.Buf, nil
}

// Restore replaces the state with a snapshot. Watches stay as they are on
// their live watchers. Malformed input leaves the tree untouched and gives
// an error wrapping ErrBadSnapshot; it never panics.
func (t *Tree) Restore(b []byte) error {
	fresh := &Tree{opts: t.opts}
	if err := fresh.decode(b); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nodes, t.sessions, t.ephemerals = fresh.nodes, fresh.sessions, fresh.ephemerals
	t.containers, t.ttls = fresh.containers, fresh.ttls
	t.lastZxid, t.dataSize = fresh.lastZxid, fresh.dataSize
	// The digest is recomputed as the nodes are decoded, so snapshots
	// need not carry it; the log starts again as ZooKeeper's does when it
	// loads a snapshot into a new DataTree.
	t.digest, t.digestLog = fresh.digest, nil
	return nil
}

// CheckSnapshot reports whether b is a snapshot Restore would take, without
// touching the tree: a peer's MsgSnap is checked with it before raft sees it.
func (t *Tree) CheckSnapshot(b []byte) error {
	return (&Tree{opts: t.opts}).decode(b)
}

func (t *Tree) decode(b []byte) error {
	if len(b) < len(snapshotMagic) || string(b[:len(snapshotMagic)]) != snapshotMagic {
		return fmt.Errorf("%w: bad magic", ErrBadSnapshot)
	}
	d := proto.NewDecoder(b[len(snapshotMagic):])
	t.nodes = map[string]*node{}
	t.sessions = map[int64]*Session{}
	t.ephemerals = map[int64]map[string]struct{}{}
	t.containers = map[string]struct{}{}
	t.ttls = map[string]struct{}{}
	t.lastZxid = d.Long()
	// Each node takes at least 4+4+4+60 bytes, each ACL 12, each session 16.
	count := func(min int) (int, error) {
		n := int(d.Int())
		if d.Err() != nil || n < 0 || n > d.Remaining()/min {
			return 0, fmt.Errorf("%w: bad count %d", ErrBadSnapshot, n)
		}
		return n, nil
	}
	nn, err := count(72)
	if err != nil {
		return err
	}
	for range nn {
		p := d.String()
		n := &node{data: d.Buffer()}
		na, err := count(12)
		if err != nil {
			return err
		}
		n.acl = make([]proto.ACL, na)
		for i := range n.acl {
			n.acl[i].Decode(d)
		}
		s := &n.stat
		s.Czxid, s.Mzxid, s.Ctime, s.Mtime = d.Long(), d.Long(), d.Long(), d.Long()
		s.Version, s.Cversion, s.Aversion = d.Int(), d.Int(), d.Int()
		s.EphemeralOwner, s.Pzxid = d.Long(), d.Long()
		if d.Err() != nil {
			return fmt.Errorf("%w: %w", ErrBadSnapshot, d.Err())
		}
		if err := t.checkNewNode(p); err != nil {
			return err
		}
		t.put(p, n)
	}
	if t.nodes["/"] == nil {
		return fmt.Errorf("%w: no root", ErrBadSnapshot)
	}
	ns, err := count(24)
	if err != nil {
		return err
	}
	for range ns {
		s := &Session{ID: d.Long(), Timeout: d.Int(), Passwd: d.Buffer(), Owner: uint64(d.Long())}
		if d.Err() != nil {
			return fmt.Errorf("%w: %w", ErrBadSnapshot, d.Err())
		}
		if t.sessions[s.ID] != nil || s.ID == 0 {
			return fmt.Errorf("%w: bad session %#x", ErrBadSnapshot, s.ID)
		}
		t.sessions[s.ID] = s
	}
	if d.Remaining() != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrBadSnapshot, d.Remaining())
	}
	return nil
}

// checkNewNode refuses a path that is not new, not canonical, or whose
// parent has not been restored yet.
func (t *Tree) checkNewNode(p string) error {
	if !validatePath(p) || t.nodes[p] != nil {
		return fmt.Errorf("%w: bad or repeated path %q", ErrBadSnapshot, p)
	}
	if p == "/" {
		return nil
	}
	if parent, _, _ := splitPath(p); t.lookup(parent) == nil {
		return fmt.Errorf("%w: %q before its parent", ErrBadSnapshot, p)
	}
	return nil
}
