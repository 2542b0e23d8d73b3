package queuetest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Link is a TCP relay to a server that can be cut, as a killed process's
// connections are: everything it carries is dropped at once and new
// connections are refused, so the server sees no session close and
// expires the session only after its timeout.
type Link struct {
	ln     net.Listener
	target string
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
	l.wg.Add(1)
	go l.accept()
	t.Cleanup(func() { l.Cut(); ln.Close(); l.wg.Wait() })
	return l
}

// Addr is the address to dial instead of the server's.
func (l *Link) Addr() string { return l.ln.Addr().String() }

// Cut drops every relayed connection and refuses new ones.
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
		go func() { defer l.wg.Done(); io.Copy(out, in); out.Close() }()
	}
}
