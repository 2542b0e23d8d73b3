package tree

import (
	"strconv"
	"strings"

	"github.com/zookit/zookit/ensemble/proto"
)

// aclEntry is one distinct ACL list, shared by every node that has it, as
// ZooKeeper's ReferenceCountedACLCache shares them: most trees hold a few
// lists over millions of nodes. list is never changed.
type aclEntry struct {
	list []proto.ACL
	enc  []byte // list as a snapshot encodes it
	key  string
	refs int // nodes in the live tree that hold it; under the write lock
}

// aclCache interns ACL lists. An entry leaves when its last node does, so
// clients that make many distinct lists and delete their nodes leave
// nothing behind; a Frozen tree keeps the entries it holds alive on its
// own, through its nodes.
type aclCache struct {
	byKey map[string]*aclEntry
	last  *aclEntry // the most recently interned, which a run of like nodes hits
}

func aclKey(list []proto.ACL) string {
	var b strings.Builder
	for _, a := range list {
		b.WriteString(strconv.FormatInt(int64(a.Perms), 10))
		b.WriteByte(0)
		b.WriteString(a.ID.Scheme)
		b.WriteByte(0)
		b.WriteString(a.ID.ID)
		b.WriteByte(0)
	}
	return b.String()
}

func sameACL(a, b []proto.ACL) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// intern returns the entry for list, which the caller must not change
// afterwards. The entry counts no reference until a node holding it is
// inserted.
func (c *aclCache) intern(list []proto.ACL) *aclEntry {
	if c.last != nil && sameACL(c.last.list, list) {
		return c.last
	}
	k := aclKey(list)
	e := c.byKey[k]
	if e == nil {
		if c.byKey == nil {
			c.byKey = map[string]*aclEntry{}
		}
		enc := &proto.Encoder{}
		enc.Int(int32(len(list)))
		for i := range list {
			list[i].Encode(enc)
		}
		e = &aclEntry{list: list, enc: enc.Buf, key: k}
		c.byKey[k] = e
	}
	c.last = e
	return e
}

func (c *aclCache) retain(e *aclEntry) {
	e.refs++
	if c.byKey[e.key] != e {
		// Released to nothing earlier and now back (a rollback).
		if c.byKey == nil {
			c.byKey = map[string]*aclEntry{}
		}
		c.byKey[e.key] = e
	}
}

func (c *aclCache) release(e *aclEntry) {
	if e.refs--; e.refs == 0 && c.byKey[e.key] == e {
		delete(c.byKey, e.key)
		if c.last == e {
			c.last = nil
		}
	}
}

// Len is the number of distinct ACL lists in the tree.
func (c *aclCache) Len() int { return len(c.byKey) }
