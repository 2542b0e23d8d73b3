package raftnode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// ErrInvalidMessage is returned by Step for a peer message that was dropped
// because raft would panic on it or that no member of this group sends.
var ErrInvalidMessage = errors.New("raftnode: invalid peer message")

// maxSane bounds every term and index a peer may send. Legitimate values
// grow by one per election or entry and never come near it; bounding them
// keeps raft's own arithmetic (term+1, index+len) from overflowing.
const maxSane = 1 << 62

// A peer flooding invalid messages must not flood the log: per message text,
// the first few lines each second are written, then one in intakeThereafter.
const (
	intakeFirst      = 5
	intakeThereafter = 1000
)

func newIntakeLogger(lg *zap.Logger) *zap.Logger {
	return lg.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(c, time.Second, intakeFirst, intakeThereafter)
	}))
}

// Raft (etcd raft v3.7) trusts its peers: it panics on messages no correct
// peer sends, from the raft goroutine, where no recover can reach and from
// which a recovered raft would be inconsistent anyway. So messages are
// validated here, before raft sees them, with checks that only a message no
// correct member sends can fail. What each check prevents:
//
//   - a local message type (MsgHup, MsgStorage*, ...) or one not from a
//     member (one in Config.Peers or Learners, or named as a member by the
//     log): raft assumes these come from itself or a known peer;
//   - a term or index near 2^64: overflow in term+1 (a MsgVote with term 0
//     panics in send) and in index arithmetic;
//   - MsgHeartbeat whose Commit is beyond the local log: commitTo panics
//     "tocommit(%d) is out of range". The leader never sends a commit above
//     what this server acknowledged, which was durable, hence in storage;
//   - MsgApp whose entries are not contiguous after Index, or whose terms
//     go down or exceed the message's term: maybeAppend panics on a
//     conflict below the commit index and on index gaps;
//   - MsgAppResp acknowledging an index this server never had: a leader
//     would count it towards the commit quorum and replication progress;
//   - MsgHeartbeatResp with a read-index context beyond the reads ever
//     requested here: maybeAdvance slices its pending reads out of range;
//     a context of other than 8 bytes panics in its decoding;
//   - MsgProp without entries ("stepped empty MsgProp"), MsgReadIndex with
//     other than one entry (its first entry is read unconditionally);
//   - conf change entries: an undecodable one panics the leader, or stops
//     the node that applies it. A proposal of one (MsgProp) is refused
//     outright, since ProposeConfChange runs on the leader only and so no
//     correct member forwards one; an appended one (MsgApp) must decode.
//     One that decodes but cannot apply to the membership would panic raft
//     when applied, so applyConfChange skips it, on every member alike;
//   - MsgSnap whose ConfState is not one raft can restore (duplicates,
//     voter and learner at once, no voters, node 0) or whose metadata is
//     impossible: confchange.Restore and assertConfStatesEquivalent panic.
//     Membership changes, so a snapshot may name members this node has not
//     heard of;
//     and MsgSnap whose data the StateMachine, if it is a SnapshotChecker,
//     would not restore: Restore would fail when raft applies it, and the
//     node would stop.
//
// A forged message that passes these checks (for example a heartbeat with a
// high term) can still disrupt the group; authenticating peers is what
// keeps those out.
func (n *Node) validate(m *raftpb.Message) error {
	from, to := m.GetFrom(), m.GetTo()
	if to != n.cfg.ID {
		return fmt.Errorf("addressed to %d", to)
	}
	if from == n.cfg.ID || !n.isMember(from) {
		return fmt.Errorf("from %d, not another member", from)
	}
	if m.GetTerm() > maxSane || m.GetLogTerm() > maxSane || m.GetIndex() > maxSane || m.GetCommit() > maxSane {
		return errors.New("term or index out of range")
	}
	switch m.GetType() {
	case raftpb.MsgProp:
		return validateProposal(m)
	case raftpb.MsgReadIndex:
		if len(m.GetEntries()) != 1 {
			return fmt.Errorf("%d entries, want 1", len(m.GetEntries()))
		}
		return requireTerm(m, false)
	case raftpb.MsgApp:
		if err := requireTerm(m, true); err != nil {
			return err
		}
		return validateAppend(m)
	case raftpb.MsgAppResp:
		if err := requireTerm(m, true); err != nil {
			return err
		}
		if last := n.lastIndex(); !m.GetReject() && m.GetIndex() > last {
			return fmt.Errorf("acknowledges index %d beyond the local log (last %d)", m.GetIndex(), last)
		}
		return nil
	case raftpb.MsgHeartbeat:
		if err := requireTerm(m, true); err != nil {
			return err
		}
		if last := n.lastIndex(); m.GetCommit() > last {
			return fmt.Errorf("commit %d beyond the local log (last %d)", m.GetCommit(), last)
		}
		return nil
	case raftpb.MsgHeartbeatResp:
		if err := requireTerm(m, true); err != nil {
			return err
		}
		return n.validateReadAck(m.GetContext())
	case raftpb.MsgSnap:
		if err := requireTerm(m, true); err != nil {
			return err
		}
		return n.validateSnapshot(m)
	case raftpb.MsgVote, raftpb.MsgVoteResp, raftpb.MsgPreVote, raftpb.MsgPreVoteResp,
		raftpb.MsgTransferLeader, raftpb.MsgTimeoutNow, raftpb.MsgReadIndexResp:
		return requireTerm(m, true)
	default:
		return fmt.Errorf("type %v is never sent between servers", m.GetType())
	}
}

// requireTerm checks the term against raft's send, which attaches one to
// every message except the forwarded MsgProp and MsgReadIndex; a message
// with term 0 would be taken for a local one.
func requireTerm(m *raftpb.Message, want bool) error {
	if (m.GetTerm() != 0) != want {
		return fmt.Errorf("term %d on %v", m.GetTerm(), m.GetType())
	}
	return nil
}

func validateProposal(m *raftpb.Message) error {
	if err := requireTerm(m, false); err != nil {
		return err
	}
	if len(m.GetEntries()) == 0 {
		return errors.New("proposal without entries")
	}
	for _, e := range m.GetEntries() {
		if e.GetType() != raftpb.EntryNormal {
			return fmt.Errorf("proposal of a %v entry", e.GetType())
		}
	}
	return nil
}

func validateAppend(m *raftpb.Message) error {
	next, term := m.GetIndex()+1, m.GetLogTerm()
	if term > m.GetTerm() {
		return fmt.Errorf("previous entry's term %d above the message's %d", term, m.GetTerm())
	}
	if uint64(len(m.GetEntries())) > maxSane-m.GetIndex() {
		return errors.New("entries run past the index range")
	}
	for _, e := range m.GetEntries() {
		if e.GetIndex() != next {
			return fmt.Errorf("entry index %d, want %d", e.GetIndex(), next)
		}
		if e.GetTerm() < term || e.GetTerm() > m.GetTerm() {
			return fmt.Errorf("entry %d has term %d outside [%d, %d]", next, e.GetTerm(), term, m.GetTerm())
		}
		switch e.GetType() {
		case raftpb.EntryNormal:
		case raftpb.EntryConfChange, raftpb.EntryConfChangeV2:
			if _, err := unmarshalConfChange(e); err != nil {
				return fmt.Errorf("entry %d is an undecodable %v: %w", next, e.GetType(), err)
			}
		default:
			return fmt.Errorf("entry %d is a %v", next, e.GetType())
		}
		next, term = next+1, e.GetTerm()
	}
	return nil
}

// validateReadAck bounds a heartbeat response's context, which raft reads as
// the position of the last read-index request the heartbeat confirms: it
// can be no more than the read requests ever stepped into this node.
func (n *Node) validateReadAck(ctx []byte) error {
	if len(ctx) == 0 {
		return nil
	}
	if len(ctx) != 8 {
		return fmt.Errorf("heartbeat context of %d bytes", len(ctx))
	}
	if pos, reads := binary.LittleEndian.Uint64(ctx), n.readRequests.Load(); pos > reads {
		return fmt.Errorf("heartbeat acknowledges read %d of %d", pos, reads)
	}
	return nil
}

func (n *Node) validateSnapshot(m *raftpb.Message) error {
	md := m.GetSnapshot().GetMetadata()
	if md.GetIndex() == 0 || md.GetIndex() > maxSane || md.GetTerm() == 0 || md.GetTerm() > m.GetTerm() {
		return fmt.Errorf("snapshot at index %d, term %d in a message of term %d", md.GetIndex(), md.GetTerm(), m.GetTerm())
	}
	if err := checkConfState(md.GetConfState()); err != nil {
		return fmt.Errorf("snapshot membership %v: %w", md.GetConfState(), err)
	}
	// A snapshot the state machine cannot restore would stop this node
	// when raft applies it; refuse it here instead.
	if c, ok := n.sm.(SnapshotChecker); ok {
		if err := c.CheckSnapshot(m.GetSnapshot().GetData()); err != nil {
			return fmt.Errorf("snapshot data: %w", err)
		}
	}
	return nil
}

// SnapshotChecker is implemented by a StateMachine that can tell, without
// changing its state, whether Restore would take a snapshot's data. Node
// then drops a peer's MsgSnap whose data it would not take.
type SnapshotChecker interface {
	CheckSnapshot(data []byte) error
}

func (n *Node) isMember(id uint64) bool { return (*n.known.Load())[id] }

// lastIndex is the last index in storage: everything this server has made
// durable and could have acknowledged.
func (n *Node) lastIndex() uint64 {
	last, err := n.mem.LastIndex()
	if err != nil {
		return 0
	}
	return last
}
