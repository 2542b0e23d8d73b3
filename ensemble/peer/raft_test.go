package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/raftnode"
	"go.etcd.io/raft/v3/raftpb"
)

// raftHandler steps inbound messages into a node that is created after the
// transport, as the server does.
type raftHandler struct {
	node atomic.Pointer[raftnode.Node]
}

func (h *raftHandler) Step(ctx context.Context, m *raftpb.Message) error {
	n := h.node.Load()
	if n == nil {
		return errors.New("raft node not started yet")
	}
	return n.Step(ctx, m)
}

func (h *raftHandler) Control(uint64, byte, []byte) {}

// listSM records applied entries in order.
type listSM struct {
	watched
	entries []string
}

func (s *listSM) Apply(_ uint64, data []byte) {
	s.lock()
	s.entries = append(s.entries, string(data))
	s.unlockChanged()
}

func (s *listSM) Snapshot() raftnode.Frozen {
	s.lock()
	es := slices.Clone(s.entries)
	s.mu.Unlock()
	return raftnode.Encoded(func() ([]byte, error) { return json.Marshal(es) })
}

func (s *listSM) Restore(data []byte, _ uint64) error {
	var es []string
	if err := json.Unmarshal(data, &es); err != nil {
		return err
	}
	s.lock()
	s.entries = es
	s.unlockChanged()
	return nil
}

func (s *listSM) waitLen(t *testing.T, n int) []string {
	t.Helper()
	s.await(t, func() bool { return len(s.entries) >= n }, nil)
	s.lock()
	defer s.mu.Unlock()
	return slices.Clone(s.entries)
}

type server struct {
	id   uint64
	tr   *Transport
	node *raftnode.Node
	sm   *listSM
}

func (s *server) stop() {
	s.node.Stop()
	s.tr.Close()
}

// leaderAmong waits for the servers to agree on a leader, by asking one of
// them for a read index, which raft answers only through a leader.
func leaderAmong(t *testing.T, ss ...*server) *server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := ss[0].node.ReadIndex(ctx); err != nil {
		t.Fatalf("no leader: %v", err)
	}
	lead := ss[0].node.Leader()
	for _, s := range ss {
		if s.id == lead {
			return s
		}
	}
	t.Fatalf("leader %d is not among the live servers", lead)
	return nil
}

// Three raft nodes talking through Transports on 127.0.0.1 replicate
// proposals made on any of them; the two left after the leader is
// partitioned away, or stopped, elect another and keep committing.
func TestRaftOverTransport(t *testing.T) {
	dir := t.TempDir()
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t), 3: freeAddr(t)}
	var all []*server
	for id := uint64(1); id <= 3; id++ {
		peers := map[uint64]string{}
		for pid, a := range addrs {
			if pid != id {
				peers[pid] = a
			}
		}
		h := &raftHandler{}
		tr, err := New(Config{ID: id, Listen: addrs[id], Peers: peers}, h)
		if err != nil {
			t.Fatal(err)
		}
		sm := &listSM{}
		node, err := raftnode.Start(raftnode.Config{
			ID:           id,
			Peers:        []uint64{1, 2, 3},
			WALDir:       filepath.Join(dir, fmt.Sprint(id), "wal"),
			SnapDir:      filepath.Join(dir, fmt.Sprint(id), "snap"),
			TickInterval: 20 * time.Millisecond,
			// 1–2 s: a loaded machine's fsync stall must not start an
			// election that drops the proposals this test forwards.
			ElectionTick: 50,
			Transport:    tr,
		}, sm)
		if err != nil {
			tr.Close()
			t.Fatal(err)
		}
		h.node.Store(node)
		tr.SetReporter(node)
		s := &server{id: id, tr: tr, node: node, sm: sm}
		t.Cleanup(s.stop)
		all = append(all, s)
	}
	ctx := context.Background()

	leaderAmong(t, all...)
	const n = 30
	for i := range n {
		s := all[i%3]
		if err := s.node.Propose(ctx, fmt.Appendf(nil, "a-%d", i), nil); err != nil {
			t.Fatal(err)
		}
		// Proposals can be dropped while leadership settles; waiting for
		// each keeps the expected log exact.
		s.sm.waitLen(t, i+1)
	}
	want := all[0].sm.waitLen(t, n)
	for _, s := range all[1:] {
		if got := s.sm.waitLen(t, n); !slices.Equal(got, want) {
			t.Fatalf("server %d applied %v, server 1 applied %v", s.id, got, want)
		}
	}

	// proposeOnRest makes 10 proposals through the servers other than old,
	// with the new leader they elect, and returns them.
	proposeOnRest := func(old *server, prefix string, applied int) []*server {
		t.Helper()
		var rest []*server
		for _, s := range all {
			if s != old {
				rest = append(rest, s)
			}
		}
		if lead := leaderAmong(t, rest...); lead == old {
			t.Fatal("the lost leader still leads")
		}
		for i := range 10 {
			s := rest[i%2]
			if err := s.node.Propose(ctx, fmt.Appendf(nil, "%s-%d", prefix, i), nil); err != nil {
				t.Fatal(err)
			}
			s.sm.waitLen(t, applied+i+1)
		}
		return rest
	}

	// Partition the leader from the others; they go on without it, and it
	// catches up once the partition heals.
	old := leaderAmong(t, all...)
	for _, s := range all {
		s.tr.SetFilter(func(from, to uint64) bool { return from != old.id && to != old.id })
	}
	proposeOnRest(old, "b", n)
	for _, s := range all {
		s.tr.SetFilter(nil)
	}
	want = all[0].sm.waitLen(t, n+10)
	for _, s := range all[1:] {
		if got := s.sm.waitLen(t, n+10); !slices.Equal(got, want) {
			t.Fatalf("after healing, server %d applied %v, server 1 applied %v", s.id, got, want)
		}
	}

	// The leader's node and transport go away; the other two elect a new
	// one and keep committing.
	old = leaderAmong(t, all...)
	old.stop()
	rest := proposeOnRest(old, "c", n+10)
	want = rest[0].sm.waitLen(t, n+20)
	if got := rest[1].sm.waitLen(t, n+20); !slices.Equal(got, want) {
		t.Fatalf("servers %d and %d disagree: %v vs %v", rest[0].id, rest[1].id, want, got)
	}
}
