package raftnode

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// forged returns messages that no correct member sends, each of which etcd
// raft v3.7 panics on or would be misled by, addressed to id from a member.
func forged(to, from uint64) map[string]*raftpb.Message {
	msg := func(typ raftpb.MessageType, term uint64) *raftpb.Message {
		return &raftpb.Message{Type: typ.Enum(), To: new(to), From: new(from), Term: new(term)}
	}
	with := func(m *raftpb.Message, edit func(*raftpb.Message)) *raftpb.Message {
		edit(m)
		return m
	}
	ent := func(index, term uint64, typ raftpb.EntryType, data string) *raftpb.Entry {
		return &raftpb.Entry{Index: new(index), Term: new(term), Type: typ.Enum(), Data: []byte(data)}
	}
	snap := func(voters, learners []uint64) *raftpb.Message {
		return with(msg(raftpb.MsgSnap, 1000), func(m *raftpb.Message) {
			m.Snapshot = &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{
				Index: new(uint64(1_000_000)), Term: new(uint64(999)),
				ConfState: &raftpb.ConfState{Voters: voters, Learners: learners},
			}}
		})
	}
	ack := binary.LittleEndian.AppendUint64(nil, 1<<40)
	return map[string]*raftpb.Message{
		"heartbeat beyond the log (issue 10)": with(msg(raftpb.MsgHeartbeat, 1000), func(m *raftpb.Message) { m.Commit = new(uint64(1_000_000)) }),
		"heartbeat with an overflowing term":  msg(raftpb.MsgHeartbeat, math.MaxUint64),
		"append without a term":               msg(raftpb.MsgApp, 0),
		"append with an index gap": with(msg(raftpb.MsgApp, 1000), func(m *raftpb.Message) {
			m.Entries = []*raftpb.Entry{ent(1, 1, raftpb.EntryNormal, "x"), ent(3, 1, raftpb.EntryNormal, "y")}
		}),
		"append below its previous term": with(msg(raftpb.MsgApp, 1000), func(m *raftpb.Message) {
			m.Index, m.LogTerm = new(uint64(1)), new(uint64(5))
			m.Entries = []*raftpb.Entry{ent(2, 4, raftpb.EntryNormal, "x")}
		}),
		"append of a conf change": with(msg(raftpb.MsgApp, 1000), func(m *raftpb.Message) {
			m.Entries = []*raftpb.Entry{ent(1, 1, raftpb.EntryConfChange, "\xff")}
		}),
		"empty proposal": msg(raftpb.MsgProp, 0),
		"proposal of a broken conf change": with(msg(raftpb.MsgProp, 0), func(m *raftpb.Message) {
			m.Entries = []*raftpb.Entry{{Type: raftpb.EntryConfChange.Enum(), Data: []byte("\xff\xff")}}
		}),
		"read index without entries":      msg(raftpb.MsgReadIndex, 0),
		"ack beyond the log":              with(msg(raftpb.MsgAppResp, 1), func(m *raftpb.Message) { m.Index = new(uint64(1_000_000)) }),
		"heartbeat reply, short context":  with(msg(raftpb.MsgHeartbeatResp, 1), func(m *raftpb.Message) { m.Context = []byte{1, 2, 3} }),
		"heartbeat reply, future read":    with(msg(raftpb.MsgHeartbeatResp, 1), func(m *raftpb.Message) { m.Context = ack }),
		"snapshot with a duplicate voter": snap([]uint64{1, 1, 2, 3}, nil),
		"snapshot naming node 0":          snap([]uint64{0, 1, 2, 3}, nil),
		"snapshot voter and learner":      snap([]uint64{1, 2, 3}, []uint64{2}),
		"snapshot without voters":         snap(nil, []uint64{1}),
		// Well-formed metadata, data the state machine cannot restore:
		// raft would take it and the node would stop in Restore.
		"snapshot of junk data": with(snap([]uint64{1, 2, 3}, nil), func(m *raftpb.Message) { m.Snapshot.Data = []byte("not a snapshot") }),
		"local message type":    msg(raftpb.MsgStorageAppendResp, 1),
		"hup from a peer":       msg(raftpb.MsgHup, 0),
		"from a stranger":       with(msg(raftpb.MsgHeartbeat, 1), func(m *raftpb.Message) { m.From = new(uint64(9)) }),
		"from itself":           with(msg(raftpb.MsgHeartbeat, 1), func(m *raftpb.Message) { m.From = new(to) }),
		"to someone else":       with(msg(raftpb.MsgHeartbeat, 1), func(m *raftpb.Message) { m.To = new(from) }),
	}
}

// TestForgedMessagesDropped steps every forged message into each member of
// a working group: each is refused, no server stops, and the group keeps
// every write, before and after.
func TestForgedMessagesDropped(t *testing.T) {
	net := newChanNet(1, 2, 3)
	all, lead := runningThree(t, net)
	proposeEach(t, lead.n, lead.sm, "before", 5)

	for _, m := range all {
		from := m.cfg.ID%3 + 1
		for name, msg := range forged(m.cfg.ID, from) {
			if err := m.n.Step(context.Background(), msg); !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("node %d, %s: Step = %v, want ErrInvalidMessage", m.cfg.ID, name, err)
			}
		}
	}
	for _, m := range all {
		if err := m.n.Err(); err != nil {
			t.Fatalf("node %d stopped: %v", m.cfg.ID, err)
		}
	}
	lead = leaderOf(t, all...)
	proposeEach(t, lead.n, lead.sm, "after", 5)
	for _, m := range all {
		m.sm.waitLen(t, 10)
	}
	sameState(t, all...)
}

// FuzzIntake steps arbitrary messages, addressed to a node from a member,
// into a live node of a three-voter group whose other members are absent.
// Whatever Step accepts must not panic raft (a panic there kills the test
// binary); a node that stops on a snapshot its state machine cannot restore
// is started again.
func FuzzIntake(f *testing.F) {
	for _, m := range forged(1, 2) {
		f.Add(mustMarshal(f, m))
	}
	for _, typ := range []raftpb.MessageType{raftpb.MsgHeartbeat, raftpb.MsgVote, raftpb.MsgPreVote, raftpb.MsgApp, raftpb.MsgTimeoutNow} {
		f.Add(mustMarshal(f, &raftpb.Message{Type: typ.Enum(), To: new(uint64(1)), From: new(uint64(2)), Term: new(uint64(2))}))
	}
	root := f.TempDir()
	var n *Node
	starts := 0
	// Each start gets a fresh directory: a node stopped by a snapshot its
	// state machine refused left that snapshot on disk.
	restart := func() error {
		starts++
		cfg := testConfig(f, filepath.Join(root, fmt.Sprint(starts)))
		cfg.Peers = []uint64{1, 2, 3}
		cfg.Transport = dropAll{}
		cfg.Logger = zap.NewNop() // the fuzz function may not log through f
		var err error
		n, err = Start(cfg, newTestSM())
		return err
	}
	f.Cleanup(func() {
		if n != nil {
			n.Stop()
		}
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		m := new(raftpb.Message)
		if proto.Unmarshal(b, m) != nil {
			return
		}
		if n == nil || n.Err() != nil {
			if n != nil {
				n.Stop()
			}
			if err := restart(); err != nil {
				t.Fatalf("Start: %v", err)
			}
		}
		m.To, m.From = new(uint64(1)), new(2+m.GetFrom()%2)
		n.Step(context.Background(), m)
	})
}

type dropAll struct{}

func (dropAll) Send([]*raftpb.Message) {}

func mustMarshal(tb testing.TB, m *raftpb.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
