package raftnode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/zookit/zookit/ensemble/metrics"
)

// metricValue reads one key of a registry, as mntr would print it.
func metricValue(r *metrics.Registry, key string) any {
	var v any
	r.Each(func(k string, val any) {
		if k == key {
			v = val
		}
	})
	return v
}

// waitFor polls cond until it holds, failing the test after 30 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// memSnapshot is the snapshot raft storage holds, metadata and data.
func memSnapshot(n *Node) *raftpb.Snapshot {
	s, _ := n.mem.Snapshot()
	return s
}

// checkSnapshotData checks that data is the encoding of exactly the entries
// of all at or below index.
func checkSnapshotData(t *testing.T, data []byte, index uint64, all []entry) {
	t.Helper()
	var got []entry
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("snapshot data at %d (%d bytes): %v", index, len(data), err)
	}
	want := slices.DeleteFunc(slices.Clone(all), func(e entry) bool { return e.Index > index })
	if !slices.Equal(got, want) {
		t.Fatalf("snapshot at %d holds %d entries ending %v; want the %d entries up to it", index, len(got), got[len(got)-1:], len(want))
	}
}

// A snapshot's encoding runs off the apply goroutine: while it is blocked,
// later entries still commit and apply, and what it encodes is the state
// frozen when it was taken, not what applied meanwhile.
func TestSnapshotEncodesOffTheApplyLoop(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SnapCount = 5
	cfg.Metrics = metrics.NewRegistry()
	sm := newTestSM()
	encoding := make(chan struct{}, 1)
	release := make(chan struct{})
	sm.onEncode = func() {
		select {
		case encoding <- struct{}{}:
		default:
		}
		<-release
	}
	n := start(t, cfg, sm)
	// Cleanups run last first: the encoder is released before Stop waits for it.
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock)

	proposeEach(t, n, sm, "e", int(cfg.SnapCount))
	select {
	case <-encoding:
	case <-time.After(30 * time.Second):
		t.Fatalf("no snapshot encoding began after %d entries with SnapCount %d", cfg.SnapCount, cfg.SnapCount)
	}
	blocked := time.Now()
	proposeEach(t, n, sm, "f", 20)
	if snaps := snapIndexes(t, cfg.SnapDir); !slices.Equal(snaps, []uint64{bootstrapIndex}) {
		t.Fatalf("snapshots on disk at %v while the encoding is blocked; want only the bootstrap one", snaps)
	}
	if got := metricValue(cfg.Metrics, "cnt_snapshottime"); got != int64(0) {
		t.Fatalf("cnt_snapshottime = %v while the only snapshot is still encoding", got)
	}

	unblock()
	held := time.Since(blocked).Milliseconds()
	waitFor(t, "the snapshot in raft storage", func() bool { return memSnapshot(n).GetMetadata().GetIndex() > bootstrapIndex })
	meta := memSnapshot(n).GetMetadata()
	index := meta.GetIndex()
	if snaps := snapIndexes(t, cfg.SnapDir); snaps[1] != index {
		t.Fatalf("snapshots on disk at %v, want the bootstrap one, then %d", snaps, index)
	}
	all, _, _ := sm.state()
	if index >= all[len(all)-1].Index {
		t.Fatalf("snapshot at %d, not before the entries applied while it encoded (last %d)", index, all[len(all)-1].Index)
	}
	s, err := n.disk.loadSnapshot(meta)
	if err != nil {
		t.Fatal(err)
	}
	checkSnapshotData(t, s.GetData(), index, all)
	// snapshottime spans the encoding, not just the write after it.
	waitFor(t, "snapshottime", func() bool { return metricValue(cfg.Metrics, "cnt_snapshottime").(int64) > 0 })
	if got := metricValue(cfg.Metrics, "max_snapshottime").(int64); got < held {
		t.Fatalf("max_snapshottime = %d ms, below the %d ms the encoding was held", got, held)
	}
}

// Raft storage keeps no snapshot data, its own or a leader's: a follower
// behind the compacted log is sent the snapshot read back from disk, and
// catches up with the right state.
func TestSnapshotDataServedFromDisk(t *testing.T) {
	net := newChanNet(1, 2, 3)
	all := threeMembers(t, net)
	for _, m := range all {
		m.cfg.SnapCount = 10
		m.cfg.CatchUpEntries = 3
		startMember(t, net, m)
	}
	ctx := context.Background()
	lead := leaderOf(t, all...)
	follower := all[0]
	if follower == lead {
		follower = all[1]
	}

	net.setCut(follower.cfg.ID, true)
	for i := range 50 {
		if err := lead.n.Propose(ctx, fmt.Appendf(nil, "a-%d", i), nil); err != nil {
			t.Fatal(err)
		}
		lead.sm.waitLen(t, i+1)
	}
	behind := follower.n.Applied()
	waitFor(t, "the leader to compact its log past the follower", func() bool {
		first, _ := lead.n.mem.FirstIndex()
		return first > behind+1
	})
	if s := memSnapshot(lead.n); s.GetMetadata().GetIndex() <= bootstrapIndex || len(s.GetData()) != 0 {
		t.Fatalf("leader's raft storage holds the snapshot at %d with %d bytes of data; want a later one without data",
			s.GetMetadata().GetIndex(), len(s.GetData()))
	}

	net.setCut(follower.cfg.ID, false)
	follower.sm.waitLen(t, 50)
	_, restoredAt, _ := follower.sm.state()
	if restoredAt == 0 {
		t.Fatal("the follower caught up without a snapshot; expected one past the compacted log")
	}
	for _, m := range all {
		m.sm.waitLen(t, 50)
	}
	sameState(t, all...)
	want, _, _ := lead.sm.state()
	sent := net.sentSnaps()
	if len(sent) == 0 {
		t.Fatal("the follower restored a snapshot that no MsgSnap carried")
	}
	for _, m := range sent {
		checkSnapshotData(t, m.GetSnapshot().GetData(), m.GetSnapshot().GetMetadata().GetIndex(), want)
	}
	// The follower may have taken a snapshot of its own since.
	if s := memSnapshot(follower.n); s.GetMetadata().GetIndex() < restoredAt || len(s.GetData()) != 0 {
		t.Fatalf("follower's raft storage holds the snapshot at %d with %d bytes of data; want the installed one, at %d, or a later one, without data",
			s.GetMetadata().GetIndex(), len(s.GetData()), restoredAt)
	}
}

// The snapshot raft sends is read from its file off the caller's
// goroutine: the first ask starts the read and is told to retry, a later
// one gets the data. A snapshot whose file is gone stays temporarily
// unavailable to raft, which retries, rather than sent without data.
func TestSnapshotReadForRaftInBackground(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SnapCount = 5
	sm := newTestSM()
	n := start(t, cfg, sm)
	proposeEach(t, n, sm, "e", 5)
	waitFor(t, "a snapshot in raft storage", func() bool { return memSnapshot(n).GetMetadata().GetIndex() > bootstrapIndex })
	st := snapStorage{n.mem, n}
	if _, err := st.Snapshot(); !errors.Is(err, raft.ErrSnapshotTemporarilyUnavailable) {
		t.Fatalf("first ask for the snapshot: %v; want ErrSnapshotTemporarilyUnavailable while the file is read", err)
	}
	var s *raftpb.Snapshot
	waitFor(t, "the snapshot's data", func() bool {
		var err error
		s, err = st.Snapshot()
		if err != nil && !errors.Is(err, raft.ErrSnapshotTemporarilyUnavailable) {
			t.Fatal(err)
		}
		return err == nil
	})
	all, _, _ := sm.state()
	checkSnapshotData(t, s.GetData(), s.GetMetadata().GetIndex(), all)

	names, err := namesWithSuffix(cfg.SnapDir, ".snap")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if err := os.Remove(filepath.Join(cfg.SnapDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// Taken data is not kept, so each ask reads the file again.
	for range 5 {
		if s, err := st.Snapshot(); !errors.Is(err, raft.ErrSnapshotTemporarilyUnavailable) {
			t.Fatalf("Snapshot with its file gone = %d bytes, %v; want ErrSnapshotTemporarilyUnavailable", len(s.GetData()), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Large entries trigger a snapshot by their bytes long before SnapCount, and
// compaction keeps no more than CatchUpBytes of them behind it.
func TestSnapshotOnBytes(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SnapCount = 1 << 20
	cfg.SnapBytes = 4096
	cfg.CatchUpEntries = 1000
	cfg.CatchUpBytes = 1500
	sm := newTestSM()
	n := start(t, cfg, sm)
	payload := strings.Repeat("x", 996) // with "-%d", 998 to 999 bytes an entry
	proposeEach(t, n, sm, payload, 20)
	all, _, _ := sm.state()

	waitFor(t, "a second snapshot", func() bool { return len(snapIndexes(t, cfg.SnapDir)) >= 3 })
	snaps := snapIndexes(t, cfg.SnapDir)
	// Each Ready applied one entry and no snapshot was under way: the
	// first is taken as the fifth entry brings the bytes past 4096.
	if snaps[1] != all[4].Index {
		t.Fatalf("first snapshot at %d, want at the fifth entry, %d", snaps[1], all[4].Index)
	}
	for i := 2; i < len(snaps); i++ {
		if snaps[i]-snaps[i-1] < 5 {
			t.Fatalf("snapshots at %v: fewer than 4096 bytes apart", snaps)
		}
	}
	// CatchUpEntries alone would keep every entry; 1500 bytes keep one.
	// Compaction follows the snapshot into raft storage, hence the wait.
	waitFor(t, "raft storage to keep one entry behind its snapshot", func() bool {
		index := memSnapshot(n).GetMetadata().GetIndex()
		first, _ := n.mem.FirstIndex()
		return index > bootstrapIndex && first == index
	})
}
