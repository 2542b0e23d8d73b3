package tree

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/zookit/zookit/ensemble/proto"
)

// event is one notification a fakeWatcher received.
type event struct {
	Type int32
	Path string
	Zxid int64
}

type fakeWatcher struct {
	id     int64
	auth   []proto.ID
	events []event
}

func (w *fakeWatcher) Notify(ev proto.WatcherEvent, zxid int64) {
	if ev.State != proto.StateSyncConnected {
		panic("event without SyncConnected state")
	}
	w.events = append(w.events, event{ev.Type, ev.Path, zxid})
}

func (w *fakeWatcher) SessionID() int64 { return w.id }

func (w *fakeWatcher) Auth() []proto.ID { return w.auth }

// take returns and clears the events received so far.
func (w *fakeWatcher) take() []event {
	ev := w.events
	w.events = nil
	return ev
}

// harness feeds a tree transactions with increasing zxids and times.
type harness struct {
	t    testing.TB
	tr   *Tree
	zxid int64
	now  int64
}

func newHarness(t testing.TB, opts ...Option) *harness {
	return &harness{t: t, tr: New(opts...), now: 1_000_000}
}

func (h *harness) apply(txn *Txn) Result {
	h.zxid++
	h.now += 10
	if txn.Time == 0 {
		txn.Time = h.now
	}
	return h.tr.Apply(h.zxid, txn)
}

var open = []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}

func (h *harness) createReq(op proto.Op, session int64, r *proto.CreateRequest) Result {
	if r.ACL == nil {
		r.ACL = open
	}
	return h.apply(&Txn{Op: op, Session: session, Req: r})
}

// mustCreate creates a node with create2 and returns the created path.
func (h *harness) mustCreate(path string, flags int32) string {
	h.t.Helper()
	res := h.createReq(proto.OpCreate2, 0, &proto.CreateRequest{Path: path, Flags: flags})
	if res.Err != proto.OK {
		h.t.Fatalf("create %s: %v", path, res.Err)
	}
	return res.Resp.(*proto.Create2Response).Path
}

func (h *harness) mustSession(id int64) {
	h.t.Helper()
	if res := h.apply(&Txn{Op: proto.OpCreateSession, Session: id, Timeout: 30000, Passwd: []byte("pw")}); res.Err != proto.OK {
		h.t.Fatalf("createSession %#x: %v", id, res.Err)
	}
}

func (h *harness) delete(path string, version int32) proto.Code {
	return h.apply(&Txn{Op: proto.OpDelete, Req: &proto.PathInt{Path: path, N: version}}).Err
}

func (h *harness) setData(path string, data string, version int32) Result {
	return h.apply(&Txn{Op: proto.OpSetData, Req: &proto.SetDataRequest{Path: path, Data: []byte(data), Version: version}})
}

func (h *harness) stat(path string) proto.Stat {
	h.t.Helper()
	r, err := h.tr.Read(Caller{}, proto.OpExists, &proto.PathWatch{Path: path})
	if err != nil {
		h.t.Fatalf("exists %s: %v", path, err)
	}
	return r.(*proto.StatResponse).Stat
}

func (h *harness) exists(path string) bool {
	_, err := h.tr.Read(Caller{}, proto.OpExists, &proto.PathWatch{Path: path})
	return err == nil
}

func (h *harness) children(path string) []string {
	h.t.Helper()
	r, err := h.tr.Read(Caller{}, proto.OpGetChildren, &proto.PathWatch{Path: path})
	if err != nil {
		h.t.Fatalf("getChildren %s: %v", path, err)
	}
	return r.(*proto.ChildrenResponse).Children
}

func (h *harness) read(w *fakeWatcher, op proto.Op, req proto.Record) (proto.Record, error) {
	c := Caller{}
	if w != nil {
		c = Caller{Session: w.id, Auth: w.auth, Watcher: w}
	}
	return h.tr.Read(c, op, req)
}

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

// Snapshot encodes the whole state now, as a snapshot file holds it.
func (t *Tree) Snapshot() ([]byte, error) { return t.Freeze().Encode() }

// Encode is what WriteTo writes, in memory.
func (f *Frozen) Encode() ([]byte, error) {
	b := bytes.NewBuffer(make([]byte, 0, f.Size()))
	_, err := f.WriteTo(b)
	return b.Bytes(), err
}
