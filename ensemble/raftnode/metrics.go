package raftnode

import (
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/zookit/zookit/ensemble/metrics"
)

// nodeMetrics are the node's handles into Config.Metrics. The names are
// ZooKeeper's where the thing measured is the same: its sync processor is
// the WAL writer here, its commit the raft commit, its LOOKING state a
// node that knows no leader.
type nodeMetrics struct {
	fsync            *metrics.Summary // fsynctime: ms per WAL write that syncs
	slowFsyncs       atomic.Int64     // WAL writes past Config.FsyncWarning
	batch            *metrics.Summary // sync_processor_batch_size: entries per WAL write
	logged           *metrics.Counter // sync_processor_request_queued: entries written
	commits          *metrics.Counter // commit_count: entries applied
	learnerCommits   *metrics.Counter // learner_commit_received_count: entries applied while following
	learnerProposals *metrics.Counter // learner_proposal_received_count: entries received while following
	proposals        *metrics.Counter // proposal_count: entries a leader appended for proposals
	snapsSent        *metrics.Counter // snap_count: snapshots sent to bring a peer up to date
	snapshotTime     *metrics.Summary // snapshottime: ms from freezing the state to the snapshot on disk
	looking          *metrics.Counter // looking_count: times the node lost its leader
	election         *metrics.Summary // election_time: ms from losing a leader to knowing one
	unavailable      *metrics.Summary // unavailable_time: the same span, ZooKeeper's "not serving"
	leaderGone       *metrics.Summary // leader_unavailable_time: the same span, on a node that ends up following
	dbInit           *metrics.Summary // dbinittime: ms for Start to load snapshot and log
	snapLoad         *metrics.Summary // startup_snap_load_time
	txnsLoad         *metrics.Summary // startup_txns_load_time
	txnsLoaded       *metrics.Summary // startup_txns_loaded

	proposalSize *metrics.Sizes // bytes of the entries a leader appended

	lookingSince time.Time    // owned by the run goroutine; zero while a leader is known
	leadingSince atomic.Int64 // unix ns when the node became leader; 0 while it is not
}

func newNodeMetrics(r *metrics.Registry) nodeMetrics {
	return nodeMetrics{
		fsync:            r.Summary("fsynctime", metrics.Basic),
		batch:            r.Summary("sync_processor_batch_size", metrics.Basic),
		logged:           r.Counter("sync_processor_request_queued"),
		commits:          r.Counter("commit_count"),
		learnerCommits:   r.Counter("learner_commit_received_count"),
		learnerProposals: r.Counter("learner_proposal_received_count"),
		proposals:        r.Counter("proposal_count"),
		snapsSent:        r.Counter("snap_count"),
		snapshotTime:     r.Summary("snapshottime", metrics.Basic),
		looking:          r.Counter("looking_count"),
		election:         r.Summary("election_time", metrics.Basic),
		unavailable:      r.Summary("unavailable_time", metrics.Basic),
		leaderGone:       r.Summary("leader_unavailable_time", metrics.Basic),
		dbInit:           r.Summary("dbinittime", metrics.Basic),
		snapLoad:         r.Summary("startup_snap_load_time", metrics.Basic),
		txnsLoad:         r.Summary("startup_txns_load_time", metrics.Basic),
		txnsLoaded:       r.Summary("startup_txns_loaded", metrics.Basic),
		proposalSize:     metrics.NewSizes(),
	}
}

// registerGauges adds zookit's own raft gauges, read from raft's status.
func (n *Node) registerGauges(r *metrics.Registry) {
	r.Gauge("zookit_raft_term", func() any { return int64(n.Status().GetTerm()) })
	r.Gauge("zookit_raft_commit_index", func() any { return int64(n.Status().GetCommit()) })
	r.Gauge("zookit_raft_applied_index", func() any { return int64(n.Applied()) })
	r.Gauge("zookit_raft_snapshot_index", func() any { return int64(n.LastSnapshot().Index) })
	r.Gauge("zookit_raft_leader_id", func() any { return int64(n.Leader()) })
}

// SlowFsyncs is how many WAL writes took longer than Config.FsyncWarning
// (ZooKeeper's fsync_threshold_exceed_count).
func (n *Node) SlowFsyncs() int64 { return n.m.slowFsyncs.Load() }

// LeaderSince is when the node became leader, or the zero time when it is
// not leading (ZooKeeper's leader_uptime).
func (n *Node) LeaderSince() time.Time {
	if ns := n.m.leadingSince.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// ProposalSize is the last, smallest and largest entry in bytes this node
// appended as leader; -1 for each before the first (ZooKeeper's
// *_proposal_size).
func (n *Node) ProposalSize() (last, lo, hi int64) { return n.m.proposalSize.Read() }

// leaderChanged counts and times elections: a node that loses its leader
// is looking until it knows one again.
func (m *nodeMetrics) leaderChanged(lead uint64, leading bool, now time.Time) {
	switch {
	case !leading:
		m.leadingSince.Store(0)
	case m.leadingSince.Load() == 0:
		m.leadingSince.Store(now.UnixNano())
	}
	switch {
	case lead == raft.None && m.lookingSince.IsZero():
		m.looking.Inc()
		m.lookingSince = now
	case lead != raft.None && !m.lookingSince.IsZero():
		ms := now.Sub(m.lookingSince).Milliseconds()
		m.election.Observe(ms)
		m.unavailable.Observe(ms)
		if !leading {
			m.leaderGone.Observe(ms)
		}
		m.lookingSince = time.Time{}
	}
}

// sent counts the snapshots among messages going to peers.
func (m *nodeMetrics) sent(msgs []*raftpb.Message) {
	for _, msg := range msgs {
		if msg.GetType() == raftpb.MsgSnap {
			m.snapsSent.Inc()
		}
	}
}

// since is the milliseconds from t to now.
func since(t time.Time) int64 { return time.Since(t).Milliseconds() }
