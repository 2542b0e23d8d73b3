package tree

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/zookit/zookit/ensemble/proto"
)

// Tree sizes the benchmarks run at: a regression in apply, snapshot or
// restore shows as a change at the size where production trees live.
var benchSizes = []int{100_000, 1_000_000}

// filled returns a tree holding n empty znodes under /bench, made by
// multis of 1000 creates as a bulk load would make them.
func filled(tb testing.TB, n int) *harness {
	tb.Helper()
	h := newHarness(tb)
	h.apply(&Txn{Op: proto.OpCreate, Req: &proto.CreateRequest{Path: "/bench", ACL: openACL}})
	for i := 0; i < n; {
		var ops []proto.MultiOp
		for ; i < n && len(ops) < 1000; i++ {
			ops = append(ops, proto.MultiOp{Op: proto.OpCreate, Req: &proto.CreateRequest{Path: fmt.Sprintf("/bench/n%07d", i), ACL: openACL}})
		}
		if res := h.apply(&Txn{Op: proto.OpMulti, Req: &proto.MultiRequest{Ops: ops}}); res.Err != proto.OK {
			tb.Fatal(res.Err)
		}
	}
	return h
}

func sizes(b *testing.B, f func(b *testing.B, n int)) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) { f(b, n) })
	}
}

// BenchmarkSetData applies setData on a full tree; with a frozen copy of
// the tree alive, as while a snapshot is written, each write copies the
// index nodes on its path once.
func BenchmarkSetData(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		h := filled(b, n)
		data := make([]byte, 100)
		frozen := h.tr.Freeze()
		b.ResetTimer()
		for i := range b.N {
			if i%100_000 == 0 {
				frozen = h.tr.Freeze()
			}
			p := fmt.Sprintf("/bench/n%07d", (i*7919)%n)
			if res := h.apply(&Txn{Op: proto.OpSetData, Req: &proto.SetDataRequest{Path: p, Data: data, Version: -1}}); res.Err != proto.OK {
				b.Fatal(res.Err)
			}
		}
		runtime.KeepAlive(frozen)
	})
}

// BenchmarkCreate applies single creates into a full tree.
func BenchmarkCreate(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		h := filled(b, n)
		b.ResetTimer()
		for i := range b.N {
			p := fmt.Sprintf("/bench/m%09d", i)
			if res := h.apply(&Txn{Op: proto.OpCreate, Req: &proto.CreateRequest{Path: p, ACL: openACL}}); res.Err != proto.OK {
				b.Fatal(res.Err)
			}
		}
	})
}

// BenchmarkGetData reads from a full tree, from every core.
func BenchmarkGetData(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		h := filled(b, n)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			req := &proto.PathWatch{}
			for i := 0; pb.Next(); i++ {
				req.Path = fmt.Sprintf("/bench/n%07d", (i*7919)%n)
				if _, err := h.tr.Read(Caller{}, proto.OpGetData, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkGetChildren lists 1500 children of a node in a full tree.
func BenchmarkGetChildren(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		h := filled(b, n)
		h.mustCreate("/dir", 0)
		for i := range 1500 {
			h.mustCreate(fmt.Sprintf("/dir/c%04d", i), 0)
		}
		req := &proto.PathWatch{Path: "/dir"}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := h.tr.Read(Caller{MaxReply: 1 << 20}, proto.OpGetChildren, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFreeze is what a snapshot costs the write path.
func BenchmarkFreeze(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		h := filled(b, n)
		b.ResetTimer()
		for range b.N {
			h.tr.Freeze()
		}
	})
}

// BenchmarkEncode serializes a frozen tree, off the write path.
func BenchmarkEncode(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		f := filled(b, n).tr.Freeze()
		b.ResetTimer()
		for range b.N {
			snap, err := f.Encode()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(len(snap))/float64(n), "snapB/node")
		}
	})
}

// BenchmarkRestore decodes a snapshot into a serving tree, the bulk of a
// restart.
func BenchmarkRestore(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		snap, err := filled(b, n).tr.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		tr := New()
		b.ResetTimer()
		for range b.N {
			if err := tr.Restore(snap); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHeap reports the live heap a tree of empty znodes takes per
// node, after a full collection.
func BenchmarkHeap(b *testing.B) {
	sizes(b, func(b *testing.B, n int) {
		for range b.N {
			before := liveHeap()
			h := filled(b, n)
			after := liveHeap()
			b.ReportMetric(float64(after-before)/float64(n), "heapB/node")
			runtime.KeepAlive(h)
		}
	})
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
