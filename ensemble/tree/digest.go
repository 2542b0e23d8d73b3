package tree

import (
	"encoding/binary"
	"hash/crc32"
	"slices"
	"strings"
)

// The tree digest is ZooKeeper's (DigestCalculator, NodeHashMapImpl, AdHash
// in 3.8): each node's digest is the CRC-32 of its path, its data and 60
// bytes of its stored Stat, and the tree's is the sum of its nodes', in
// 64-bit arithmetic that wraps as a Java long does. A sum lets a change
// take out the old digest of a node and add the new one, so a txn costs a
// CRC per node it touches and never a walk of the tree.
const (
	// DigestVersion is DigestCalculator.DIGEST_VERSION, the version of the
	// calculation above; ZooKeeper reports it with every logged digest.
	DigestVersion = 2

	// A digest is logged after each txn whose zxid is a multiple of
	// digestLogInterval, and the log keeps the newest digestLogLimit
	// (DataTree.DIGEST_LOG_INTERVAL and DIGEST_LOG_LIMIT).
	digestLogInterval = 128
	digestLogLimit    = 1024
)

// ZxidDigest is the tree digest as it stood after the txn Zxid.
type ZxidDigest struct {
	Zxid   int64
	Digest int64
}

// digested reports whether the node at p counts in the digest: ZooKeeper
// leaves out everything under /zookeeper/, whose quota nodes each server
// updates on its own, but not /zookeeper itself.
func digested(p string) bool {
	return !strings.HasPrefix(p, procPath+"/")
}

// digestScratch holds the bytes a digest is computed from. A slice given
// to crc32 escapes to the heap, so a buffer on the stack would cost an
// allocation per digest; applies hold the tree's write lock, so one
// buffer per tree serves them all.
type digestScratch struct {
	path []byte
	stat [60]byte
}

// pathDataCRC is the CRC-32 of the path and the data, the part of a
// node's digest that a change of Stat alone leaves as it is. The root
// counts as "", its name in ZooKeeper's DataTree.
func (b *digestScratch) pathDataCRC(p string, data []byte) uint32 {
	if p == "/" {
		p = ""
	}
	b.path = append(b.path[:0], p...)
	return crc32.Update(crc32.ChecksumIEEE(b.path), crc32.IEEETable, data)
}

// digest is the node's digest: its cached path and data CRC continued over
// czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion and
// ephemeralOwner, big-endian, in that order.
func (b *digestScratch) digest(p string, n *node) int64 {
	crc := b.pathDataCRC(p, nil)
	if n.data != nil && len(n.data.b) > 0 {
		crc = n.data.crc
	}
	s := &n.stat
	st := b.stat[:]
	binary.BigEndian.PutUint64(st[0:], uint64(s.Czxid))
	binary.BigEndian.PutUint64(st[8:], uint64(s.Mzxid))
	binary.BigEndian.PutUint64(st[16:], uint64(s.Pzxid))
	binary.BigEndian.PutUint64(st[24:], uint64(s.Ctime))
	binary.BigEndian.PutUint64(st[32:], uint64(s.Mtime))
	binary.BigEndian.PutUint32(st[40:], uint32(s.Version))
	binary.BigEndian.PutUint32(st[44:], uint32(s.Cversion))
	binary.BigEndian.PutUint32(st[48:], uint32(s.Aversion))
	binary.BigEndian.PutUint64(st[52:], uint64(s.EphemeralOwner))
	return int64(crc32.Update(crc, crc32.IEEETable, st))
}

// unhash takes the node at p out of the tree digest before it changes;
// rehash adds it back after.
func (t *Tree) unhash(p string, n *node) {
	if digested(p) {
		t.digest -= t.scratch.digest(p, n)
	}
}

func (t *Tree) rehash(p string, n *node) {
	if digested(p) {
		t.digest += t.scratch.digest(p, n)
	}
}

// logDigest records the digest after the txn zxid when ZooKeeper would.
func (t *Tree) logDigest(zxid int64) {
	if zxid%digestLogInterval != 0 {
		return
	}
	if len(t.digestLog) == digestLogLimit {
		copy(t.digestLog, t.digestLog[1:])
		t.digestLog = t.digestLog[:digestLogLimit-1]
	}
	t.digestLog = append(t.digestLog, ZxidDigest{Zxid: zxid, Digest: t.digest})
}

// Digest is the tree digest now, ZooKeeper's DataTree.getTreeDigest: equal
// trees have equal digests, on every server and across restarts.
func (t *Tree) Digest() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.digest
}

// DigestLog is ZooKeeper's DataTree.getDigestLog, oldest first: the tree
// digest after each applied txn whose zxid is a multiple of 128, the
// newest 1024 of them. Like ZooKeeper's it is not part of a snapshot: it
// starts empty on a new tree and again on Restore.
func (t *Tree) DigestLog() []ZxidDigest {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return slices.Clone(t.digestLog)
}
