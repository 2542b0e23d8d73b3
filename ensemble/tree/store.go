package tree

import (
	"strings"

	"github.com/tidwall/btree"
)

// node is one znode. A node in the index is never changed in place: a
// change puts a changed copy in its place (see replace), so a Frozen index
// that still holds the old one keeps seeing the state it was frozen at.
//
// Its 80 bytes, with its path and slot in the index, are most of what an
// empty znode costs.
type node struct {
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
func (t *Tree) newData(p string, b []byte) *blob { return t.scratch.data(p, b) }

func (s *digestScratch) data(p string, b []byte) *blob {
	switch {
	case b == nil:
		return nil
	case len(b) == 0:
		return noBytes
	}
	return &blob{b: b, crc: s.pathDataCRC(p, b)}
}

func (n *node) clone() *node {
	m := *n
	return &m
}

// item is a node's entry in the index. The path is kept here rather than
// in the node so that comparisons and child listings read the index's own
// arrays and the path bytes, never the node.
type item struct {
	path string
	n    *node
}

// byPath orders the index by path, bytewise: a parent sorts before its
// children, and a node's descendants are exactly the paths in
// [path+"/", path+"0"), '0' being the byte after '/'.
func byPath(a, b item) bool { return a.path < b.path }

func newIndex() *btree.BTreeG[item] {
	// The tree's own lock guards the index.
	return btree.NewBTreeGOptions(byPath, btree.Options{NoLocks: true})
}

// key is the index's path of p: "" is the root's alias, as in DataTree.
func key(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// lookup finds a node.
func (t *Tree) lookup(p string) *node {
	it, _ := t.nodes.Get(item{path: key(p)})
	return it.n
}

// below calls f for each node below the node at p, in path order, until
// f returns false; f may instead return a path to go on from (a seek),
// which must sort after the one it was given.
func (t *Tree) below(p string, f func(path string) (more bool, seek string)) {
	prefix := p + "/"
	if p == "/" {
		prefix = "/"
	}
	for next := prefix; next != ""; {
		from := next
		next = ""
		t.nodes.Ascend(item{path: from}, func(it item) bool {
			if !strings.HasPrefix(it.path, prefix) {
				return false
			}
			if it.path == "/" {
				return true
			}
			more, seek := f(it.path)
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
func (t *Tree) eachChild(p string, n *node, f func(name string) bool) {
	if n.stat.NumChildren == 0 {
		return
	}
	p = key(p)
	prefix := len(p) + 1
	if p == "/" {
		prefix = 1
	}
	t.below(p, func(c string) (bool, string) {
		name := c[prefix:]
		if i := strings.IndexByte(name, '/'); i >= 0 {
			// The first descendant of child name[:i]: its whole subtree
			// is [child+"/", child+"0"), '0' being the byte after '/'.
			return true, c[:prefix+i] + "0"
		}
		return f(name), ""
	})
}

// insert adds a node that is not in the index yet, with its digest, data
// size, ACL reference and kind index; the parent's child count is the
// caller's.
func (t *Tree) insert(p string, n *node) {
	t.nodes.Set(item{p, n})
	t.rehash(p, n)
	t.dataSize += nodeSize(p, n.bytes())
	t.acls.retain(n.acl)
	t.index(p, n.stat.EphemeralOwner, true)
}

// drop takes a node out again, undoing insert.
func (t *Tree) drop(p string, n *node) {
	t.nodes.Delete(item{path: p})
	t.unhash(p, n)
	t.dataSize -= nodeSize(p, n.bytes())
	t.acls.release(n.acl)
	t.index(p, n.stat.EphemeralOwner, false)
}

// replace puts m, a changed copy of n, in n's place at p. The owner never
// changes, so the kind indexes stay as they are.
func (t *Tree) replace(p string, n, m *node) {
	p = key(p)
	t.unhash(p, n)
	t.nodes.Set(item{p, m})
	t.rehash(p, m)
	t.dataSize += int64(len(m.bytes()) - len(n.bytes()))
	if m.acl != n.acl {
		t.acls.retain(m.acl)
		t.acls.release(n.acl)
	}
}
