package tree

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/zookit/zookit/ensemble/proto"
)

// A frozen tree encodes the state it was frozen at while writes of every
// kind go on; run under -race this also shows the two share nothing that
// a write changes.
func TestFreezeIsolatesWrites(t *testing.T) {
	h := newHarness(t)
	for i := range 300 {
		h.mustCreate(fmt.Sprintf("/n%03d", i), 0)
	}
	h.mustCreate("/n000/child", 0)
	want, _ := h.tr.Snapshot()
	f := h.tr.Freeze()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 300 {
			p := fmt.Sprintf("/n%03d", i)
			h.setData(p, "changed", -1)
			h.apply(&Txn{Op: proto.OpSetACL, Req: &proto.SetACLRequest{Path: p, ACL: aliceOnly, Version: -1}, Auth: []proto.ID{alice}})
			h.mustCreate(fmt.Sprintf("/m%03d", i), 0)
			if i > 0 {
				h.delete(p, -1)
			}
		}
	}()
	var got []byte
	for range 5 {
		got, _ = f.Encode()
		if !bytes.Equal(got, want) {
			break
		}
	}
	wg.Wait()
	if !bytes.Equal(got, want) {
		t.Fatal("a frozen tree's encoding changed with later writes")
	}
	if now, _ := h.tr.Snapshot(); bytes.Equal(now, want) {
		t.Fatal("the writes did not change the live tree")
	}
}

// In path order "/a-b" sorts between "/a" and "/a/x", so a restore finds
// the parent of "/a/x" off the chain of the node before it.
func TestSnapshotSiblingsBetweenParentAndChild(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{"/a", "/a-b", "/a.c", "/a/x", "/a/x/y", "/a-b/z", "/a0"} {
		h.mustCreate(p, 0)
	}
	snap, _ := h.tr.Snapshot()
	r := New()
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	again, _ := r.Snapshot()
	eq(t, "re-encoded", again, snap)
	rh := &harness{t: t, tr: r}
	eq(t, "children of /a", rh.children("/a"), []string{"x"})
	eq(t, "children of /", rh.children("/"), []string{"a", "a-b", "a.c", "a0", "zookeeper"})
	eq(t, "numChildren of /a-b", rh.stat("/a-b").NumChildren, int32(1))
	eq(t, "digest", r.Digest(), h.tr.Digest())
}

// Children are listed without walking their subtrees, and a child's name
// that sorts among another child's descendants is not skipped.
func TestChildrenSkipSubtrees(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{"/p", "/p/a", "/p/a/1", "/p/a/2", "/p/a-", "/p/a/1/x", "/p/b", "/p/b/deep"} {
		h.mustCreate(p, 0)
	}
	eq(t, "children", h.children("/p"), []string{"a", "a-", "b"})
	n, err := h.tr.Read(Caller{}, proto.OpGetAllChildrenNumber, &proto.PathRequest{Path: "/p"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "descendants", n.(*proto.IntResponse).N, int32(7))
}

// Nodes with one ACL list share it, and a list leaves the cache with its
// last node, a rolled-back multi included.
func TestACLListsShared(t *testing.T) {
	h := newHarness(t)
	base := h.tr.acls.Len()
	for i := range 100 {
		h.mustCreate(fmt.Sprintf("/same%d", i), 0)
	}
	eq(t, "one list for 100 like nodes", h.tr.acls.Len(), base)
	digest := func(i int) []proto.ACL {
		return []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "digest", ID: fmt.Sprintf("u%d:hash=", i)}}}
	}
	for i := range 10 {
		if res := h.createReq(proto.OpCreate, 0, &proto.CreateRequest{Path: fmt.Sprintf("/own%d", i), ACL: digest(i)}); res.Err != proto.OK {
			t.Fatal(res.Err)
		}
	}
	eq(t, "a list per distinct ACL", h.tr.acls.Len(), base+10)
	for i := range 10 {
		h.delete(fmt.Sprintf("/own%d", i), -1)
	}
	eq(t, "lists leave with their nodes", h.tr.acls.Len(), base)
	res := h.apply(&Txn{Op: proto.OpMulti, Req: &proto.MultiRequest{Ops: []proto.MultiOp{
		{Op: proto.OpCreate, Req: &proto.CreateRequest{Path: "/tmp", ACL: digest(99)}},
		{Op: proto.OpDelete, Req: &proto.PathInt{Path: "/missing", N: -1}},
	}}})
	if res.Err != proto.OK || res.Resp.(*proto.MultiResponse).Results[0].Err != proto.OK {
		t.Fatalf("multi: %+v", res)
	}
	eq(t, "nothing left by a rolled-back multi", h.tr.acls.Len(), base)
}

type failingWriter struct{ left int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, errors.New("disk full")
	}
	w.left -= len(p)
	return len(p), nil
}

// Size frames a snapshot before it is written, and WriteTo streams the
// same bytes as Encode, stopping at the first write error.
func TestFrozenSizeAndWriteTo(t *testing.T) {
	h := newHarness(t)
	for i := range 5000 {
		h.mustCreate(fmt.Sprintf("/n%05d", i), 0)
	}
	h.setData("/n00001", "some data", -1)
	h.createReq(proto.OpCreate, 0, &proto.CreateRequest{Path: "/own", ACL: aliceOnly})
	h.mustSession(7)
	f := h.tr.Freeze()
	enc, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "size", f.Size(), len(enc))
	var b bytes.Buffer
	n, err := f.WriteTo(&b)
	if err != nil || n != int64(len(enc)) || !bytes.Equal(b.Bytes(), enc) {
		t.Fatalf("WriteTo: %d bytes, %v", n, err)
	}
	w := &failingWriter{left: 100_000}
	if n, err := f.WriteTo(w); err == nil || n != 100_000 {
		t.Fatalf("WriteTo a failing writer: %d bytes, %v", n, err)
	}
}

// A snapshot with data on many nodes restores with the same digest; run
// under -race it also shows the two stages of decode share no scratch.
func TestRestoreWithData(t *testing.T) {
	h := newHarness(t)
	for i := range 5000 {
		h.mustCreate(fmt.Sprintf("/d%04d", i), 0)
		h.setData(fmt.Sprintf("/d%04d", i), fmt.Sprintf("data %d", i), -1)
	}
	snap, _ := h.tr.Snapshot()
	r := New()
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	eq(t, "digest", r.Digest(), h.tr.Digest())
	again, _ := r.Snapshot()
	eq(t, "re-encoded", again, snap)
}
