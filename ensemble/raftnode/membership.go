package raftnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/confchange"
	"go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// Errors returned by ProposeConfChange.
var (
	// ErrNotLeader: membership changes are proposed on the leader only,
	// which is the one place that can tell whether another is pending.
	ErrNotLeader = errors.New("raftnode: not the leader")
	// ErrConfChangeInProgress: a membership change is proposed and not yet
	// applied, the group is in a joint configuration, or a new leader has
	// not applied its predecessors' log yet (ZooKeeper's
	// RECONFIGINPROGRESS). Raft would silently drop the change.
	ErrConfChangeInProgress = errors.New("raftnode: a membership change is in progress")
	// ErrInvalidConfChange: the change cannot apply to the current
	// membership (for example it removes the last voter or changes
	// nothing), or asks for an explicit joint transition.
	ErrInvalidConfChange = errors.New("raftnode: invalid membership change")
)

// ConfChanger is implemented by a StateMachine that acts on membership
// changes. ApplyConfChange is called on the apply goroutine, in log order
// with Apply, once raft has applied the change at index; cc carries the
// proposer's Context bytes, and state is the membership it led to. A change
// that cannot apply (which only a faulty proposer writes) is skipped by
// every member alike and not reported. Membership a snapshot brings in is
// not reported either: Restore gets the state that goes with it, and
// Node.Membership tells the membership.
type ConfChanger interface {
	ApplyConfChange(index uint64, cc *raftpb.ConfChangeV2, state *raftpb.ConfState)
}

// confWaiter is the ProposeConfChange waiting for its entry to apply.
type confWaiter struct {
	data []byte
	done chan *raftpb.ConfState
}

// snapStorage is the Storage raft reads, MemoryStorage but for the
// snapshot, which it serves in two ways of its own.
//
// It makes sure a member raft sends a snapshot to finds itself in it: raft
// ignores a snapshot whose ConfState does not name it, so a node that
// joined after the last snapshot would never catch up. A snapshot older
// than the membership is reported unavailable, which makes raft retry at
// the next heartbeat, and the run goroutine takes a fresh one.
//
// And it reads the snapshot's data from disk: MemoryStorage holds the
// metadata alone (see withoutData), while raft asks for the snapshot only
// to send it to a follower that is behind the compacted log. The file is
// read off the run goroutine (see snapReader).
type snapStorage struct {
	*raft.MemoryStorage
	n *Node
}

func (s snapStorage) Snapshot() (*raftpb.Snapshot, error) {
	snap, err := s.MemoryStorage.Snapshot()
	if err != nil {
		return nil, err
	}
	meta := snap.GetMetadata()
	if meta.GetIndex() < s.n.lastConf.Load() {
		s.n.wantSnap.Store(true)
		return nil, raft.ErrSnapshotTemporarilyUnavailable
	}
	if meta.GetIndex() <= bootstrapIndex {
		// Membership alone, as bootstrapped: there is no data to read.
		return snap, nil
	}
	return s.n.snapReader.take(meta, s.n.disk.loadSnapshot, s.n.intakeLog)
}

// ProposeConfChange changes the group's membership and returns the
// membership it led to, once the change is applied on this node; a joint
// change that leaves the joint configuration automatically (several
// changes, or an explicit JointImplicit transition) returns once it has
// left it. It must be called on the leader and fails with ErrNotLeader
// elsewhere, with ErrConfChangeInProgress while another change is pending
// (another call still waiting included), and with ErrInvalidConfChange if
// the change cannot apply. A change with no Changes is invalid, since raft
// would take it for leaving a joint configuration, and so is
// ConfChangeTransitionJointExplicit, whose leaving would need one. If ctx ends or leadership changes while it waits, the
// change may still apply: the ConfChanger, or Membership, tells.
func (n *Node) ProposeConfChange(ctx context.Context, cc raftpb.ConfChangeI) (*raftpb.ConfState, error) {
	if !n.confMu.TryLock() {
		return nil, ErrConfChangeInProgress
	}
	defer n.confMu.Unlock()
	select {
	case <-n.stopc:
		return nil, ErrStopped
	default:
	}
	if !n.IsLeader() {
		return nil, fmt.Errorf("%w (leader is %d)", ErrNotLeader, n.Leader())
	}
	if !n.confIdle.Load() {
		return nil, ErrConfChangeInProgress
	}
	v2 := cc.AsV2()
	if len(v2.GetChanges()) == 0 {
		return nil, fmt.Errorf("%w: no changes", ErrInvalidConfChange)
	}
	if v2.GetTransition() == raftpb.ConfChangeTransitionJointExplicit {
		return nil, fmt.Errorf("%w: explicit joint transition", ErrInvalidConfChange)
	}
	if err := checkConfChange(n.Membership(), v2); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfChange, err)
	}
	typ, data, err := raftpb.MarshalConfChange(cc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfChange, err)
	}
	done := make(chan *raftpb.ConfState, 1)
	n.mu.Lock()
	n.confWait = &confWaiter{data: data, done: done}
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.confWait = nil
		n.mu.Unlock()
	}()
	m := &raftpb.Message{Type: raftpb.MsgProp.Enum(), Entries: []*raftpb.Entry{{Type: typ.Enum(), Data: data}}}
	refused := make(chan error, 1)
	if err := n.submit(ctx, proposal{m: m, dropped: func(err error) { refused <- err }}); err != nil {
		return nil, err
	}
	var cs *raftpb.ConfState
	select {
	case cs = <-done:
	case err := <-refused:
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.donec:
		return nil, ErrStopped
	}
	if _, ok := v2.EnterJoint(); !ok {
		return cs, nil
	}
	for {
		ch := n.changes()
		if cs := n.Membership(); !joint(cs) {
			return cs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-n.donec:
			return nil, ErrStopped
		}
	}
}

// Membership returns the membership as of the last applied entry: voters,
// learners and, in a joint configuration, the outgoing voters. A joining
// node has none until the leader's snapshot arrives.
func (n *Node) Membership() *raftpb.ConfState {
	return proto.Clone(n.membership.Load()).(*raftpb.ConfState)
}

// Removed reports whether this node has applied a membership that no longer
// names it. A removed node no longer campaigns (raft sees to that), but it
// learns of its removal only if it received the commit of the change
// before the leader stopped talking to it; the remaining members always do.
func (n *Node) Removed() bool { return n.removed.Load() }

// Joined waits until this node is a member of the group (for a node started
// with Config.Join, once the leader has sent it a snapshot) and has applied
// everything the group committed until then.
func (n *Node) Joined(ctx context.Context) error {
	member := func() bool { return slices.Contains(confIDs(n.membership.Load()), n.cfg.ID) }
	if err := n.waitUntil(ctx, member); err != nil {
		return err
	}
	index, err := n.ReadIndex(ctx)
	if err != nil {
		return err
	}
	return n.WaitApplied(ctx, index)
}

// applyConfChange applies a committed conf change entry, on the run
// goroutine.
func (n *Node) applyConfChange(index uint64, e *raftpb.Entry) error {
	cc, err := unmarshalConfChange(e)
	if err != nil {
		return fmt.Errorf("raftnode: conf change at %d: %w", index, err)
	}
	v2 := cc.AsV2()
	if err := checkConfChange(n.confState, v2); err != nil {
		// Raft would panic on it. Every member applies the same entries
		// to the same membership, so every member skips it alike.
		n.lg.Error("skipping a conf change that cannot apply", zap.Uint64("index", index), zap.Error(err))
		return nil
	}
	n.setConfState(n.rn.ApplyConfChange(cc))
	n.lastConf.Store(index)
	n.lg.Info("applied membership change", zap.Uint64("index", index),
		zap.String("changes", confchange.Describe(v2.GetChanges()...)), zap.Stringer("membership", n.confState))
	if c, ok := n.sm.(ConfChanger); ok {
		c.ApplyConfChange(index, v2, proto.Clone(n.confState).(*raftpb.ConfState))
	}
	n.mu.Lock()
	if w := n.confWait; w != nil && bytes.Equal(w.data, e.GetData()) {
		w.done <- proto.Clone(n.confState).(*raftpb.ConfState)
		n.confWait = nil
	}
	n.mu.Unlock()
	return nil
}

// setConfState makes cs the node's membership, on the run goroutine.
func (n *Node) setConfState(cs *raftpb.ConfState) {
	if cs == nil {
		cs = &raftpb.ConfState{}
	}
	n.confState = cs
	n.membership.Store(proto.Clone(cs).(*raftpb.ConfState))
	ids := confIDs(cs)
	n.removed.Store(len(ids) > 0 && !slices.Contains(ids, n.cfg.ID))
	n.learnIDs(ids)
}

// noteAppended tracks the conf changes in entries just appended to the log:
// raft refuses a new one until they are applied, and a new leader refuses
// one until it has applied its whole log.
func (n *Node) noteAppended(ents []*raftpb.Entry, becameLeader bool) {
	for _, e := range ents {
		if e.GetType() == raftpb.EntryNormal {
			continue
		}
		n.confPending = max(n.confPending, e.GetIndex())
		// The members it names may talk to this node before it applies it.
		if cc, err := unmarshalConfChange(e); err == nil {
			for _, c := range cc.AsV2().GetChanges() {
				n.learnIDs([]uint64{c.GetNodeId()})
			}
		}
	}
	if becameLeader {
		n.confPending = max(n.confPending, n.lastIndex())
	}
}

// publishConfIdle records whether raft would take a conf change proposed
// now. It runs after Advance, when raft's applied index matches ours.
func (n *Node) publishConfIdle() {
	n.confIdle.Store(n.leading.Load() && !joint(n.confState) && n.confPending <= n.applied)
}

// learnIDs adds ids to those the node accepts messages from. The set only
// grows: a removed member's messages reach raft, which ignores them.
func (n *Node) learnIDs(ids []uint64) {
	known := *n.known.Load()
	var grown map[uint64]bool
	for _, id := range ids {
		if id != 0 && !known[id] {
			if grown == nil {
				grown = make(map[uint64]bool, len(known)+len(ids))
				for k := range known {
					grown[k] = true
				}
			}
			grown[id] = true
		}
	}
	if grown != nil {
		n.known.Store(&grown)
	}
}

func confIDs(cs *raftpb.ConfState) []uint64 {
	ids := slices.Concat(cs.GetVoters(), cs.GetLearners(), cs.GetVotersOutgoing(), cs.GetLearnersNext())
	slices.Sort(ids)
	return slices.Compact(ids)
}

func joint(cs *raftpb.ConfState) bool { return len(cs.GetVotersOutgoing()) > 0 }

// checkConfChange reports whether raft can apply cc to cs; raft panics on
// one it cannot.
func checkConfChange(cs *raftpb.ConfState, cc *raftpb.ConfChangeV2) error {
	switch cc.GetTransition() {
	case raftpb.ConfChangeTransitionAuto, raftpb.ConfChangeTransitionJointImplicit, raftpb.ConfChangeTransitionJointExplicit:
	default:
		return fmt.Errorf("unknown transition %v", cc.GetTransition())
	}
	for _, c := range cc.GetChanges() {
		if c.GetNodeId() == raft.None {
			return errors.New("a change of node 0")
		}
	}
	chg, err := changerFor(cs)
	if err != nil {
		return err
	}
	if cc.LeaveJoint() {
		_, _, err = chg.LeaveJoint()
	} else if autoLeave, ok := cc.EnterJoint(); ok {
		_, _, err = chg.EnterJoint(autoLeave, cc.GetChanges()...)
	} else {
		_, _, err = chg.Simple(cc.GetChanges()...)
	}
	return err
}

// changerFor is a confchange.Changer at membership cs, as raft builds one.
func changerFor(cs *raftpb.ConfState) (confchange.Changer, error) {
	chg := confchange.Changer{Tracker: tracker.MakeProgressTracker(1, 0), LastIndex: 1}
	cfg, trk, err := confchange.Restore(chg, cs)
	if err != nil {
		return chg, err
	}
	chg.Tracker.Config, chg.Tracker.Progress = cfg, trk
	return chg, nil
}

// checkConfState reports whether raft can restore cs from a snapshot: it
// panics unless confchange.Restore succeeds and leads to cs again.
func checkConfState(cs *raftpb.ConfState) error {
	if len(cs.GetVoters()) == 0 {
		return errors.New("no voters")
	}
	if slices.Contains(confIDs(cs), raft.None) {
		return errors.New("node 0 is a member")
	}
	chg, err := changerFor(cs)
	if err != nil {
		return err
	}
	return chg.Tracker.ConfState().Equivalent(cs)
}
