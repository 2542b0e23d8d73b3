package tree

import (
	"slices"

	"github.com/zookit/zookit/ensemble/proto"
)

// SetConfig makes data the contents of /zookeeper/config as of zxid, as
// ZooKeeper's reconfig transaction does (a SetDataTxn with version -1): the
// node's version becomes -1, its mzxid zxid and its mtime mtime, its
// aversion stays, and data watches fire. The server calls it when a
// membership change applies, at the change's log index on every member
// alike, so trees and snapshots agree.
func (t *Tree) SetConfig(zxid, mtime int64, data []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if zxid > t.lastZxid {
		t.lastZxid = zxid
	}
	defer t.logDigest(zxid)
	n := t.lookup(configPath)
	m := n.clone()
	m.data = t.newData(configPath, slices.Clone(data))
	m.stat.Version = -1
	m.stat.Mtime = mtime
	m.stat.Mzxid = zxid
	t.replace(configPath, n, m)
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.watches.fire(change{changeData, configPath, m.acl.list, nil}, zxid)
}

// Config returns the contents and stat of /zookeeper/config.
func (t *Tree) Config() ([]byte, proto.Stat) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := t.lookup(configPath)
	return slices.Clone(n.bytes()), t.statOut(n)
}

// CheckConfigWrite reports whether auth may change /zookeeper/config,
// which is what ZooKeeper 3.8 asks of a reconfig: WRITE permission on it
// (by default only the super user has it). It fails with proto.ErrNoAuth.
func (t *Tree) CheckConfigWrite(auth []proto.ID) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.checkACL(t.lookup(configPath).acl.list, proto.PermWrite, auth)
}
