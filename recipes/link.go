package recipes

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
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
	// taps, when set, are the Client's tapped creates (see createTaps).
	taps *createTaps
	// maxReply bounds a reply's body in bytes; 0 means no bound.
	maxReply int
	// tls, when set, makes every connection a TLS client with it.
	tls *tls.Config

	mu        sync.Mutex
	closed    bool
	cur       net.Conn
	dials     int
	sessionID int64
	timeout   time.Duration
}

func newWire(zxid *zxidSeen, maxReply int) *wire {
	ctx, cancel := context.WithCancel(context.Background())
	return &wire{ctx: ctx, cancel: cancel, zxid: zxid, maxReply: max(maxReply, 0)}
}

func (w *wire) dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(w.ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if w.tls != nil {
		// TLS goes under the sniffer, which reads the plain stream.
		if conn, err = w.handshake(conn, addr, timeout); err != nil {
			return nil, err
		}
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

// handshake makes conn a TLS client connection to addr and completes the
// handshake within timeout (go-zk's dial timeout), or before the link
// closes.
func (w *wire) handshake(conn net.Conn, addr string, timeout time.Duration) (net.Conn, error) {
	cfg := w.tls
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	tc := tls.Client(conn, cfg)
	ctx, cancel := context.WithTimeout(w.ctx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("recipes: TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
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

// sniffConn reads frames ahead of go-zk, one head at a time, and hands them
// on unchanged, except a reply longer than the wire's maxReply: it skips
// that one's body and hands on the reply header alone with codeTooLarge in
// it, so that its request fails with ErrReplyTooLarge and the connection
// stays up. (go-zk's own bound, WithMaxBufferSize, drops the connection,
// and the retried request then drops it again, for ever.) It also sends a
// create of a tapped path as create2, and reads that reply whole for its
// Stat (see createTaps).
type sniffConn struct {
	net.Conn
	w         *wire
	gate      *replyGate // nil on a Client's first connection
	handshook bool       // the connect response has been read
	head      [frameHead]byte
	pending   []byte // the part of the frame read ahead that go-zk has still to read
	skip      int    // bytes of the current frame's body past its head still to come

	// create2 maps the xid of each create sent as create2 to its tap,
	// until its reply comes; Write and Read run in different goroutines.
	mu      sync.Mutex
	create2 map[int32]*createTap
}

func (s *sniffConn) Read(p []byte) (int, error) {
	if len(s.pending) == 0 && s.skip == 0 {
		if s.gate != nil && s.handshook {
			<-s.gate.open
		}
		if err := s.readHead(); err != nil {
			return 0, err
		}
	}
	if len(s.pending) > 0 {
		n := copy(p, s.pending)
		s.pending = s.pending[n:]
		return n, nil
	}
	n, err := s.Conn.Read(p[:min(len(p), s.skip)])
	s.skip -= n
	return n, err
}

// Write opens the reply gate when go-zk sends its setWatches request, and
// sends a create of a tapped path as create2. go-zk writes each request
// with one Write.
func (s *sniffConn) Write(p []byte) (int, error) {
	if len(p) < 12 {
		return s.Conn.Write(p)
	}
	switch int32(binary.BigEndian.Uint32(p[8:12])) {
	case opSetWatches:
		if s.gate != nil {
			s.gate.release()
		}
	case opCreate:
		if q, tp := s.asCreate2(p); q != nil {
			n, err := s.Conn.Write(q)
			if err == nil {
				tp.markSent()
			}
			return n, err
		}
	}
	return s.Conn.Write(p)
}

// asCreate2 returns the create request p as a create2 request, and its
// tap, if its path is tapped, noting its xid; nil otherwise. A request
// frame is length, xid, opcode, then for a create the path (int32 length,
// bytes).
func (s *sniffConn) asCreate2(p []byte) ([]byte, *createTap) {
	if s.w.taps == nil || len(p) < 16 {
		return nil, nil
	}
	n := int(int32(binary.BigEndian.Uint32(p[12:16])))
	if n < 0 || 16+n > len(p) {
		return nil, nil
	}
	tp := s.w.taps.lookup(p[16 : 16+n])
	if tp == nil {
		return nil, nil
	}
	s.mu.Lock()
	if s.create2 == nil {
		s.create2 = map[int32]*createTap{}
	}
	s.create2[int32(binary.BigEndian.Uint32(p[4:8]))] = tp
	s.mu.Unlock()
	// Write must not change p, even for a moment.
	q := slices.Clone(p)
	binary.BigEndian.PutUint32(q[8:12], opCreate2)
	return q, tp
}

// readHead reads the next frame's length and as much of its body as
// frameHead covers, and takes what it needs from them.
func (s *sniffConn) readHead() error {
	if _, err := io.ReadFull(s.Conn, s.head[:4]); err != nil {
		return err
	}
	body := int(binary.BigEndian.Uint32(s.head[:4]))
	have := 4 + min(body, frameHead-4)
	if _, err := io.ReadFull(s.Conn, s.head[4:have]); err != nil {
		return err
	}
	s.pending, s.skip = s.head[:have], body-(have-4)
	switch {
	case have < frameHead: // too short for any header; no server sends it
		s.handshook = true
	case !s.handshook:
		s.handshook = true
		s.w.mu.Lock()
		s.w.timeout = time.Duration(binary.BigEndian.Uint32(s.head[8:12])) * time.Millisecond
		s.w.sessionID = int64(binary.BigEndian.Uint64(s.head[12:20]))
		s.w.mu.Unlock()
	default:
		s.w.zxid.see(int64(binary.BigEndian.Uint64(s.head[8:16])))
		tp := s.takeCreate2(int32(binary.BigEndian.Uint32(s.head[4:8])))
		if s.w.maxReply > 0 && body > s.w.maxReply {
			return s.dropBody()
		}
		if tp != nil && binary.BigEndian.Uint32(s.head[16:20]) == 0 {
			return s.readStat(tp)
		}
	}
	return nil
}

// takeCreate2 returns the tap of the create sent as create2 with xid, if
// there is one, and forgets it.
func (s *sniffConn) takeCreate2(xid int32) *createTap {
	s.mu.Lock()
	defer s.mu.Unlock()
	tp := s.create2[xid]
	delete(s.create2, xid)
	return tp
}

// readStat reads the rest of a create2 reply, hands the whole reply on to
// go-zk, which reads the path and ignores the Stat after it, and records
// the Stat with tp. The body after the header is the node's
// path (int32 length, bytes) and its Stat.
func (s *sniffConn) readStat(tp *createTap) error {
	frame := make([]byte, len(s.pending)+s.skip)
	n := copy(frame, s.pending)
	if _, err := io.ReadFull(s.Conn, frame[n:]); err != nil {
		return err
	}
	s.pending, s.skip = frame, 0
	rest := frame[frameHead:]
	if len(rest) < 4 {
		return nil
	}
	l := int(int32(binary.BigEndian.Uint32(rest)))
	if l < 0 || 4+l+statLen > len(rest) {
		return nil
	}
	tp.record(string(rest[4:4+l]), decodeStat(rest[4+l:]))
	return nil
}

// codeTooLarge is the error code sniffConn puts in a reply whose body it
// dropped. No ZooKeeper server sends it, so go-zk reports it as an unknown
// code, which replyErr turns into ErrReplyTooLarge.
const codeTooLarge zk.ErrCode = -1000

var tooLargeText = fmt.Sprintf("unknown error: %v", codeTooLarge)

// serverTooLargeText is how go-zk reports MARSHALLINGERROR, which a zookit
// server answers to a read whose reply would exceed its own jute.maxbuffer.
var serverTooLargeText = fmt.Sprintf("unknown error: %v", zk.ErrCode(-5))

// replyErr is err, or ErrReplyTooLarge for a reply sniffConn dropped or
// the server refused for its size.
func replyErr(err error) error {
	if err != nil && (err.Error() == tooLargeText || err.Error() == serverTooLargeText) {
		return ErrReplyTooLarge
	}
	return err
}

// dropBody turns the current reply into its header with codeTooLarge.
func (s *sniffConn) dropBody() error {
	if _, err := io.CopyN(io.Discard, s.Conn, int64(s.skip)); err != nil {
		return err
	}
	binary.BigEndian.PutUint32(s.head[:4], frameHead-4)
	code := int32(codeTooLarge)
	binary.BigEndian.PutUint32(s.head[16:20], uint32(code))
	s.skip = 0
	return nil
}

// Creates that return the node's Stat.
//
// go-zk's Create sends create (opcode 1), whose reply is the node's path
// alone. create2 (15) takes the same request, and its reply is the path
// followed by the node's Stat, which go-zk, reading only the path, leaves
// unread. So sniffConn sends a create of a tapped path as create2 and reads
// the Stat from its reply: the czxid and owner of a node just made, without
// a second round trip to read them (ZooKeeper 3.5 and later; containers,
// which protected creates make parents of, need 3.5 too).
const (
	opCreate  = 1
	opCreate2 = 15
	// statLen is the size of a Stat on the wire.
	statLen = 68
)

// createTaps are a Client's tapped creates, shared by all its links.
type createTaps struct {
	mu   sync.Mutex
	taps map[string]*createTap // by tapped server path
}

// A createTap follows the creates of one server path, which must be its
// caller's alone, as a protected name is.
type createTap struct {
	taps *createTaps
	full string
	// stats holds the Stats of the nodes the creates made, by server path
	// (the sequential name, for instance); under taps.mu.
	stats map[string]zk.Stat
	// sent is closed once a create has been written to the server.
	sent     chan struct{}
	sentOnce sync.Once
}

// tap taps the creates of the server path full until end is called.
func (t *createTaps) tap(full string) *createTap {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.taps == nil {
		t.taps = map[string]*createTap{}
	}
	tp := &createTap{taps: t, full: full, stats: map[string]zk.Stat{}, sent: make(chan struct{})}
	t.taps[full] = tp
	return tp
}

// lookup returns the tap of the server path full, or nil.
func (t *createTaps) lookup(full []byte) *createTap {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.taps[string(full)]
}

func (tp *createTap) end() {
	tp.taps.mu.Lock()
	defer tp.taps.mu.Unlock()
	delete(tp.taps.taps, tp.full)
}

// stat returns the Stat of the node at server path node, if a create of
// the tap made it.
func (tp *createTap) stat(node string) *zk.Stat {
	tp.taps.mu.Lock()
	defer tp.taps.mu.Unlock()
	if st, ok := tp.stats[node]; ok {
		return &st
	}
	return nil
}

func (tp *createTap) record(node string, st zk.Stat) {
	tp.taps.mu.Lock()
	defer tp.taps.mu.Unlock()
	tp.stats[node] = st
}

func (tp *createTap) markSent() { tp.sentOnce.Do(func() { close(tp.sent) }) }

// decodeStat decodes a Stat from the first statLen bytes of b.
func decodeStat(b []byte) zk.Stat {
	be := binary.BigEndian
	return zk.Stat{
		Czxid:          int64(be.Uint64(b[0:])),
		Mzxid:          int64(be.Uint64(b[8:])),
		Ctime:          int64(be.Uint64(b[16:])),
		Mtime:          int64(be.Uint64(b[24:])),
		Version:        int32(be.Uint32(b[32:])),
		Cversion:       int32(be.Uint32(b[36:])),
		Aversion:       int32(be.Uint32(b[40:])),
		EphemeralOwner: int64(be.Uint64(b[44:])),
		DataLength:     int32(be.Uint32(b[52:])),
		NumChildren:    int32(be.Uint32(b[56:])),
		Pzxid:          int64(be.Uint64(b[60:])),
	}
}
