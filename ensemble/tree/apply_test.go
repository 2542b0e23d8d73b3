package tree

import (
	"errors"
	"testing"

	"github.com/zookit/zookit/ensemble/proto"
)

func TestNewTree(t *testing.T) {
	tr := New(WithConfigData([]byte("server.1=a:1:2;3")))
	eq(t, "node count", tr.NodeCount(), 5)
	// "/" + "" + "/zookeeper" + "/zookeeper/quota" + "/zookeeper/config" + data
	eq(t, "data size", tr.ApproximateDataSize(), int64(1+0+10+16+17+16))
	h := &harness{t: t, tr: tr}
	eq(t, "ls /", h.children("/"), []string{"zookeeper"})
	eq(t, "ls /zookeeper", h.children("/zookeeper"), []string{"config", "quota"})
	// ZooKeeper shows cversion -1 for a fresh root: its stored count of child
	// creations is 0 while /zookeeper is present.
	eq(t, "root stat", h.stat("/"), proto.Stat{Cversion: -1, NumChildren: 1})
	r, err := tr.Read(Caller{}, proto.OpGetACL, &proto.PathRequest{Path: "/zookeeper/config"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "config acl", r.(*proto.GetACLResponse).ACL, readACL)
	// DataTree.addConfigNode sets the ACL with version -1.
	eq(t, "config aversion", r.(*proto.GetACLResponse).Stat.Aversion, int32(-1))
	r, err = tr.Read(Caller{}, proto.OpGetData, &proto.PathWatch{Path: "/zookeeper/config"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "config data", string(r.(*proto.GetDataResponse).Data), "server.1=a:1:2;3")
	// Nobody but super may write the config node.
	h.zxid = 0
	if res := h.setData("/zookeeper/config", "x", -1); res.Err != proto.ErrNoAuth {
		t.Fatalf("setData config: %v", res.Err)
	}
}

func TestCreateStat(t *testing.T) {
	h := newHarness(t)
	res := h.createReq(proto.OpCreate2, 0, &proto.CreateRequest{Path: "/a", Data: []byte("hello")})
	want := proto.Stat{Czxid: 1, Mzxid: 1, Pzxid: 1, Ctime: h.now, Mtime: h.now, DataLength: 5}
	eq(t, "create2 response", res, Result{Resp: &proto.Create2Response{Path: "/a", Stat: want}})
	eq(t, "root after create", h.stat("/"), proto.Stat{Cversion: 0, Pzxid: 1, NumChildren: 2})

	res = h.createReq(proto.OpCreate, 0, &proto.CreateRequest{Path: "/a/b"})
	eq(t, "create response", res, Result{Resp: &proto.PathRequest{Path: "/a/b"}})
	eq(t, "LastZxid", h.tr.LastZxid(), int64(2))

	set := h.setData("/a", "hi", 0)
	created := want.Ctime
	want = proto.Stat{Czxid: 1, Mzxid: 3, Pzxid: 2, Ctime: created, Mtime: h.now, Version: 1, Cversion: 1, DataLength: 2, NumChildren: 1}
	eq(t, "setData", set, Result{Resp: &proto.StatResponse{Stat: want}})

	acl := h.apply(&Txn{Op: proto.OpSetACL, Req: &proto.SetACLRequest{Path: "/a", ACL: open, Version: 0}})
	want.Aversion = 1
	eq(t, "setACL", acl, Result{Resp: &proto.StatResponse{Stat: want}})

	if code := h.delete("/a/b", -1); code != proto.OK {
		t.Fatal(code)
	}
	want.Pzxid = 5
	want.NumChildren = 0
	want.Cversion = 2
	eq(t, "after child delete: pzxid moves, visible cversion counts the delete", h.stat("/a"), want)
	eq(t, "stored cversion counts creations only", h.tr.lookup("/a").stat.Cversion, int32(1))
}

func TestSequentialNumbering(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/s", 0)
	var got []string
	for range 3 {
		got = append(got, h.mustCreate("/s/n-", proto.FlagSequential))
	}
	if code := h.delete("/s/n-0000000001", -1); code != proto.OK {
		t.Fatal(code)
	}
	got = append(got, h.mustCreate("/s/n-", proto.FlagSequential))
	got = append(got, h.mustCreate("/s/", proto.FlagSequential))
	eq(t, "names", got, []string{"/s/n-0000000000", "/s/n-0000000001", "/s/n-0000000002", "/s/n-0000000003", "/s/0000000004"})
	st := h.stat("/s")
	eq(t, "visible cversion counts creations and deletions", st.Cversion, int32(6))
	eq(t, "stored cversion counts creations", h.tr.lookup("/s").stat.Cversion, int32(5))
	eq(t, "pzxid", st.Pzxid, h.zxid)
	eq(t, "children", h.children("/s"), []string{"0000000004", "n-0000000000", "n-0000000002", "n-0000000003"})
}

func TestCversionWrap(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/w", 0)
	h.tr.lookup("/w").stat.Cversion = 1<<31 - 1
	p := h.mustCreate("/w/x", proto.FlagSequential)
	eq(t, "name", p, "/w/x2147483647")
	st := h.stat("/w")
	// Java's "larger than" test fails at the wrap: neither field moves.
	eq(t, "cversion", h.tr.lookup("/w").stat.Cversion, int32(1<<31-1))
	eq(t, "pzxid", st.Pzxid, int64(1))
	// So the next sequential create collides, as it would in ZooKeeper.
	res := h.createReq(proto.OpCreate, 0, &proto.CreateRequest{Path: "/w/x", Flags: proto.FlagSequential})
	eq(t, "next create", res.Err, proto.ErrNodeExists)
}

func TestCreateErrors(t *testing.T) {
	digestACL := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "digest", ID: "u:h"}}}
	tests := []struct {
		name string
		op   proto.Op
		req  proto.CreateRequest
		auth []proto.ID
		opts []Option
		want proto.Code
	}{
		{"flags -1", proto.OpCreate, proto.CreateRequest{Path: "/x", Flags: -1}, nil, nil, proto.ErrBadArguments},
		{"flags 7", proto.OpCreate, proto.CreateRequest{Path: "/x", Flags: 7}, nil, nil, proto.ErrBadArguments},
		{"missing parent", proto.OpCreate, proto.CreateRequest{Path: "/no/x"}, nil, nil, proto.ErrNoNode},
		{"exists", proto.OpCreate, proto.CreateRequest{Path: "/p"}, nil, nil, proto.ErrNodeExists},
		{"root", proto.OpCreate, proto.CreateRequest{Path: "/"}, nil, nil, proto.ErrNodeExists},
		{"zookeeper", proto.OpCreate, proto.CreateRequest{Path: "/zookeeper"}, nil, nil, proto.ErrNodeExists},
		{"under ephemeral", proto.OpCreate, proto.CreateRequest{Path: "/eph/x"}, nil, nil, proto.ErrNoChildrenForEph},
		{"empty path", proto.OpCreate, proto.CreateRequest{Path: ""}, nil, nil, proto.ErrBadArguments},
		{"relative", proto.OpCreate, proto.CreateRequest{Path: "x"}, nil, nil, proto.ErrBadArguments},
		{"trailing slash", proto.OpCreate, proto.CreateRequest{Path: "/p/"}, nil, nil, proto.ErrBadArguments},
		{"dot", proto.OpCreate, proto.CreateRequest{Path: "/p/."}, nil, nil, proto.ErrBadArguments},
		{"dotdot", proto.OpCreate, proto.CreateRequest{Path: "/p/.."}, nil, nil, proto.ErrBadArguments},
		{"nul", proto.OpCreate, proto.CreateRequest{Path: "/p\x00"}, nil, nil, proto.ErrBadArguments},
		{"control char", proto.OpCreate, proto.CreateRequest{Path: "/p\x01"}, nil, nil, proto.ErrBadArguments},
		{"C1 char", proto.OpCreate, proto.CreateRequest{Path: "/p\u0085"}, nil, nil, proto.ErrBadArguments},
		{"private use", proto.OpCreate, proto.CreateRequest{Path: "/p\ue000"}, nil, nil, proto.ErrBadArguments},
		{"specials", proto.OpCreate, proto.CreateRequest{Path: "/p\ufff0"}, nil, nil, proto.ErrBadArguments},
		{"astral", proto.OpCreate, proto.CreateRequest{Path: "/p😀"}, nil, nil, proto.ErrBadArguments},
		{"bad utf8", proto.OpCreate, proto.CreateRequest{Path: "/p\xff"}, nil, nil, proto.ErrBadArguments},
		// The parent is looked up before the full path is validated.
		{"empty component, missing parent", proto.OpCreate, proto.CreateRequest{Path: "/p//x"}, nil, nil, proto.ErrNoNode},
		{"no ACL", proto.OpCreate, proto.CreateRequest{Path: "/x", ACL: []proto.ACL{}}, nil, nil, proto.ErrInvalidACL},
		{"world:bob", proto.OpCreate, proto.CreateRequest{Path: "/x", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "world", ID: "bob"}}}}, nil, nil, proto.ErrInvalidACL},
		{"bad digest", proto.OpCreate, proto.CreateRequest{Path: "/x", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "digest", ID: "user:"}}}}, nil, nil, proto.ErrInvalidACL},
		{"bad ip", proto.OpCreate, proto.CreateRequest{Path: "/x", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "ip", ID: "1.2.3"}}}}, nil, nil, proto.ErrInvalidACL},
		{"bad ip bits", proto.OpCreate, proto.CreateRequest{Path: "/x", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "ip", ID: "1.2.3.4/33"}}}}, nil, nil, proto.ErrInvalidACL},
		{"unknown scheme", proto.OpCreate, proto.CreateRequest{Path: "/x", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "ldap", ID: "bob"}}}}, nil, nil, proto.ErrInvalidACL},
		{"malformed sasl id", proto.OpCreate, proto.CreateRequest{Path: "/x", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "sasl", ID: "a/b/c@R"}}}}, nil, nil, proto.ErrInvalidACL},
		{"auth without digest", proto.OpCreate, proto.CreateRequest{Path: "/x", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "auth", ID: ""}}}}, []proto.ID{{Scheme: "ip", ID: "1.2.3.4"}}, nil, proto.ErrInvalidACL},
		// InvalidACL is found before the missing parent.
		{"bad ACL and no parent", proto.OpCreate, proto.CreateRequest{Path: "/no/x", ACL: []proto.ACL{}}, nil, nil, proto.ErrInvalidACL},
		{"no CREATE on parent", proto.OpCreate, proto.CreateRequest{Path: "/locked/x"}, nil, nil, proto.ErrNoAuth},
		{"TTL disabled", proto.OpCreateTTL, proto.CreateRequest{Path: "/x", Flags: proto.FlagPersistentTTL, TTL: 10, HasTTL: true}, nil, nil, proto.ErrUnimplemented},
		{"TTL flag via create, disabled", proto.OpCreate, proto.CreateRequest{Path: "/x", Flags: proto.FlagPersistentTTL}, nil, nil, proto.ErrUnimplemented},
		{"TTL flag via create", proto.OpCreate, proto.CreateRequest{Path: "/x", Flags: proto.FlagPersistentTTL}, nil, []Option{WithExtendedTypes(true)}, proto.ErrBadArguments},
		{"TTL 0", proto.OpCreateTTL, proto.CreateRequest{Path: "/x", Flags: proto.FlagPersistentTTL, TTL: 0, HasTTL: true}, nil, []Option{WithExtendedTypes(true)}, proto.ErrBadArguments},
		{"TTL too big", proto.OpCreateTTL, proto.CreateRequest{Path: "/x", Flags: proto.FlagPersistentSeqTTL, TTL: maxTTL + 1, HasTTL: true}, nil, []Option{WithExtendedTypes(true)}, proto.ErrBadArguments},
		{"TTL with plain mode", proto.OpCreateTTL, proto.CreateRequest{Path: "/x", Flags: 0, TTL: 10, HasTTL: true}, nil, []Option{WithExtendedTypes(true)}, proto.ErrBadArguments},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts...)
			h.mustSession(7)
			h.mustCreate("/p", 0)
			h.createReq(proto.OpCreate, 7, &proto.CreateRequest{Path: "/eph", Flags: proto.FlagEphemeral})
			h.createReq(proto.OpCreate, 0, &proto.CreateRequest{Path: "/locked", ACL: digestACL})
			before, _ := h.tr.Snapshot()
			req := tc.req
			if req.ACL == nil {
				req.ACL = open
			}
			res := h.apply(&Txn{Op: tc.op, Req: &req, Auth: tc.auth})
			eq(t, "result", res, Result{Err: tc.want})
			if !errors.Is(res.Err, tc.want) {
				t.Fatal("errors.Is")
			}
			after, _ := h.tr.Snapshot()
			// Only the last zxid may differ.
			eq(t, "state unchanged", after[len(snapshotMagic)+8:], before[len(snapshotMagic)+8:])
		})
	}
}

func TestCreateModes(t *testing.T) {
	h := newHarness(t, WithExtendedTypes(true))
	h.mustSession(0x42)
	cases := []struct {
		op    proto.Op
		flags int32
		ttl   int64
		path  string
		owner int64
	}{
		{proto.OpCreate2, proto.FlagPersistent, 0, "/p", 0},
		{proto.OpCreate2, proto.FlagEphemeral, 0, "/e", 0x42},
		{proto.OpCreate2, proto.FlagEphemeralSequential, 0, "/es0000000002", 0x42},
		{proto.OpCreateContainer, proto.FlagContainer, 0, "/c", containerOwner},
		{proto.OpCreateTTL, proto.FlagPersistentTTL, 5000, "/t", -0x100000000000000 | 5000},
		{proto.OpCreateTTL, proto.FlagPersistentSeqTTL, 7, "/ts0000000005", -0x100000000000000 | 7},
		// A container flag through plain create makes a persistent node, as
		// in ZooKeeper: the opcode decides.
		{proto.OpCreate2, proto.FlagContainer, 0, "/cf", 0},
	}
	for _, c := range cases {
		name := c.path
		if c.flags&proto.FlagSequential != 0 {
			name = c.path[:len(c.path)-10]
		}
		res := h.createReq(c.op, 0x42, &proto.CreateRequest{Path: name, Flags: c.flags, TTL: c.ttl, HasTTL: c.op == proto.OpCreateTTL})
		if res.Err != proto.OK {
			t.Fatalf("%v %s: %v", c.op, name, res.Err)
		}
		got := res.Resp.(*proto.Create2Response)
		eq(t, "path", got.Path, c.path)
		eq(t, c.path+" stored owner", h.tr.lookup(c.path).stat.EphemeralOwner, c.owner)
		// Clients see an owner only on a session's ephemerals.
		wire := c.owner
		if c.owner != 0x42 {
			wire = 0
		}
		eq(t, c.path+" owner", got.Stat.EphemeralOwner, wire)
	}
	if o := h.tr.lookup("/t").stat.EphemeralOwner; uint64(o) != 0xFF00000000001388 {
		t.Fatalf("TTL owner %#x", o)
	}
	// Containers and TTL nodes may have children.
	h.mustCreate("/c/x", 0)
	h.mustCreate("/t/x", 0)
	eq(t, "ephemerals", h.tr.Ephemerals(), map[int64][]string{0x42: {"/e", "/es0000000002"}})
	eq(t, "ephemeral count", h.tr.EphemeralCount(), 2)
}

func TestDelete(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/a", 0)
	h.mustCreate("/a/b", 0)
	h.setData("/a/b", "x", -1)
	tests := []struct {
		path    string
		version int32
		want    proto.Code
	}{
		{"/a", -1, proto.ErrNotEmpty},
		{"/a/b", 0, proto.ErrBadVersion},
		{"/a/c", -1, proto.ErrNoNode},
		{"/x/c", -1, proto.ErrNoNode},
		{"/", -1, proto.ErrBadArguments},
		{"", -1, proto.ErrBadArguments},
		{"a", -1, proto.ErrBadArguments},
		{"/zookeeper", -1, proto.ErrBadArguments},
		{"/zookeeper/quota", -1, proto.ErrBadArguments},
		{"/zookeeper/config", -1, proto.ErrBadArguments},
		{"/a\x00", -1, proto.ErrBadArguments},
		{"/a/b", 1, proto.OK},
		{"/a", 0, proto.OK},
	}
	for _, tc := range tests {
		if got := h.delete(tc.path, tc.version); got != tc.want {
			t.Fatalf("delete %q v%d: %v, want %v", tc.path, tc.version, got, tc.want)
		}
	}
	eq(t, "node count", h.tr.NodeCount(), 5)
	eq(t, "data size back to the start", h.tr.ApproximateDataSize(), New().ApproximateDataSize())
	// Nodes under /zookeeper that are not special may be created and deleted.
	h.mustCreate("/zookeeper/x", 0)
	eq(t, "delete /zookeeper/x", h.delete("/zookeeper/x", -1), proto.OK)
}

func TestSetDataAndACLErrors(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/a", 0)
	eq(t, "bad version", h.setData("/a", "x", 3).Err, proto.ErrBadVersion)
	eq(t, "no node", h.setData("/b", "x", -1).Err, proto.ErrNoNode)
	eq(t, "bad path", h.setData("/a/", "x", -1).Err, proto.ErrBadArguments)
	setACL := func(path string, acl []proto.ACL, v int32) proto.Code {
		return h.apply(&Txn{Op: proto.OpSetACL, Req: &proto.SetACLRequest{Path: path, ACL: acl, Version: v}}).Err
	}
	eq(t, "setACL bad version", setACL("/a", open, 1), proto.ErrBadVersion)
	eq(t, "setACL invalid before missing", setACL("/b", nil, -1), proto.ErrInvalidACL)
	eq(t, "setACL no node", setACL("/b", open, -1), proto.ErrNoNode)
	eq(t, "setACL", setACL("/a", readACL, 0), proto.OK)
	eq(t, "setACL without ADMIN", setACL("/a", open, -1), proto.ErrNoAuth)
	eq(t, "setData without WRITE", h.setData("/a", "x", -1).Err, proto.ErrNoAuth)
	eq(t, "data unchanged", h.stat("/a").Version, int32(0))
	eq(t, "setData a wrong record", h.apply(&Txn{Op: proto.OpSetData, Req: &proto.PathInt{Path: "/a"}}).Err, proto.ErrMarshallingError)
	eq(t, "unknown op", h.apply(&Txn{Op: proto.OpGetData, Req: &proto.PathWatch{Path: "/a"}}).Err, proto.ErrUnimplemented)
}

func TestSessions(t *testing.T) {
	h := newHarness(t)
	w := &fakeWatcher{id: 1}
	h.mustSession(5)
	h.mustSession(3)
	eq(t, "duplicate", h.apply(&Txn{Op: proto.OpCreateSession, Session: 5, Timeout: 1}).Err, proto.ErrSystemError)
	s, ok := h.tr.Session(5)
	eq(t, "session", s, Session{ID: 5, Timeout: 30000, Passwd: []byte("pw")})
	eq(t, "found", ok, true)
	eq(t, "sessions", len(h.tr.Sessions()), 2)
	eq(t, "sorted", h.tr.Sessions()[0].ID, int64(3))

	h.mustCreate("/d", 0)
	for _, p := range []string{"/d/e2", "/d/e1", "/e3"} {
		if res := h.createReq(proto.OpCreate, 5, &proto.CreateRequest{Path: p, Flags: proto.FlagEphemeral}); res.Err != proto.OK {
			t.Fatal(res.Err)
		}
	}
	h.createReq(proto.OpCreate, 3, &proto.CreateRequest{Path: "/other", Flags: proto.FlagEphemeral})
	r, err := h.tr.Read(Caller{Session: 5}, proto.OpGetEphemerals, &proto.PathRequest{Path: "/d"})
	eq(t, "getEphemerals err", err, nil)
	eq(t, "getEphemerals /d", r.(*proto.ChildrenResponse).Children, []string{"/d/e1", "/d/e2"})
	r, _ = h.tr.Read(Caller{Session: 5}, proto.OpGetEphemerals, &proto.PathRequest{Path: "/"})
	eq(t, "getEphemerals /", r.(*proto.ChildrenResponse).Children, []string{"/d/e1", "/d/e2", "/e3"})

	h.read(w, proto.OpGetChildren, &proto.PathWatch{Path: "/d", Watch: true})
	h.read(w, proto.OpExists, &proto.PathWatch{Path: "/d/e1", Watch: true})
	h.read(w, proto.OpExists, &proto.PathWatch{Path: "/e3", Watch: true})
	h.read(w, proto.OpGetChildren, &proto.PathWatch{Path: "/", Watch: true})

	pz := h.stat("/d")
	if res := h.apply(&Txn{Op: proto.OpCloseSession, Session: 5}); res.Err != proto.OK {
		t.Fatal(res.Err)
	}
	z := h.zxid
	eq(t, "events in path order", w.take(), []event{
		{proto.EventNodeDeleted, "/d/e1", z},
		{proto.EventNodeChildrenChanged, "/d", z},
		{proto.EventNodeDeleted, "/e3", z},
		{proto.EventNodeChildrenChanged, "/", z},
	})
	after := h.stat("/d")
	eq(t, "parent pzxid", after.Pzxid, z)
	eq(t, "parent cversion counts both deletes", after.Cversion, pz.Cversion+2)
	eq(t, "children", h.children("/d"), []string{})
	_, ok = h.tr.Session(5)
	eq(t, "session gone", ok, false)
	eq(t, "ephemerals", h.tr.Ephemerals(), map[int64][]string{3: {"/other"}})

	// An expired session can do nothing more.
	eq(t, "create", h.createReq(proto.OpCreate, 5, &proto.CreateRequest{Path: "/z"}).Err, proto.ErrSessionExpired)
	eq(t, "setData", h.apply(&Txn{Op: proto.OpSetData, Session: 5, Req: &proto.SetDataRequest{Path: "/d", Version: -1}}).Err, proto.ErrSessionExpired)
	eq(t, "close again", h.apply(&Txn{Op: proto.OpCloseSession, Session: 5}).Err, proto.ErrSessionExpired)
	res := h.apply(&Txn{Op: proto.OpMulti, Session: 5, Req: &proto.MultiRequest{Ops: []proto.MultiOp{
		{Op: proto.OpCheck, Req: &proto.PathInt{Path: "/d", N: -1}},
	}}})
	eq(t, "multi", res.Resp.(*proto.MultiResponse).Results, []proto.MultiResult{{Op: proto.OpError, Err: proto.ErrSessionExpired}})
}

// A session belongs to the server its client is attached through: writes
// proposed through another server fail with SESSIONMOVED until the client
// re-attaches there, and afterwards the old server's writes fail.
func TestSessionOwner(t *testing.T) {
	h := newHarness(t)
	if res := h.apply(&Txn{Op: proto.OpCreateSession, Session: 7, Origin: 1, Timeout: 30000}); res.Err != proto.OK {
		t.Fatal(res.Err)
	}
	create := func(origin uint64, p string) proto.Code {
		return h.apply(&Txn{Op: proto.OpCreate, Session: 7, Origin: origin, Req: &proto.CreateRequest{Path: p, ACL: open}}).Err
	}
	eq(t, "write through the owner", create(1, "/a"), proto.OK)
	eq(t, "write through another server", create(2, "/b"), proto.ErrSessionMoved)
	eq(t, "attach to server 2", h.apply(&Txn{Op: OpAttachSession, Session: 7, Origin: 2}).Err, proto.OK)
	eq(t, "write through the new owner", create(2, "/c"), proto.OK)
	eq(t, "late write through the old owner", create(1, "/d"), proto.ErrSessionMoved)
	multi := h.apply(&Txn{Op: proto.OpMulti, Session: 7, Origin: 1, Req: &proto.MultiRequest{Ops: []proto.MultiOp{
		{Op: proto.OpCreate, Req: &proto.CreateRequest{Path: "/e", ACL: open}}}}})
	eq(t, "late multi through the old owner", multi.Resp.(*proto.MultiResponse).Results[0].Err, proto.ErrSessionMoved)
	s, _ := h.tr.Session(7)
	eq(t, "owner", s.Owner, uint64(2))
	eq(t, "attach of an unknown session", h.apply(&Txn{Op: OpAttachSession, Session: 8, Origin: 2}).Err, proto.ErrSessionExpired)
	// The leader expires sessions wherever they are attached.
	eq(t, "close through a third server", h.apply(&Txn{Op: proto.OpCloseSession, Session: 7, Origin: 3}).Err, proto.OK)
	eq(t, "children", h.children("/"), []string{"a", "c", "zookeeper"})
}
