package raftnode

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// chanNet connects in-process nodes: each has an inbox drained by its own
// goroutine, so Send never blocks the sender's Ready loop. Nodes can be cut
// off, which drops everything to and from them.
type chanNet struct {
	mu      sync.Mutex
	nodes   map[uint64]*Node
	cut     map[uint64]bool
	inboxes map[uint64]chan *raftpb.Message
	snaps   []*raftpb.Message // every MsgSnap sent
	done    chan struct{}
	wg      sync.WaitGroup
}

func newChanNet(ids ...uint64) *chanNet {
	net := &chanNet{
		nodes:   map[uint64]*Node{},
		cut:     map[uint64]bool{},
		inboxes: map[uint64]chan *raftpb.Message{},
		done:    make(chan struct{}),
	}
	for _, id := range ids {
		inbox := make(chan *raftpb.Message, 4096)
		net.inboxes[id] = inbox
		net.wg.Go(func() { net.deliver(id, inbox) })
	}
	return net
}

func (net *chanNet) close() {
	close(net.done)
	net.wg.Wait()
}

func (net *chanNet) setNode(id uint64, n *Node) {
	net.mu.Lock()
	defer net.mu.Unlock()
	net.nodes[id] = n
}

func (net *chanNet) setCut(id uint64, cut bool) {
	net.mu.Lock()
	defer net.mu.Unlock()
	net.cut[id] = cut
}

func (net *chanNet) node(id uint64) (*Node, bool) {
	net.mu.Lock()
	defer net.mu.Unlock()
	return net.nodes[id], net.cut[id]
}

func (net *chanNet) sentSnaps() []*raftpb.Message {
	net.mu.Lock()
	defer net.mu.Unlock()
	return slices.Clone(net.snaps)
}

func (net *chanNet) transport(from uint64) Transport { return netTransport{net, from} }

type netTransport struct {
	net  *chanNet
	from uint64
}

func (t netTransport) Send(msgs []*raftpb.Message) {
	_, fromCut := t.net.node(t.from)
	for _, m := range msgs {
		if m.GetType() == raftpb.MsgSnap {
			t.net.mu.Lock()
			t.net.snaps = append(t.net.snaps, proto.Clone(m).(*raftpb.Message))
			t.net.mu.Unlock()
		}
		_, toCut := t.net.node(m.GetTo())
		inbox, ok := t.net.inboxes[m.GetTo()]
		if fromCut || toCut || !ok {
			t.report(m.GetTo(), m, raft.SnapshotFailure)
			continue
		}
		// A real network hands the receiver its own copy.
		select {
		case inbox <- proto.Clone(m).(*raftpb.Message):
		default:
			t.report(m.GetTo(), m, raft.SnapshotFailure)
		}
	}
}

func (t netTransport) report(to uint64, m *raftpb.Message, status raft.SnapshotStatus) {
	n, _ := t.net.node(t.from)
	if n == nil {
		return
	}
	if status == raft.SnapshotFailure {
		n.ReportUnreachable(to)
	}
	if m.GetType() == raftpb.MsgSnap {
		n.ReportSnapshot(to, status)
	}
}

func (net *chanNet) deliver(id uint64, inbox <-chan *raftpb.Message) {
	for {
		select {
		case m := <-inbox:
			n, cut := net.node(id)
			from := netTransport{net, m.GetFrom()}
			if n == nil || cut {
				from.report(id, m, raft.SnapshotFailure)
				continue
			}
			if err := n.Step(context.Background(), m); err != nil {
				from.report(id, m, raft.SnapshotFailure)
				continue
			}
			if m.GetType() == raftpb.MsgSnap {
				from.report(id, m, raft.SnapshotFinish)
			}
		case <-net.done:
			return
		}
	}
}

type member struct {
	cfg Config
	sm  *testSM
	n   *Node
}

func startMember(t *testing.T, net *chanNet, m *member) {
	t.Helper()
	n, err := Start(m.cfg, m.sm)
	if err != nil {
		t.Fatalf("Start node %d: %v", m.cfg.ID, err)
	}
	m.n = n
	net.setNode(m.cfg.ID, n)
}

// runningThree starts a three-voter group on net and returns its members
// and, once there is one, its leader.
func runningThree(t *testing.T, net *chanNet) (ms []*member, lead *member) {
	t.Helper()
	ms = threeMembers(t, net)
	for _, m := range ms {
		startMember(t, net, m)
	}
	return ms, leaderOf(t, ms...)
}

// threeMembers builds (but starts none of) a three-voter group on net.
func threeMembers(t *testing.T, net *chanNet) []*member {
	t.Helper()
	dir := t.TempDir()
	var ms []*member
	for id := uint64(1); id <= 3; id++ {
		cfg := testConfig(t, filepath.Join(dir, fmt.Sprint(id)))
		cfg.ID = id
		cfg.Peers = []uint64{1, 2, 3}
		cfg.Transport = net.transport(id)
		ms = append(ms, &member{cfg: cfg, sm: newTestSM()})
	}
	t.Cleanup(func() {
		for _, m := range ms {
			if m.n != nil {
				m.n.Stop()
			}
		}
		net.close()
	})
	return ms
}

// leaderOf waits for a leader the given members agree on, by asking one of
// them for a read index (which raft serves only through a leader).
func leaderOf(t *testing.T, ms ...*member) *member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ms[0].n.ReadIndex(ctx); err != nil {
		t.Fatalf("no leader: %v", err)
	}
	lead := ms[0].n.Leader()
	for _, m := range ms {
		if m.cfg.ID == lead {
			return m
		}
	}
	t.Fatalf("leader %d is not among the live members", lead)
	return nil
}

func sameState(t *testing.T, ms ...*member) {
	t.Helper()
	want, _, _ := ms[0].sm.state()
	for _, m := range ms[1:] {
		if got, _, _ := m.sm.state(); !slices.Equal(got, want) {
			t.Fatalf("node %d has %d entries, node %d has %d: states differ", m.cfg.ID, len(got), ms[0].cfg.ID, len(want))
		}
	}
}

func TestThreeVoters(t *testing.T) {
	dir := t.TempDir()
	net := newChanNet(1, 2, 3, 4)
	ms := map[uint64]*member{}
	for id := uint64(1); id <= 4; id++ {
		cfg := testConfig(t, filepath.Join(dir, fmt.Sprint(id)))
		cfg.ID = id
		cfg.Peers = []uint64{1, 2, 3}
		cfg.Learners = []uint64{4} // an observer
		cfg.SnapCount = 20
		cfg.CatchUpEntries = 5
		cfg.Transport = net.transport(id)
		ms[id] = &member{cfg: cfg, sm: newTestSM()}
		startMember(t, net, ms[id])
	}
	defer func() {
		for _, m := range ms {
			m.n.Stop()
		}
		net.close()
	}()
	ctx := context.Background()
	all := []*member{ms[1], ms[2], ms[3], ms[4]}
	observer := ms[4]

	// Writes through the leader, a follower and the observer (raft forwards
	// them) reach every state machine in the same order.
	lead := leaderOf(t, all...)
	var follower *member
	for _, m := range all[:3] {
		if m != lead {
			follower = m
		}
	}
	for i := range 30 {
		via := []*member{lead, follower, observer}[i%3]
		if err := via.n.Propose(ctx, fmt.Appendf(nil, "a-%d", i), nil); err != nil {
			t.Fatal(err)
		}
		via.sm.waitLen(t, i+1)
	}
	for _, m := range all {
		m.sm.waitLen(t, 30)
	}
	sameState(t, all...)
	if now := leaderOf(t, all...); observer.n.IsLeader() || observer.n.Leader() != now.cfg.ID {
		t.Fatalf("observer: IsLeader=%v Leader=%d, want a follower of %d", observer.n.IsLeader(), observer.n.Leader(), now.cfg.ID)
	}

	// A linearizable read on a follower covers what the leader applied.
	applied := lead.n.Applied()
	idx, err := follower.n.ReadIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if idx < applied {
		t.Fatalf("follower ReadIndex %d is behind the leader's applied %d", idx, applied)
	}
	if err := follower.n.WaitApplied(ctx, idx); err != nil {
		t.Fatal(err)
	}

	// A follower cut off while the leader moves past its compacted log is
	// brought back with a snapshot.
	net.setCut(follower.cfg.ID, true)
	for i := range 60 {
		if err := lead.n.Propose(ctx, fmt.Appendf(nil, "b-%d", i), nil); err != nil {
			t.Fatal(err)
		}
		lead.sm.waitLen(t, 30+i+1)
	}
	net.setCut(follower.cfg.ID, false)
	follower.sm.waitLen(t, 90)
	if _, restoredAt, _ := follower.sm.state(); restoredAt == 0 {
		t.Fatal("the lagging follower caught up without a snapshot; expected one past the compacted log")
	}
	for _, m := range all {
		m.sm.waitLen(t, 90)
	}
	sameState(t, all...)

	// The leader dies; the other two elect a new one and go on; the old
	// leader restarts from its disk and catches up.
	old := lead
	old.n.Stop()
	net.setNode(old.cfg.ID, nil)
	var rest []*member
	for _, m := range all {
		if m != old {
			rest = append(rest, m)
		}
	}
	lead = leaderOf(t, rest...)
	for i := range 10 {
		if err := lead.n.Propose(ctx, fmt.Appendf(nil, "c-%d", i), nil); err != nil {
			t.Fatal(err)
		}
		lead.sm.waitLen(t, 90+i+1)
	}
	old.sm = newTestSM()
	startMember(t, net, old)
	for _, m := range all {
		m.sm.waitLen(t, 100)
	}
	sameState(t, all...)
}
