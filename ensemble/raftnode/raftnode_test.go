package raftnode

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

func TestMain(m *testing.M) {
	// Small segments so that a few hundred entries span several WAL files and
	// Purge has files to delete. Set once, before any WAL exists.
	wal.SegmentSizeBytes = 16 * 1024
	goleak.VerifyTestMain(m)
}

type entry struct {
	Index uint64
	Data  string
}

// testSM records every applied entry; its snapshot is the whole record.
type testSM struct {
	onApply func(index uint64, data []byte)
	onConf  func(index uint64) // called from ApplyConfChange, unlocked
	// onEncode is called as a snapshot's encoding starts, off the run
	// goroutine; set before Start.
	onEncode func()

	mu         sync.Mutex
	entries    []entry
	restoredAt uint64
	applies    int // Apply calls, not counting what Restore brought in
	changed    chan struct{}
	confs      []confEvent
}

type confEvent struct {
	index   uint64
	context string
	state   *raftpb.ConfState
}

func newTestSM() *testSM { return &testSM{changed: make(chan struct{})} }

func (s *testSM) Apply(index uint64, data []byte) {
	s.mu.Lock()
	s.entries = append(s.entries, entry{index, string(data)})
	s.applies++
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if s.onApply != nil {
		s.onApply(index, data)
	}
}

// ApplyConfChange makes testSM a ConfChanger: it records what it is told.
func (s *testSM) ApplyConfChange(index uint64, cc *raftpb.ConfChangeV2, state *raftpb.ConfState) {
	s.mu.Lock()
	s.confs = append(s.confs, confEvent{index, string(cc.GetContext()), state})
	s.mu.Unlock()
	if s.onConf != nil {
		s.onConf(index)
	}
}

func (s *testSM) Snapshot() Frozen {
	s.mu.Lock()
	es := slices.Clone(s.entries)
	s.mu.Unlock()
	return Encoded(func() ([]byte, error) {
		if s.onEncode != nil {
			s.onEncode()
		}
		return json.Marshal(es)
	})
}

func (s *testSM) Restore(data []byte, index uint64) error {
	var es []entry
	if err := json.Unmarshal(data, &es); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries, s.restoredAt = es, index
	return nil
}

// CheckSnapshot makes testSM a SnapshotChecker: it takes what Restore takes.
func (s *testSM) CheckSnapshot(data []byte) error {
	var es []entry
	return json.Unmarshal(data, &es)
}

func (s *testSM) state() (entries []entry, restoredAt uint64, applies int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.entries), s.restoredAt, s.applies
}

// waitLen waits until at least n entries are applied.
func (s *testSM) waitLen(t *testing.T, n int) []entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		s.mu.Lock()
		got, ch := len(s.entries), s.changed
		s.mu.Unlock()
		if got >= n {
			es, _, _ := s.state()
			return es
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("waiting for %d applied entries: have %d", n, got)
		}
	}
}

func testConfig(tb testing.TB, dir string) Config {
	return Config{
		ID:           1,
		WALDir:       filepath.Join(dir, "wal"),
		SnapDir:      filepath.Join(dir, "snap"),
		TickInterval: 10 * time.Millisecond,
		// 0.5–1 s: a leader's heartbeats share its goroutine with the
		// fsync, which on a loaded test machine can stall for 100 ms and
		// more; a shorter timeout there means elections no test asked for.
		ElectionTick: 50,
		Logger:       zaptest.NewLogger(tb, zaptest.Level(zap.WarnLevel)),
	}
}

func start(t *testing.T, cfg Config, sm StateMachine) *Node {
	t.Helper()
	n, err := Start(cfg, sm)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(n.Stop)
	return n
}

func propose(t *testing.T, n *Node, data string) {
	t.Helper()
	if err := n.Propose(context.Background(), []byte(data), nil); err != nil {
		t.Fatalf("Propose(%q): %v", data, err)
	}
}

// proposeEach proposes count entries named prefix-i, waiting for each to be
// applied before the next, so that every Ready carries one entry.
func proposeEach(t *testing.T, n *Node, sm *testSM, prefix string, count int) {
	t.Helper()
	base := len(sm.waitLen(t, 0))
	for i := range count {
		propose(t, n, fmt.Sprintf("%s-%d", prefix, i))
		sm.waitLen(t, base+i+1)
	}
}

func checkOrdered(t *testing.T, es []entry, prefix string, count int) {
	t.Helper()
	if len(es) != count {
		t.Fatalf("applied %d entries, want %d", len(es), count)
	}
	for i, e := range es {
		if want := fmt.Sprintf("%s-%d", prefix, i); e.Data != want {
			t.Fatalf("entry %d is %q, want %q", i, e.Data, want)
		}
		if i > 0 && e.Index <= es[i-1].Index {
			t.Fatalf("index %d of entry %d does not follow %d", e.Index, i, es[i-1].Index)
		}
	}
}

func TestProposeAppliesInOrder(t *testing.T) {
	sm := newTestSM()
	n := start(t, testConfig(t, t.TempDir()), sm)
	if !n.IsLeader() || n.Leader() != 1 {
		t.Fatalf("standalone node after Start: IsLeader=%v Leader=%d", n.IsLeader(), n.Leader())
	}
	const count = 500
	for i := range count {
		propose(t, n, fmt.Sprintf("e-%d", i))
	}
	es := sm.waitLen(t, count)
	checkOrdered(t, es, "e", count)
	if err := n.WaitApplied(context.Background(), es[count-1].Index); err != nil {
		t.Fatal(err)
	}
	if got := n.Applied(); got < es[count-1].Index {
		t.Fatalf("Applied() = %d after applying index %d", got, es[count-1].Index)
	}
}

func TestEmptyEntriesAdvanceAppliedIndex(t *testing.T) {
	sm := newTestSM()
	n := start(t, testConfig(t, t.TempDir()), sm)
	propose(t, n, "a")
	propose(t, n, "")
	propose(t, n, "b")
	es := sm.waitLen(t, 2)
	if es[0].Data != "a" || es[1].Data != "b" || es[1].Index != es[0].Index+2 {
		t.Fatalf("applied %+v, want a and b two indexes apart (the empty entry between them skipped)", es)
	}
}

func TestRestartRestoresSnapshotAndWALTail(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SnapCount = 10
	cfg.CatchUpEntries = 3

	sm := newTestSM()
	n := start(t, cfg, sm)
	proposeEach(t, n, sm, "e", 55)
	want, _, _ := sm.state()
	n.Stop()

	sm2 := newTestSM()
	n2 := start(t, cfg, sm2)
	got, restoredAt, applies := sm2.state()
	if !slices.Equal(got, want) {
		t.Fatalf("after restart the state is\n%v\nwant\n%v", got, want)
	}
	if restoredAt == 0 || applies == 0 {
		t.Fatalf("restart restored a snapshot at %d and replayed %d WAL entries; want both paths used", restoredAt, applies)
	}
	if n2.Applied() < want[len(want)-1].Index {
		t.Fatalf("Applied() = %d, want at least %d", n2.Applied(), want[len(want)-1].Index)
	}
	if s, _ := n2.mem.Snapshot(); s.GetMetadata().GetIndex() != restoredAt || len(s.GetData()) != 0 {
		t.Fatalf("raft storage holds the snapshot at %d with %d bytes of data; want the one restored, at %d, without its data",
			s.GetMetadata().GetIndex(), len(s.GetData()), restoredAt)
	}

	// The log continues where it left off.
	proposeEach(t, n2, sm2, "f", 5)
	got, _, _ = sm2.state()
	if last, prev := got[len(got)-1], got[len(got)-6]; last.Data != "f-4" || last.Index <= prev.Index {
		t.Fatalf("after restart, new entries end with %+v following %+v", last, prev)
	}
}

func TestRestartWithoutSnapshot(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	sm := newTestSM()
	n := start(t, cfg, sm)
	proposeEach(t, n, sm, "e", 20)
	want, _, _ := sm.state()
	n.Stop()

	sm2 := newTestSM()
	start(t, cfg, sm2)
	got, restoredAt, _ := sm2.state()
	if !slices.Equal(got, want) || restoredAt != 0 {
		t.Fatalf("after restart: state %v restored at %d; want %v from the WAL alone", got, restoredAt, want)
	}
}

func TestReadIndexThenWaitApplied(t *testing.T) {
	sm := newTestSM()
	n := start(t, testConfig(t, t.TempDir()), sm)
	ctx := context.Background()

	for i := range 50 {
		propose(t, n, fmt.Sprintf("e-%d", i))
	}
	// The entries were proposed (not necessarily committed) before the read;
	// after they apply, a read index is at least their index.
	es := sm.waitLen(t, 50)
	idx, err := n.ReadIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if idx < es[49].Index {
		t.Fatalf("ReadIndex = %d, below the applied entry %d", idx, es[49].Index)
	}
	if err := n.WaitApplied(ctx, idx); err != nil {
		t.Fatal(err)
	}
	if n.Applied() < idx {
		t.Fatalf("WaitApplied(%d) returned with Applied() = %d", idx, n.Applied())
	}

	// Concurrent reads and writes: every read index covers the writes whose
	// application was observed before the read began.
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 100 {
			if err := n.Propose(ctx, fmt.Appendf(nil, "w-%d", i), nil); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for range 20 {
				seen := n.Applied()
				idx, err := n.ReadIndex(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if idx < seen {
					t.Errorf("ReadIndex = %d after Applied() = %d", idx, seen)
				}
				if err := n.WaitApplied(ctx, idx); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func TestWaitAppliedHonoursContext(t *testing.T) {
	n := start(t, testConfig(t, t.TempDir()), newTestSM())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.WaitApplied(ctx, n.Applied()+1000); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitApplied with a cancelled context = %v", err)
	}
	if err := n.WaitApplied(ctx, n.Applied()); err != nil {
		t.Fatalf("WaitApplied for an applied index = %v", err)
	}
}

func snapIndexes(t *testing.T, dir string) []uint64 {
	t.Helper()
	_, _, indexes := snapFiles(t, dir)
	return indexes
}

func TestSnapshotEverySnapCountAndPurge(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SnapCount = 20
	cfg.SnapRetain = 3
	cfg.CatchUpEntries = 5

	sm := newTestSM()
	n := start(t, cfg, sm)
	payload := strings.Repeat("x", 200) // fills 16 KiB WAL segments quickly
	proposeEach(t, n, sm, payload, 200)
	want, _, _ := sm.state()
	applied := n.Applied()

	// Index 1 is the bootstrap snapshot; then one snapshot each time
	// SnapCount more entries have been applied.
	var wantSnaps []uint64
	for i := uint64(bootstrapIndex); i <= applied; i += cfg.SnapCount {
		wantSnaps = append(wantSnaps, i)
	}
	// The newest snapshot is written in the background.
	snaps := snapIndexes(t, cfg.SnapDir)
	for deadline := time.Now().Add(10 * time.Second); len(snaps) < len(wantSnaps) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		snaps = snapIndexes(t, cfg.SnapDir)
	}
	if !slices.Equal(snaps, wantSnaps) {
		t.Fatalf("snapshots at %v, want %v", snaps, wantSnaps)
	}
	walsBefore, err := namesWithSuffix(cfg.WALDir, ".wal")
	if err != nil {
		t.Fatal(err)
	}

	if err := n.Purge(); err != nil {
		t.Fatal(err)
	}
	if got := snapIndexes(t, cfg.SnapDir); !slices.Equal(got, wantSnaps[len(wantSnaps)-cfg.SnapRetain:]) {
		t.Fatalf("after Purge snapshots at %v, want the newest %d of %v", got, cfg.SnapRetain, wantSnaps)
	}
	walsAfter, err := namesWithSuffix(cfg.WALDir, ".wal")
	if err != nil {
		t.Fatal(err)
	}
	if len(walsAfter) >= len(walsBefore) {
		t.Fatalf("Purge left WAL files %v of %v", walsAfter, walsBefore)
	}
	if err := n.Purge(); err != nil {
		t.Fatalf("second Purge: %v", err)
	}

	// What is left restores the same state, even from the oldest snapshot
	// kept: remove the newer ones, as if they were lost.
	n.Stop()
	kept, err := namesWithSuffix(cfg.SnapDir, ".snap")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range kept[1:] {
		if err := os.Remove(filepath.Join(cfg.SnapDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	sm2 := newTestSM()
	start(t, cfg, sm2)
	got, restoredAt, _ := sm2.state()
	if !slices.Equal(got, want) {
		t.Fatalf("after purge and restart the state has %d entries, want %d", len(got), len(want))
	}
	if oldest := wantSnaps[len(wantSnaps)-cfg.SnapRetain]; restoredAt != oldest {
		t.Fatalf("restored from the snapshot at %d, want the oldest kept, %d", restoredAt, oldest)
	}
}

func TestStopTwiceAndCallsAfterStop(t *testing.T) {
	n := start(t, testConfig(t, t.TempDir()), newTestSM())
	n.Stop()
	n.Stop()
	ctx := context.Background()
	if err := n.Propose(ctx, []byte("x"), nil); !errors.Is(err, ErrStopped) {
		t.Fatalf("Propose after Stop = %v, want ErrStopped", err)
	}
	if _, err := n.ReadIndex(ctx); !errors.Is(err, ErrStopped) {
		t.Fatalf("ReadIndex after Stop = %v, want ErrStopped", err)
	}
	if err := n.WaitApplied(ctx, n.Applied()+1); !errors.Is(err, ErrStopped) {
		t.Fatalf("WaitApplied after Stop = %v, want ErrStopped", err)
	}
	if err := n.Err(); err != nil {
		t.Fatalf("Err after a clean Stop = %v", err)
	}
	select {
	case <-n.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
}

func TestStopDuringProposals(t *testing.T) {
	n := start(t, testConfig(t, t.TempDir()), newTestSM())
	var wg sync.WaitGroup
	started := make(chan struct{}, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				if i == 10 {
					started <- struct{}{}
				}
				err := n.Propose(context.Background(), fmt.Appendf(nil, "%d-%d", g, i), nil)
				if errors.Is(err, ErrStopped) {
					return
				}
				if err != nil {
					t.Errorf("Propose = %v, want nil or ErrStopped", err)
					return
				}
			}
		})
	}
	for range 4 {
		<-started
	}
	var stops sync.WaitGroup
	for range 2 {
		stops.Go(n.Stop)
	}
	stops.Wait()
	wg.Wait()
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, mut := range []func(*Config){
		func(c *Config) { c.ID = 0 },
		func(c *Config) { c.WALDir = "" },
		func(c *Config) { c.Peers = []uint64{2, 3} },
		func(c *Config) { c.SnapRetain = -1 },
	} {
		cfg := testConfig(t, dir)
		mut(&cfg)
		if n, err := Start(cfg, newTestSM()); err == nil {
			n.Stop()
			t.Errorf("Start(%+v) succeeded", cfg)
		}
	}

	cfg := testConfig(t, dir)
	start(t, cfg, newTestSM()).Stop()
	cfg.ID, cfg.Peers = 2, []uint64{2}
	if n, err := Start(cfg, newTestSM()); err == nil {
		n.Stop()
		t.Fatal("a WAL written by node 1 opened as node 2")
	}
}

// crashChildEnv names the data directory of the child process that
// TestAcknowledgedWritesSurviveKill kills with SIGKILL.
const crashChildEnv = "RAFTNODE_CRASH_CHILD_DIR"

// TestCrashChild is not a test on its own: it is the process that
// TestAcknowledgedWritesSurviveKill runs and kills. It proposes from several
// goroutines and prints every entry as Apply sees it: an acknowledgement.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("helper process for TestAcknowledgedWritesSurviveKill")
	}
	cfg := testConfig(t, dir)
	cfg.Logger = zap.NewNop()
	cfg.SnapCount = 50
	cfg.CatchUpEntries = 10
	sm := newTestSM()
	sm.onApply = func(index uint64, data []byte) {
		fmt.Fprintf(os.Stdout, "ack %d %s\n", index, data)
	}
	n, err := Start(cfg, sm)
	if err != nil {
		fmt.Fprintf(os.Stdout, "start failed: %v\n", err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stdout, "started")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				if err := n.Propose(context.Background(), fmt.Appendf(nil, "%s-%d-%d", filepath.Base(os.Args[0]), g, i), nil); err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestAcknowledgedWritesSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	acked := map[uint64]string{}
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		newAcks := 0
		for newAcks < 300 && sc.Scan() {
			var index uint64
			var data string
			if _, err := fmt.Sscanf(sc.Text(), "ack %d %s", &index, &data); err == nil {
				acked[index] = data
				newAcks++
			}
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if newAcks < 300 {
			t.Fatalf("round %d: child printed only %d acknowledgements", round, newAcks)
		}

		sm := newTestSM()
		n := start(t, testConfig(t, dir), sm)
		got, _, _ := sm.state()
		have := map[uint64]string{}
		for _, e := range got {
			have[e.Index] = e.Data
		}
		for index, data := range acked {
			if have[index] != data {
				t.Fatalf("round %d: acknowledged entry %d %q is %q after kill -9 and restart", round, index, data, have[index])
			}
		}
		n.Stop()
	}
}
