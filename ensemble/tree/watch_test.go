package tree

import (
	"testing"

	"github.com/zookit/zookit/ensemble/proto"
)

func pw(path string) *proto.PathWatch { return &proto.PathWatch{Path: path, Watch: true} }

func TestStandardWatches(t *testing.T) {
	h := newHarness(t)
	w := &fakeWatcher{id: 1}
	h.mustCreate("/a", 0)

	// exists on a missing node registers and fires NodeCreated.
	_, err := h.read(w, proto.OpExists, pw("/a/b"))
	eq(t, "exists missing", err, error(proto.ErrNoNode))
	h.read(w, proto.OpGetChildren2, pw("/a"))
	h.read(w, proto.OpGetData, pw("/a"))
	h.mustCreate("/a/b", 0)
	z := h.zxid
	eq(t, "create", w.take(), []event{{proto.EventNodeCreated, "/a/b", z}, {proto.EventNodeChildrenChanged, "/a", z}})

	// Standard watches fire once.
	h.mustCreate("/a/c", 0)
	eq(t, "consumed", w.take(), []event(nil))

	// setData fires NodeDataChanged on data watches only; setACL fires nothing.
	h.read(w, proto.OpGetData, pw("/a/b"))
	h.read(w, proto.OpGetChildren, pw("/a/b"))
	h.apply(&Txn{Op: proto.OpSetACL, Req: &proto.SetACLRequest{Path: "/a/b", ACL: open, Version: -1}})
	eq(t, "setACL", w.take(), []event(nil))
	h.setData("/a/b", "x", -1)
	eq(t, "setData", w.take(), []event{{proto.EventNodeDataChanged, "/a/b", h.zxid}})

	// delete: NodeDeleted once although data and child watches are held,
	// then NodeChildrenChanged on the parent.
	h.read(w, proto.OpExists, pw("/a/b"))
	h.read(w, proto.OpGetChildren, pw("/a"))
	other := &fakeWatcher{id: 2}
	h.read(other, proto.OpGetChildren, pw("/a/b"))
	h.delete("/a/b", -1)
	z = h.zxid
	eq(t, "delete", w.take(), []event{{proto.EventNodeDeleted, "/a/b", z}, {proto.EventNodeChildrenChanged, "/a", z}})
	eq(t, "delete, child watcher", other.take(), []event{{proto.EventNodeDeleted, "/a/b", z}})
	// Both the data and the child watch were consumed.
	h.mustCreate("/a/b", 0)
	h.delete("/a/b", -1)
	eq(t, "consumed", w.take(), []event(nil))

	// A watch on the root hears children of "/".
	h.read(w, proto.OpGetChildren, pw("/"))
	h.mustCreate("/r", 0)
	eq(t, "root", w.take(), []event{{proto.EventNodeChildrenChanged, "/", h.zxid}})

	// A read without the watch flag or without a Watcher leaves nothing.
	h.read(w, proto.OpGetData, &proto.PathWatch{Path: "/r"})
	h.tr.Read(Caller{}, proto.OpGetData, pw("/r"))
	h.setData("/r", "x", -1)
	eq(t, "no watch", w.take(), []event(nil))

	// Failed reads set no watch (getData on a missing node).
	h.read(w, proto.OpGetData, pw("/nope"))
	h.mustCreate("/nope", 0)
	eq(t, "failed getData", w.take(), []event(nil))
}

func TestWatchDeliveryOrder(t *testing.T) {
	// Delivery follows first registration, whatever the map order.
	h := newHarness(t)
	log := []int64{}
	for _, id := range []int64{5, 1, 9, 4, 7, 2} {
		h.tr.Read(Caller{Session: id, Watcher: &orderWatcher{id: id, log: &log}}, proto.OpExists, pw("/o"))
	}
	h.mustCreate("/o", 0)
	eq(t, "order", log, []int64{5, 1, 9, 4, 7, 2})
}

type orderWatcher struct {
	id  int64
	log *[]int64
}

func (w *orderWatcher) Notify(proto.WatcherEvent, int64) { *w.log = append(*w.log, w.id) }
func (w *orderWatcher) SessionID() int64                 { return w.id }
func (w *orderWatcher) Auth() []proto.ID                 { return nil }

func TestPersistentWatches(t *testing.T) {
	h := newHarness(t)
	p := &fakeWatcher{id: 1}
	r := &fakeWatcher{id: 2}
	h.mustCreate("/p", 0)
	res, err := h.read(p, proto.OpAddWatch, &proto.PathInt{Path: "/p", N: proto.AddWatchPersistent})
	eq(t, "addWatch reply", res, proto.Record(&proto.IntResponse{N: 0}))
	eq(t, "addWatch err", err, nil)
	h.read(r, proto.OpAddWatch, &proto.PathInt{Path: "/p", N: proto.AddWatchPersistentRecursive})

	h.mustCreate("/p/a", 0)
	z1 := h.zxid
	h.mustCreate("/p/a/b", 0)
	z2 := h.zxid
	h.setData("/p", "x", -1)
	z3 := h.zxid
	h.setData("/p/a/b", "x", -1)
	z4 := h.zxid
	h.delete("/p/a/b", -1)
	z5 := h.zxid
	eq(t, "persistent: data and children of the path, repeatedly", p.take(), []event{
		{proto.EventNodeChildrenChanged, "/p", z1},
		{proto.EventNodeDataChanged, "/p", z3},
	})
	eq(t, "recursive: the whole subtree, never children-changed", r.take(), []event{
		{proto.EventNodeCreated, "/p/a", z1},
		{proto.EventNodeCreated, "/p/a/b", z2},
		{proto.EventNodeDataChanged, "/p", z3},
		{proto.EventNodeDataChanged, "/p/a/b", z4},
		{proto.EventNodeDeleted, "/p/a/b", z5},
	})
	h.mustCreate("/p/c", 0)
	eq(t, "persistent stays", p.take(), []event{{proto.EventNodeChildrenChanged, "/p", h.zxid}})
	eq(t, "recursive stays", r.take(), []event{{proto.EventNodeCreated, "/p/c", h.zxid}})

	// One notification per event even with several matching watches.
	h.read(r, proto.OpExists, pw("/p/c"))
	h.read(r, proto.OpAddWatch, &proto.PathInt{Path: "/p/c", N: proto.AddWatchPersistentRecursive})
	h.setData("/p/c", "y", -1)
	eq(t, "deduplicated", r.take(), []event{{proto.EventNodeDataChanged, "/p/c", h.zxid}})

	// Persistent watches on the deleted node itself.
	h.read(p, proto.OpAddWatch, &proto.PathInt{Path: "/p/c", N: proto.AddWatchPersistent})
	h.delete("/p/c", -1)
	eq(t, "persistent on deleted node", p.take(), []event{
		{proto.EventNodeDeleted, "/p/c", h.zxid},
		{proto.EventNodeChildrenChanged, "/p", h.zxid},
	})
	h.mustCreate("/p/c", 0)
	eq(t, "persistent survives the delete", p.take(), []event{
		{proto.EventNodeCreated, "/p/c", h.zxid},
		{proto.EventNodeChildrenChanged, "/p", h.zxid},
	})

	_, err = h.read(p, proto.OpAddWatch, &proto.PathInt{Path: "/p", N: 2})
	eq(t, "bad mode", err, error(proto.ErrMarshallingError))

	// A recursive watch on "/" sees everything.
	all := &fakeWatcher{id: 3}
	h.read(all, proto.OpAddWatch, &proto.PathInt{Path: "/", N: proto.AddWatchPersistentRecursive})
	h.mustCreate("/q", 0)
	eq(t, "root recursive", all.take(), []event{{proto.EventNodeCreated, "/q", h.zxid}})
}

func TestCheckAndRemoveWatches(t *testing.T) {
	h := newHarness(t)
	w := &fakeWatcher{id: 1}
	h.mustCreate("/a", 0)
	check := func(path string, typ int32) proto.Code {
		_, err := h.read(w, proto.OpCheckWatches, &proto.PathInt{Path: path, N: typ})
		return proto.CodeOf(err)
	}
	remove := func(path string, typ int32) proto.Code {
		_, err := h.read(w, proto.OpRemoveWatches, &proto.PathInt{Path: path, N: typ})
		return proto.CodeOf(err)
	}
	for typ := proto.WatcherChildren; typ <= proto.WatcherPersistentRecursive; typ++ {
		eq(t, "none", check("/a", typ), proto.ErrNoWatcher)
	}
	eq(t, "bad type", check("/a", 9), proto.ErrMarshallingError)
	h.read(w, proto.OpGetData, pw("/a"))
	eq(t, "data", check("/a", proto.WatcherData), proto.OK)
	eq(t, "any", check("/a", proto.WatcherAny), proto.OK)
	eq(t, "children", check("/a", proto.WatcherChildren), proto.ErrNoWatcher)
	eq(t, "persistent", check("/a", proto.WatcherPersistent), proto.ErrNoWatcher)
	eq(t, "remove children", remove("/a", proto.WatcherChildren), proto.ErrNoWatcher)
	eq(t, "remove data", remove("/a", proto.WatcherData), proto.OK)
	eq(t, "data gone", check("/a", proto.WatcherData), proto.ErrNoWatcher)
	h.setData("/a", "x", -1)
	eq(t, "removed watch does not fire", w.take(), []event(nil))

	h.read(w, proto.OpGetChildren, pw("/a"))
	h.read(w, proto.OpAddWatch, &proto.PathInt{Path: "/a", N: proto.AddWatchPersistent})
	h.read(w, proto.OpAddWatch, &proto.PathInt{Path: "/a", N: proto.AddWatchPersistentRecursive})
	eq(t, "children", check("/a", proto.WatcherChildren), proto.OK)
	eq(t, "persistent", check("/a", proto.WatcherPersistent), proto.OK)
	eq(t, "recursive", check("/a", proto.WatcherPersistentRecursive), proto.OK)
	eq(t, "no standard data watch", check("/a", proto.WatcherData), proto.ErrNoWatcher)
	eq(t, "remove persistent", remove("/a", proto.WatcherPersistent), proto.OK)
	eq(t, "persistent gone", check("/a", proto.WatcherPersistent), proto.ErrNoWatcher)
	eq(t, "children stays", check("/a", proto.WatcherChildren), proto.OK)
	eq(t, "remove recursive", remove("/a", proto.WatcherPersistentRecursive), proto.OK)
	eq(t, "remove any", remove("/a", proto.WatcherAny), proto.OK)
	eq(t, "all gone", check("/a", proto.WatcherAny), proto.ErrNoWatcher)
	eq(t, "remove any again", remove("/a", proto.WatcherAny), proto.ErrNoWatcher)
	h.mustCreate("/a/b", 0)
	h.setData("/a", "y", -1)
	eq(t, "nothing fires", w.take(), []event(nil))
	eq(t, "summary", fmtSummary(h.tr), [3]int{0, 0, 0})

	// Another connection's watches are not ours.
	other := &fakeWatcher{id: 2}
	h.read(other, proto.OpGetData, pw("/a"))
	eq(t, "other's watch", check("/a", proto.WatcherData), proto.ErrNoWatcher)
	_, err := h.tr.Read(Caller{}, proto.OpCheckWatches, &proto.PathInt{Path: "/a", N: proto.WatcherData})
	eq(t, "no watcher", err, error(proto.ErrNoWatcher))
}

func fmtSummary(tr *Tree) [3]int {
	a, b, c := tr.WatchSummary()
	return [3]int{a, b, c}
}

func TestSetWatches(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/old", 0)   // zxid 1
	h.mustCreate("/dir", 0)   // 2
	h.mustCreate("/fresh", 0) // 3
	rel := h.zxid
	h.setData("/fresh", "x", -1) // 4
	h.mustCreate("/dir/c", 0)    // 5
	w := &fakeWatcher{id: 1}
	_, err := h.read(w, proto.OpSetWatches2, &proto.SetWatches{
		RelativeZxid:        rel,
		Data:                []string{"/gone", "/fresh", "/old"},
		Exist:               []string{"/old", "/later"},
		Child:               []string{"/gone", "/dir", "/old"},
		Persistent:          []string{"/p"},
		PersistentRecursive: []string{"/dir"},
		V2:                  true,
	})
	eq(t, "err", err, nil)
	eq(t, "missed events now", w.take(), []event{
		{proto.EventNodeDeleted, "/gone", -1},
		{proto.EventNodeDataChanged, "/fresh", -1},
		{proto.EventNodeCreated, "/old", -1},
		{proto.EventNodeDeleted, "/gone", -1},
		{proto.EventNodeChildrenChanged, "/dir", -1},
	})
	h.setData("/old", "x", -1)
	h.mustCreate("/later", 0)
	h.mustCreate("/old/c", 0)
	h.mustCreate("/p", 0)
	h.mustCreate("/p/c", 0)
	h.setData("/dir/c", "x", -1)
	z := h.zxid
	eq(t, "re-armed", w.take(), []event{
		{proto.EventNodeDataChanged, "/old", z - 5},
		{proto.EventNodeCreated, "/later", z - 4},
		{proto.EventNodeChildrenChanged, "/old", z - 3},
		{proto.EventNodeCreated, "/p", z - 2},
		{proto.EventNodeChildrenChanged, "/p", z - 1},
		{proto.EventNodeDataChanged, "/dir/c", z},
	})
	eq(t, "wchc", h.tr.WatchesBySession(), map[int64][]string{1: {"/dir", "/p"}})
	eq(t, "wchp", h.tr.WatchesByPath(), map[string][]int64{"/dir": {1}, "/p": {1}})
	eq(t, "wchs", fmtSummary(h.tr), [3]int{1, 2, 2})
	eq(t, "mntr watch_count: the child watch of /p too", h.tr.WatchCount(), 3)

	h.tr.RemoveWatcher(w)
	h.mustCreate("/p/d", 0)
	eq(t, "removed watcher hears nothing", w.take(), []event(nil))
	eq(t, "wchs after remove", fmtSummary(h.tr), [3]int{0, 0, 0})
	eq(t, "watch_count after remove", h.tr.WatchCount(), 0)
	eq(t, "seq forgotten", len(h.tr.watches.seq), 0)
}
