package tree

import (
	"strings"
	"sync"

	"github.com/tidwall/btree"
)

// node is one znode. A node in the index is never changed in place: a
// change puts a changed copy in its place (see replace), so a Frozen index
// that still holds the old one keeps seeing the state it was frozen at.
//
// Its 96 bytes are most of what an empty znode costs.
type node struct {
	path string
	data *blob // nil: null data, which clients tell from empty data
	acl  *aclEntry
	stat stat
}

// stat is the stored Stat. NumChildren counts the children and cversion the
// child creations; the Stat a client sees is made by statOut.
type stat struct {
	Czxid, Mzxid, Ctime, Mtime, EphemeralOwner, Pzxid int64
	Version, Cversion, Aversion, NumChildren          int32
}

// blob is a node's data with the CRC of its path and data, the part of the
// node's digest that a change of Stat leaves as it is. All empty data
// shares one blob: without data the CRC is the path's, cheap to compute
// when needed.
type blob struct {
	b   []byte
	crc uint32
}

var noBytes = &blob{b: []byte{}}

// bytes is the node's data: nil for null data.
func (n *node) bytes() []byte {
	if n.data == nil {
		return nil
	}
	return n.data.b
}

// newData wraps b, which the node will own, as the data of the node at p.
func (t *Tree) newData(p string, b []byte) *blob {
	switch {
	case b == nil:
		return nil
	case len(b) == 0:
		return noBytes
	}
	return &blob{b: b, crc: t.scratch.pathDataCRC(p, b)}
}

func (n *node) clone() *node {
	m := *n
	return &m
}

// byPath orders the index by path, bytewise: a parent sorts before its
// children, and a node's descendants are exactly the paths in
// [path+"/", path+"0"), '0' being the byte after '/'.
func byPath(a, b *node) bool { return a.path < b.path }

func newIndex() *btree.BTreeG[*node] {
	// The tree's own lock guards the index.
	return btree.NewBTreeGOptions(byPath, btree.Options{NoLocks: true})
}

// keys lends lookup keys: a key passed to the index escapes, and reads run
// concurrently, so one key per tree would not do.
var keys = sync.Pool{New: func() any { return new(node) }}

func (t *Tree) get(p string) *node {
	k := keys.Get().(*node)
	k.path = p
	n, _ := t.nodes.Get(k)
	k.path = ""
	keys.Put(k)
	return n
}

// lookup finds a node; "" is the root's alias, as in DataTree.
func (t *Tree) lookup(p string) *node {
	if p == "" {
		p = "/"
	}
	return t.get(p)
}

// below calls f for each node below the node at p, in path order, until
// f returns false; f may instead return a path to go on from (a seek),
// which must sort after the node it was given.
func (t *Tree) below(p string, f func(n *node) (more bool, seek string)) {
	prefix := p + "/"
	if p == "/" {
		prefix = "/"
	}
	k := keys.Get().(*node)
	defer func() { k.path = ""; keys.Put(k) }()
	for next := prefix; next != ""; {
		k.path, next = next, ""
		t.nodes.Ascend(k, func(n *node) bool {
			if !strings.HasPrefix(n.path, prefix) {
				return false
			}
			if n.path == "/" {
				return true
			}
			more, seek := f(n)
			if seek != "" {
				next = seek
				return false
			}
			return more
		})
	}
}

// eachChild calls f with each child's name, in order, until f returns
// false. The walk seeks past each subtree it enters, so its cost grows
// with the children, not with all the descendants.
func (t *Tree) eachChild(n *node, f func(name string) bool) {
	if n.stat.NumChildren == 0 {
		return
	}
	prefix := len(n.path) + 1
	if n.path == "/" {
		prefix = 1
	}
	t.below(n.path, func(c *node) (bool, string) {
		name := c.path[prefix:]
		if i := strings.IndexByte(name, '/'); i >= 0 {
			// The first descendant of child name[:i]: its whole subtree
			// is [child+"/", child+"0"), '0' being the byte after '/'.
			return true, c.path[:prefix+i] + "0"
		}
		return f(name), ""
	})
}

// insert adds a node that is not in the index yet, with its digest, data
// size, ACL reference and kind index; the parent's child count is the
// caller's.
func (t *Tree) insert(n *node) {
	t.nodes.Set(n)
	t.account(n)
}

// load is insert for a node that sorts after every node in the index,
// which a restore appends in order.
func (t *Tree) load(n *node) {
	t.nodes.Load(n)
	t.account(n)
}

func (t *Tree) account(n *node) {
	t.rehash(n.path, n)
	t.dataSize += nodeSize(n.path, n.bytes())
	t.acls.retain(n.acl)
	t.index(n.path, n.stat.EphemeralOwner, true)
}

// drop takes a node out again, undoing insert.
func (t *Tree) drop(n *node) {
	t.nodes.Delete(n)
	t.unhash(n.path, n)
	t.dataSize -= nodeSize(n.path, n.bytes())
	t.acls.release(n.acl)
	t.index(n.path, n.stat.EphemeralOwner, false)
}

// replace puts m, a changed copy of n, in n's place. The owner never
// changes, so the kind indexes stay as they are.
func (t *Tree) replace(n, m *node) {
	t.unhash(n.path, n)
	t.nodes.Set(m)
	t.rehash(m.path, m)
	t.dataSize += int64(len(m.bytes()) - len(n.bytes()))
	if m.acl != n.acl {
		t.acls.retain(m.acl)
		t.acls.release(n.acl)
	}
}
