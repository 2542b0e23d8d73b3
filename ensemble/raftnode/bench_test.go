package raftnode

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"
)

// ackSM closes a waiter's channel when the entry carrying its id applies,
// the point at which a server would answer its client.
type ackSM struct {
	mu      sync.Mutex
	waiters map[uint64]chan struct{}
}

func (s *ackSM) Apply(_ uint64, data []byte) {
	id := binary.BigEndian.Uint64(data)
	s.mu.Lock()
	if ch, ok := s.waiters[id]; ok {
		close(ch)
		delete(s.waiters, id)
	}
	s.mu.Unlock()
}

func (s *ackSM) Snapshot() Frozen             { return Encoded(func() ([]byte, error) { return nil, nil }) }
func (s *ackSM) Restore([]byte, uint64) error { return nil }

func (s *ackSM) expect(id uint64) <-chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiters[id] = ch
	s.mu.Unlock()
	return ch
}

// BenchmarkPropose measures proposals that wait for their own apply, one
// proposer at a time and many at once. Every apply needs an fsync first, so
// the parallel rate exceeding the sequential one is group commit at work.
func BenchmarkPropose(b *testing.B) {
	run := func(b *testing.B, parallel bool) {
		cfg := testConfig(b, b.TempDir())
		cfg.Logger = zap.NewNop()
		sm := &ackSM{waiters: map[uint64]chan struct{}{}}
		n, err := Start(cfg, sm)
		if err != nil {
			b.Fatal(err)
		}
		defer n.Stop()
		var ids atomic.Uint64
		proposeAndWait := func() {
			id := ids.Add(1)
			data := binary.BigEndian.AppendUint64(make([]byte, 0, 128), id)
			data = data[:128] // a small znode create
			done := sm.expect(id)
			if err := n.Propose(context.Background(), data, nil); err != nil {
				b.Error(err)
				return
			}
			<-done
		}
		b.ResetTimer()
		if parallel {
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					proposeAndWait()
				}
			})
		} else {
			for b.Loop() {
				proposeAndWait()
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	}
	b.Run("sequential", func(b *testing.B) { run(b, false) })
	b.Run("parallel", func(b *testing.B) { run(b, true) })
}
