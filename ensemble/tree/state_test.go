package tree

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/zookit/zookit/ensemble/proto"
)

func TestReaping(t *testing.T) {
	h := newHarness(t, WithExtendedTypes(true), WithMaxNeverUsed(1000))
	ttl := func(path string, ms int64) {
		res := h.apply(&Txn{Op: proto.OpCreateTTL, Req: &proto.CreateRequest{Path: path, ACL: open, Flags: proto.FlagPersistentTTL, TTL: ms, HasTTL: true}})
		if res.Err != proto.OK {
			t.Fatal(res.Err)
		}
	}
	container := func(path string) {
		if res := h.createReq(proto.OpCreateContainer, 0, &proto.CreateRequest{Path: path, Flags: proto.FlagContainer}); res.Err != proto.OK {
			t.Fatal(res.Err)
		}
	}
	container("/used")
	h.mustCreate("/used/x", 0)
	container("/busy")
	h.mustCreate("/busy/x", 0)
	container("/never")
	ttl("/t1", 100)
	ttl("/t2", 100000)
	h.mustCreate("/plain", 0)
	start := h.now
	eq(t, "used container not empty yet", h.tr.ReapCandidates(start, 0), []string(nil))
	h.delete("/used/x", -1)
	eq(t, "used and empty", h.tr.ReapCandidates(start, 0), []string{"/used"})
	eq(t, "plus expired TTL", h.tr.ReapCandidates(start+200, 0), []string{"/t1", "/used"})
	eq(t, "plus never-used container", h.tr.ReapCandidates(start+2000, 0), []string{"/never", "/t1", "/used"})
	eq(t, "limit", h.tr.ReapCandidates(start+2000, 2), []string{"/never", "/t1"})

	reap := func(path string, at int64) proto.Code {
		return h.apply(&Txn{Op: proto.OpDeleteContainer, Time: at, Req: &proto.PathRequest{Path: path}}).Err
	}
	w := &fakeWatcher{id: 1}
	h.read(w, proto.OpExists, pw("/used"))
	eq(t, "reap /used", reap("/used", start+1), proto.OK)
	eq(t, "reap event", w.take(), []event{{proto.EventNodeDeleted, "/used", h.zxid}})
	// Re-checked at apply time: touched since chosen, or not reapable at all.
	h.setData("/t1", "x", -1)
	eq(t, "touched TTL", reap("/t1", h.now+50), proto.ErrBadVersion)
	eq(t, "TTL due", reap("/t1", h.now+500), proto.OK)
	eq(t, "plain node", reap("/plain", h.now), proto.ErrBadVersion)
	eq(t, "busy container", reap("/busy", h.now), proto.ErrNotEmpty)
	eq(t, "missing", reap("/gone", h.now), proto.ErrNoNode)
	eq(t, "special", reap("/zookeeper", h.now), proto.ErrBadArguments)
	eq(t, "nodes left", h.tr.ReapCandidates(start+2000, 0), []string{"/never"})

	// Without maxNeverUsed a never-used container stays.
	h2 := newHarness(t)
	h2.createReq(proto.OpCreateContainer, 0, &proto.CreateRequest{Path: "/c", Flags: proto.FlagContainer})
	eq(t, "never reaped", h2.tr.ReapCandidates(1<<62, 0), []string(nil))
}

// history drives a tree through a bit of everything.
func history(h *harness) {
	h.mustSession(0x10)
	h.mustSession(0x20)
	h.mustCreate("/app", 0)
	h.apply(&Txn{Op: proto.OpSetACL, Req: &proto.SetACLRequest{Path: "/app", ACL: []proto.ACL{acl(31, "digest", alice.ID), acl(1, "ip", "10.0.0.0/8")}, Version: -1}, Auth: []proto.ID{}})
	h.apply(&Txn{Op: proto.OpSetACL, Req: &proto.SetACLRequest{Path: "/app", ACL: open, Version: -1}, Auth: []proto.ID{alice}})
	for i := range 5 {
		h.createReq(proto.OpCreate2, 0x10, &proto.CreateRequest{Path: "/app/lock-", Data: []byte(fmt.Sprint(i)), Flags: proto.FlagEphemeralSequential})
	}
	h.createReq(proto.OpCreateContainer, 0x20, &proto.CreateRequest{Path: "/c", Flags: proto.FlagContainer})
	h.mustCreate("/c/x", 0)
	h.delete("/c/x", -1)
	h.apply(&Txn{Op: proto.OpCreateTTL, Req: &proto.CreateRequest{Path: "/ttl", ACL: open, Flags: proto.FlagPersistentTTL, TTL: 10, HasTTL: true}})
	h.createReq(proto.OpCreate, 0x20, &proto.CreateRequest{Path: "/e", Flags: proto.FlagEphemeral})
	h.setData("/app", "payload", -1)
	h.setData("/", "root data", -1)
	h.apply(multiTxn(createOp(proto.OpCreate, "/m", 0), createOp(proto.OpCreate, "/m/s", proto.FlagSequential)))
	h.apply(multiTxn(createOp(proto.OpCreate, "/n", 0), createOp(proto.OpCreate, "/m", 0)))
	h.delete("/app/lock-0000000002", -1)
	h.apply(&Txn{Op: proto.OpCloseSession, Session: 0x10})
	h.createReq(proto.OpCreate, 0x20, &proto.CreateRequest{Path: "/e2", Flags: proto.FlagEphemeral})
}

func TestSnapshotRoundTrip(t *testing.T) {
	h := newHarness(t, WithExtendedTypes(true))
	history(h)
	snap, err := h.tr.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := New(WithExtendedTypes(true))
	w := &fakeWatcher{id: 7}
	r.Read(Caller{Watcher: w}, proto.OpExists, pw("/app/new"))
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	again, _ := r.Snapshot()
	eq(t, "snapshot of restored tree", again, snap)
	eq(t, "LastZxid", r.LastZxid(), h.tr.LastZxid())
	eq(t, "NodeCount", r.NodeCount(), h.tr.NodeCount())
	eq(t, "DataSize", r.ApproximateDataSize(), h.tr.ApproximateDataSize())
	eq(t, "Ephemerals", r.Ephemerals(), h.tr.Ephemerals())
	eq(t, "Sessions", r.Sessions(), h.tr.Sessions())
	eq(t, "ReapCandidates", r.ReapCandidates(1<<40, 0), h.tr.ReapCandidates(1<<40, 0))
	for _, p := range []string{"/", "/app", "/c", "/ttl", "/e", "/e2", "/m", "/zookeeper/config"} {
		a, errA := h.tr.Read(Caller{Auth: []proto.ID{alice}}, proto.OpGetData, &proto.PathWatch{Path: p})
		b, errB := r.Read(Caller{Auth: []proto.ID{alice}}, proto.OpGetData, &proto.PathWatch{Path: p})
		eq(t, p+" err", errB, errA)
		eq(t, p, b, a)
		a, _ = h.tr.Read(Caller{}, proto.OpGetChildren2, &proto.PathWatch{Path: p})
		b, _ = r.Read(Caller{}, proto.OpGetChildren2, &proto.PathWatch{Path: p})
		eq(t, p+" children", b, a)
		a, _ = h.tr.Read(Caller{}, proto.OpGetACL, &proto.PathRequest{Path: p})
		b, _ = r.Read(Caller{}, proto.OpGetACL, &proto.PathRequest{Path: p})
		eq(t, p+" acl", b, a)
	}
	// Sequence counters continue where they were.
	h2 := &harness{t: t, tr: r, zxid: h.zxid, now: h.now}
	h.mustSession(0x30)
	h2.mustSession(0x30)
	p1 := h.createReq(proto.OpCreate, 0x30, &proto.CreateRequest{Path: "/app/new", Flags: proto.FlagEphemeralSequential})
	p2 := h2.createReq(proto.OpCreate, 0x30, &proto.CreateRequest{Path: "/app/new", Flags: proto.FlagEphemeralSequential})
	eq(t, "same next create", p2, p1)
	eq(t, "watch on the live watcher survives Restore", w.take(), []event(nil))
	h2.mustCreate("/app/new", 0)
	eq(t, "watch still armed", len(w.take()), 1)
}

func TestDeterminism(t *testing.T) {
	a := newHarness(t, WithExtendedTypes(true))
	b := newHarness(t, WithExtendedTypes(true))
	// Different watchers on each: watches must not affect replicated state.
	for i := range 20 {
		b.read(&fakeWatcher{id: int64(i)}, proto.OpExists, pw(fmt.Sprintf("/app/lock-%010d", i)))
	}
	history(a)
	history(b)
	sa, _ := a.tr.Snapshot()
	sb, _ := b.tr.Snapshot()
	if !bytes.Equal(sa, sb) {
		t.Fatal("same txns gave different snapshots")
	}
}

func TestRestoreRejects(t *testing.T) {
	good, _ := New().Snapshot()
	tr := New()
	h := &harness{t: t, tr: tr}
	h.mustCreate("/keep", 0)
	before, _ := tr.Snapshot()
	bad := [][]byte{
		nil,
		[]byte("zktree9"),
		good[:len(good)-1],
		append(append([]byte{}, good...), 0),
	}
	// A child before its parent.
	orphan := New()
	oh := &harness{t: t, tr: orphan}
	oh.mustCreate("/a", 0)
	oh.mustCreate("/a/b", 0)
	s, _ := orphan.Snapshot()
	bad = append(bad, bytes.Replace(s, []byte("\x00\x00\x00\x02/a"), []byte("\x00\x00\x00\x02/q"), 1))
	for i, b := range bad {
		err := tr.Restore(b)
		if !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("case %d: %v", i, err)
		}
	}
	after, _ := tr.Snapshot()
	eq(t, "unchanged by failed restores", after, before)
}

func TestTxnRoundTrip(t *testing.T) {
	txns := []*Txn{
		{Origin: 1, Seq: 2, Session: 3, Time: 4, Op: proto.OpCreateTTL, Req: &proto.CreateRequest{Path: "/a", Data: []byte("d"), ACL: open, Flags: 5, TTL: 9, HasTTL: true}, Auth: []proto.ID{alice, localIP}},
		{Op: proto.OpCreateSession, Session: 5, Timeout: 4000, Passwd: []byte("0123456789abcdef")},
		{Op: proto.OpCloseSession, Session: 5},
		{Op: proto.OpDeleteContainer, Req: &proto.PathRequest{Path: "/c"}},
		{Op: proto.OpMulti, Req: &proto.MultiRequest{Ops: []proto.MultiOp{createOp(proto.OpCreate, "/x", 0), {Op: proto.OpCheck, Req: &proto.PathInt{Path: "/x", N: 3}}}}},
		{Op: proto.OpSetACL, Req: &proto.SetACLRequest{Path: "/x", ACL: open, Version: -1}},
	}
	for _, txn := range txns {
		b := txn.Marshal()
		got, err := UnmarshalTxn(b)
		if err != nil {
			t.Fatalf("%v: %v", txn.Op, err)
		}
		eq(t, txn.Op.String(), got, txn)
		eq(t, "stable bytes", got.Marshal(), b)
	}
	for _, b := range [][]byte{nil, {9}, txns[0].Marshal()[:20], append(txns[1].Marshal(), 1)} {
		if _, err := UnmarshalTxn(b); !errors.Is(err, ErrBadTxn) {
			t.Fatalf("%x: %v", b, err)
		}
	}
}

func TestReads(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/a", 0)
	h.mustCreate("/a/b", 0)
	h.mustCreate("/a/b/c", 0)
	h.mustCreate("/a/d", 0)
	count := func(p string) any {
		r, err := h.tr.Read(Caller{}, proto.OpGetAllChildrenNumber, &proto.PathRequest{Path: p})
		if err != nil {
			return err
		}
		return r.(*proto.IntResponse).N
	}
	eq(t, "under /a", count("/a"), any(int32(3)))
	eq(t, "under /", count("/"), any(int32(7)))
	eq(t, "leaf", count("/a/d"), any(int32(0)))
	eq(t, "missing", count("/x"), any(proto.ErrNoNode))
	r, _ := h.tr.Read(Caller{}, proto.OpGetChildren2, &proto.PathWatch{Path: "/a"})
	eq(t, "getChildren2", r, proto.Record(&proto.ChildrenResponse{Children: []string{"b", "d"}, Stat: h.stat("/a"), WithStat: true}))
	// Null data reads back null and empty data empty, as ZooKeeper
	// writes them (length -1 and 0; interop.TestDifferentialNullData).
	r, _ = h.tr.Read(Caller{}, proto.OpGetData, &proto.PathWatch{Path: "/a"})
	if d := r.(*proto.GetDataResponse).Data; d != nil {
		t.Fatalf("null data should read back null, got %#v", d)
	}
	h.createReq(proto.OpCreate, 0, &proto.CreateRequest{Path: "/empty", Data: []byte{}})
	r, _ = h.tr.Read(Caller{}, proto.OpGetData, &proto.PathWatch{Path: "/empty"})
	if d := r.(*proto.GetDataResponse).Data; d == nil || len(d) != 0 {
		t.Fatalf("empty data should be a zero-length buffer, got %#v", d)
	}
	r, _ = h.tr.Read(Caller{}, proto.OpGetData, &proto.PathWatch{Path: "/"})
	if d := r.(*proto.GetDataResponse).Data; d == nil || len(d) != 0 {
		t.Fatalf("the root's data should be a zero-length buffer, got %#v", d)
	}
	_, err := h.tr.Read(Caller{}, proto.OpSync, &proto.PathRequest{Path: "/"})
	eq(t, "unknown op", err, error(proto.ErrUnimplemented))
	_, err = h.tr.Read(Caller{}, proto.OpGetData, &proto.PathRequest{Path: "/"})
	eq(t, "wrong record", proto.CodeOf(err), proto.ErrMarshallingError)
	_, err = h.tr.Read(Caller{}, proto.OpGetData, &proto.PathWatch{Path: "/nope"})
	eq(t, "no node", err, error(proto.ErrNoNode))
}

func FuzzUnmarshalTxn(f *testing.F) {
	f.Add((&Txn{Op: proto.OpCreate, Req: &proto.CreateRequest{Path: "/a", ACL: open}, Auth: []proto.ID{alice}}).Marshal())
	f.Add((&Txn{Op: proto.OpMulti, Req: &proto.MultiRequest{Ops: []proto.MultiOp{createOp(proto.OpCreate, "/x", 0)}}}).Marshal())
	f.Add((&Txn{Op: proto.OpCreateSession, Session: 1, Passwd: []byte("p")}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		txn, err := UnmarshalTxn(b)
		if err != nil {
			return
		}
		again, err := UnmarshalTxn(txn.Marshal())
		if err != nil {
			t.Fatalf("re-marshalled txn does not decode: %v", err)
		}
		// Whatever decodes must apply without panicking.
		New().Apply(1, again)
	})
}

func FuzzRestore(f *testing.F) {
	h := newHarness(f, WithExtendedTypes(true))
	history(h)
	s, _ := h.tr.Snapshot()
	f.Add(s)
	empty, _ := New().Snapshot()
	f.Add(empty)
	f.Fuzz(func(t *testing.T, b []byte) {
		tr := New()
		if err := tr.Restore(b); err != nil {
			return
		}
		again, err := tr.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Fatal("restored snapshot does not re-encode to the same bytes")
		}
		tr.Apply(tr.LastZxid()+1, &Txn{Op: proto.OpCreate, Req: &proto.CreateRequest{Path: "/fuzz", ACL: open}})
	})
}
