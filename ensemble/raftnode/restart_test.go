package raftnode

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"go.etcd.io/etcd/server/v3/etcdserver/api/snap"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const fullScanLog = "scanning the whole WAL for the newest snapshot it vouches for"

// snapFiles lists the snapshot files in dir, oldest first, by term and index.
func snapFiles(t *testing.T, dir string) (names []string, terms, indexes []uint64) {
	t.Helper()
	names, err := namesWithSuffix(dir, ".snap")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		var term, index uint64
		if _, err := fmt.Sscanf(name, "%016x-%016x.snap", &term, &index); err != nil {
			t.Fatal(err)
		}
		terms, indexes = append(terms, term), append(indexes, index)
	}
	return names, terms, indexes
}

// restartObserved starts a node on cfg's storage with a fresh testSM and
// returns what it restored and the warnings it logged.
func restartObserved(t *testing.T, cfg Config) (*testSM, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.WarnLevel)
	cfg.Logger = zap.New(core)
	sm := newTestSM()
	start(t, cfg, sm)
	return sm, logs
}

// A start reads the WAL only from the segment holding the newest
// snapshot's index: segments before it may be unreadable.
func TestRestartReadsWALFromNewestSnapshotOnly(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SnapCount = 10
	sm := newTestSM()
	n := start(t, cfg, sm)
	proposeEach(t, n, sm, strings.Repeat("x", 200), 200)
	want, _, _ := sm.state()
	n.Stop()

	_, _, indexes := snapFiles(t, cfg.SnapDir)
	newest := indexes[len(indexes)-1]
	wals, err := namesWithSuffix(cfg.WALDir, ".wal")
	if err != nil {
		t.Fatal(err)
	}
	// A file is not needed if the next one starts at or before newest.
	corrupted := 0
	for i := 0; i+1 < len(wals); i++ {
		var seq, first uint64
		if _, err := fmt.Sscanf(wals[i+1], "%016x-%016x.wal", &seq, &first); err != nil {
			t.Fatal(err)
		}
		if first > newest {
			break
		}
		// Midway through a segment of 200-byte entries is entry data,
		// which fails the CRC.
		flipMiddleByte(t, filepath.Join(cfg.WALDir, wals[i]))
		corrupted++
	}
	if corrupted == 0 {
		t.Fatalf("no WAL file wholly before the snapshot at %d among %v", newest, wals)
	}
	if _, err := wal.ValidSnapshotEntries(zap.NewNop(), cfg.WALDir); err == nil {
		t.Fatalf("a full WAL scan reads %d garbled files without error; the test proves nothing", corrupted)
	}

	sm2, logs := restartObserved(t, cfg)
	got, restoredAt, _ := sm2.state()
	if !slices.Equal(got, want) || restoredAt != newest {
		t.Fatalf("after restart: %d entries restored at %d; want %d entries, restored at %d", len(got), restoredAt, len(want), newest)
	}
	if n := logs.FilterMessage(fullScanLog).Len(); n != 0 {
		t.Fatalf("the start fell back to a full WAL scan %d times", n)
	}
}

// The newest snapshot file is used only if the WAL vouches for it: a
// crash after writeSnapshot wrote the file but before its WAL record was
// synced leaves a file the WAL does not name, whose state must never be
// restored. Nor is a file that does not read back. Either way the start
// falls back to the newest snapshot the WAL vouches for, and replays the
// WAL from there to the same state.
func TestRestartSkipsUnusableNewestSnapshot(t *testing.T) {
	bogus, err := json.Marshal([]entry{{Index: 1, Data: "never committed"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		// damage spoils the snapshot directory; it returns the index the
		// start must restore from.
		damage func(t *testing.T, dir string, names []string, terms, indexes []uint64) uint64
	}{
		{"unvouched newer index", func(t *testing.T, dir string, _ []string, terms, indexes []uint64) uint64 {
			last := len(indexes) - 1
			saveSnap(t, dir, terms[last], indexes[last]+20, bogus)
			return indexes[last]
		}},
		{"unvouched term", func(t *testing.T, dir string, _ []string, terms, indexes []uint64) uint64 {
			last := len(indexes) - 1
			saveSnap(t, dir, terms[last]+1, indexes[last], bogus)
			return indexes[last]
		}},
		{"corrupt file", func(t *testing.T, dir string, names []string, _, indexes []uint64) uint64 {
			flipMiddleByte(t, filepath.Join(dir, names[len(names)-1]))
			return indexes[len(indexes)-2]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, t.TempDir())
			cfg.SnapCount = 10
			sm := newTestSM()
			n := start(t, cfg, sm)
			proposeEach(t, n, sm, "e", 35)
			want, _, _ := sm.state()
			n.Stop()

			names, terms, indexes := snapFiles(t, cfg.SnapDir)
			if len(indexes) < 3 {
				t.Fatalf("snapshots at %v; want the bootstrap one and at least two more", indexes)
			}
			from := tc.damage(t, cfg.SnapDir, names, terms, indexes)
			names, _, indexes = snapFiles(t, cfg.SnapDir)
			stale := names[slices.Index(indexes, from)+1:]
			if len(stale) == 0 {
				t.Fatalf("no snapshot file after the one at %d among %v", from, names)
			}

			sm2, logs := restartObserved(t, cfg)
			got, restoredAt, applies := sm2.state()
			if !slices.Equal(got, want) {
				t.Fatalf("after restart the state is\n%v\nwant\n%v", got, want)
			}
			if restoredAt != from || applies == 0 && want[len(want)-1].Index > from {
				t.Fatalf("restart restored the snapshot at %d and replayed %d entries; want it restored at %d", restoredAt, applies, from)
			}
			if n := logs.FilterMessage(fullScanLog).Len(); n != 1 {
				t.Fatalf("the start fell back to a full WAL scan %d times, want once", n)
			}
			// The files after the one restored from are gone, so that Purge
			// cannot keep them in its place.
			for _, name := range stale {
				if _, err := os.Stat(filepath.Join(cfg.SnapDir, name)); err == nil {
					t.Errorf("after restart the unusable snapshot file %s is still there", name)
				}
			}
		})
	}
}

func saveSnap(t *testing.T, dir string, term, index uint64, data []byte) {
	t.Helper()
	s := &raftpb.Snapshot{Data: data, Metadata: &raftpb.SnapshotMetadata{
		Index: new(index), Term: new(term), ConfState: &raftpb.ConfState{Voters: []uint64{1}},
	}}
	if err := snap.New(zap.NewNop(), dir).SaveSnap(s); err != nil {
		t.Fatal(err)
	}
}

func flipMiddleByte(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// dataWatchSM is a testSM that reports when the snapshot data it was
// restored from becomes garbage.
type dataWatchSM struct {
	*testSM
	freed chan struct{}
}

func (s dataWatchSM) Restore(data []byte, index uint64) error {
	runtime.AddCleanup(unsafe.SliceData(data), func(c chan struct{}) { close(c) }, s.freed)
	return s.testSM.Restore(data, index)
}

// Once restored, the snapshot data is not kept: it can be collected while
// the WAL after it is still being replayed.
func TestRestartDropsSnapshotDataBeforeReplay(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.SnapCount = 10
	sm := newTestSM()
	n := start(t, cfg, sm)
	proposeEach(t, n, sm, "e", 15)
	n.Stop()

	sm2 := dataWatchSM{newTestSM(), make(chan struct{})}
	var freedDuringReplay atomic.Bool
	sm2.onApply = func(uint64, []byte) {
		if freedDuringReplay.Load() {
			return
		}
		runtime.GC()
		select {
		case <-sm2.freed:
			freedDuringReplay.Store(true)
		case <-time.After(time.Second):
		}
	}
	start(t, cfg, sm2)
	if _, restoredAt, applies := sm2.state(); restoredAt <= bootstrapIndex || applies == 0 {
		t.Fatalf("restored at %d, then replayed %d entries; want both", restoredAt, applies)
	}
	if !freedDuringReplay.Load() {
		t.Fatal("the snapshot data was still live while the WAL was replayed")
	}
}
