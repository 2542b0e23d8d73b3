package tree

import (
	"slices"

	"github.com/zookit/zookit/ensemble/proto"
)

// aclEntry is one distinct ACL list, shared by every node that has it, as
// ZooKeeper's ReferenceCountedACLCache shares them: most trees hold a few
// lists over millions of nodes. list is never changed.
type aclEntry struct {
	list []proto.ACL
	enc  []byte // list as a snapshot encodes it, and its key in the cache
	refs int    // nodes in the live tree that hold it; under the write lock
}

// aclCache interns ACL lists. An entry leaves when its last node does, so
// clients that make many distinct lists and delete their nodes leave
// nothing behind; a Frozen tree keeps the entries it holds alive on its
// own, through its nodes.
type aclCache struct {
	byKey map[string]*aclEntry
	last  *aclEntry // the most recently interned, which a run of like nodes hits
}

// intern returns the entry for list, which the caller must not change
// afterwards. The entry counts no reference until a node holding it is
// inserted.
func (c *aclCache) intern(list []proto.ACL) *aclEntry {
	if c.last != nil && slices.Equal(c.last.list, list) {
		return c.last
	}
	enc := &proto.Encoder{}
	enc.Int(int32(len(list)))
	for i := range list {
		list[i].Encode(enc)
	}
	e := c.byKey[string(enc.Buf)]
	if e == nil {
		if c.byKey == nil {
			c.byKey = map[string]*aclEntry{}
		}
		e = &aclEntry{list: list, enc: enc.Buf}
		c.byKey[string(enc.Buf)] = e
	}
	c.last = e
	return e
}

func (c *aclCache) retain(e *aclEntry) {
	e.refs++
	if c.byKey[string(e.enc)] != e {
		// Released to nothing earlier and now back (a rollback).
		if c.byKey == nil {
			c.byKey = map[string]*aclEntry{}
		}
		c.byKey[string(e.enc)] = e
	}
}

func (c *aclCache) release(e *aclEntry) {
	if e.refs--; e.refs == 0 && c.byKey[string(e.enc)] == e {
		delete(c.byKey, string(e.enc))
		if c.last == e {
			c.last = nil
		}
	}
}

// Len is the number of distinct ACL lists in the tree.
func (c *aclCache) Len() int { return len(c.byKey) }
