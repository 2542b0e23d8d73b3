package tree

import (
	"bytes"
	"testing"

	"github.com/zookit/zookit/ensemble/proto"
)

func multiTxn(ops ...proto.MultiOp) *Txn {
	return &Txn{Op: proto.OpMulti, Req: &proto.MultiRequest{Ops: ops}}
}

func createOp(op proto.Op, path string, flags int32) proto.MultiOp {
	return proto.MultiOp{Op: op, Req: &proto.CreateRequest{Path: path, ACL: open, Flags: flags}}
}

func TestMultiSuccess(t *testing.T) {
	h := newHarness(t)
	w := &fakeWatcher{id: 1}
	h.mustCreate("/m", 0)
	h.read(w, proto.OpGetChildren, &proto.PathWatch{Path: "/m", Watch: true})
	h.read(w, proto.OpExists, &proto.PathWatch{Path: "/m/a", Watch: true})
	h.read(w, proto.OpExists, &proto.PathWatch{Path: "/m", Watch: true})

	res := h.apply(multiTxn(
		createOp(proto.OpCreate, "/m/a", 0),
		createOp(proto.OpCreate2, "/m/s-", proto.FlagSequential),
		proto.MultiOp{Op: proto.OpSetData, Req: &proto.SetDataRequest{Path: "/m/a", Data: []byte("x"), Version: 0}},
		proto.MultiOp{Op: proto.OpCheck, Req: &proto.PathInt{Path: "/m/a", N: 1}},
		createOp(proto.OpCreate, "/m/b", 0),
		proto.MultiOp{Op: proto.OpDelete, Req: &proto.PathInt{Path: "/m/b", N: 0}},
		proto.MultiOp{Op: proto.OpSetData, Req: &proto.SetDataRequest{Path: "/m", Version: -1}},
	))
	z := h.zxid
	eq(t, "err", res.Err, proto.OK)
	results := res.Resp.(*proto.MultiResponse).Results
	stat := func(version, cversion int32, dataLen int32) proto.Stat {
		return proto.Stat{Czxid: z, Mzxid: z, Pzxid: z, Ctime: h.now, Mtime: h.now, Version: version, Cversion: cversion, DataLength: dataLen}
	}
	eq(t, "results", results, []proto.MultiResult{
		{Op: proto.OpCreate, Resp: &proto.PathRequest{Path: "/m/a"}},
		{Op: proto.OpCreate2, Resp: &proto.Create2Response{Path: "/m/s-0000000001", Stat: stat(0, 0, 0)}},
		{Op: proto.OpSetData, Resp: &proto.StatResponse{Stat: stat(1, 0, 1)}},
		{Op: proto.OpCheck},
		{Op: proto.OpCreate, Resp: &proto.PathRequest{Path: "/m/b"}},
		{Op: proto.OpDelete},
		{Op: proto.OpSetData, Resp: &proto.StatResponse{Stat: proto.Stat{
			Czxid: 1, Mzxid: z, Pzxid: z, Ctime: 1_000_010, Mtime: h.now, Version: 1, Cversion: 4, NumChildren: 2}}},
	})
	// Standard watches fire once, after all ops, in op order.
	eq(t, "events", w.take(), []event{
		{proto.EventNodeCreated, "/m/a", z},
		{proto.EventNodeChildrenChanged, "/m", z},
		{proto.EventNodeDataChanged, "/m", z},
	})
	eq(t, "LastZxid", h.tr.LastZxid(), z)
}

func TestMultiFailureRollsBack(t *testing.T) {
	h := newHarness(t)
	w := &fakeWatcher{id: 1}
	h.mustSession(9)
	h.mustCreate("/m", 0)
	h.mustCreate("/m/old", 0)
	h.read(w, proto.OpGetChildren, &proto.PathWatch{Path: "/m", Watch: true})
	h.read(w, proto.OpGetData, &proto.PathWatch{Path: "/m/old", Watch: true})
	before, _ := h.tr.Snapshot()
	size := h.tr.ApproximateDataSize()

	res := h.apply(&Txn{Op: proto.OpMulti, Session: 9, Req: &proto.MultiRequest{Ops: []proto.MultiOp{
		createOp(proto.OpCreate, "/m/e", proto.FlagEphemeral),
		createOp(proto.OpCreate, "/m/s", proto.FlagSequential),
		proto.MultiOp{Op: proto.OpSetData, Req: &proto.SetDataRequest{Path: "/m/old", Data: []byte("new"), Version: -1}},
		proto.MultiOp{Op: proto.OpDelete, Req: &proto.PathInt{Path: "/m/old", N: -1}},
		// Sees the delete above.
		proto.MultiOp{Op: proto.OpCheck, Req: &proto.PathInt{Path: "/m/old", N: -1}},
		createOp(proto.OpCreate, "/m/after", 0),
		proto.MultiOp{Op: proto.OpDelete, Req: &proto.PathInt{Path: "/nothing", N: -1}},
	}}})
	eq(t, "header err", res.Err, proto.OK)
	ok := proto.MultiResult{Op: proto.OpError, Err: proto.OK}
	later := proto.MultiResult{Op: proto.OpError, Err: proto.ErrRuntimeInconsistency}
	eq(t, "results", res.Resp.(*proto.MultiResponse).Results, []proto.MultiResult{
		ok, ok, ok, ok, {Op: proto.OpError, Err: proto.ErrNoNode}, later, later,
	})
	after, _ := h.tr.Snapshot()
	eq(t, "state rolled back", after[len(snapshotMagic)+8:], before[len(snapshotMagic)+8:])
	eq(t, "data size", h.tr.ApproximateDataSize(), size)
	eq(t, "ephemerals", h.tr.EphemeralCount(), 0)
	eq(t, "no events", w.take(), []event(nil))
	eq(t, "LastZxid still moves", h.tr.LastZxid(), h.zxid)

	// The watches are still armed.
	h.setData("/m/old", "y", -1)
	eq(t, "watch kept", w.take(), []event{{proto.EventNodeDataChanged, "/m/old", h.zxid}})

	// The sequence counter was rolled back too.
	eq(t, "next sequential", h.mustCreate("/m/s", proto.FlagSequential), "/m/s0000000001")
}

func TestMultiEdgeCases(t *testing.T) {
	h := newHarness(t)
	res := h.apply(multiTxn())
	eq(t, "empty multi", res, Result{Resp: &proto.MultiResponse{Results: []proto.MultiResult{}}})
	res = h.apply(multiTxn(
		createOp(proto.OpCreate, "/a", 0),
		proto.MultiOp{Op: proto.OpGetData, Req: &proto.PathWatch{Path: "/a"}},
	))
	eq(t, "read op in multi", res.Resp.(*proto.MultiResponse).Results, []proto.MultiResult{
		{Op: proto.OpError, Err: proto.OK}, {Op: proto.OpError, Err: proto.ErrUnimplemented},
	})
	eq(t, "rolled back", h.exists("/a"), false)
	eq(t, "setACL not in multi", h.apply(multiTxn(
		proto.MultiOp{Op: proto.OpSetACL, Req: &proto.SetACLRequest{Path: "/", ACL: open, Version: -1}},
	)).Resp.(*proto.MultiResponse).Results[0].Err, proto.ErrUnimplemented)
	eq(t, "wrong record", h.apply(&Txn{Op: proto.OpMulti, Req: &proto.PathRequest{}}).Err, proto.ErrMarshallingError)

	// Multi results encode and decode through the wire format.
	h2 := newHarness(t, WithExtendedTypes(true))
	res = h2.apply(multiTxn(
		createOp(proto.OpCreateContainer, "/c", proto.FlagContainer),
		proto.MultiOp{Op: proto.OpCreateTTL, Req: &proto.CreateRequest{Path: "/t", ACL: open, Flags: proto.FlagPersistentTTL, TTL: 100, HasTTL: true}},
	))
	resp := res.Resp.(*proto.MultiResponse)
	eq(t, "container and TTL results are create2", []proto.Op{resp.Results[0].Op, resp.Results[1].Op}, []proto.Op{proto.OpCreate2, proto.OpCreate2})
	var back proto.MultiResponse
	if err := proto.Unmarshal(proto.Marshal(resp), &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(proto.Marshal(&back), proto.Marshal(resp)) {
		t.Fatal("multi response does not round-trip")
	}
}

func TestMultiRead(t *testing.T) {
	h := newHarness(t)
	w := &fakeWatcher{id: 1}
	h.mustCreate("/a", 0)
	h.mustCreate("/a/b", 0)
	h.setData("/a", "data", -1)
	r, err := h.read(w, proto.OpMultiRead, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Op: proto.OpGetData, Req: &proto.PathWatch{Path: "/a", Watch: true}},
		{Op: proto.OpGetChildren, Req: &proto.PathWatch{Path: "/missing"}},
		{Op: proto.OpGetChildren, Req: &proto.PathWatch{Path: "/a", Watch: true}},
	}})
	eq(t, "err", err, nil)
	res := r.(*proto.MultiResponse).Results
	eq(t, "data", string(res[0].Resp.(*proto.GetDataResponse).Data), "data")
	eq(t, "data op", res[0].Op, proto.OpGetData)
	eq(t, "error", res[1], proto.MultiResult{Op: proto.OpError, Err: proto.ErrNoNode})
	eq(t, "children", res[2], proto.MultiResult{Op: proto.OpGetChildren, Resp: &proto.ChildrenResponse{Children: []string{"b"}}})
	h.mustCreate("/a/c", 0)
	h.setData("/a", "x", -1)
	eq(t, "watches set by multiRead", w.take(), []event{
		{proto.EventNodeChildrenChanged, "/a", h.zxid - 1},
		{proto.EventNodeDataChanged, "/a", h.zxid},
	})
	_, err = h.read(w, proto.OpMultiRead, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Op: proto.OpExists, Req: &proto.PathWatch{Path: "/a"}},
	}})
	eq(t, "not a multiRead op", proto.CodeOf(err), proto.ErrMarshallingError)
}
