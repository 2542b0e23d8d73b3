package peer

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// A connection that sends half a hello, or nothing, is closed once the
// hello deadline passes.
func TestHelloDeadline(t *testing.T) {
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
	a := start(t, 1, addrs, func(c *Config) { c.HelloTimeout = 200 * time.Millisecond })
	half := dial(t, a.tr.Addr().String())
	if _, err := half.Write(hello{from: 2, to: 1}.marshal()[:7]); err != nil {
		t.Fatal(err)
	}
	silent := dial(t, a.tr.Addr().String())
	began := time.Now()
	closedByServer(t, half)
	closedByServer(t, silent)
	if waited := time.Since(began); waited > DefaultHelloTimeout {
		t.Fatalf("closed after %v, want about 200ms", waited)
	}
}

// A raft frame above Config.MaxRaftFrame is refused before its payload is
// read, and the sender refuses to send one.
func TestMaxRaftFrame(t *testing.T) {
	const limit = 1 << 10
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
	a := start(t, 1, addrs, func(c *Config) { c.MaxRaftFrame = limit })
	b := start(t, 2, addrs, func(c *Config) { c.MaxRaftFrame = limit })

	conn := dial(t, a.tr.Addr().String())
	msg := append(hello{from: 2, to: 1}.marshal(), frameHeader(KindRaft, limit+1)...)
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	closedByServer(t, conn)

	big := app(2, 1, 1)
	big.Entries = []*raftpb.Entry{{Data: bytes.Repeat([]byte("x"), limit)}}
	b.tr.Send([]*raftpb.Message{big, app(2, 1, 2)})
	a.h.await(t, func() bool { return len(a.h.events) == 1 }, nil)
	a.h.lock()
	defer a.h.mu.Unlock()
	if got := a.h.events[0].index; got != 2 {
		t.Fatalf("delivered index %d, want only the small message (2)", got)
	}
	b.rep.lock()
	defer b.rep.mu.Unlock()
	if n := b.rep.count(report{id: 1}); n == 0 {
		t.Fatal("the oversized message was not reported undelivered")
	}
}

// A flood of connections that never say hello is held to MaxPending (the
// oldest are refused), while a real peer still connects and delivers.
func TestConnectionFlood(t *testing.T) {
	const limit = 4
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
	a := start(t, 1, addrs, func(c *Config) {
		c.MaxPending, c.MaxPendingPerIP = limit*2, limit
		c.HelloTimeout = waitLimit // only the cap may close the flood
	})
	var flood []net.Conn
	for range 5 * limit {
		flood = append(flood, dial(t, a.tr.Addr().String()))
	}
	b := start(t, 2, addrs, nil)
	b.tr.Send([]*raftpb.Message{app(2, 1, 1)})
	a.h.await(t, func() bool { return len(a.h.events) == 1 }, nil)

	// The flood was refused but for its newest few; the real peer's
	// connection, pending for a moment, may have refused one more.
	for i, conn := range flood {
		conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err := conn.Read(make([]byte, 1))
		var ne net.Error
		open := errors.As(err, &ne) && ne.Timeout()
		if i < len(flood)-limit && open {
			t.Errorf("flood connection %d is still open", i)
		}
		if i == len(flood)-1 && !open {
			t.Errorf("the newest flood connection was refused (%v), the oldest should go first", err)
		}
	}
}

// A second connection claiming the same peer replaces the first.
func TestNewestConnectionWins(t *testing.T) {
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
	a := start(t, 1, addrs, nil)
	// Each connection delivers an entry after its hello: once the first's
	// entry is in, its connection is established, and the second comes
	// strictly after it.
	send := func(c net.Conn, index uint64) {
		t.Helper()
		frame := mustMarshal(t, app(2, 1, index))
		msg := append(hello{from: 2, to: 1}.marshal(), frameHeader(KindRaft, len(frame))...)
		if _, err := c.Write(append(msg, frame...)); err != nil {
			t.Fatal(err)
		}
		a.h.await(t, func() bool { return a.h.has(func(e event) bool { return e.index == index }) }, nil)
	}
	first := dial(t, a.tr.Addr().String())
	send(first, 6)
	second := dial(t, a.tr.Addr().String())
	send(second, 7)
	closedByServer(t, first)
}

func FuzzHello(f *testing.F) {
	f.Add(hello{from: 2, to: 1}.marshal())
	f.Add([]byte("ZKPT\x02"))
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := readHello(bytes.NewReader(b))
		if err != nil {
			return
		}
		if got := h.marshal(); !bytes.Equal(got, b[:helloLen]) {
			t.Fatalf("hello %+v marshals to %x, read from %x", h, got, b[:helloLen])
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	const maxRaft = 1 << 16
	f.Add(append(frameHeader(KindRaft, 3), "abc"...))
	f.Add(append(frameHeader(4, 0), frameHeader(KindRaft, 1)...))
	f.Add(frameHeader(KindRaft, maxRaft+1))
	f.Add(frameHeader(9, MaxControlFrame+1))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			kind, payload, err := readFrame(r, maxRaft)
			if err != nil {
				if !errors.Is(err, errMalformed) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(payload) > maxFrame(kind, maxRaft) {
				t.Fatalf("kind %d payload of %d bytes", kind, len(payload))
			}
			// What the transport would do with it must not panic either.
			if kind == KindRaft {
				var m raftpb.Message
				_ = proto.Unmarshal(payload, &m)
			}
		}
	})
}
