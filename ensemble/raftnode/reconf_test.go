package raftnode

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// group is a chanNet cluster whose membership changes during a test.
type group struct {
	t   *testing.T
	dir string
	net *chanNet

	mu   sync.Mutex
	live map[uint64]*member // running nodes, members or not
}

func newGroup(t *testing.T, maxID uint64, voters ...uint64) *group {
	var ids []uint64
	for id := uint64(1); id <= maxID; id++ {
		ids = append(ids, id)
	}
	g := &group{t: t, dir: t.TempDir(), net: newChanNet(ids...), live: map[uint64]*member{}}
	for _, id := range voters {
		g.start(id, false, voters)
	}
	t.Cleanup(func() {
		for _, m := range g.members() {
			m.n.Stop()
		}
		g.net.close()
	})
	return g
}

func (g *group) config(id uint64, join bool, peers []uint64) Config {
	cfg := testConfig(g.t, filepath.Join(g.dir, fmt.Sprint(id)))
	cfg.ID = id
	cfg.Peers = peers
	cfg.Join = join
	cfg.SnapCount = 20
	cfg.CatchUpEntries = 5
	cfg.Transport = g.net.transport(id)
	return cfg
}

func (g *group) start(id uint64, join bool, peers []uint64) *member {
	m := &member{cfg: g.config(id, join, peers), sm: newTestSM()}
	startMember(g.t, g.net, m)
	g.mu.Lock()
	g.live[id] = m
	g.mu.Unlock()
	return m
}

func (g *group) stop(id uint64) {
	g.mu.Lock()
	m := g.live[id]
	delete(g.live, id)
	g.mu.Unlock()
	m.n.Stop()
	g.net.setNode(id, nil)
}

func (g *group) members() []*member {
	g.mu.Lock()
	defer g.mu.Unlock()
	var ms []*member
	for _, m := range g.live {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *member) int { return int(a.cfg.ID) - int(b.cfg.ID) })
	return ms
}

func (g *group) member(id uint64) *member {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.live[id]
}

// leader returns the live node that leads, or nil.
func (g *group) leader() *member {
	for _, m := range g.members() {
		if m.n.IsLeader() {
			return m
		}
	}
	return nil
}

// change proposes cc on whoever leads, retrying while there is no leader
// or a new one has not applied its log yet.
func (g *group) change(cc *raftpb.ConfChangeV2) *raftpb.ConfState {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		if m := g.leader(); m != nil {
			cs, err := m.n.ProposeConfChange(ctx, cc)
			if err == nil {
				return cs
			}
			if !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrConfChangeInProgress) {
				for _, m := range g.members() {
					st := m.n.Status()
					g.t.Logf("node %d: %v term %d applied %d membership %v, status %+v", m.cfg.ID, st.RaftState, st.GetTerm(), m.n.Applied(), m.n.Membership(), st.Progress)
				}
				g.t.Fatalf("ProposeConfChange(%v) on %d: %v", cc, m.cfg.ID, err)
			}
		}
		select {
		case <-ctx.Done():
			g.t.Fatalf("ProposeConfChange(%v): no leader took it", cc)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func single(typ raftpb.ConfChangeType, id uint64, ctx string) *raftpb.ConfChangeV2 {
	return &raftpb.ConfChangeV2{
		Changes: []*raftpb.ConfChangeSingle{{Type: typ.Enum(), NodeId: new(id)}},
		Context: []byte(ctx),
	}
}

func join(t *testing.T, m *member) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := m.n.Joined(ctx); err != nil {
		t.Fatalf("node %d joining: %v", m.cfg.ID, err)
	}
}

func sameIDs(t *testing.T, what string, got, want []uint64) {
	t.Helper()
	got = slices.Sorted(slices.Values(got))
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// waitSame waits until every member has applied what the first has, and
// checks they hold the same entries.
func waitSame(t *testing.T, ms ...*member) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	idx, err := ms[0].n.ReadIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if err := m.n.WaitApplied(ctx, idx); err != nil {
			t.Fatalf("node %d: %v", m.cfg.ID, err)
		}
	}
	es, _, _ := ms[0].sm.state()
	for _, m := range ms {
		m.sm.waitLen(t, len(es))
	}
	sameState(t, ms...)
}

// watchTerms records which node led in which term, by sampling, and fails
// the test if two did in the same term.
func watchTerms(t *testing.T, g *group) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		leaders := map[uint64]uint64{}
		for {
			for _, m := range g.members() {
				st := m.n.Status()
				if st.RaftState != raft.StateLeader {
					continue
				}
				if other, ok := leaders[st.GetTerm()]; ok && other != m.cfg.ID {
					t.Errorf("nodes %d and %d both led term %d", other, m.cfg.ID, st.GetTerm())
				}
				leaders[st.GetTerm()] = m.cfg.ID
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// proposeUntil keeps writing through the leader until stop is closed and
// returns the writes the proposing node applied, in order.
func proposeUntil(g *group, stop <-chan struct{}) (acked func() []string) {
	var (
		wg  sync.WaitGroup
		out []string
	)
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m := g.leader()
			if m == nil {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			data := fmt.Sprintf("w-%d", i)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if m.n.Propose(ctx, []byte(data), nil) == nil && m.sm.waitEntry(ctx, data) {
				out = append(out, data)
			}
			cancel()
		}
	})
	return func() []string {
		wg.Wait()
		return out
	}
}

// waitEntry waits until data is applied.
func (s *testSM) waitEntry(ctx context.Context, data string) bool {
	for {
		s.mu.Lock()
		found := slices.ContainsFunc(s.entries, func(e entry) bool { return e.Data == data })
		ch := s.changed
		s.mu.Unlock()
		if found {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// TestGrowAndShrink grows a group of three voters to five with nodes that
// join, restarts members of the grown group, and shrinks it back to three,
// removing the leader and then, in one joint change, two voters while a
// new one joins; writes go on throughout.
func TestGrowAndShrink(t *testing.T) {
	g := newGroup(t, 6, 1, 2, 3)
	leaderOf(t, g.members()...)
	stopTerms := watchTerms(t, g)
	stop := make(chan struct{})
	acked := proposeUntil(g, stop)
	pause := func() { time.Sleep(50 * time.Millisecond) }

	// Grow one voter at a time; each joins from nothing.
	for _, id := range []uint64{4, 5} {
		m := g.start(id, true, []uint64{1, 2, 3})
		if m.n.Removed() || len(m.n.Membership().GetVoters()) != 0 {
			t.Fatalf("joining node %d starts with membership %v", id, m.n.Membership())
		}
		cs := g.change(single(raftpb.ConfChangeAddNode, id, fmt.Sprintf("add %d", id)))
		if !slices.Contains(cs.GetVoters(), id) {
			t.Fatalf("after adding %d: membership %v", id, cs)
		}
		join(t, m)
		pause()
	}
	all := []uint64{1, 2, 3, 4, 5}
	for _, m := range g.members() {
		sameIDs(t, fmt.Sprintf("node %d voters", m.cfg.ID), m.n.Membership().GetVoters(), all)
	}

	// Restart a joined member and an original one that is not leading:
	// the membership comes from their disks, not from Config.Peers.
	for _, id := range []uint64{4, 1 + leaderOf(t, g.members()...).cfg.ID%3} {
		m := g.member(id)
		cfg := m.cfg
		g.stop(id)
		m = g.start(id, cfg.Join, cfg.Peers)
		sameIDs(t, fmt.Sprintf("restarted node %d voters", id), m.n.Membership().GetVoters(), all)
		join(t, m)
	}
	pause()

	// Remove the leader.
	old := leaderOf(t, g.members()...)
	cs := g.change(single(raftpb.ConfChangeRemoveNode, old.cfg.ID, "remove leader"))
	if slices.Contains(cs.GetVoters(), old.cfg.ID) {
		t.Fatalf("after removing %d: membership %v", old.cfg.ID, cs)
	}
	if !old.n.Removed() {
		t.Fatalf("the removed leader %d does not know it was removed", old.cfg.ID)
	}
	pause()

	// One joint change: two voters out, node 6 in.
	var rest []uint64
	for _, id := range all {
		if id != old.cfg.ID {
			rest = append(rest, id)
		}
	}
	gone := rest[:2]
	six := g.start(6, true, rest)
	cc := &raftpb.ConfChangeV2{
		Changes: []*raftpb.ConfChangeSingle{
			{Type: raftpb.ConfChangeRemoveNode.Enum(), NodeId: new(gone[0])},
			{Type: raftpb.ConfChangeRemoveNode.Enum(), NodeId: new(gone[1])},
			{Type: raftpb.ConfChangeAddNode.Enum(), NodeId: new(uint64(6))},
		},
		Context: []byte("joint"),
	}
	cs = g.change(cc)
	want := slices.Sorted(slices.Values(append(slices.Clone(rest[2:]), 6)))
	sameIDs(t, "voters after the joint change", cs.GetVoters(), want)
	if joint(cs) {
		t.Fatalf("ProposeConfChange returned the joint membership %v", cs)
	}
	join(t, six)
	pause()
	close(stop)
	writes := acked()
	stopTerms()

	// Removed nodes, still running, disturbed nothing; they stop now.
	var remaining []*member
	for _, m := range g.members() {
		if slices.Contains(want, m.cfg.ID) {
			remaining = append(remaining, m)
			continue
		}
		if m.n.IsLeader() {
			t.Errorf("removed node %d leads", m.cfg.ID)
		}
		g.stop(m.cfg.ID)
	}
	waitSame(t, remaining...)
	es, _, _ := remaining[0].sm.state()
	var have []string
	for _, e := range es {
		have = append(have, e.Data)
	}
	// In the order they were acknowledged, which is the order proposed.
	for _, w := range writes {
		j := slices.Index(have, w)
		if j < 0 {
			t.Fatalf("acknowledged write %q is missing or out of order", w)
		}
		have = have[j+1:]
	}
	if len(writes) < 20 {
		t.Fatalf("only %d writes acknowledged", len(writes))
	}
	// Members heard of the changes they applied, with their context: the
	// joint change, then raft's own leaving of the joint configuration.
	// Node 6 may have got both in the snapshot it joined with.
	for _, m := range remaining {
		if cs := m.n.Membership(); joint(cs) || !slices.Equal(slices.Sorted(slices.Values(cs.GetVoters())), want) {
			t.Errorf("node %d: membership %v, want voters %v", m.cfg.ID, cs, want)
		}
		if m == six {
			continue
		}
		m.sm.mu.Lock()
		confs := slices.Clone(m.sm.confs)
		m.sm.mu.Unlock()
		i := slices.IndexFunc(confs, func(c confEvent) bool { return c.context == "joint" })
		if i < 0 || !joint(confs[i].state) || i != len(confs)-2 || joint(confs[i+1].state) {
			t.Errorf("node %d: conf changes %+v, want the joint one, then leaving it", m.cfg.ID, confs)
		}
	}
	t.Logf("%d writes acknowledged", len(writes))
}

// TestLearners adds an observer that joins, promotes it to voter, demotes a
// voter to observer, and refuses a change while another is pending.
func TestLearners(t *testing.T) {
	g := newGroup(t, 4, 1, 2, 3)
	lead := leaderOf(t, g.members()...)

	four := g.start(4, true, []uint64{1, 2, 3})
	cs := g.change(single(raftpb.ConfChangeAddLearnerNode, 4, "observer 4"))
	sameIDs(t, "learners", cs.GetLearners(), []uint64{4})
	join(t, four)
	if four.n.Status().RaftState != raft.StateFollower || four.n.Leader() == 0 {
		t.Fatalf("observer: state %v, leader %d", four.n.Status().RaftState, four.n.Leader())
	}
	proposeEach(t, four.n, four.sm, "via-observer", 3)

	cs = g.change(single(raftpb.ConfChangeAddNode, 4, "promote 4"))
	sameIDs(t, "voters after promotion", cs.GetVoters(), []uint64{1, 2, 3, 4})
	if len(cs.GetLearners()) != 0 {
		t.Fatalf("learners after promotion: %v", cs.GetLearners())
	}

	lead = leaderOf(t, g.members()...)
	demoted := uint64(1 + lead.cfg.ID%4)
	cs = g.change(single(raftpb.ConfChangeAddLearnerNode, demoted, "demote"))
	sameIDs(t, "learners after demotion", cs.GetLearners(), []uint64{demoted})
	if slices.Contains(cs.GetVoters(), demoted) {
		t.Fatalf("voters after demotion: %v", cs.GetVoters())
	}

	// Hold the leader's apply goroutine inside the next change: it is
	// committed, not applied, and the leader refuses another.
	lead = leaderOf(t, g.members()...)
	gate, entered := make(chan struct{}), make(chan struct{})
	var once sync.Once
	lead.sm.onConf = func(uint64) { once.Do(func() { close(entered); <-gate }) }
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err := lead.n.ProposeConfChange(ctx, single(raftpb.ConfChangeAddNode, demoted, "promote again"))
	cancel()
	<-entered
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ProposeConfChange with the apply held: %v, want a deadline", err)
	}
	_, err = lead.n.ProposeConfChange(context.Background(), single(raftpb.ConfChangeRemoveNode, 4, "remove 4"))
	if !errors.Is(err, ErrConfChangeInProgress) {
		t.Fatalf("a second change while one is pending: %v, want ErrConfChangeInProgress", err)
	}
	close(gate)
	for _, bad := range []*raftpb.ConfChangeV2{
		{},
		single(raftpb.ConfChangeRemoveNode, 0, ""),
		{Transition: raftpb.ConfChangeTransitionJointExplicit.Enum(), Changes: single(raftpb.ConfChangeAddNode, 9, "").Changes},
	} {
		if _, err := g.leaderEventually().n.ProposeConfChange(context.Background(), bad); !errors.Is(err, ErrInvalidConfChange) {
			t.Errorf("ProposeConfChange(%v) = %v, want ErrInvalidConfChange", bad, err)
		}
	}
	if f := g.members()[0]; !f.n.IsLeader() {
		if _, err := f.n.ProposeConfChange(context.Background(), single(raftpb.ConfChangeRemoveNode, 4, "")); !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrConfChangeInProgress) {
			t.Errorf("ProposeConfChange on follower %d = %v, want ErrNotLeader", f.cfg.ID, err)
		}
	}
	waitSame(t, g.members()...)
}

// leaderEventually waits until a leader can take a conf change.
func (g *group) leaderEventually() *member {
	g.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := g.leader(); m != nil && m.n.confIdle.Load() {
			return m
		}
		time.Sleep(5 * time.Millisecond)
	}
	g.t.Fatal("no idle leader")
	return nil
}

// A joining node that stops before the group adds it starts again from its
// empty WAL, still without a membership, and joins once added.
func TestJoinRestartBeforeAdded(t *testing.T) {
	g := newGroup(t, 4, 1, 2, 3)
	leaderOf(t, g.members()...)
	four := g.start(4, true, []uint64{1, 2, 3})
	cfg := four.cfg
	g.stop(4)
	four = g.start(4, cfg.Join, cfg.Peers)
	if cs := four.n.Membership(); len(confIDs(cs)) != 0 || four.n.Removed() {
		t.Fatalf("restarted joining node: membership %v, removed %v", cs, four.n.Removed())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := four.n.Joined(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Joined before being added: %v", err)
	}
	g.change(single(raftpb.ConfChangeAddNode, 4, ""))
	join(t, four)
	waitSame(t, g.members()...)
}
