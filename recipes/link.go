package recipes

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
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
// expose, and the zxid of every reply (see zxidSeen).
type wire struct {
	ctx    context.Context // ends when the link closes, aborting a dial
	cancel context.CancelFunc
	zxid   *zxidSeen // the Client's, shared by all its links

	mu        sync.Mutex
	closed    bool
	cur       net.Conn
	dials     int
	sessionID int64
	timeout   time.Duration
}

func newWire(zxid *zxidSeen) *wire {
	ctx, cancel := context.WithCancel(context.Background())
	return &wire{ctx: ctx, cancel: cancel, zxid: zxid}
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
	w.dials++
	s := &sniffConn{Conn: conn, w: w}
	if w.dials > 1 {
		s.gate = newReplyGate()
	}
	w.cur = s
	return w.cur, nil
}

// setWatchesGrace bounds how long a reconnection holds back replies waiting
// for go-zk's setWatches request; only a go-zk with no watches to restore
// sends none, and then it reads no zxid that a reply could race with.
const setWatchesGrace = 50 * time.Millisecond

// replyGate works around a data race in go-zk v1.0.4 (go-zookeeper/zk
// PR #35): on a reconnection, its loop reads Conn.lastZxid to build the
// setWatches request while its receive loop may already be writing it
// for the replies of queued requests. Holding every reply back until go-zk
// writes its setWatches request, which it builds after that read, orders
// the read before any write.
type replyGate struct {
	open chan struct{}
	once sync.Once
}

func newReplyGate() *replyGate {
	g := &replyGate{open: make(chan struct{})}
	time.AfterFunc(setWatchesGrace, g.release)
	return g
}

func (g *replyGate) release() { g.once.Do(func() { close(g.open) }) }

// opSetWatches is the setWatches opcode; a request frame is length, xid,
// opcode.
const opSetWatches = 101

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

// zxidSeen is the largest zxid in any reply the Client has read. Every zxid
// a server puts in a reply header belongs to a transaction it had already
// applied when it sent the reply (the transaction's own for a write, the
// last applied one for a read or ping; ZooKeeper sends -1 in watch
// notifications, which max ignores). So a transaction that a request read
// later caused has a larger zxid than the value read before sending it.
// zxids are global to the ensemble, so one value serves every connection.
type zxidSeen struct{ v atomic.Int64 }

func (z *zxidSeen) load() int64 { return z.v.Load() }

func (z *zxidSeen) see(zxid int64) {
	for {
		cur := z.v.Load()
		if zxid <= cur || z.v.CompareAndSwap(cur, zxid) {
			return
		}
	}
}

// frameHead is the part of a frame sniffConn looks at: the 4-byte length,
// then 16 bytes of body, which are a reply header (xid int32, zxid int64,
// err int32) or, in the connect response, protocolVersion int32, timeOut
// int32 (ms), sessionId int64.
const frameHead = 20

// sniffConn follows the frames go-zk reads, byte stream in, without
// buffering them: it keeps the head of the current frame and skips the rest.
type sniffConn struct {
	net.Conn
	w         *wire
	gate      *replyGate // nil on a Client's first connection
	handshook bool       // the connect response has been read
	head      [frameHead]byte
	have      int // bytes of head filled
	skip      int // bytes of the current frame's body past its head still to come
}

func (s *sniffConn) Read(p []byte) (int, error) {
	if s.gate != nil && s.handshook && s.skip == 0 {
		<-s.gate.open
	}
	n, err := s.Conn.Read(p)
	s.follow(p[:n])
	return n, err
}

// Write opens the reply gate when go-zk sends its setWatches request (it
// writes each request with one Write).
func (s *sniffConn) Write(p []byte) (int, error) {
	if s.gate != nil && len(p) >= 12 && int32(binary.BigEndian.Uint32(p[8:12])) == opSetWatches {
		s.gate.release()
	}
	return s.Conn.Write(p)
}

func (s *sniffConn) follow(b []byte) {
	for len(b) > 0 {
		if s.skip > 0 {
			k := min(s.skip, len(b))
			s.skip -= k
			b = b[k:]
			continue
		}
		k := copy(s.head[s.have:s.headLen()], b)
		s.have += k
		b = b[k:]
		if s.have < s.headLen() {
			continue
		}
		s.frame()
		s.skip = s.bodyLen() - (s.have - 4)
		s.have = 0
	}
}

// headLen is how much of the current frame's head to collect: its length,
// then as much of the body as frameHead covers.
func (s *sniffConn) headLen() int {
	if s.have < 4 {
		return 4
	}
	return 4 + min(s.bodyLen(), frameHead-4)
}

func (s *sniffConn) bodyLen() int { return int(binary.BigEndian.Uint32(s.head[:4])) }

// frame takes what it needs from a frame head; a frame too short to carry a
// full header (which no server sends) is passed over.
func (s *sniffConn) frame() {
	if s.have < frameHead {
		s.handshook = true
		return
	}
	if !s.handshook {
		s.handshook = true
		s.w.mu.Lock()
		s.w.timeout = time.Duration(binary.BigEndian.Uint32(s.head[8:12])) * time.Millisecond
		s.w.sessionID = int64(binary.BigEndian.Uint64(s.head[12:20]))
		s.w.mu.Unlock()
		return
	}
	s.w.zxid.see(int64(binary.BigEndian.Uint64(s.head[8:16])))
}
