package queuetest

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Link is a TCP relay to a server that can be cut, as a killed process's
// connections are (Cut), or that loses the reply to one create (LoseReply).
type Link struct {
	ln     net.Listener
	target string
	lose   atomic.Value // string: LoseReply's text; "" when disarmed
	lost   atomic.Int32
	mu     sync.Mutex
	conns  []net.Conn
	cut    bool
	wg     sync.WaitGroup
}

// NewLink starts a relay to addr on a free 127.0.0.1 port; it is closed
// when the test ends.
func NewLink(t testing.TB, addr string) *Link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Link{ln: ln, target: addr}
	l.lose.Store("")
	l.wg.Add(1)
	go l.accept()
	t.Cleanup(func() { l.Cut(); ln.Close(); l.wg.Wait() })
	return l
}

// Addr is the address to dial instead of the server's.
func (l *Link) Addr() string { return l.ln.Addr().String() }

// LoseReply makes the relay pass on the next create request whose bytes
// hold text, let the server apply it and then drop that connection before
// the reply reaches the client, which reconnects and retries.
func (l *Link) LoseReply(text string) { l.lose.Store(text) }

// Lost counts the replies LoseReply dropped.
func (l *Link) Lost() int { return int(l.lost.Load()) }

// Cut drops every relayed connection and refuses new ones, so the server
// sees no session close and expires the session only after its timeout.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = true
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

func (l *Link) accept() {
	defer l.wg.Done()
	for {
		in, err := l.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", l.target)
		if err != nil {
			in.Close()
			continue
		}
		l.mu.Lock()
		if l.cut {
			l.mu.Unlock()
			in.Close()
			out.Close()
			continue
		}
		l.conns = append(l.conns, in, out)
		l.mu.Unlock()
		l.wg.Add(2)
		go func() { defer l.wg.Done(); io.Copy(in, out); in.Close() }()
		go func() { defer l.wg.Done(); l.upstream(in, out); out.Close() }()
	}
}

// opCreate is the ZooKeeper opcode of a create request.
const opCreate = 1

// upstream copies the client's frames to the server, dropping the
// connection after a create LoseReply is armed for.
func (l *Link) upstream(in, out net.Conn) {
	for first := true; ; first = false {
		var size [4]byte
		if _, err := io.ReadFull(in, size[:]); err != nil {
			return
		}
		frame := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(in, frame); err != nil {
			return
		}
		if _, err := out.Write(append(size[:], frame...)); err != nil {
			return
		}
		// The first frame is the connect request, which has no opcode.
		text := l.lose.Load().(string)
		if !first && text != "" && len(frame) >= 8 && binary.BigEndian.Uint32(frame[4:8]) == opCreate &&
			bytes.Contains(frame, []byte(text)) && l.lose.CompareAndSwap(text, "") {
			// Closing the client's side first keeps the reply from it; the
			// server's side stays open while the server applies the create.
			in.Close()
			l.lost.Add(1)
			time.Sleep(200 * time.Millisecond)
			return
		}
	}
}
