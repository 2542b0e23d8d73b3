package raftnode

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/metrics"
)

// Defaults applied by Start to zero-valued Config fields.
const (
	DefaultTickInterval   = 100 * time.Millisecond
	DefaultElectionTick   = 10
	DefaultHeartbeatTick  = 1
	DefaultSnapCount      = 100000
	DefaultSnapRetain     = 3
	DefaultCatchUpEntries = 5000
	// The byte bounds keep the in-memory log to a few tens of bytes per
	// znode of a million-node tree, well under the tree's own cost, while a
	// snapshot (a streamed write, off the apply path) comes at most every
	// 16 MiB of writes.
	DefaultSnapBytes    = 16 << 20
	DefaultCatchUpBytes = 8 << 20
	DefaultFsyncWarning = time.Second
)

// Transport carries raft messages to the other members of the group. Send
// must not block for long: it is called from the goroutine that persists and
// applies the log. A transport that fails to deliver a message reports it with
// Node.ReportUnreachable, and the outcome of a MsgSnap with Node.ReportSnapshot.
type Transport interface {
	Send(msgs []*raftpb.Message)
}

// Config configures a Node. Peers and Learners are the membership the node
// bootstraps an empty WALDir with; after that, membership comes from the log
// (the ConfState of the snapshot and the conf changes after it), never from
// them. They also stay ids the node accepts messages from, besides every
// member the log has named.
type Config struct {
	ID       uint64   // this server's raft id (ZooKeeper myid); 1 in standalone
	Peers    []uint64 // voters at bootstrap; []uint64{ID} (the default) for standalone
	Learners []uint64 // observers at bootstrap
	// Join makes a node with an empty WALDir join a running group instead
	// of bootstrapping one: it starts with empty storage and no
	// membership, and waits for the leader to send it a snapshot once the
	// group has added it (see Node.Joined). Peers and Learners then name
	// the members it may hear from before that, and must include the
	// group's voters. Join is ignored once the WAL exists.
	Join bool

	WALDir  string // e.g. <dataLogDir>/zookit/wal
	SnapDir string // e.g. <dataDir>/zookit/snap

	// SnapCount is how many applied entries trigger a snapshot.
	SnapCount uint64
	// SnapBytes is how many bytes of entry data applied since the last
	// snapshot trigger one, whatever their count: the in-memory log holds
	// every entry since the last snapshot, so this bounds its memory when
	// entries are large (a multi of a thousand creates). It is not
	// ZooKeeper's snapSizeLimitInKb, which bounds the transaction log on
	// disk (4 GiB by default) and which zookit does not read.
	SnapBytes uint64
	// SnapRetain is how many snapshot files Purge keeps, with the WAL files
	// they need.
	SnapRetain int
	// CatchUpEntries is how many entries stay in memory behind a snapshot so
	// that a slow follower can catch up without being sent the snapshot.
	CatchUpEntries uint64
	// CatchUpBytes bounds the data bytes of those entries: fewer than
	// CatchUpEntries stay when they are large.
	CatchUpBytes uint64

	TickInterval  time.Duration // one raft tick
	ElectionTick  int           // election timeout, in ticks
	HeartbeatTick int           // leader heartbeat interval, in ticks

	Transport Transport // nil in standalone
	Logger    *zap.Logger
	// FsyncWarning is how long a WAL write with fsync may take before it
	// is logged as slow and counted (ZooKeeper's fsync.warningthresholdms);
	// 0 means DefaultFsyncWarning.
	FsyncWarning time.Duration
	// Metrics receives the node's metrics under ZooKeeper's names (fsync,
	// commit, election, startup and snapshot times) and zookit's own
	// (zookit_raft_*); nil keeps them to the node.
	Metrics *metrics.Registry
}

func (c Config) withDefaults() (Config, error) {
	if c.ID == 0 {
		return c, errors.New("raftnode: Config.ID must not be 0")
	}
	if c.FsyncWarning <= 0 {
		c.FsyncWarning = DefaultFsyncWarning
	}
	if c.Metrics == nil {
		c.Metrics = metrics.NewRegistry()
	}
	if c.WALDir == "" || c.SnapDir == "" {
		return c, errors.New("raftnode: Config.WALDir and Config.SnapDir are required")
	}
	if c.Join {
		if c.Transport == nil {
			return c, errors.New("raftnode: a joining node needs a Transport")
		}
	} else {
		if len(c.Peers) == 0 && len(c.Learners) == 0 {
			c.Peers = []uint64{c.ID}
		}
		if !slices.Contains(c.Peers, c.ID) && !slices.Contains(c.Learners, c.ID) {
			return c, fmt.Errorf("raftnode: ID %d is neither in Peers %v nor in Learners %v", c.ID, c.Peers, c.Learners)
		}
		if c.Transport == nil && len(c.Peers)+len(c.Learners) > 1 {
			return c, errors.New("raftnode: a group with more than one member needs a Transport")
		}
	}
	if len(c.Peers) == 0 {
		return c, errors.New("raftnode: Config.Peers must name at least one voter")
	}
	if c.SnapRetain < 0 {
		return c, fmt.Errorf("raftnode: Config.SnapRetain %d is negative", c.SnapRetain)
	}
	if c.TickInterval == 0 {
		c.TickInterval = DefaultTickInterval
	}
	if c.ElectionTick == 0 {
		c.ElectionTick = DefaultElectionTick
	}
	if c.HeartbeatTick == 0 {
		c.HeartbeatTick = DefaultHeartbeatTick
	}
	if c.SnapCount == 0 {
		c.SnapCount = DefaultSnapCount
	}
	if c.SnapRetain == 0 {
		c.SnapRetain = DefaultSnapRetain
	}
	if c.CatchUpEntries == 0 {
		c.CatchUpEntries = DefaultCatchUpEntries
	}
	if c.SnapBytes == 0 {
		c.SnapBytes = DefaultSnapBytes
	}
	if c.CatchUpBytes == 0 {
		c.CatchUpBytes = DefaultCatchUpBytes
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c, nil
}
