package raftnode

import (
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
)

// snapReader reads snapshot files for raft to send, on a goroutine of its
// own: raft asks for the snapshot on the run goroutine, and reading a file
// as large as the state there would hold up every write meanwhile. The
// first ask starts the read and is told the snapshot is temporarily
// unavailable, which makes raft ask again at the next heartbeat; an ask
// once the read is done takes the data. Data nobody takes is let go after
// a while, so that it does not stay in memory.
type snapReader struct {
	mu      sync.Mutex
	index   uint64 // of the snapshot read, or being read
	loading bool
	snap    *raftpb.Snapshot // read and not yet taken
}

// snapKeep is how long snapshot data read for raft waits to be taken.
const snapKeep = 30 * time.Second

func (r *snapReader) take(meta *raftpb.SnapshotMetadata, load func(*raftpb.SnapshotMetadata) (*raftpb.Snapshot, error), lg *zap.Logger) (*raftpb.Snapshot, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	index := meta.GetIndex()
	if r.snap != nil && r.index == index {
		s := r.snap
		r.snap = nil
		return s, nil
	}
	if !r.loading {
		r.loading, r.index, r.snap = true, index, nil
		go r.read(meta, load, lg)
	}
	// Raft panics on any other error; this one makes it retry at the next
	// heartbeat.
	return nil, raft.ErrSnapshotTemporarilyUnavailable
}

func (r *snapReader) read(meta *raftpb.SnapshotMetadata, load func(*raftpb.SnapshotMetadata) (*raftpb.Snapshot, error), lg *zap.Logger) {
	s, err := load(meta)
	if err != nil {
		lg.Error("cannot read the snapshot a follower needs", zap.Uint64("index", meta.GetIndex()), zap.Error(err))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loading = false
	if err != nil || r.index != meta.GetIndex() {
		return
	}
	r.snap = s
	time.AfterFunc(snapKeep, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.snap == s {
			r.snap = nil
		}
	})
}
