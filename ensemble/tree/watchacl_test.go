package tree

import (
	"testing"

	"github.com/zookit/zookit/ensemble/proto"
)

// aliceOnly lets alice do anything and nobody else anything.
var aliceOnly = []proto.ACL{{Perms: proto.PermAll, ID: alice}}

// applyAs applies op as a caller holding auth and fails the test on error.
func (h *harness) applyAs(auth []proto.ID, op proto.Op, req proto.Record) {
	h.t.Helper()
	if res := h.apply(&Txn{Op: op, Auth: auth, Req: req}); res.Err != proto.OK {
		h.t.Fatalf("op %d as %v: %v", op, auth, res.Err)
	}
}

// secretTree holds /secret (alice only) with /secret/a, and /pub (open).
func secretTree(t *testing.T) *harness {
	h := newHarness(t, WithSuperDigest(superDigest))
	as := []proto.ID{alice}
	h.applyAs(as, proto.OpCreate, &proto.CreateRequest{Path: "/secret", ACL: aliceOnly})
	h.applyAs(as, proto.OpCreate, &proto.CreateRequest{Path: "/secret/a", ACL: open})
	h.mustCreate("/pub", 0)
	return h
}

func TestAddWatchNeedsRead(t *testing.T) {
	h := secretTree(t)
	anon := &fakeWatcher{id: 1}
	al := &fakeWatcher{id: 2, auth: []proto.ID{alice}}
	for _, mode := range []int32{proto.AddWatchPersistent, proto.AddWatchPersistentRecursive} {
		_, err := h.read(anon, proto.OpAddWatch, &proto.PathInt{Path: "/secret", N: mode})
		eq(t, "anonymous addWatch on /secret", proto.CodeOf(err), proto.ErrNoAuth)
		_, err = h.read(al, proto.OpAddWatch, &proto.PathInt{Path: "/secret", N: mode})
		eq(t, "alice's addWatch on /secret", proto.CodeOf(err), proto.OK)
	}
	// A missing path has no ACL to check, as for exists.
	_, err := h.read(anon, proto.OpAddWatch, &proto.PathInt{Path: "/later", N: proto.AddWatchPersistentRecursive})
	eq(t, "anonymous addWatch on a missing path", proto.CodeOf(err), proto.OK)
	// An invalid mode is still a marshalling error, whatever the ACL.
	_, err = h.read(anon, proto.OpAddWatch, &proto.PathInt{Path: "/secret", N: 7})
	eq(t, "invalid mode", proto.CodeOf(err), proto.ErrMarshallingError)

	h.applyAs([]proto.ID{alice}, proto.OpCreate, &proto.CreateRequest{Path: "/secret/b", ACL: open})
	eq(t, "anonymous events", anon.take(), []event(nil))
	eq(t, "alice's events", al.take(), []event{
		{proto.EventNodeCreated, "/secret/b", h.zxid},
		{proto.EventNodeChildrenChanged, "/secret", h.zxid},
	})
	_, err = h.read(anon, proto.OpCheckWatches, &proto.PathInt{Path: "/secret", N: proto.WatcherAny})
	eq(t, "anonymous watch on /secret", proto.CodeOf(err), proto.ErrNoWatcher)
}

func TestSetWatchesSkipsUnreadable(t *testing.T) {
	for _, op := range []proto.Op{proto.OpSetWatches, proto.OpSetWatches2} {
		h := secretTree(t)
		h.mustCreate("/pub/x", 0)
		// Every list names /secret, whose state would otherwise fire at
		// once (data and child changed since zxid 0, exists) or arm.
		req := &proto.SetWatches{
			RelativeZxid: 0,
			Data:         []string{"/secret"},
			Exist:        []string{"/secret"},
			Child:        []string{"/secret"},
		}
		if op == proto.OpSetWatches2 {
			req.Persistent = []string{"/secret", "/pub"}
			req.PersistentRecursive = []string{"/secret"}
		}
		anon := &fakeWatcher{id: 1}
		if _, err := h.read(anon, op, req); err != nil {
			t.Fatal(err)
		}
		eq(t, "anonymous immediate events", anon.take(), []event(nil))
		for _, typ := range []int32{proto.WatcherAny, proto.WatcherPersistent, proto.WatcherPersistentRecursive} {
			_, err := h.read(anon, proto.OpCheckWatches, &proto.PathInt{Path: "/secret", N: typ})
			eq(t, "anonymous watch on /secret", proto.CodeOf(err), proto.ErrNoWatcher)
		}
		al := &fakeWatcher{id: 2, auth: []proto.ID{alice}}
		if _, err := h.read(al, op, req); err != nil {
			t.Fatal(err)
		}
		eq(t, "alice's immediate events", al.take(), []event{
			{proto.EventNodeDataChanged, "/secret", -1},
			{proto.EventNodeCreated, "/secret", -1},
			{proto.EventNodeChildrenChanged, "/secret", -1},
		})
		if op == proto.OpSetWatches2 {
			_, err := h.read(anon, proto.OpCheckWatches, &proto.PathInt{Path: "/pub", N: proto.WatcherPersistent})
			eq(t, "anonymous persistent watch on readable /pub", proto.CodeOf(err), proto.OK)
			_, err = h.read(al, proto.OpCheckWatches, &proto.PathInt{Path: "/secret", N: proto.WatcherPersistentRecursive})
			eq(t, "alice's recursive watch on /secret", proto.CodeOf(err), proto.OK)
		}
		h.applyAs([]proto.ID{alice}, proto.OpCreate, &proto.CreateRequest{Path: "/secret/b", ACL: open})
		eq(t, "anonymous events after a create under /secret", anon.take(), []event(nil))
	}
}

// TestWatchDeliveryChecksRead: an event reaches a watcher only if it may READ
// the node the event is about when the change applies (NodeChildrenChanged:
// the parent), with the identities it holds at delivery.
func TestWatchDeliveryChecksRead(t *testing.T) {
	h := secretTree(t)
	anon := &fakeWatcher{id: 1}
	al := &fakeWatcher{id: 2, auth: []proto.ID{alice}}
	su := &fakeWatcher{id: 3, auth: []proto.ID{superID}}
	for _, w := range []*fakeWatcher{anon, al, su} {
		if _, err := h.read(w, proto.OpAddWatch, &proto.PathInt{Path: "/", N: proto.AddWatchPersistentRecursive}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.read(w, proto.OpAddWatch, &proto.PathInt{Path: "/pub", N: proto.AddWatchPersistent}); err != nil {
			t.Fatal(err)
		}
	}
	as := []proto.ID{alice}
	h.applyAs(as, proto.OpCreate, &proto.CreateRequest{Path: "/pub/s", ACL: aliceOnly})
	created := h.zxid
	h.applyAs(as, proto.OpSetData, &proto.SetDataRequest{Path: "/pub/s", Version: -1})
	changed := h.zxid
	h.applyAs(as, proto.OpSetData, &proto.SetDataRequest{Path: "/secret/a", Version: -1})
	openChanged := h.zxid
	h.applyAs(as, proto.OpDelete, &proto.PathInt{Path: "/pub/s", N: -1})
	deleted := h.zxid
	all := []event{
		{proto.EventNodeCreated, "/pub/s", created},
		{proto.EventNodeChildrenChanged, "/pub", created},
		{proto.EventNodeDataChanged, "/pub/s", changed},
		{proto.EventNodeDataChanged, "/secret/a", openChanged},
		{proto.EventNodeDeleted, "/pub/s", deleted},
		{proto.EventNodeChildrenChanged, "/pub", deleted},
	}
	eq(t, "alice's events", al.take(), all)
	eq(t, "super's events", su.take(), all)
	// The child of readable /pub is hidden, /pub's own children event is
	// not; /secret/a is open, so its event passes although /secret is not
	// readable (ZooKeeper checks the node the event is about only).
	eq(t, "anonymous events", anon.take(), []event{
		{proto.EventNodeChildrenChanged, "/pub", created},
		{proto.EventNodeDataChanged, "/secret/a", openChanged},
		{proto.EventNodeChildrenChanged, "/pub", deleted},
	})

	// The identities count as they are at delivery: alice's, added after
	// the watch was set, open the next event.
	anon.auth = []proto.ID{alice}
	h.applyAs(as, proto.OpCreate, &proto.CreateRequest{Path: "/pub/t", ACL: aliceOnly})
	eq(t, "events after addAuth", anon.take(), []event{
		{proto.EventNodeCreated, "/pub/t", h.zxid},
		{proto.EventNodeChildrenChanged, "/pub", h.zxid},
	})
}

// TestFilteredStandardWatchIsConsumed: a standard watch whose event the ACL
// hides is used up all the same, as in ZooKeeper, which removes it before
// the delivery check.
func TestFilteredStandardWatchIsConsumed(t *testing.T) {
	h := secretTree(t)
	anon := &fakeWatcher{id: 1}
	_, err := h.read(anon, proto.OpExists, &proto.PathWatch{Path: "/pub/s", Watch: true})
	eq(t, "exists on a missing node", proto.CodeOf(err), proto.ErrNoNode)
	h.applyAs([]proto.ID{alice}, proto.OpCreate, &proto.CreateRequest{Path: "/pub/s", ACL: aliceOnly})
	eq(t, "events", anon.take(), []event(nil))
	_, err = h.read(anon, proto.OpCheckWatches, &proto.PathInt{Path: "/pub/s", N: proto.WatcherData})
	eq(t, "watch left", proto.CodeOf(err), proto.ErrNoWatcher)
	_, err = h.read(anon, proto.OpExists, &proto.PathWatch{Path: "/pub/s", Watch: true})
	eq(t, "exists on an unreadable node", proto.CodeOf(err), proto.ErrNoAuth)
	h.applyAs([]proto.ID{alice}, proto.OpDelete, &proto.PathInt{Path: "/pub/s", N: -1})
	eq(t, "events after the refused exists", anon.take(), []event(nil))
}
