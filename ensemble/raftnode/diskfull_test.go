package raftnode_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/raftnode"
)

// listSM keeps every applied entry; its snapshot is the whole list.
type listSM struct {
	mu   sync.Mutex
	data []string
}

func (s *listSM) Apply(_ uint64, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = append(s.data, string(data))
}

func (s *listSM) Snapshot() raftnode.Frozen {
	s.mu.Lock()
	data := slices.Clone(s.data)
	s.mu.Unlock()
	return raftnode.Encoded(func() ([]byte, error) { return json.Marshal(data) })
}

func (s *listSM) Restore(data []byte, _ uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return json.Unmarshal(data, &s.data)
}

func (s *listSM) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.data)
}

// A node whose WAL meets a full disk stops with the error instead of
// going on, and once space is freed a restart recovers every entry it
// applied (and so acknowledged) before the failure. The WAL is etcd's own,
// on a real tmpfs: its segments are only 16 KiB in these tests, so a few
// entries outgrow the preallocated space and need room the disk lacks.
func TestFullDiskStopsNodeAndRestartRecovers(t *testing.T) {
	disk := ensembletest.SmallDisk(t, 1<<20)
	cfg := raftnode.Config{
		ID:           1,
		WALDir:       filepath.Join(disk.Dir, "wal"),
		SnapDir:      filepath.Join(disk.Dir, "snap"),
		TickInterval: 10 * time.Millisecond,
		Logger:       zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)),
	}
	sm := &listSM{}
	n, err := raftnode.Start(cfg, sm)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer n.Stop()
	disk.Fill()
	// A wait that never ends must fail the test, not hang the package.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var applied int
	for i := 0; ; i++ {
		if i == 1000 {
			t.Fatal("1000 entries of 2 KiB written to a full 1 MiB disk")
		}
		// A new buffer each time: the node keeps what it is given.
		entry := make([]byte, 2048)
		copy(entry, fmt.Sprintf("entry-%04d", i))
		next := n.Applied() + 1
		if err := n.Propose(ctx, entry, nil); err != nil {
			if !errors.Is(err, raftnode.ErrStopped) {
				t.Fatalf("Propose: %v", err)
			}
			break
		}
		if err := n.WaitApplied(ctx, next); err != nil {
			if ctx.Err() != nil {
				t.Fatalf("entry %d not applied nor the node stopped within 30s", i)
			}
			break
		}
		applied = len(sm.list())
	}
	select {
	case <-n.Done():
	case <-ctx.Done():
		t.Fatal("the node did not stop within 30s of the disk filling")
	}
	if err := n.Err(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Err after the disk filled = %v, want ENOSPC", err)
	}
	if n.Leader() != 0 || n.IsLeader() {
		t.Fatalf("a failed node still reports leader %d (leading %v)", n.Leader(), n.IsLeader())
	}
	if applied == 0 {
		t.Fatal("no entry applied before the disk filled")
	}
	before := sm.list()[:applied]

	disk.Free()
	sm = &listSM{}
	n, err = raftnode.Start(cfg, sm)
	if err != nil {
		t.Fatalf("restart after freeing the disk: %v", err)
	}
	defer n.Stop()
	if got := sm.list(); len(got) < applied || !slices.Equal(got[:applied], before) {
		t.Fatalf("after restart %d entries, want the %d applied before the failure first", len(got), applied)
	}
	if err := n.Propose(ctx, []byte("after"), nil); err != nil {
		t.Fatalf("Propose after restart: %v", err)
	}
}
