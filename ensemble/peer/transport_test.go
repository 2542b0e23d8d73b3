package peer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Every server sends every other one an interleaving of raft and control
// messages; each receiver sees each sender's messages exactly once, in order.
func TestExchangeInOrder(t *testing.T) {
	for _, size := range []int{2, 3} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			nodes, _ := cluster(t, size)
			exchangeInOrder(t, nodes)
		})
	}
}

// exchangeInOrder has every node send every other one an interleaving of
// raft and control messages and checks that each receiver sees each
// sender's messages exactly once, in order, and that nothing is reported
// undelivered.
func exchangeInOrder(t *testing.T, nodes map[uint64]*node) {
	t.Helper()
	const n = 300
	for i := range uint64(n) {
		for from, src := range nodes {
			for to := range nodes {
				if to == from {
					continue
				}
				if i%3 == 2 {
					if err := src.tr.SendControl(to, 7, fmt.Appendf(nil, "c%d", i)); err != nil {
						t.Fatal(err)
					}
				} else {
					src.tr.Send([]*raftpb.Message{app(from, to, i)})
				}
			}
		}
	}
	for to, dst := range nodes {
		for from := range nodes {
			if from == to {
				continue
			}
			var want []event
			for i := range uint64(n) {
				if i%3 == 2 {
					want = append(want, event{from: from, kind: 7, payload: fmt.Sprintf("c%d", i)})
				} else {
					want = append(want, event{from: from, index: i, typ: raftpb.MsgApp})
				}
			}
			var got []event
			dst.h.await(t, func() bool {
				got = dst.h.from(from)
				return len(got) >= n
			}, nil)
			if !slices.Equal(got, want) {
				t.Fatalf("%d got from %d:\n%v\nwant\n%v", to, from, got, want)
			}
		}
	}
	for id, nd := range nodes {
		nd.rep.lock()
		if len(nd.rep.reports) != 0 {
			t.Errorf("server %d reported %v on a healthy network", id, nd.rep.reports)
		}
		nd.rep.mu.Unlock()
	}
}

// A peer that is not up yet is reached once it starts, and one restarted on
// the same address is reached again.
func TestRedial(t *testing.T) {
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
	a := start(t, 1, addrs, nil)

	var next uint64
	sendUntil := func(b *node) {
		b.h.await(t, func() bool { return len(b.h.events) > 0 }, func() {
			next++
			a.tr.Send([]*raftpb.Message{app(1, 2, next)})
		})
	}

	// Raft hears that its messages to the absent peer go nowhere.
	a.tr.Send([]*raftpb.Message{app(1, 2, 0)})
	a.rep.await(t, func() bool { return a.rep.count(report{id: 2}) > 0 }, nil)

	b := start(t, 2, addrs, nil)
	sendUntil(b)

	if err := b.tr.Close(); err != nil {
		t.Fatal(err)
	}
	b2 := start(t, 2, addrs, nil)
	sendUntil(b2)

	// Once reconnected, the connection is in order again.
	b2.h.lock()
	last := b2.h.events[len(b2.h.events)-1].index
	b2.h.mu.Unlock()
	for i := range uint64(10) {
		a.tr.Send([]*raftpb.Message{app(1, 2, next+1+i)})
	}
	b2.h.await(t, func() bool { return b2.h.has(func(e event) bool { return e.index == next+10 }) }, nil)
	b2.h.lock()
	var tail []uint64
	for _, e := range b2.h.events {
		if e.index > last {
			tail = append(tail, e.index)
		}
	}
	b2.h.mu.Unlock()
	if want := []uint64{next + 1, next + 2, next + 3, next + 4, next + 5, next + 6, next + 7, next + 8, next + 9, next + 10}; !slices.Equal(tail, want) {
		t.Fatalf("after reconnecting got %v, want %v", tail, want)
	}
}

// A filter drops messages in both directions, on the sending side and on
// the receiving side, and removing it restores delivery. Since one
// connection keeps order, a message sent after healing that arrives without
// the one sent before proves the earlier one was dropped.
func TestFilter(t *testing.T) {
	nodes, _ := cluster(t, 3)
	cut12 := func(from, to uint64) bool { return !(from == 1 && to == 2 || from == 2 && to == 1) }

	// Warm up the connections so that drops happen on live ones.
	for from, to := range map[uint64]uint64{1: 2, 2: 1} {
		nodes[from].tr.Send([]*raftpb.Message{app(from, to, 1)})
		h := nodes[to].h
		h.await(t, func() bool { return len(h.from(from)) == 1 }, nil)
	}

	check := func(name string, install func(f func(from, to uint64) bool), settle func()) {
		t.Helper()
		install(cut12)
		for from, to := range map[uint64]uint64{1: 2, 2: 1} {
			nodes[from].tr.Send([]*raftpb.Message{app(from, to, 2)})
			if err := nodes[from].tr.SendControl(to, 9, []byte("dropped")); err != nil {
				t.Fatal(err)
			}
			// Others are unaffected.
			nodes[from].tr.Send([]*raftpb.Message{app(from, 3, 2)})
			h := nodes[3].h
			h.await(t, func() bool { return h.has(func(e event) bool { return e.from == from && e.index == 2 }) }, nil)
		}
		if settle != nil {
			settle()
		}
		install(nil)
		for from, to := range map[uint64]uint64{1: 2, 2: 1} {
			nodes[from].tr.Send([]*raftpb.Message{app(from, to, 3)})
			h := nodes[to].h
			h.await(t, func() bool { return h.has(func(e event) bool { return e.from == from && e.index == 3 }) }, nil)
			h.lock()
			got := h.from(from)
			h.mu.Unlock()
			if len(got) != 2 || got[0].index != 1 || got[1].index != 3 {
				t.Fatalf("%s: %d got %v from %d, want only the messages sent before and after the cut", name, to, got, from)
			}
			h.lock()
			h.events = slices.DeleteFunc(h.events, func(e event) bool { return e.from == from && e.index == 3 })
			h.mu.Unlock()
		}
	}
	check("sender side", func(f func(from, to uint64) bool) {
		nodes[1].tr.SetFilter(f)
		nodes[2].tr.SetFilter(f)
	}, nil)
	nodes[1].rep.lock()
	if nodes[1].rep.count(report{id: 2}) == 0 {
		t.Error("raft was not told that messages to a cut-off peer were dropped")
	}
	nodes[1].rep.mu.Unlock()
	// Only the receivers filter: the messages travel and are dropped on
	// arrival. Healing waits until both have arrived, or it could let them
	// in.
	in1, in2 := &dropper{from: 2, to: 1}, &dropper{from: 1, to: 2}
	check("receiver side", func(f func(from, to uint64) bool) {
		if f == nil {
			nodes[1].tr.SetFilter(nil)
			nodes[2].tr.SetFilter(nil)
			return
		}
		nodes[1].tr.SetFilter(in1.filter)
		nodes[2].tr.SetFilter(in2.filter)
	}, func() {
		for _, d := range []*dropper{in1, in2} {
			d.await(t, func() bool { return d.drops == 2 }, nil)
		}
	})
}

// dropper is a filter that drops and counts the messages from one server
// to another.
type dropper struct {
	watched
	from, to uint64
	drops    int
}

func (d *dropper) filter(from, to uint64) bool {
	if from != d.from || to != d.to {
		return true
	}
	d.lock()
	d.drops++
	d.unlockChanged()
	return false
}

// closedByServer checks that the server closed conn, reading whatever it
// sent; the deadline only keeps a broken test from hanging.
func closedByServer(t *testing.T, conn net.Conn) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(waitLimit))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a bad connection open")
	}
}

// Garbage on the quorum port closes that connection only. The garbage
// claims to come from server 3, since a valid hello replaces the claimed
// peer's own connection.
func TestGarbageConnections(t *testing.T) {
	nodes, _ := cluster(t, 3)
	a, b := nodes[1], nodes[2]
	b.tr.Send([]*raftpb.Message{app(2, 1, 1)})
	a.h.await(t, func() bool { return len(a.h.events) == 1 }, nil)

	frame := func(kind byte, payload []byte) []byte {
		return append(frameHeader(kind, len(payload)), payload...)
	}
	good := hello{from: 3, to: 1}.marshal()
	wrongVersion := slices.Clone(good)
	wrongVersion[len(helloMagic)] = 9
	junk, _ := proto.Marshal(app(3, 1, 5))
	for name, data := range map[string][]byte{
		"wrong magic":           []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"wrong version":         wrongVersion,
		"unknown sender":        hello{from: 7, to: 1}.marshal(),
		"addressed to another":  hello{from: 2, to: 3}.marshal(),
		"oversized raft frame":  append(slices.Clone(good), frameHeader(KindRaft, DefaultMaxRaftFrame+1)...),
		"oversized control":     append(slices.Clone(good), frameHeader(4, MaxControlFrame+1)...),
		"bad protobuf":          append(slices.Clone(good), frame(KindRaft, []byte{0xff, 0xff, 0xff})...),
		"raft message from 2":   append(slices.Clone(good), frame(KindRaft, mustMarshal(t, app(2, 1, 5)))...),
		"truncated frame":       append(slices.Clone(good), frame(KindRaft, junk)[:8]...),
		"short hello then stop": good[:5],
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", a.tr.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write(data); err != nil {
				t.Fatal(err)
			}
			if name == "truncated frame" || name == "short hello then stop" {
				conn.(*net.TCPConn).CloseWrite()
			}
			closedByServer(t, conn)
		})
	}

	// The real peer's connection, opened before, still delivers.
	b.tr.Send([]*raftpb.Message{app(2, 1, 2)})
	if err := b.tr.SendControl(1, 3, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	a.h.await(t, func() bool { return len(a.h.events) == 3 }, nil)
	a.h.lock()
	defer a.h.mu.Unlock()
	if got := a.h.events; got[1].index != 2 || got[2].payload != "still here" {
		t.Fatalf("after garbage, got %v", got)
	}
	// Nothing the garbage carried reached the handler.
	if a.h.has(func(e event) bool { return e.index == 5 }) {
		t.Fatal("a message from a refused connection was delivered")
	}
}

func mustMarshal(t *testing.T, m *raftpb.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Send never blocks: with a peer that accepts but never reads, the
// connection and then the queue fill up, and raft is told instead.
func TestSendNeverBlocks(t *testing.T) {
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	held := make(chan net.Conn, 1)
	go func() {
		conn, err := sink.Accept()
		if err == nil {
			held <- conn
		}
	}()
	addrs := map[uint64]string{1: freeAddr(t), 2: sink.Addr().String()}
	a := start(t, 1, addrs, func(c *Config) { c.QueueSize = 4 })
	a.tr.Send([]*raftpb.Message{app(1, 2, 0)})
	var conn net.Conn
	select {
	case conn = <-held:
	case <-time.After(waitLimit):
		t.Fatal("the transport never dialed its peer")
	}
	defer conn.Close()

	big := &raftpb.Entry{Data: bytes.Repeat([]byte("x"), 64<<10)}
	for i := uint64(1); ; i++ {
		m := app(1, 2, i)
		m.Entries = []*raftpb.Entry{big}
		a.tr.Send([]*raftpb.Message{m})
		a.rep.lock()
		n := a.rep.count(report{id: 2})
		a.rep.mu.Unlock()
		if n > 0 {
			break
		}
		if i > 1<<16 {
			t.Fatal("a peer that never reads was never reported unreachable")
		}
	}
	if err := a.tr.SendControl(2, 1, nil); err != nil && !errors.Is(err, ErrQueueFull) {
		t.Fatalf("SendControl to a stuck peer: %v", err)
	}
	// Close unblocks the writer stuck on the full connection.
	if err := a.tr.Close(); err != nil {
		t.Fatal(err)
	}
}

// A peer nobody listens for costs the sender nothing but reports.
func TestSendToDeadPeer(t *testing.T) {
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
	a := start(t, 1, addrs, func(c *Config) { c.QueueSize = 2 })
	for i := range uint64(10000) {
		a.tr.Send([]*raftpb.Message{app(1, 2, i)})
	}
	snap := &raftpb.Message{Type: raftpb.MsgSnap.Enum(), From: proto.Uint64(1), To: proto.Uint64(2), Snapshot: &raftpb.Snapshot{Data: []byte("s")}}
	a.tr.Send([]*raftpb.Message{snap})
	a.rep.await(t, func() bool { return a.rep.count(report{id: 2, snap: true, status: raft.SnapshotFailure}) == 1 }, nil)
	// Messages to a server outside the configuration are reported too.
	a.tr.Send([]*raftpb.Message{app(1, 9, 0)})
	a.rep.await(t, func() bool { return a.rep.count(report{id: 9}) == 1 }, nil)
}

// After a MsgSnap goes out, raft hears that it finished, and the receiver
// gets the snapshot whole.
func TestSnapshotReported(t *testing.T) {
	nodes, _ := cluster(t, 2)
	a, b := nodes[1], nodes[2]
	data := bytes.Repeat([]byte("snapshot"), 1<<18) // 2 MiB: larger than any buffer
	snap := &raftpb.Message{
		Type: raftpb.MsgSnap.Enum(), From: proto.Uint64(1), To: proto.Uint64(2),
		Snapshot: &raftpb.Snapshot{Data: data, Metadata: &raftpb.SnapshotMetadata{Index: proto.Uint64(42)}},
	}
	a.tr.Send([]*raftpb.Message{snap})
	a.rep.await(t, func() bool { return len(a.rep.reports) > 0 }, nil)
	a.rep.lock()
	if got := a.rep.reports; !slices.Equal(got, []report{{id: 2, snap: true, status: raft.SnapshotFinish}}) {
		t.Errorf("reports %v, want one SnapshotFinish for 2", got)
	}
	a.rep.mu.Unlock()
	b.h.await(t, func() bool { return len(b.h.events) == 1 }, nil)
	b.h.lock()
	defer b.h.mu.Unlock()
	if e := b.h.events[0]; e.typ != raftpb.MsgSnap || e.payload != string(data) {
		t.Fatalf("received %v with %d bytes, want the MsgSnap with %d", e.typ, len(e.payload), len(data))
	}
}

func TestElectionPortStatus(t *testing.T) {
	addrs := map[uint64]string{2: freeAddr(t), 1: freeAddr(t)}
	n := start(t, 2, addrs, func(c *Config) {
		c.Election = "127.0.0.1:0"
		c.Status = func() string { return "myid=2 leader=1 term=5" }
	})
	for range 2 {
		conn, err := net.Dial("tcp", n.tr.ElectionAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(conn)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "myid=2 leader=1 term=5\n" {
			t.Fatalf("election port said %q", got)
		}
	}

	// A taken election port fails New and leaves the quorum port free.
	_, err := New(Config{ID: 3, Listen: "127.0.0.1:0", Election: n.tr.ElectionAddr().String()}, &recorder{})
	if err == nil || !strings.Contains(err.Error(), "election") {
		t.Fatalf("New on a taken election port: %v", err)
	}
	q := freeAddr(t)
	if _, err := New(Config{ID: 3, Listen: q, Election: n.tr.ElectionAddr().String()}, &recorder{}); err == nil {
		t.Fatal("New on a taken election port succeeded")
	}
	other, err := New(Config{ID: 3, Listen: q}, &recorder{})
	if err != nil {
		t.Fatalf("quorum port still held after a failed New: %v", err)
	}
	other.Close()
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"zero id":        {Listen: "127.0.0.1:0"},
		"self in peers":  {ID: 1, Listen: "127.0.0.1:0", Peers: map[uint64]string{1: "127.0.0.1:1"}},
		"empty address":  {ID: 1, Listen: "127.0.0.1:0", Peers: map[uint64]string{2: ""}},
		"bad listen":     {ID: 1, Listen: "127.0.0.1:x"},
		"negative queue": {ID: 1, Listen: "127.0.0.1:0", QueueSize: -1},
	} {
		if tr, err := New(cfg, &recorder{}); err == nil {
			tr.Close()
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := New(Config{ID: 1, Listen: "127.0.0.1:0"}, nil); err == nil {
		t.Error("New without a handler succeeded")
	}
}

func TestCloseIdempotent(t *testing.T) {
	nodes, _ := cluster(t, 2)
	a := nodes[1]
	a.tr.Send([]*raftpb.Message{app(1, 2, 1)})
	nodes[2].h.await(t, func() bool { return len(nodes[2].h.events) == 1 }, nil)
	for range 3 {
		if err := a.tr.Close(); err != nil {
			t.Fatal(err)
		}
	}
	a.tr.Send([]*raftpb.Message{app(1, 2, 2)})
	if err := a.tr.SendControl(2, 1, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("SendControl after Close: %v", err)
	}
	if err := a.tr.SendControl(2, KindRaft, nil); err == nil {
		t.Fatal("SendControl accepted the raft kind")
	}
}

// When a peer's process goes, the server it was sending to hears of it
// through PeerLost, which is how a follower notices a dead leader at once.
func TestPeerLost(t *testing.T) {
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
	lost := make(chan uint64, 1)
	b := start(t, 2, addrs, func(c *Config) {
		c.PeerLost = func(id uint64) {
			select {
			case lost <- id:
			default:
			}
		}
	})
	a := start(t, 1, addrs, nil)
	b.h.await(t, func() bool { return len(b.h.events) > 0 }, func() {
		a.tr.Send([]*raftpb.Message{app(1, 2, 1)})
	})
	if err := a.tr.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-lost:
		if id != 1 {
			t.Fatalf("PeerLost(%d), want 1", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no PeerLost after the peer closed")
	}
}
