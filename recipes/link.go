package recipes

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// errLinkClosed refuses a dial on behalf of a connection being closed.
var errLinkClosed = errors.New("recipes: connection closed")

// link is one go-zk connection: a *zk.Conn, which may dial many TCP
// connections over its life, and what it takes to stop all of it.
type link struct {
	raw *zk.Conn
	// events is closed by go-zk once its connection loop has ended, which
	// is after the loop's reader and writer have ended.
	events <-chan zk.Event
	wire   *wire
}

// close ends the session and waits until go-zk has stopped. go-zk's Close
// only signals its loop, and the loop can sit for many seconds in a dial or
// in reading a handshake reply; closing the TCP connection and refusing
// further dials makes it notice at once.
func (l *link) close() {
	// First, so that the closeSession request can still go out and the
	// session's ephemeral nodes go at once; go-zk waits at most a few
	// seconds for the reply.
	l.raw.Close()
	l.wire.close()
	for range l.events {
	}
}

// wire dials the TCP connections of one link, remembers the open one so that
// it can be closed from outside go-zk, and reads along what go-zk reads: the
// connect response for the session id and timeout, which go-zk does not
// expose.
type wire struct {
	ctx    context.Context // ends when the link closes, aborting a dial
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	cur       net.Conn
	sessionID int64
	timeout   time.Duration
}

func newWire() *wire {
	ctx, cancel := context.WithCancel(context.Background())
	return &wire{ctx: ctx, cancel: cancel}
}

func (w *wire) dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(w.ctx, network, addr)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		conn.Close()
		return nil, errLinkClosed
	}
	// go-zk dials only after it is done with the previous connection, which
	// it does not always close (not after an expired handshake).
	if w.cur != nil {
		w.cur.Close()
	}
	w.cur = &sniffConn{Conn: conn, w: w}
	return w.cur, nil
}

func (w *wire) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	w.cancel()
	if w.cur != nil {
		w.cur.Close()
	}
}

func (w *wire) result() (int64, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sessionID, w.timeout
}

// sniffConn copies the first frame read from a connection, which is the
// connect response: length, protocolVersion, timeOut (ms), sessionId, ...
type sniffConn struct {
	net.Conn
	w    *wire
	head []byte
	done bool
}

func (s *sniffConn) Read(p []byte) (int, error) {
	n, err := s.Conn.Read(p)
	if !s.done && n > 0 {
		s.head = append(s.head, p[:n]...)
		if len(s.head) >= 20 {
			s.done = true
			s.w.mu.Lock()
			s.w.timeout = time.Duration(binary.BigEndian.Uint32(s.head[8:12])) * time.Millisecond
			s.w.sessionID = int64(binary.BigEndian.Uint64(s.head[12:20]))
			s.w.mu.Unlock()
			s.head = nil
		}
	}
	return n, err
}
