package raftnode

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// ErrStopped is returned by calls on a Node that has been stopped, or that
// stopped itself after a storage failure (see Node.Err).
var ErrStopped = errors.New("raftnode: node stopped")

// StateMachine is what the node applies committed entries to. All calls come
// from one goroutine, the one that also persists the log, so a slow Apply
// slows replication; none of them may call back into the Node's Stop. A
// StateMachine may also implement ConfChanger and SnapshotChecker.
type StateMachine interface {
	// Apply applies one committed normal entry with non-empty data, in log
	// order; index is its raft log index.
	Apply(index uint64, data []byte)
	// Snapshot freezes the state as of the last applied index, in time
	// that does not grow with the state; the node writes the Frozen out on
	// another goroutine while later entries apply, which must not change
	// it.
	Snapshot() Frozen
	// Restore replaces the state with a snapshot taken at index.
	Restore(data []byte, index uint64) error
}

// Frozen is a state machine's state as of one index, as a snapshot holds
// it; Restore takes what WriteTo writes.
type Frozen interface {
	// Size is the number of bytes WriteTo writes.
	Size() int
	WriteTo(w io.Writer) (int64, error)
}

// Node is one member of a raft group: it persists, replicates and applies the
// log. Its methods are safe for concurrent use.
type Node struct {
	cfg  Config
	lg   *zap.Logger
	sm   StateMachine
	mem  *raft.MemoryStorage
	disk *disk

	// rn is raft itself, which the run goroutine alone drives: it steps,
	// persists, sends and applies in one place, so a write crosses no
	// goroutine between its proposal and its apply. raft.Node would hand
	// every write between its own goroutine and the one that persists
	// three times more (Ready, Advance, Ready again). Other goroutines
	// reach rn through propc and callc, and through the reports queue.
	rn    *raft.RawNode
	propc chan proposal
	callc chan func(*raft.RawNode)
	// reports are the Transport's delivery reports. It makes them from
	// within Send, on the run goroutine, so they queue instead of blocking.
	reportMu sync.Mutex
	reports  []func(*raft.RawNode)
	reportc  chan struct{} // signals new reports; buffered 1

	// Owned by the run goroutine.
	//
	// parked are the proposals that arrived while no leader was known,
	// which raft would drop; they are stepped once one is.
	parked    []proposal
	confState *raftpb.ConfState
	// snapIndex is the index of the newest snapshot in mem, and snapBytes
	// the appliedBytes when it was frozen.
	snapIndex    uint64
	snapBytes    uint64
	applied      uint64
	appliedBytes uint64 // data bytes of the entries applied since Start
	// confPending is the highest index of a conf change in the log, or of
	// the log when this node last became leader (see noteAppended).
	confPending uint64
	// snapDone delivers the outcome of the snapshot being taken in the
	// background; nil while none is.
	snapDone chan snapResult

	appliedIndex atomic.Uint64
	leader       atomic.Uint64
	leading      atomic.Bool
	lastLeader   atomic.Uint64 // the last leader known, kept while none is
	contact      contact       // when each peer was last heard from
	readSeq      atomic.Uint64
	// readRequests counts the read-index requests stepped into raft, local
	// and from peers: an upper bound on what a heartbeat may acknowledge.
	readRequests atomic.Uint64
	intakeLog    *zap.Logger // rate-limited, for what may recur with every peer message
	m            nodeMetrics

	// Membership, written by the run goroutine.
	membership atomic.Pointer[raftpb.ConfState]
	known      atomic.Pointer[map[uint64]bool] // every id the log has named as a member
	removed    atomic.Bool
	confIdle   atomic.Bool   // raft would take a conf change proposed now
	lastConf   atomic.Uint64 // index of the last conf change applied
	wantSnap   atomic.Bool   // raft asked for a snapshot newer than lastConf
	confMu     sync.Mutex    // one ProposeConfChange at a time

	mu       sync.Mutex
	changed  chan struct{}          // closed and replaced when the applied index or leadership changes
	reads    map[string]chan uint64 // pending ReadIndex calls by request context
	confWait *confWaiter            // the pending ProposeConfChange, if any

	snapReader snapReader

	// purgeMu keeps Purge from judging the snapshot directory while a
	// snapshot file exists that the WAL does not vouch for yet.
	purgeMu sync.Mutex

	stopOnce sync.Once
	stopc    chan struct{}
	donec    chan struct{}
	err      error // why run ended; written before donec is closed
}

// Start opens (or, if WALDir holds no WAL, bootstraps) the node's storage,
// restores sm from the newest snapshot and replays the WAL after it, then
// starts raft. It returns once every entry the WAL records as committed is
// applied; a node that is the group's only voter campaigns at once and Start
// also waits until it leads, so that Propose can be called right away. A
// node joining with Config.Join has nothing to apply yet: Start returns once
// it runs, and Joined waits until the group has brought it up to date.
func Start(cfg Config, sm StateMachine) (*Node, error) {
	begin := time.Now()
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d, rec, err := openDisk(cfg)
	if err != nil {
		return nil, err
	}
	n, err := newNode(cfg, sm, d, rec)
	if err != nil {
		return nil, errors.Join(err, d.wal.Close())
	}
	replay := time.Now()
	// Read before run starts: replaying a membership change moves it.
	sole := n.soleVoter()
	go n.run()
	if err := n.awaitStartup(rec, sole); err != nil {
		n.Stop()
		return nil, err
	}
	n.m.txnsLoad.Observe(since(replay))
	n.m.txnsLoaded.Observe(int64(n.Applied() - rec.snapshot.GetMetadata().GetIndex()))
	n.m.dbInit.Observe(since(begin))
	n.registerGauges(cfg.Metrics)
	return n, nil
}

func newNode(cfg Config, sm StateMachine, d *disk, rec *recovered) (*Node, error) {
	mem := raft.NewMemoryStorage()
	// A joining node starts from nothing, which MemoryStorage already is.
	if !raft.IsEmptySnap(rec.snapshot) {
		if err := mem.ApplySnapshot(withoutData(rec.snapshot)); err != nil {
			return nil, fmt.Errorf("raftnode: load snapshot into raft: %w", err)
		}
	}
	if !raft.IsEmptyHardState(rec.hardState) {
		if err := mem.SetHardState(rec.hardState); err != nil {
			return nil, fmt.Errorf("raftnode: load hard state into raft: %w", err)
		}
	}
	if err := mem.Append(rec.entries); err != nil {
		return nil, fmt.Errorf("raftnode: load WAL entries into raft: %w", err)
	}
	n := &Node{
		cfg:     cfg,
		lg:      cfg.Logger,
		sm:      sm,
		mem:     mem,
		disk:    d,
		changed: make(chan struct{}),
		reads:   make(map[string]chan uint64),
		propc:   make(chan proposal, maxBatch),
		callc:   make(chan func(*raft.RawNode), maxBatch),
		reportc: make(chan struct{}, 1),
		stopc:   make(chan struct{}),
		donec:   make(chan struct{}),
	}
	n.known.Store(&map[uint64]bool{})
	n.learnIDs(slices.Concat(cfg.Peers, cfg.Learners))
	n.intakeLog = newIntakeLogger(cfg.Logger)
	n.m = newNodeMetrics(cfg.Metrics)
	n.m.leaderChanged(raft.None, false, time.Now())
	load := time.Now()
	if err := n.restore(rec.snapshot); err != nil {
		return nil, err
	}
	// The state machine has the data now: the file buffer it lies in, as
	// large as the state, need not stay live through the WAL replay.
	rec.snapshot = withoutData(rec.snapshot)
	n.m.snapLoad.Observe(since(load))
	n.appliedIndex.Store(n.applied)
	n.noteAppended(rec.entries, false)
	// Raft takes the membership from storage, for a bootstrapped,
	// restarted or joining node alike; Config.Peers never reaches it.
	rn, err := raft.NewRawNode(&raft.Config{
		ID:                        cfg.ID,
		ElectionTick:              cfg.ElectionTick,
		HeartbeatTick:             cfg.HeartbeatTick,
		Storage:                   snapStorage{mem, n},
		Applied:                   n.applied,
		MaxSizePerMsg:             1 << 20,
		MaxInflightMsgs:           256,
		MaxUncommittedEntriesSize: 1 << 30,
		CheckQuorum:               true,
		PreVote:                   true,
		// A removed or demoted leader would otherwise go on leading a
		// group it is not part of, and no one else could be elected.
		StepDownOnRemoval: true,
		Logger:            newRaftLogger(cfg.Logger),
	})
	if err != nil {
		return nil, fmt.Errorf("raftnode: start raft: %w", err)
	}
	n.rn = rn
	return n, nil
}

// restore hands a snapshot to the state machine. The bootstrap snapshot holds
// only membership, never state machine data, so it is not handed on.
func (n *Node) restore(s *raftpb.Snapshot) error {
	index := s.GetMetadata().GetIndex()
	if index > bootstrapIndex {
		if err := n.sm.Restore(s.GetData(), index); err != nil {
			return fmt.Errorf("raftnode: restore state machine from snapshot at %d: %w", index, err)
		}
	}
	n.setConfState(s.GetMetadata().GetConfState())
	n.snapIndex = index
	n.snapBytes = n.appliedBytes
	n.applied = index
	return nil
}

// withoutData is s's metadata alone, which is all MemoryStorage keeps of a
// snapshot: the data can be as large as the state, and snapStorage reads it
// from disk on the rare occasions raft sends it to a follower.
func withoutData(s *raftpb.Snapshot) *raftpb.Snapshot {
	return &raftpb.Snapshot{Metadata: s.GetMetadata()}
}

func (n *Node) soleVoter() bool {
	cs := n.confState
	return len(cs.GetVoters()) == 1 && cs.GetVoters()[0] == n.cfg.ID && len(cs.GetVotersOutgoing()) == 0
}

// awaitStartup waits until the entries committed before the restart are
// applied and, for a sole voter, until it leads and has applied its whole log:
// the WAL holds only durable entries but may record a stale commit index
// (commit-only updates are not fsynced), and a sole voter commits every entry
// it has as soon as it commits one of its new term. All of this depends only
// on the local disk, so the wait is bounded without a context.
func (n *Node) awaitStartup(rec *recovered, sole bool) error {
	target := rec.hardState.GetCommit()
	if sole {
		if len(rec.entries) > 0 {
			target = max(target, rec.entries[len(rec.entries)-1].GetIndex())
		}
		// A lone voter need not wait an election timeout to learn nobody else
		// is there.
		if err := n.Campaign(context.Background()); err != nil {
			return fmt.Errorf("raftnode: campaign: %w", err)
		}
	}
	for {
		ch := n.changes()
		if n.Applied() >= target && (!sole || n.IsLeader()) {
			return nil
		}
		select {
		case <-ch:
		case <-n.donec:
			return fmt.Errorf("raftnode: start: %w", errors.Join(ErrStopped, n.err))
		}
	}
}

func (n *Node) run() {
	defer close(n.donec)
	err := n.loop()
	err = errors.Join(err, n.awaitSnapshot())
	// A stopped node follows nobody: a server asking whom it follows must
	// not go on believing it has a leader and serve stale reads.
	n.leader.Store(0)
	n.leading.Store(false)
	n.notify()
	if cerr := n.disk.wal.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("raftnode: close WAL: %w", cerr))
	}
	if err != nil {
		n.lg.Error("raft node stopped on failure", zap.Error(err))
	}
	n.err = err
}

func (n *Node) loop() error {
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	for {
		if err := n.ready(); err != nil {
			return err
		}
		select {
		case <-ticker.C:
			n.rn.Tick()
			n.expireParked()
		case p := <-n.propc:
			n.propose(p)
			n.takeWaiting()
		case f := <-n.callc:
			f(n.rn)
			n.takeWaiting()
		case <-n.reportc:
			n.takeReports()
		case r := <-n.snapDone:
			if err := n.snapshotTaken(r); err != nil {
				return err
			}
		case <-n.stopc:
			return nil
		}
	}
}

// maxBatch bounds the proposals and calls taken in before raft's next
// Ready is handled, and the proposals and calls that may wait to be taken
// in.
const maxBatch = 1024

// takeWaiting takes in the proposals and calls that arrived while the
// last Ready was persisted, so that one Ready, one WAL write and one fsync
// cover them all (group commit).
func (n *Node) takeWaiting() {
	for range maxBatch {
		select {
		case p := <-n.propc:
			n.propose(p)
		case f := <-n.callc:
			f(n.rn)
		default:
			return
		}
	}
}

// ready handles every Ready raft has, which includes the one that
// Advance's own acknowledgement of a durable append leads to: a sole
// voter commits a write in the same turn of the loop that logged it.
func (n *Node) ready() error {
	for n.rn.HasReady() {
		rd := n.rn.Ready()
		if err := n.handleReady(rd); err != nil {
			return err
		}
		n.rn.Advance(rd)
		n.publishConfIdle()
		if len(n.parked) > 0 && n.leader.Load() != raft.None {
			n.unpark()
		}
	}
	return nil
}

// handleReady persists, sends and applies one Ready batch, in that order: an
// entry is applied (and so acknowledged to a client) only once it is durable,
// and peers hear of votes and appends only once they are durable.
func (n *Node) handleReady(rd raft.Ready) error {
	if rd.SoftState != nil {
		n.m.leaderChanged(rd.SoftState.Lead, rd.SoftState.RaftState == raft.StateLeader, time.Now())
		n.leader.Store(rd.SoftState.Lead)
		n.leading.Store(rd.SoftState.RaftState == raft.StateLeader)
		if rd.SoftState.Lead != raft.None {
			n.lastLeader.Store(rd.SoftState.Lead)
		}
		n.notify()
	}
	hasSnap := !raft.IsEmptySnap(rd.Snapshot)
	if hasSnap {
		// A snapshot of our own still being written must not land after
		// the leader's.
		if err := n.awaitSnapshot(); err != nil {
			return err
		}
		// The snapshot goes to disk before the HardState that commits it, as in
		// etcd, so a restart never finds a commit index its log cannot reach.
		n.purgeMu.Lock()
		data := rd.Snapshot.GetData()
		err := n.disk.writeSnapshot(rd.Snapshot.GetMetadata(), Encoded(func() ([]byte, error) { return data, nil }))
		n.purgeMu.Unlock()
		if err != nil {
			return err
		}
	}
	// Group commit: everything raft batched into this Ready costs one write
	// and at most one fsync (wal.Save syncs exactly when raft.MustSync says).
	save := time.Now()
	if err := n.disk.wal.Save(rd.HardState, rd.Entries); err != nil {
		return fmt.Errorf("raftnode: save to WAL: %w", err)
	}
	if rd.MustSync {
		took := time.Since(save)
		n.m.fsync.Observe(took.Milliseconds())
		if took > n.cfg.FsyncWarning {
			n.m.slowFsyncs.Add(1)
			n.lg.Warn("writing the WAL with fsync was slow; requests wait for it", zap.Duration("took", took),
				zap.Duration("fsync.warningthresholdms", n.cfg.FsyncWarning), zap.Int("entries", len(rd.Entries)))
		}
	}
	if len(rd.Entries) > 0 {
		n.m.batch.Observe(int64(len(rd.Entries)))
		n.m.logged.Add(int64(len(rd.Entries)))
		if n.leading.Load() {
			// A new term's empty entry is raft's own, no proposal.
			for _, e := range rd.Entries {
				if len(e.GetData()) > 0 {
					n.m.proposals.Inc()
					n.m.proposalSize.Add(len(e.GetData()))
				}
			}
		}
	}
	if hasSnap {
		if err := n.installSnapshot(rd.Snapshot); err != nil {
			return err
		}
	}
	if err := n.mem.Append(rd.Entries); err != nil {
		return fmt.Errorf("raftnode: append to raft storage: %w", err)
	}
	n.noteAppended(rd.Entries, rd.SoftState != nil && rd.SoftState.RaftState == raft.StateLeader)
	if n.cfg.Transport != nil && len(rd.Messages) > 0 {
		n.m.sent(rd.Messages)
		n.cfg.Transport.Send(rd.Messages)
	}
	n.deliverReads(rd.ReadStates)
	if err := n.apply(rd.CommittedEntries); err != nil {
		return err
	}
	n.publishApplied()
	return n.maybeSnapshot()
}

// installSnapshot replaces the state with a snapshot sent by the leader.
func (n *Node) installSnapshot(s *raftpb.Snapshot) error {
	// Commit-only HardStates are written without fsync; force one before
	// older WAL files are released (etcd issue 10219).
	if err := n.disk.wal.Sync(); err != nil {
		return fmt.Errorf("raftnode: sync WAL: %w", err)
	}
	if err := n.mem.ApplySnapshot(withoutData(s)); err != nil {
		return fmt.Errorf("raftnode: apply snapshot to raft storage: %w", err)
	}
	if err := n.restore(s); err != nil {
		return err
	}
	if err := n.disk.wal.ReleaseLockTo(n.snapIndex); err != nil {
		return fmt.Errorf("raftnode: release WAL: %w", err)
	}
	n.lg.Info("installed snapshot from leader", zap.Uint64("index", n.snapIndex))
	return nil
}

func (n *Node) apply(ents []*raftpb.Entry) error {
	for _, e := range ents {
		index := e.GetIndex()
		if index <= n.applied {
			// Already part of a restored snapshot.
			continue
		}
		n.appliedBytes += uint64(len(e.GetData()))
		switch e.GetType() {
		case raftpb.EntryNormal:
			if len(e.GetData()) > 0 {
				// Counted first: Apply answers the client.
				n.m.commits.Inc()
				if !n.leading.Load() {
					n.m.learnerCommits.Inc()
				}
				n.sm.Apply(index, e.GetData())
			}
		case raftpb.EntryConfChange, raftpb.EntryConfChangeV2:
			if err := n.applyConfChange(index, e); err != nil {
				return err
			}
		}
		n.applied = index
	}
	return nil
}

func unmarshalConfChange(e *raftpb.Entry) (raftpb.ConfChangeI, error) {
	if e.GetType() == raftpb.EntryConfChange {
		cc := new(raftpb.ConfChange)
		return cc, proto.Unmarshal(e.GetData(), cc)
	}
	cc := new(raftpb.ConfChangeV2)
	return cc, proto.Unmarshal(e.GetData(), cc)
}

// maybeSnapshot snapshots the state machine once SnapCount entries, or
// SnapBytes bytes of them, have been applied since the last snapshot, or
// when raft needs one newer than the membership (see snapStorage). Only
// the freeze happens here, at a known index; serializing the state, writing
// it, trimming the in-memory log and releasing the WAL files it makes
// unnecessary happen in the background, so that a large snapshot does not
// stall commits. The WAL still holds every entry until then, so a crash
// meanwhile loses nothing.
func (n *Node) maybeSnapshot() error {
	if n.snapDone != nil {
		return nil
	}
	stale := n.wantSnap.Load() && n.snapIndex < n.lastConf.Load()
	if n.applied-n.snapIndex < n.cfg.SnapCount && n.appliedBytes-n.snapBytes < n.cfg.SnapBytes && !stale {
		return nil
	}
	begin := time.Now()
	term, err := n.mem.Term(n.applied)
	if err != nil {
		return fmt.Errorf("raftnode: term of applied index %d: %w", n.applied, err)
	}
	meta := &raftpb.SnapshotMetadata{Index: new(n.applied), Term: new(term), ConfState: proto.Clone(n.confState).(*raftpb.ConfState)}
	frozen := n.sm.Snapshot()
	mark := n.appliedBytes
	done := make(chan snapResult, 1)
	n.snapDone = done
	go func() {
		taken, err := n.takeSnapshot(frozen, meta)
		r := snapResult{err: err}
		if taken {
			r.index, r.bytes = meta.GetIndex(), mark
			n.m.snapshotTime.Observe(since(begin))
		}
		done <- r
	}()
	return nil
}

// snapResult is the outcome of a background snapshot.
type snapResult struct {
	index uint64 // of the snapshot now on disk and in mem; 0 if none is
	bytes uint64 // appliedBytes when it was frozen
	err   error  // a storage failure, which stops the node
}

// takeSnapshot writes the state frozen at meta's index to disk, on its own
// goroutine. The file and its WAL record come before mem names the
// snapshot, since snapStorage reads the data from that file; mem gets the
// metadata alone. The WAL and mem lock themselves, and the run goroutine
// changes neither's snapshot before it has awaited this one.
func (n *Node) takeSnapshot(frozen Frozen, meta *raftpb.SnapshotMetadata) (taken bool, err error) {
	index := meta.GetIndex()
	n.purgeMu.Lock()
	err = n.disk.writeSnapshot(meta, frozen)
	n.purgeMu.Unlock()
	if errors.Is(err, errEncode) {
		// Not fatal: the WAL still holds every entry. Retried after the next batch.
		n.lg.Warn("state machine snapshot failed", zap.Uint64("index", index), zap.Error(err))
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := n.mem.CreateSnapshot(index, meta.GetConfState(), nil); err != nil {
		return false, fmt.Errorf("raftnode: create snapshot at %d: %w", index, err)
	}
	if err := n.compact(index); err != nil {
		return false, err
	}
	if err := n.disk.wal.ReleaseLockTo(index); err != nil {
		return false, fmt.Errorf("raftnode: release WAL: %w", err)
	}
	n.lg.Info("saved snapshot", zap.Uint64("index", index))
	return true, nil
}

// compact drops the in-memory log behind a snapshot at index but for the
// entries a slow follower may still catch up from without the snapshot:
// at most CatchUpEntries of them, of at most CatchUpBytes bytes of data.
func (n *Node) compact(index uint64) error {
	first, err := n.mem.FirstIndex()
	if err != nil {
		return fmt.Errorf("raftnode: compact raft storage: %w", err)
	}
	lo := first
	if index >= n.cfg.CatchUpEntries {
		lo = max(lo, index-n.cfg.CatchUpEntries+1)
	}
	ents, err := n.mem.Entries(lo, index+1, math.MaxUint64)
	if err != nil {
		return fmt.Errorf("raftnode: compact raft storage: %w", err)
	}
	// Keep (to, index]: the newest entries that fit the byte budget.
	to, size := index, uint64(0)
	for i := len(ents) - 1; i >= 0; i-- {
		size += uint64(len(ents[i].GetData()))
		if size > n.cfg.CatchUpBytes {
			break
		}
		to = ents[i].GetIndex() - 1
	}
	if to < first {
		return nil
	}
	if err := n.mem.Compact(to); err != nil {
		return fmt.Errorf("raftnode: compact raft storage: %w", err)
	}
	return nil
}

// snapshotTaken takes in the outcome of the background snapshot, on the
// run goroutine.
func (n *Node) snapshotTaken(r snapResult) error {
	n.snapDone = nil
	if r.err != nil || r.index == 0 {
		return r.err
	}
	n.snapIndex, n.snapBytes = r.index, r.bytes
	// A request raft made while the snapshot was under way is answered
	// now, unless a membership change has applied since the freeze.
	if n.snapIndex >= n.lastConf.Load() {
		n.wantSnap.Store(false)
	}
	return nil
}

// awaitSnapshot waits for the background snapshot, if any.
func (n *Node) awaitSnapshot() error {
	if n.snapDone == nil {
		return nil
	}
	return n.snapshotTaken(<-n.snapDone)
}

func (n *Node) publishApplied() {
	if n.appliedIndex.Load() != n.applied {
		n.appliedIndex.Store(n.applied)
		n.notify()
	}
}

func (n *Node) notify() {
	n.mu.Lock()
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
}

func (n *Node) changes() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changed
}

func (n *Node) deliverReads(states []raft.ReadState) {
	if len(states) == 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, rs := range states {
		key := string(rs.RequestCtx)
		if ch, ok := n.reads[key]; ok {
			ch <- rs.Index
			delete(n.reads, key)
		}
	}
}

// Propose appends data to the log. It returns once the node has taken the
// proposal in, without waiting for raft, so that a connection can pipeline
// its writes: raft steps every proposal waiting at its next turn, and one
// WAL write covers them all. Wait for Apply (or WaitApplied) for the
// outcome. Should raft refuse the proposal, dropped, if not nil, is told
// why, on the run goroutine, so it must not block; raft may also lose a
// proposal without a word, for example when leadership changes. While no
// leader is known the proposal waits for one, until ctx ends. Proposals
// from one goroutine keep their order. The node keeps data: the caller
// must not change it afterwards.
func (n *Node) Propose(ctx context.Context, data []byte, dropped func(error)) error {
	m := &raftpb.Message{Type: raftpb.MsgProp.Enum(), Entries: []*raftpb.Entry{{Data: data}}}
	return n.submit(ctx, proposal{m: m, dropped: dropped})
}

// ReadIndex returns an index such that a read served from the state machine
// once it has applied that index is linearizable (raft's ReadIndex). The
// request is repeated every election timeout until answered, since raft drops
// read requests it cannot serve, for example while there is no leader.
func (n *Node) ReadIndex(ctx context.Context) (uint64, error) {
	rctx := binary.BigEndian.AppendUint64(nil, n.readSeq.Add(1))
	key := string(rctx)
	ch := make(chan uint64, 1)
	n.mu.Lock()
	n.reads[key] = ch
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.reads, key)
		n.mu.Unlock()
	}()
	retry := time.NewTicker(time.Duration(n.cfg.ElectionTick) * n.cfg.TickInterval)
	defer retry.Stop()
	for {
		select {
		case <-n.stopc:
			return 0, ErrStopped
		default:
		}
		n.readRequests.Add(1)
		if err := n.call(ctx, func(rn *raft.RawNode) { rn.ReadIndex(rctx) }); err != nil {
			return 0, err
		}
		select {
		case index := <-ch:
			return index, nil
		case <-retry.C:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-n.donec:
			return 0, ErrStopped
		}
	}
}

// WaitApplied waits until the state machine has applied index.
func (n *Node) WaitApplied(ctx context.Context, index uint64) error {
	return n.waitUntil(ctx, func() bool { return n.Applied() >= index })
}

// waitUntil waits until cond holds, checking it again at every change of
// the applied index or of leadership.
func (n *Node) waitUntil(ctx context.Context, cond func() bool) error {
	for {
		ch := n.changes()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-n.donec:
			return ErrStopped
		}
	}
}

// Applied returns the index of the last entry applied (or restored).
func (n *Node) Applied() uint64 { return n.appliedIndex.Load() }

// IsLeader reports whether this node currently leads the group.
func (n *Node) IsLeader() bool { return n.leading.Load() }

// Leader returns the id of the current leader, or 0 if none is known.
func (n *Node) Leader() uint64 { return n.leader.Load() }

// Campaign starts an election (a pre-vote first, so a live leader is not
// disturbed). Learners cannot campaign; raft ignores them.
func (n *Node) Campaign(ctx context.Context) error {
	return n.call(ctx, func(rn *raft.RawNode) { _ = rn.Campaign() })
}

// TransferLeadership asks the leader to hand over to transferee, which it
// does once transferee's log is up to date.
func (n *Node) TransferLeadership(ctx context.Context, transferee uint64) {
	_ = n.call(ctx, func(rn *raft.RawNode) { rn.TransferLeader(transferee) })
}

// Succeed starts an election at once, as if the leader had handed over to
// this node (raft's MsgTimeoutNow): without pre-vote, and the voters grant
// it even while they still count on the old leader. It is for a leader
// that removed itself, which hands over nothing; the log's up-to-date
// check still decides the vote, so it cannot elect a node that lacks an
// entry.
func (n *Node) Succeed(ctx context.Context) error {
	id := n.cfg.ID
	m := &raftpb.Message{Type: raftpb.MsgTimeoutNow.Enum(), From: &id, To: &id}
	return n.call(ctx, func(rn *raft.RawNode) { _ = rn.Step(m) })
}

// Status is raft's view of the group; on the leader it includes each
// peer's replication progress, which the monitoring commands report.
// A stopped node's is empty. It must not be called from the run goroutine
// (a StateMachine's or a Transport's calls), which would wait for itself.
func (n *Node) Status() raft.Status {
	var st raft.Status
	done := make(chan struct{})
	if n.call(context.Background(), func(rn *raft.RawNode) { st = rn.Status(); close(done) }) != nil {
		return raft.Status{}
	}
	// A node that stops leaves the calls still queued unrun.
	select {
	case <-done:
		return st
	case <-n.donec:
		return raft.Status{}
	}
}

// Step hands the node a message a Transport received from a peer. A message
// no correct member sends, or one raft would panic on, is dropped and logged,
// and Step returns an error wrapping ErrInvalidMessage.
func (n *Node) Step(ctx context.Context, m *raftpb.Message) error {
	if err := n.validate(m); err != nil {
		n.intakeLog.Warn("dropping invalid raft message from a peer",
			zap.Uint64("from", m.GetFrom()), zap.Stringer("type", m.GetType()),
			zap.Uint64("term", m.GetTerm()), zap.Error(err))
		return fmt.Errorf("%w: %v from %d: %w", ErrInvalidMessage, m.GetType(), m.GetFrom(), err)
	}
	n.contact.note(m.GetFrom(), time.Now())
	switch m.GetType() {
	case raftpb.MsgApp:
		if !n.leading.Load() {
			n.m.learnerProposals.Add(int64(len(m.GetEntries())))
		}
	case raftpb.MsgReadIndex:
		n.readRequests.Add(1)
	case raftpb.MsgProp:
		// Raft takes a proposal only while it knows a leader; it waits
		// for one for an election timeout, after which there is one, or
		// the proposal is lost as raft may lose any.
		until := time.Now().Add(time.Duration(n.cfg.ElectionTick) * n.cfg.TickInterval)
		return n.submit(context.Background(), proposal{m: m, until: until})
	}
	// As raft.Node does, raft's own refusals (a response from a peer it
	// no longer tracks) are not the sender's concern.
	return n.call(ctx, func(rn *raft.RawNode) { _ = rn.Step(m) })
}

// ReportUnreachable tells raft that the last message to id was not delivered.
func (n *Node) ReportUnreachable(id uint64) {
	n.report(func(rn *raft.RawNode) { rn.ReportUnreachable(id) })
}

// ReportSnapshot tells raft whether a MsgSnap to id was delivered.
func (n *Node) ReportSnapshot(id uint64, status raft.SnapshotStatus) {
	n.report(func(rn *raft.RawNode) { rn.ReportSnapshot(id, status) })
}

// Purge deletes snapshot files beyond the newest SnapRetain, and the WAL files
// holding only entries older than the oldest snapshot kept (ZooKeeper's
// autopurge). It is safe to call at any time, from any goroutine.
func (n *Node) Purge() error {
	n.purgeMu.Lock()
	defer n.purgeMu.Unlock()
	return n.disk.purge(n.cfg.SnapRetain)
}

// Stop stops the node, waits for its goroutines to end and closes (flushing)
// the WAL. It is idempotent and safe to call concurrently with other methods,
// which return ErrStopped afterwards.
func (n *Node) Stop() {
	n.stopOnce.Do(func() { close(n.stopc) })
	<-n.donec
}

// LastSnapshot is the snapshot this node last wrote to disk, its own or
// its leader's, or else the one it started from.
func (n *Node) LastSnapshot() SnapshotInfo { return *n.disk.last.Load() }

// Done is closed when the node has stopped, by Stop or after a failure.
func (n *Node) Done() <-chan struct{} { return n.donec }

// Err returns the failure that stopped the node, or nil if it is running or
// was stopped by Stop. A node that cannot write its WAL stops rather than
// apply entries that may not be durable.
func (n *Node) Err() error {
	select {
	case <-n.donec:
		return n.err
	default:
		return nil
	}
}
