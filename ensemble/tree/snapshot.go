package tree

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/tidwall/btree"

	"github.com/zookit/zookit/ensemble/proto"
)

// snapshotMagic starts every snapshot; the digit is the format version.
const snapshotMagic = "zktree2"

// ErrBadSnapshot reports bytes that are not a snapshot of this format.
var ErrBadSnapshot = errors.New("tree: malformed snapshot")

// Frozen is the replicated state as of the moment Freeze was called. Later
// Apply calls do not change it, and WriteTo may run concurrently with them.
type Frozen struct {
	nodes    *btree.BTreeG[item]
	sessions []Session
	lastZxid int64
	dataSize int64
}

// Freeze captures the state for a snapshot in time that does not grow with
// the tree: the index is copied on write (see node), so only the sessions
// are copied now.
func (t *Tree) Freeze() *Frozen {
	// Copy marks the index shared, which is a write.
	t.mu.Lock()
	defer t.mu.Unlock()
	f := &Frozen{nodes: t.nodes.Copy(), lastZxid: t.lastZxid, dataSize: t.dataSize}
	f.sessions = make([]Session, 0, len(t.sessions))
	for _, s := range t.sessions {
		f.sessions = append(f.sessions, *s)
	}
	slices.SortFunc(f.sessions, func(a, b Session) int { return cmp.Compare(a.ID, b.ID) })
	return f
}

// nodeRecordSize is the length of a node's record in a snapshot: path,
// data, ACL list and the 60 bytes of its stat.
func nodeRecordSize(p string, n *node) int {
	return 4 + len(p) + 4 + len(n.bytes()) + len(n.acl.enc) + 60
}

// Size is the length of what WriteTo writes, so that a snapshot can be
// framed before it is written.
func (f *Frozen) Size() int {
	size := len(snapshotMagic) + 8 + 4 + 4
	f.nodes.Scan(func(it item) bool {
		size += nodeRecordSize(it.path, it.n)
		return true
	})
	for _, s := range f.sessions {
		size += 8 + 4 + 4 + len(s.Passwd) + 8
	}
	return size
}

// WriteTo serializes the frozen state to w, a piece at a time, so that a
// snapshot of any size goes to disk without a copy of it in memory: every
// node (data, ACL, Stat with cversion and pzxid), the sessions and the
// last zxid; ephemeral, container and TTL indexes and the digest follow
// from the nodes. Watches are local to a server and are not included, nor
// is the digest log. Equal states give equal bytes.
func (f *Frozen) WriteTo(w io.Writer) (int64, error) {
	const flushAt = 64 << 10
	e := &proto.Encoder{Buf: make([]byte, 0, 2*flushAt)}
	var written int64
	var err error
	flush := func() {
		if err == nil {
			var k int
			k, err = w.Write(e.Buf)
			written += int64(k)
		}
		e.Buf = e.Buf[:0]
	}
	e.Buf = append(e.Buf, snapshotMagic...)
	e.Long(f.lastZxid)
	// Path order puts every parent before its children.
	e.Int(int32(f.nodes.Len()))
	f.nodes.Scan(func(it item) bool {
		n := it.n
		e.String(it.path)
		e.Buffer(n.bytes())
		e.Buf = append(e.Buf, n.acl.enc...)
		s := &n.stat
		e.Long(s.Czxid)
		e.Long(s.Mzxid)
		e.Long(s.Ctime)
		e.Long(s.Mtime)
		e.Int(s.Version)
		e.Int(s.Cversion)
		e.Int(s.Aversion)
		e.Long(s.EphemeralOwner)
		e.Long(s.Pzxid)
		if len(e.Buf) >= flushAt {
			flush()
		}
		return err == nil
	})
	e.Int(int32(len(f.sessions)))
	for _, s := range f.sessions {
		e.Long(s.ID)
		e.Int(s.Timeout)
		e.Buffer(s.Passwd)
		e.Long(int64(s.Owner))
	}
	flush()
	return written, err
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
	t.nodes, t.acls, t.sessions, t.ephemerals = fresh.nodes, fresh.acls, fresh.sessions, fresh.ephemerals
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
	t.nodes = newIndex()
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
	// Two goroutines share the work, in order: this one parses records
	// into nodes (allocations, ACL lists, path checks), and link puts them
	// into the index under their parents and sums their digests.
	const batchSize = 1024
	batches := make(chan []item, 4)
	linked := make(chan error, 1)
	go func() { linked <- t.link(batches) }()
	parse := func() error {
		// link uses the tree's scratch.
		var scratch digestScratch
		batch := make([]item, 0, batchSize)
		prev := ""
		for i := range nn {
			p := d.String()
			n := &node{data: scratch.data(p, d.Buffer())}
			// A run of nodes with one ACL list is the common case: its
			// encoding is compared, not decoded again.
			if e := t.acls.last; e != nil && bytes.HasPrefix(d.Unread(), e.enc) {
				d.Skip(len(e.enc))
			} else {
				na, err := count(12)
				if err != nil {
					return err
				}
				acl := make([]proto.ACL, na)
				for i := range acl {
					acl[i].Decode(d)
				}
				t.acls.intern(acl)
			}
			n.acl = t.acls.last
			t.acls.retain(n.acl)
			s := &n.stat
			s.Czxid, s.Mzxid, s.Ctime, s.Mtime = d.Long(), d.Long(), d.Long(), d.Long()
			s.Version, s.Cversion, s.Aversion = d.Int(), d.Int(), d.Int()
			s.EphemeralOwner, s.Pzxid = d.Long(), d.Long()
			switch {
			case d.Err() != nil:
				return fmt.Errorf("%w: %w", ErrBadSnapshot, d.Err())
			case i == 0 && p != "/":
				return fmt.Errorf("%w: no root", ErrBadSnapshot)
			case i > 0 && (p <= prev || !validatePath(p)):
				return fmt.Errorf("%w: bad, repeated or unordered path %q", ErrBadSnapshot, p)
			}
			prev = p
			if batch = append(batch, item{p, n}); len(batch) == batchSize {
				batches <- batch
				batch = make([]item, 0, batchSize)
			}
		}
		batches <- batch
		return nil
	}
	err = parse()
	close(batches)
	if err := errors.Join(err, <-linked); err != nil {
		return err
	}
	if nn == 0 {
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

// link is the second stage of decode: it puts parsed nodes, in path order,
// into the index under their parents, counting them in the tree's digest
// and sums. It reads batches to the end even after an error.
func (t *Tree) link(batches <-chan []item) error {
	var err error
	// chain holds ancestors of the last node and that node, root first;
	// in path order a node's parent is nearly always on it.
	var chain []item
	for batch := range batches {
		for _, it := range batch {
			if err != nil {
				break
			}
			p, n := it.path, it.n
			if len(chain) > 0 {
				for len(chain) > 1 && !isBelow(p, chain[len(chain)-1].path) {
					chain = chain[:len(chain)-1]
				}
				up := chain[len(chain)-1]
				if parent, _, _ := splitPath(p); up.path != parent && parent != "" {
					if up.n = t.lookup(parent); up.n == nil {
						err = fmt.Errorf("%w: %q before its parent", ErrBadSnapshot, p)
						break
					}
				}
				// A tree being built: its parents may change in place.
				up.n.stat.NumChildren++
			}
			t.nodes.Load(it)
			t.rehash(p, n)
			t.dataSize += nodeSize(p, n.bytes())
			t.index(p, n.stat.EphemeralOwner, true)
			chain = append(chain, it)
		}
	}
	return err
}

// isBelow reports whether p is a descendant of the node at a, which is not
// the root.
func isBelow(p, a string) bool {
	return len(p) > len(a) && p[len(a)] == '/' && p[:len(a)] == a
}
