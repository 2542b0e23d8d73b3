package peer

import (
	"errors"
	"maps"
	"sync"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// A peer added at runtime is reached and let in; one moved is reached at
// its new address; one removed is neither reached nor let in.
func TestDynamicPeers(t *testing.T) {
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
	a := start(t, 1, map[uint64]string{1: addrs[1]}, nil)
	b := start(t, 2, addrs, nil)

	// Not a peer yet: a refuses b's hellos and cannot send to it.
	cutOff(t, a, b, 1, 2)
	if err := a.tr.SendControl(2, 7, nil); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("SendControl to a stranger: %v, want ErrUnknownPeer", err)
	}

	if err := a.tr.SetPeer(2, addrs[2]); err != nil {
		t.Fatal(err)
	}
	both(t, a, b, 1, 2, 10)

	// Moved: server 2 restarts elsewhere.
	b.tr.Close()
	moved := map[uint64]string{1: addrs[1], 2: freeAddr(t)}
	b2 := start(t, 2, moved, nil)
	if err := a.tr.SetPeer(2, moved[2]); err != nil {
		t.Fatal(err)
	}
	if got := a.tr.Peers(); !maps.Equal(got, map[uint64]string{2: moved[2]}) {
		t.Fatalf("Peers() = %v after the move", got)
	}
	both(t, a, b2, 1, 2, 20)

	// Removed: messages to it are reported undelivered, its connection to
	// us is closed and its hellos refused.
	a.tr.RemovePeer(2)
	a.tr.RemovePeer(2) // idempotent
	if len(a.tr.Peers()) != 0 {
		t.Fatalf("Peers() = %v after removal", a.tr.Peers())
	}
	a.rep.lock()
	before := a.rep.count(report{id: 2})
	a.rep.mu.Unlock()
	a.tr.Send([]*raftpb.Message{app(1, 2, 30)})
	a.rep.await(t, func() bool { return a.rep.count(report{id: 2}) > before }, nil)
	b2.rep.await(t, func() bool { return b2.rep.count(report{id: 1}) > 2 }, func() {
		b2.tr.Send([]*raftpb.Message{app(2, 1, 31)})
	})
	a.h.lock()
	if a.h.has(func(e event) bool { return e.index == 31 }) {
		t.Error("a removed peer's message was delivered")
	}
	a.h.mu.Unlock()

	for _, bad := range []struct {
		id   uint64
		addr string
	}{{0, "x:1"}, {1, "x:1"}, {3, ""}} {
		if err := a.tr.SetPeer(bad.id, bad.addr); err == nil {
			t.Errorf("SetPeer(%d, %q) succeeded", bad.id, bad.addr)
		}
	}
	a.tr.Close()
	if err := a.tr.SetPeer(2, moved[2]); !errors.Is(err, ErrClosed) {
		t.Errorf("SetPeer after Close: %v, want ErrClosed", err)
	}
}

// both checks that a and b exchange a raft message each way, with indexes
// from index on, resending as raft would while connections come up.
func both(t *testing.T, a, b *node, aID, bID, index uint64) {
	t.Helper()
	for _, d := range []struct {
		src, dst *node
		from, to uint64
	}{{a, b, aID, bID}, {b, a, bID, aID}} {
		i := index
		d.dst.h.await(t, func() bool {
			return d.dst.h.has(func(e event) bool { return e.from == d.from && e.index >= index })
		}, func() {
			d.src.tr.Send([]*raftpb.Message{app(d.from, d.to, i)})
			i++
		})
	}
}

// Changing membership while other goroutines send is safe, and Close
// leaves no goroutine behind (TestMain checks).
func TestDynamicPeersConcurrent(t *testing.T) {
	nodes, addrs := cluster(t, 3)
	a := nodes[1]
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for i := uint64(0); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				a.tr.Send([]*raftpb.Message{app(1, 2, i), app(1, 3, i)})
				a.tr.SendControl(2, 7, []byte("c"))
				a.tr.Peers()
			}
		})
	}
	for i := range 200 {
		switch i % 3 {
		case 0:
			a.tr.RemovePeer(2)
		case 1:
			a.tr.SetPeer(2, freeAddr(t))
		default:
			a.tr.SetPeer(2, addrs[2])
		}
	}
	if err := a.tr.SetPeer(2, addrs[2]); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	// Delivery works with the final membership.
	both(t, a, nodes[2], 1, 2, 1_000_000)
	both(t, a, nodes[3], 1, 3, 1_000_000)
}
