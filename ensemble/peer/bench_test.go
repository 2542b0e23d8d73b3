package peer

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// counter is a Handler that only counts raft messages, and wakes the
// sender every `every` of them.
type counter struct {
	n      atomic.Int64
	every  int64
	notify chan struct{}
}

func (c *counter) Step(context.Context, *raftpb.Message) error {
	if c.n.Add(1)%c.every == 0 {
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
	return nil
}

func (c *counter) Control(uint64, byte, []byte) {}

// dropCounter counts the messages a transport reports undelivered.
type dropCounter struct{ n atomic.Int64 }

func (d *dropCounter) ReportUnreachable(uint64) { d.n.Add(1) }

func (d *dropCounter) ReportSnapshot(uint64, raft.SnapshotStatus) {}

// BenchmarkThroughput sends MsgApp messages carrying one entry of each
// size from one transport to another over loopback, in plaintext and over
// mutual TLS, keeping at most about 4 MiB (and 1024 messages) in flight
// so that none is dropped. It reports the payload bytes per second and
// messages per second.
func BenchmarkThroughput(b *testing.B) {
	ca := newCA(b, "quorum CA")
	for _, secure := range []bool{false, true} {
		for _, size := range []int{0, 1 << 10, 64 << 10} {
			name := fmt.Sprintf("plain/%dB", size)
			if secure {
				name = fmt.Sprintf("tls/%dB", size)
			}
			b.Run(name, func(b *testing.B) {
				addrs := map[uint64]string{1: freeAddr(b), 2: freeAddr(b)}
				cfg := func(id uint64) Config {
					c := Config{ID: id, Listen: addrs[id], Peers: map[uint64]string{3 - id: addrs[3-id]}}
					if secure {
						c.TLS = tlsConfig(ca.member(b, id), ca)
					}
					return c
				}
				window := int64(min(1024, (4<<20)/(size+64)))
				recv := &counter{every: window / 4, notify: make(chan struct{}, 1)}
				dst, err := New(cfg(2), recv)
				if err != nil {
					b.Fatal(err)
				}
				defer dst.Close()
				src, err := New(cfg(1), &counter{every: 1, notify: make(chan struct{}, 1)})
				if err != nil {
					b.Fatal(err)
				}
				defer src.Close()
				drops := &dropCounter{}
				src.SetReporter(drops)

				msg := app(1, 2, 1)
				msg.Entries = []*raftpb.Entry{{Data: bytes.Repeat([]byte("x"), size)}}
				batch := []*raftpb.Message{msg}
				// Connect (and handshake) before timing.
				src.Send(batch)
				waitCount(b, recv, 1)
				recv.n.Store(0)

				b.SetBytes(int64(size))
				b.ResetTimer()
				for sent := int64(1); sent <= int64(b.N); sent++ {
					for sent-recv.n.Load() > window {
						select {
						case <-recv.notify:
						case <-time.After(time.Millisecond):
						}
					}
					src.Send(batch)
				}
				waitCount(b, recv, int64(b.N))
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
				if n := drops.n.Load(); n != 0 {
					b.Fatalf("%d messages dropped", n)
				}
			})
		}
	}
}

func waitCount(b *testing.B, c *counter, n int64) {
	deadline := time.Now().Add(waitLimit)
	for c.n.Load() < n { // notify may not come for the last few
		if time.Now().After(deadline) {
			b.Fatalf("received %d of %d messages", c.n.Load(), n)
		}
		select {
		case <-c.notify:
		case <-time.After(100 * time.Microsecond):
		}
	}
}
