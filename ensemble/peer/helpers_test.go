package peer

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitLimit only keeps a broken test from hanging; no test depends on it.
const waitLimit = 20 * time.Second

// watched is state guarded by a mutex, with a channel closed on every change
// so that tests wait for conditions instead of sleeping.
type watched struct {
	mu      sync.Mutex
	changed chan struct{}
}

func (w *watched) lock() { w.mu.Lock() }

// unlockChanged releases the lock after a change and wakes waiters.
func (w *watched) unlockChanged() {
	if w.changed != nil {
		close(w.changed)
	}
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

// await waits until cond (called under the lock) holds, calling retry, if
// not nil, now and then while waiting: peers that are down need messages
// sent again, as raft would.
func (w *watched) await(t *testing.T, cond func() bool, retry func()) {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		w.mu.Lock()
		if w.changed == nil {
			w.changed = make(chan struct{})
		}
		ok, ch := cond(), w.changed
		w.mu.Unlock()
		if ok {
			return
		}
		if retry != nil {
			retry()
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-deadline.C:
			t.Fatal("condition not reached")
		}
	}
}

// event is one inbound message as a handler saw it.
type event struct {
	from    uint64
	kind    byte
	index   uint64 // raft messages: m.Index
	typ     raftpb.MessageType
	payload string // control payload, or snapshot data
}

type recorder struct {
	watched
	events []event
}

func (r *recorder) Step(_ context.Context, m *raftpb.Message) error {
	r.lock()
	r.events = append(r.events, event{from: m.GetFrom(), index: m.GetIndex(), typ: m.GetType(), payload: string(m.GetSnapshot().GetData())})
	r.unlockChanged()
	return nil
}

func (r *recorder) Control(from uint64, kind byte, payload []byte) {
	r.lock()
	r.events = append(r.events, event{from: from, kind: kind, payload: string(payload)})
	r.unlockChanged()
}

func (r *recorder) from(id uint64) []event {
	var es []event
	for _, e := range r.events {
		if e.from == id {
			es = append(es, e)
		}
	}
	return es
}

// has reports, under the lock, whether some event matches.
func (r *recorder) has(match func(event) bool) bool {
	for _, e := range r.events {
		if match(e) {
			return true
		}
	}
	return false
}

type report struct {
	id     uint64
	snap   bool
	status raft.SnapshotStatus
}

type reporter struct {
	watched
	reports []report
}

func (r *reporter) ReportUnreachable(id uint64) {
	r.lock()
	r.reports = append(r.reports, report{id: id})
	r.unlockChanged()
}

func (r *reporter) ReportSnapshot(id uint64, status raft.SnapshotStatus) {
	r.lock()
	r.reports = append(r.reports, report{id: id, snap: true, status: status})
	r.unlockChanged()
}

func (r *reporter) count(match report) int {
	n := 0
	for _, rep := range r.reports {
		if rep == match {
			n++
		}
	}
	return n
}

// freeAddr returns a 127.0.0.1 address nothing listens on right now, for a
// server that must be configured before it starts.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

type node struct {
	tr  *Transport
	h   *recorder
	rep *reporter
}

func start(t *testing.T, id uint64, addrs map[uint64]string, tweak func(*Config)) *node {
	t.Helper()
	cfg := Config{ID: id, Listen: addrs[id], Peers: map[uint64]string{}}
	for pid, a := range addrs {
		if pid != id {
			cfg.Peers[pid] = a
		}
	}
	if tweak != nil {
		tweak(&cfg)
	}
	n := &node{h: &recorder{}, rep: &reporter{}}
	tr, err := New(cfg, n.h)
	if err != nil {
		t.Fatalf("New(%d): %v", id, err)
	}
	tr.SetReporter(n.rep)
	n.tr = tr
	t.Cleanup(func() { tr.Close() })
	return n
}

// cluster starts transports 1..n on free 127.0.0.1 ports.
func cluster(t *testing.T, n int) (map[uint64]*node, map[uint64]string) {
	t.Helper()
	return clusterWith(t, n, nil)
}

// clusterWith is cluster with each server's Config tweaked.
func clusterWith(t *testing.T, n int, tweak func(id uint64, c *Config)) (map[uint64]*node, map[uint64]string) {
	t.Helper()
	addrs := map[uint64]string{}
	for id := uint64(1); id <= uint64(n); id++ {
		addrs[id] = freeAddr(t)
	}
	nodes := map[uint64]*node{}
	for id := range addrs {
		var f func(*Config)
		if tweak != nil {
			f = func(c *Config) { tweak(id, c) }
		}
		nodes[id] = start(t, id, addrs, f)
	}
	return nodes, addrs
}

func app(from, to, index uint64) *raftpb.Message {
	return &raftpb.Message{Type: raftpb.MsgApp.Enum(), From: proto.Uint64(from), To: proto.Uint64(to), Index: proto.Uint64(index)}
}
