package tree

import (
	"bytes"
	"testing"

	"github.com/zookit/zookit/ensemble/proto"
)

// recomputed is the tree digest summed from scratch over every node, for
// checking the running one.
func recomputed(t *Tree) int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var sum int64
	var b digestScratch
	t.nodes.Scan(func(it item) bool {
		if digested(it.path) {
			c := *it.n
			if b2 := it.n.bytes(); len(b2) > 0 {
				c.data = &blob{b: b2, crc: b.pathDataCRC(it.path, b2)}
			}
			sum += b.digest(it.path, &c)
		}
		return true
	})
	return sum
}

// TestDigestMatchesZooKeeper applies txns whose zxids and times are fixed
// and compares the digest after each with what Apache ZooKeeper 3.8.0's
// DataTree.getTreeDigest gave after the same changes (createNode, setData,
// setACL, deleteNode with the same arguments, run once against the
// Debian zookeeper 3.8.0 jar).
func TestDigestMatchesZooKeeper(t *testing.T) {
	tr := New()
	steps := []struct {
		what string
		zxid int64
		txn  *Txn
		want int64
	}{
		{"fresh", 0, nil, 1371985504},
		// No change to the tree: ZooKeeper's run had no txn at zxid 1.
		{"createSession", 1, &Txn{Op: proto.OpCreateSession, Session: 0x1234, Timeout: 30000}, 1371985504},
		{"create /a", 2, &Txn{Op: proto.OpCreate, Time: 1000,
			Req: &proto.CreateRequest{Path: "/a", Data: []byte("hello"), ACL: open}}, 4407361576},
		{"create /a/b ephemeral", 3, &Txn{Op: proto.OpCreate, Time: 2000, Session: 0x1234,
			Req: &proto.CreateRequest{Path: "/a/b", ACL: open, Flags: proto.FlagEphemeral}}, 9542059054},
		{"setData /a", 4, &Txn{Op: proto.OpSetData, Time: 3000,
			Req: &proto.SetDataRequest{Path: "/a", Data: []byte("world"), Version: -1}}, 9928495666},
		// Only the aversion counts, not the ACL: ZooKeeper's run set
		// read-only, which would forbid the delete below.
		{"setACL /a", 5, &Txn{Op: proto.OpSetACL,
			Req: &proto.SetACLRequest{Path: "/a", ACL: open, Version: -1}}, 9547537909},
		{"create /c container", 6, &Txn{Op: proto.OpCreateContainer, Time: 5000,
			Req: &proto.CreateRequest{Path: "/c", ACL: open, Flags: proto.FlagContainer}}, 15508696939},
		{"delete /a/b", 7, &Txn{Op: proto.OpDelete, Req: &proto.PathInt{Path: "/a/b", N: -1}}, 9576292212},
		{"setData /", 8, &Txn{Op: proto.OpSetData, Time: 7000,
			Req: &proto.SetDataRequest{Path: "/", Data: []byte("rootdata"), Version: -1}}, 6781467892},
		// /zookeeper counts, what is under it does not.
		{"create /zookeeper/x", 9, &Txn{Op: proto.OpCreate, Time: 8000,
			Req: &proto.CreateRequest{Path: "/zookeeper/x", Data: []byte("q"), ACL: open}}, 8907972184},
		{"setData /zookeeper/x", 10, &Txn{Op: proto.OpSetData, Time: 9000,
			Req: &proto.SetDataRequest{Path: "/zookeeper/x", Data: []byte("r"), Version: -1}}, 8907972184},
	}
	for _, s := range steps {
		if s.txn != nil {
			if res := tr.Apply(s.zxid, s.txn); res.Err != proto.OK {
				t.Fatalf("%s: %v", s.what, res.Err)
			}
		}
		if got := tr.Digest(); got != s.want {
			t.Errorf("%s: digest %d, ZooKeeper's %d", s.what, got, s.want)
		}
	}
}

// TestDigestFollowsEveryChange checks that each kind of change moves the
// digest, that what does not change the tree leaves it, and that the
// running digest always equals one summed from scratch.
func TestDigestFollowsEveryChange(t *testing.T) {
	h := newHarness(t, WithExtendedTypes(true))
	last := h.tr.Digest()
	step := func(what string, changes bool, do func() Result) {
		t.Helper()
		if res := do(); res.Err != proto.OK {
			t.Fatalf("%s: %v", what, res.Err)
		}
		got := h.tr.Digest()
		if moved := got != last; moved != changes {
			t.Errorf("%s: digest moved %v, want %v", what, moved, changes)
		}
		if want := recomputed(h.tr); got != want {
			t.Errorf("%s: running digest %d, from scratch %d", what, got, want)
		}
		last = got
	}
	create := func(op proto.Op, r *proto.CreateRequest) func() Result {
		return func() Result { return h.createReq(op, 7, r) }
	}
	step("createSession", false, func() Result {
		return h.apply(&Txn{Op: proto.OpCreateSession, Session: 7, Timeout: 30000})
	})
	step("create", true, create(proto.OpCreate, &proto.CreateRequest{Path: "/p", Data: []byte("d")}))
	step("create2 sequential", true, create(proto.OpCreate2, &proto.CreateRequest{Path: "/p/s-", Flags: proto.FlagSequential}))
	step("ephemeral", true, create(proto.OpCreate, &proto.CreateRequest{Path: "/e", Flags: proto.FlagEphemeral}))
	step("container", true, create(proto.OpCreateContainer, &proto.CreateRequest{Path: "/c", Flags: proto.FlagContainer}))
	step("TTL", true, create(proto.OpCreateTTL, &proto.CreateRequest{Path: "/t", Flags: proto.FlagPersistentTTL, TTL: 1000, HasTTL: true}))
	step("setData", true, func() Result { return h.setData("/p", "e", -1) })
	step("setData, same data", true, func() Result { return h.setData("/p", "e", -1) })
	step("setACL", true, func() Result {
		return h.apply(&Txn{Op: proto.OpSetACL, Req: &proto.SetACLRequest{Path: "/p", ACL: open, Version: -1}})
	})
	step("delete", true, func() Result { return Result{Err: h.delete("/p/s-0000000000", -1)} })
	step("reap", true, func() Result {
		return h.apply(&Txn{Op: proto.OpDeleteContainer, Time: h.now + 5000, Req: &proto.PathRequest{Path: "/t"}})
	})
	step("multi", true, func() Result {
		return h.apply(&Txn{Op: proto.OpMulti, Session: 7, Req: &proto.MultiRequest{Ops: []proto.MultiOp{
			{Op: proto.OpCreate, Req: &proto.CreateRequest{Path: "/m", ACL: open}},
			{Op: proto.OpSetData, Req: &proto.SetDataRequest{Path: "/m", Data: []byte("x"), Version: -1}},
			{Op: proto.OpCheck, Req: &proto.PathInt{Path: "/m", N: 1}},
		}}})
	})
	step("check", false, func() Result {
		return h.apply(&Txn{Op: proto.OpCheck, Req: &proto.PathInt{Path: "/m", N: 1}})
	})
	step("closeSession", true, func() Result { return h.apply(&Txn{Op: proto.OpCloseSession, Session: 7}) })
	if h.exists("/e") {
		t.Fatal("closeSession left its ephemeral")
	}
}

// TestDigestFailedTxn checks that a failed txn, a multi rolled back after
// some of its ops applied among them, leaves the digest as it was, and
// that what the rollback restored digests right afterwards.
func TestDigestFailedTxn(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/a", 0)
	h.setData("/a", "old", -1)
	before := h.tr.Digest()
	if res := h.setData("/a", "x", 7); res.Err != proto.ErrBadVersion {
		t.Fatalf("setData with a bad version: %v", res.Err)
	}
	eq(t, "digest after a failed setData", h.tr.Digest(), before)
	res := h.apply(&Txn{Op: proto.OpMulti, Req: &proto.MultiRequest{Ops: []proto.MultiOp{
		{Op: proto.OpSetData, Req: &proto.SetDataRequest{Path: "/a", Data: []byte("new"), Version: -1}},
		{Op: proto.OpCreate, Req: &proto.CreateRequest{Path: "/a/b", ACL: open}},
		{Op: proto.OpDelete, Req: &proto.PathInt{Path: "/a/b", N: -1}},
		{Op: proto.OpCreate, Req: &proto.CreateRequest{Path: "/a", ACL: open}}, // exists: fails
	}}})
	if r := res.Resp.(*proto.MultiResponse).Results[3]; r.Err != proto.ErrNodeExists {
		t.Fatalf("multi: %v", r.Err)
	}
	eq(t, "digest after a failed multi", h.tr.Digest(), before)
	h.setData("/a", "later", -1)
	eq(t, "running digest after the rollback", h.tr.Digest(), recomputed(h.tr))
}

// TestDigestSnapshot checks that a restored tree has the digest of the
// one it was taken from and snapshots to the same bytes, and that two
// trees fed the same txns agree on digest and digest log.
func TestDigestSnapshot(t *testing.T) {
	workload := func(h *harness) {
		h.mustSession(9)
		for i := range 300 {
			switch i % 3 {
			case 0:
				h.createReq(proto.OpCreate, 9, &proto.CreateRequest{Path: "/n-", Flags: proto.FlagEphemeralSequential})
			case 1:
				h.setData("/", string(rune('a'+i%26)), -1)
			default:
				h.delete("/missing", -1) // fails, and is logged all the same
			}
		}
	}
	a, b := newHarness(t), newHarness(t)
	workload(a)
	workload(b)
	eq(t, "digests of equal trees", a.tr.Digest(), b.tr.Digest())
	eq(t, "digest logs of equal trees", a.tr.DigestLog(), b.tr.DigestLog())
	var zxids []int64
	for _, d := range a.tr.DigestLog() {
		zxids = append(zxids, d.Zxid)
	}
	eq(t, "logged zxids", zxids, []int64{128, 256})

	snap, err := a.tr.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	c := New()
	if err := c.Restore(snap); err != nil {
		t.Fatal(err)
	}
	eq(t, "restored digest", c.Digest(), a.tr.Digest())
	again, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, snap) {
		t.Error("the restored tree snapshots to other bytes")
	}
	// Restoring over a tree with its own history starts the log again.
	if err := b.tr.Restore(snap); err != nil {
		t.Fatal(err)
	}
	eq(t, "digest log after Restore", b.tr.DigestLog(), []ZxidDigest(nil))
	eq(t, "digest after Restore", b.tr.Digest(), a.tr.Digest())
}

// TestDigestLogBounds checks ZooKeeper's rule: a digest every 128 zxids,
// the newest 1024 kept.
func TestDigestLogBounds(t *testing.T) {
	tr := New()
	for i := int64(1); i <= 1030*128; i += 64 {
		tr.Apply(i+63, &Txn{Op: proto.OpCheck, Req: &proto.PathInt{Path: "/", N: -1}})
	}
	log := tr.DigestLog()
	if len(log) != 1024 {
		t.Fatalf("%d digests logged, want 1024", len(log))
	}
	eq(t, "oldest kept", log[0].Zxid, int64(7*128))
	eq(t, "newest", log[1023].Zxid, int64(1030*128))
	for _, d := range log {
		if d.Zxid%128 != 0 || d.Digest != tr.Digest() {
			t.Fatalf("logged %+v, tree digest %d", d, tr.Digest())
		}
	}
}
