package server

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/sasl"
	"github.com/zookit/zookit/ensemble/tree"
)

// errRefused ends a connection whose handshake the server declined; the
// reason is logged where it is decided.
var errRefused = errors.New("handshake refused")

// conn is one client connection. A reader goroutine decodes requests in
// order; replies and watch events are appended to out under outMu and a
// writer goroutine sends them, so events queued by an apply precede any
// reply queued after it.
type conn struct {
	s      *Server
	nc     net.Conn
	remote string // "/ip:port" as ZooKeeper prints it
	ip     string
	est    time.Time

	session tree.Session // set once by the handshake
	auth    []proto.ID   // reader goroutine only
	// compactAuth is tree.CompactAuth(auth), made when auth had
	// compactOf identities: what a write's txn carries.
	compactAuth []proto.ID
	compactOf   int
	// authNow is auth for the tree's watch delivery, which runs on the
	// apply goroutine.
	authNow atomic.Pointer[[]proto.ID]
	// readOnly: admitted in read-only mode (see readonly.go).
	readOnly atomic.Bool
	// saslServer is the connection's SASL exchange, from its first SASL
	// request on; reader goroutine only.
	saslServer *sasl.DigestMD5

	outMu   sync.Mutex
	out     []byte
	pending []time.Time   // proposal times of writes not yet answered, oldest first
	idle    chan struct{} // closed when pending drops to zero
	drain   bool          // close once out is flushed
	unsent  int           // bytes queued and not yet written: out and the writer's buffer
	gone    bool          // closed: pending no longer counts in Server.inflight
	// resume wakes a reader the limits stopped (see throttle) when a write
	// is answered or queued bytes are written.
	resume chan struct{}

	wake       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once
	ctx        context.Context // ends at close; bounds what the reader waits for
	cancel     context.CancelFunc
	readerDone chan struct{} // the reader has returned and will propose nothing more

	recved, sent atomic.Int64
	lat          latency
	lastOp       atomic.Value // string
	lastCxid     atomic.Int64
	lastZxid     atomic.Int64
	lastResp     atomic.Int64 // ms since epoch
}

func (s *Server) accept(nc net.Conn) {
	host, _, _ := net.SplitHostPort(nc.RemoteAddr().String())
	c := &conn{
		s:          s,
		nc:         nc,
		remote:     "/" + nc.RemoteAddr().String(),
		ip:         host,
		est:        time.Now(),
		wake:       make(chan struct{}, 1),
		resume:     make(chan struct{}, 1),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
		auth:       []proto.ID{{Scheme: "ip", ID: host}},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.lastOp.Store("NA")
	c.lastCxid.Store(-1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.refuse(nc)
		return
	}
	if max := s.cfg.MaxClientCnxns; max > 0 && s.perIP[host] >= max {
		s.mu.Unlock()
		s.stats.rejected.Add(1)
		s.log.Warn("too many connections", zap.String("ip", host), zap.Int("max", max))
		s.refuse(nc)
		return
	}
	if max := s.limits.maxCnxns; max > 0 && len(s.conns) >= max {
		s.mu.Unlock()
		s.stats.rejected.Add(1)
		s.log.Warn("too many connections in all (maxCnxns)", zap.Int("max", max))
		s.refuse(nc)
		return
	}
	s.metrics.connRequests.Inc()
	s.perIP[host]++
	s.conns[c] = struct{}{}
	s.wg.Add(2)
	s.mu.Unlock()
	go c.writeLoop()
	go c.readLoop()
}

// close tears the connection down at once.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.cancel()
		s := c.s
		// Writes still in flight no longer hold back other connections;
		// their answers, if they come, find the connection gone.
		c.outMu.Lock()
		s.inflight.Add(-int64(len(c.pending)))
		c.pending, c.gone = nil, true
		c.outMu.Unlock()
		// The address's place is free before the client sees the close,
		// so that it can connect again at once.
		s.mu.Lock()
		delete(s.conns, c)
		if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
			delete(s.perIP, c.ip)
		}
		s.mu.Unlock()
		s.closeConn(c.nc)
		s.tree.RemoveWatcher(c)
	})
}

// closeAfterFlush lets queued replies reach the client, then closes.
func (c *conn) closeAfterFlush() {
	c.outMu.Lock()
	c.drain = true
	c.outMu.Unlock()
	c.kick()
}

func (c *conn) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// send queues one frame.
func (c *conn) send(recs ...proto.Record) {
	c.outMu.Lock()
	if c.gone {
		// Closed, or closing for what it was sent: nobody will read it.
		c.outMu.Unlock()
		return
	}
	n := len(c.out)
	c.out = proto.AppendFrame(c.out, recs...)
	size := len(c.out) - n
	c.unsent += size
	over := c.unsent > c.s.limits.outboundClose
	if over {
		// Nothing more is queued: the connection is going.
		c.gone = true
	}
	// Counted before the writer can take the frame, so the peer never
	// reads a reply that stat does not count yet.
	c.sent.Add(1)
	c.s.stats.sent.Add(1)
	c.s.metrics.responseBytes.Add(int64(size))
	c.s.metrics.responseSize.Add(size)
	c.outMu.Unlock()
	if over {
		c.s.stats.outboundClosed.Add(1)
		c.s.log.Warn("closing a connection that does not read what is sent to it",
			zap.String("remote", c.remote), zap.Int("maxOutboundBytes", c.s.limits.outboundClose))
		// Not inline: send runs under the tree's lock (watch events,
		// read replies), and close removes the connection's watches.
		go c.close()
		return
	}
	c.kick()
}

// queueRaw queues bytes that are not a frame (a four-letter word's answer).
func (c *conn) queueRaw(b []byte) {
	c.outMu.Lock()
	c.out = append(c.out, b...)
	c.unsent += len(b)
	c.outMu.Unlock()
}

// signal wakes the reader if the limits stopped it.
func (c *conn) signal() {
	select {
	case c.resume <- struct{}{}:
	default:
	}
}

// throttle waits, before the next request is read, while this connection
// must not be read (ZooKeeper's disableRecv): it has as many writes in
// flight as one connection may; or the server has globalOutstandingLimit
// writes in flight and this connection at least one (so every connection
// may always have one); or more than jute.maxbuffer of replies wait for a
// client that does not read them. The client's requests wait in its socket
// and it is read again once its writes are answered or it reads; no
// request is refused and the connection stays. False when the connection
// closed meanwhile.
func (c *conn) throttle() bool {
	s, lim := c.s, &c.s.limits
	counted := false
	for {
		c.outMu.Lock()
		pending, unsent := len(c.pending), c.unsent
		c.outMu.Unlock()
		writes := pending >= lim.connOutstanding || pending > 0 && s.inflight.Load() >= int64(lim.globalOutstanding)
		replies := unsent > lim.outboundPause
		if !writes && !replies {
			return true
		}
		if !replies {
			// The server, not the client, holds the connection back (its
			// pings wait unread too): keep its session alive meanwhile.
			// A write that never answers closes it (dropStuckClients).
			s.sessions.alive(c.session.ID)
		}
		if !counted {
			counted = true
			s.stats.throttled.Add(1)
		}
		// Another connection's answers lower the global count without
		// waking this reader; its own writes, which it waits for too,
		// always answer or fail, but poll so that it does not wait for
		// more than it must.
		select {
		case <-c.resume:
		case <-time.After(10 * time.Millisecond):
		case <-c.done:
			return false
		}
	}
}

// Notify implements tree.Watcher. It runs under the tree lock and only
// queues.
func (c *conn) Notify(ev proto.WatcherEvent, zxid int64) {
	// The header, the event's type and state, and its path string;
	// counted first, as a reply's figures are.
	c.s.metrics.watchBytes.Add(int64(replyHeaderSize + 4 + 4 + 4 + len(ev.Path)))
	c.send(&proto.ReplyHeader{Xid: proto.XidNotification, Zxid: zxid}, &ev)
}

// sessionless passes on the error that ended a connection before its
// handshake, counting those the handshake deadline ended
// (sessionless_connections_expired).
func (c *conn) sessionless(err error) error {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		c.s.metrics.sessionless.Inc()
	}
	return err
}

// countNonMTLS counts a connection that did not authenticate with a client
// certificate, by whether it comes from this host
// (non_mtls_local_conn_count, non_mtls_remote_conn_count).
func (c *conn) countNonMTLS() {
	for _, id := range c.auth {
		if id.Scheme == "x509" {
			return
		}
	}
	if ip := net.ParseIP(c.auth[len(c.auth)-1].ID); ip != nil && ip.IsLoopback() {
		c.s.stats.nonMTLSLocal.Add(1)
	} else {
		c.s.stats.nonMTLSRemote.Add(1)
	}
}

// SessionID implements tree.Watcher.
func (c *conn) SessionID() int64 { return c.session.ID }

// Auth implements tree.Watcher.
func (c *conn) Auth() []proto.ID {
	if ids := c.authNow.Load(); ids != nil {
		return *ids
	}
	return nil
}

func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	var buf []byte
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.outMu.Lock()
		buf, c.out = c.out, buf[:0]
		drain := c.drain
		c.outMu.Unlock()
		if len(buf) > 0 {
			// A client that stops reading must not hold a goroutine
			// forever; its session would expire by then anyway.
			c.nc.SetWriteDeadline(time.Now().Add(max(c.s.cfg.MaxSessionTimeout, 10*time.Second)))
			if _, err := c.nc.Write(buf); err != nil {
				c.close()
				return
			}
			c.outMu.Lock()
			c.unsent -= len(buf)
			c.outMu.Unlock()
			c.signal()
			if cap(buf) > c.s.limits.outboundPause {
				// Do not keep a burst's buffer for the connection's life.
				buf = nil
			}
		}
		if drain {
			c.outMu.Lock()
			empty := len(c.out) == 0
			c.outMu.Unlock()
			if empty {
				c.close()
				return
			}
			c.kick()
		}
	}
}

// beginWrite counts a proposed write; endWrite is its reply.
func (c *conn) beginWrite() {
	c.outMu.Lock()
	if !c.gone {
		c.pending = append(c.pending, time.Now())
		c.s.inflight.Add(1)
	}
	c.outMu.Unlock()
}

// endWrite retires the oldest write: a session's writes apply in order.
func (c *conn) endWrite() {
	c.outMu.Lock()
	if len(c.pending) > 0 {
		c.pending = c.pending[1:]
		c.s.inflight.Add(-1)
	}
	if len(c.pending) == 0 && c.idle != nil {
		close(c.idle)
		c.idle = nil
	}
	c.outMu.Unlock()
	c.signal()
}

// oldestWrite is when the oldest unanswered write was proposed.
func (c *conn) oldestWrite() (time.Time, bool) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if len(c.pending) == 0 {
		return time.Time{}, false
	}
	return c.pending[0], true
}

// waitIdle blocks until every earlier write of this connection has been
// answered, so a read reflects them (ZooKeeper's per-session FIFO order).
func (c *conn) waitIdle() bool {
	c.outMu.Lock()
	if len(c.pending) == 0 {
		c.outMu.Unlock()
		return true
	}
	if c.idle == nil {
		c.idle = make(chan struct{})
	}
	idle := c.idle
	c.outMu.Unlock()
	select {
	case <-idle:
		return true
	case <-c.done:
		return false
	}
}

func (c *conn) readLoop() {
	defer c.s.wg.Done()
	defer func() {
		// The session's entry outlives close until here, so that a
		// re-attach can wait for this reader's last proposal.
		c.s.mu.Lock()
		if c.session.ID != 0 && c.s.bySess[c.session.ID] == c {
			delete(c.s.bySess, c.session.ID)
		}
		c.s.mu.Unlock()
		close(c.readerDone)
	}()
	err := c.startTLS()
	if err == nil {
		c.countNonMTLS()
		err = c.serve()
	}
	c.outMu.Lock()
	draining := c.drain
	c.outMu.Unlock()
	var tooLarge *proto.FrameTooLargeError
	switch {
	case draining:
		// The writer closes once the last reply is out.
		<-c.done
	case errors.As(err, &tooLarge):
		c.s.metrics.largeRequests.Inc()
		c.refuseFrame(tooLarge.Len)
	default:
		c.close()
	}
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, errRefused):
	default:
		if tooLarge != nil {
			c.s.log.Warn("closing connection: "+err.Error(), zap.String("remote", c.remote))
			return
		}
		c.s.log.Debug("connection closed", zap.String("remote", c.remote), zap.Error(err))
	}
}

// Bounds on what refuseFrame reads of a frame it refuses.
const (
	refuseDrainBytes = 4 << 20
	refuseDrainTime  = 2 * time.Second
)

// refuseFrame closes a connection whose client announced a frame above
// jute.maxbuffer the way ZooKeeper's does: the client sees the end of the
// stream (FIN) once it has written its frame, not a reset in the middle of
// its write. Closing with the frame unread would make the kernel answer with
// RST, so the frame is read and dropped first, up to a bound in bytes and
// time so that a client cannot hold the connection open by streaming.
func (c *conn) refuseFrame(n int) {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(refuseDrainTime))
	io.CopyN(io.Discard, c.nc, int64(min(max(n, 0), refuseDrainBytes)))
	c.close()
}

func (c *conn) serve() error {
	s := c.s
	// A client must complete the handshake within the longest session
	// timeout; afterwards liveness is the session tracker's business.
	c.nc.SetReadDeadline(time.Now().Add(max(s.cfg.MaxSessionTimeout, 10*time.Second)))
	var hdr [4]byte
	if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
		return c.sessionless(err)
	}
	if cmd := string(hdr[:]); isFourLetterWord(cmd) {
		s.stats.recved.Add(1)
		c.send4lw(cmd)
		return nil
	}
	frame, err := proto.ReadFrame(io.MultiReader(bytes.NewReader(hdr[:]), c.nc), nil, s.cfg.JuteMaxBuffer)
	if err != nil {
		return c.sessionless(err)
	}
	s.metrics.bytesReceived.Add(int64(len(frame) + 4))
	if err := c.handshake(frame); err != nil {
		return err
	}
	c.nc.SetReadDeadline(time.Time{})
	var buf []byte
	for {
		if !c.throttle() {
			return nil
		}
		buf, err = proto.ReadFrame(c.nc, buf, s.cfg.JuteMaxBuffer)
		if err != nil {
			return err
		}
		s.metrics.bytesReceived.Add(int64(len(buf) + 4))
		if err := c.request(buf); err != nil {
			return err
		}
	}
}

func (c *conn) handshake(frame []byte) error {
	s := c.s
	c.recved.Add(1)
	s.stats.recved.Add(1)
	var req proto.ConnectRequest
	if err := proto.Unmarshal(frame, &req); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	if !s.Serving() && !s.readOnly.Load() {
		s.metrics.closedNotServing.Inc()
		s.log.Info("refusing a client while there is no leader", zap.String("remote", c.remote))
		return errRefused
	}
	if req.LastZxidSeen > s.tree.LastZxid() {
		s.log.Info("refusing session: client has seen a newer zxid; it must try another server",
			zap.String("remote", c.remote), zap.String("lastZxidSeen", fmt.Sprintf("0x%x", req.LastZxidSeen)),
			zap.String("ourZxid", fmt.Sprintf("0x%x", s.tree.LastZxid())))
		return errRefused
	}
	timeout := min(max(time.Duration(req.Timeout)*time.Millisecond, s.cfg.MinSessionTimeout), s.cfg.MaxSessionTimeout)
	to := int32(timeout / time.Millisecond)
	resp := proto.ConnectResponse{Timeout: to, HasReadOnly: req.HasReadOnly}
	if !s.Serving() {
		return c.readOnlyHandshake(&req, &resp)
	}
	if !s.vouches(timeout) {
		// Out of touch with the leader, though raft has not given up on
		// it yet: closed at once, the client tries another server.
		s.metrics.closedNotServing.Inc()
		s.log.Info("refusing a client while out of contact with the leader", zap.String("remote", c.remote))
		return errRefused
	}
	var sess tree.Session
	if req.SessionID == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var err error
		if sess, err = s.newSession(ctx, to); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
	} else {
		var ok bool
		sess, ok = s.tree.Session(req.SessionID)
		ok = ok && bytes.Equal(sess.Passwd, req.Passwd) && s.sessions.alive(sess.ID)
		if ok {
			// The connection the client left may still hold requests it
			// sent last; they go first (or not at all) so that the
			// attach below orders after them.
			s.mu.Lock()
			old := s.bySess[sess.ID]
			s.mu.Unlock()
			if old != nil {
				old.close()
				<-old.readerDone
			}
			err := s.attach(sess.ID, timeout)
			if err != nil && !errors.Is(err, proto.ErrSessionExpired) {
				// Not an answer about the session (no quorum, say):
				// the client tries again, here or elsewhere.
				s.log.Info("cannot attach a session; closing", zap.String("remote", c.remote), zap.Error(err))
				return errRefused
			}
			ok = err == nil
		}
		if !ok {
			// ZooKeeper's answer to an expired or unknown session: all
			// zeros, then close.
			resp.Timeout = 0
			resp.Passwd = make([]byte, 16)
			c.send(&resp)
			c.closeAfterFlush()
			return errRefused
		}
		sess.Timeout = to
	}
	s.sessions.touch(sess.ID, sess.Timeout)
	c.session = sess
	c.register()
	resp.SessionID = sess.ID
	resp.Passwd = sess.Passwd
	c.send(&resp)
	return nil
}

// register makes c the connection of its session; a second client that
// raced to the same session loses its connection: the last wins.
func (c *conn) register() {
	s := c.s
	s.mu.Lock()
	old := s.bySess[c.session.ID]
	s.bySess[c.session.ID] = c
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
}

// attach moves the session to this server through the log before its
// client is answered. Once that applies, every write the session proposed
// earlier, here or elsewhere, has applied or can no longer apply, so the
// client cannot miss its own write after a reconnect (ZooKeeper gets the
// same from its single request pipeline and its session-owner check).
func (s *Server) attach(id int64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := s.propose(ctx, &tree.Txn{Session: id, Op: tree.OpAttachSession})
	if err == nil && r.Err != proto.OK {
		err = r.Err
	}
	return err
}

// request handles one frame after the handshake. An error closes the
// connection.
func (c *conn) request(frame []byte) error {
	s := c.s
	start := time.Now()
	c.recved.Add(1)
	s.stats.recved.Add(1)
	s.sessions.alive(c.session.ID)
	d := proto.NewDecoder(frame)
	var h proto.RequestHeader
	h.Decode(d)
	if d.Err() != nil {
		return fmt.Errorf("request header: %w", d.Err())
	}
	c.lastOp.Store(opAbbrev(h.Type))
	if h.Xid >= 0 {
		c.lastCxid.Store(int64(h.Xid))
	}
	req := proto.NewRequest(h.Type)
	if req == nil {
		if !c.waitIdle() {
			return nil
		}
		c.reply(start, h.Xid, proto.ErrUnimplemented, nil)
		return nil
	}
	req.Decode(d)
	if d.Err() != nil {
		return fmt.Errorf("%v request: %w", h.Type, d.Err())
	}
	if c.notReadOnly(start, h.Xid, h.Type) {
		return nil
	}
	switch h.Type {
	case proto.OpPing:
		if c.waitIdle() {
			c.send(&proto.ReplyHeader{Xid: proto.XidPing, Zxid: s.tree.LastZxid()})
		}
	case proto.OpAuth:
		return c.addAuth(h.Xid, req.(*proto.AuthPacket))
	case proto.OpSASL:
		if c.waitIdle() {
			c.sasl(h.Xid, req.(*proto.SASLToken))
		}
	case proto.OpWhoAmI:
		if c.waitIdle() {
			c.reply(start, h.Xid, proto.OK, &proto.WhoAmIResponse{ClientInfo: whoAmI(c.auth)})
		}
	case proto.OpSync:
		return c.sync(start, h.Xid, req.(*proto.PathRequest))
	case proto.OpReconfig:
		return c.reconfig(start, h.Xid, req.(*proto.ReconfigRequest))
	case proto.OpCheck:
		// ZooKeeper's clients send check only inside multi.
		if c.waitIdle() {
			c.reply(start, h.Xid, proto.ErrUnimplemented, nil)
		}
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL,
		proto.OpDelete, proto.OpSetData, proto.OpSetACL, proto.OpMulti, proto.OpCloseSession:
		return c.write(start, h.Xid, h.Type, req)
	default:
		if !c.waitIdle() {
			return nil
		}
		// A Java client refuses a frame of jute.maxbuffer bytes or more.
		caller := tree.Caller{Session: c.session.ID, Auth: c.auth, Watcher: c,
			MaxReply: max(s.limits.maxReply-1-replyHeaderSize, 1)}
		s.tree.ReadThen(caller, h.Type, req, func(resp proto.Record, zxid int64, err error) {
			if errors.Is(err, tree.ErrReplyTooLarge) {
				s.stats.largeReplies.Add(1)
			}
			s.metrics.readLatency.Observe(time.Since(start).Milliseconds())
			if err == nil {
				s.metrics.read(req, resp)
			}
			c.replyZxid(start, h.Xid, zxid, proto.CodeOf(err), resp)
		})
	}
	return nil
}

// replyHeaderSize is the encoded proto.ReplyHeader.
const replyHeaderSize = 16

// write replicates a state change; the reply is queued by the apply. Its
// reply is not bounded by jute.maxbuffer as a read's is: it is at most a
// small multiple of the request, which was.
func (c *conn) write(start time.Time, xid int32, op proto.Op, req proto.Record) error {
	if op == proto.OpCloseSession {
		req = nil
	}
	txn := &tree.Txn{Session: c.session.ID, Op: op, Req: req, Auth: c.txnAuth(op, req)}
	c.beginWrite()
	err := c.s.proposeAsync(c.ctx, txn, func(zxid int64, r tree.Result) {
		c.s.metrics.updateLatency.Observe(time.Since(start).Milliseconds())
		c.replyZxid(start, xid, zxid, r.Err, r.Resp)
		c.endWrite()
		// A session that moved to another server is served there; like
		// ZooKeeper, tell this connection and close it.
		if op == proto.OpCloseSession || r.Err == proto.ErrSessionMoved {
			c.closeAfterFlush()
		}
	}, func(err error) {
		// The client must not see later writes answered after this one
		// failed: the connection goes, as for a proposal refused at once.
		c.endWrite()
		c.s.log.Debug("closing connection: a write was refused", zap.String("remote", c.remote), zap.Stringer("op", op), zap.Error(err))
		c.close()
	})
	if err != nil {
		c.endWrite()
		return fmt.Errorf("propose %v: %w", op, err)
	}
	return nil
}

// txnAuth is the identities a txn of this request carries: whole only
// when it expands the "auth" ACL scheme, else in their compact form, so
// that the log does not grow with the names a session authenticated with.
func (c *conn) txnAuth(op proto.Op, req proto.Record) []proto.ID {
	if tree.NeedsFullAuth(op, req) {
		return c.auth
	}
	if c.compactAuth == nil || c.compactOf != len(c.auth) {
		c.compactAuth, c.compactOf = tree.CompactAuth(c.auth), len(c.auth)
	}
	return c.compactAuth
}

func (c *conn) sync(start time.Time, xid int32, req *proto.PathRequest) error {
	if !c.waitIdle() {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, time.Duration(c.session.Timeout)*time.Millisecond)
	defer cancel()
	idx, err := c.s.node.ReadIndex(ctx)
	if err == nil {
		err = c.s.node.WaitApplied(ctx, idx)
	}
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	c.reply(start, xid, proto.OK, req)
	return nil
}

// addAuth handles the auth packet. A scheme the server does not know, or a
// malformed credential, gets AUTHFAILED and the connection is closed, as
// ZooKeeper does; so does an identity past the connection's bounds on
// their number and total size. The reply echoes the request's xid: Java
// sends -4, go-zk an ordinary xid it waits on.
func (c *conn) addAuth(xid int32, p *proto.AuthPacket) error {
	var id proto.ID
	switch p.Scheme {
	case "digest":
		// As ZooKeeper's digest provider: the user is what comes before
		// the first colon, or the whole credential when there is none.
		user, _, _ := strings.Cut(string(p.Auth), ":")
		sum := sha1.Sum(p.Auth)
		id = proto.ID{Scheme: "digest", ID: user + ":" + base64.StdEncoding.EncodeToString(sum[:])}
	case "ip":
		id = proto.ID{Scheme: "ip", ID: c.ip}
	case "x509":
		// X509AuthenticationProvider authenticates the certificate the
		// TLS handshake verified, whatever the credential says, and
		// fails without one; the identity is already there.
		if c.verifiedX509() {
			c.send(&proto.ReplyHeader{Xid: xid})
			return nil
		}
	}
	if id.Scheme == "" || !c.addIdentity(id) {
		c.s.stats.authFailed.Add(1)
		c.send(&proto.ReplyHeader{Xid: xid, Err: proto.ErrAuthFailed})
		c.closeAfterFlush()
		return nil
	}
	c.send(&proto.ReplyHeader{Xid: xid})
	return nil
}

// addIdentity gives the connection id, unless that would pass its bounds
// on the number and bytes of identities; false then.
func (c *conn) addIdentity(id proto.ID) bool {
	if containsID(c.auth, id) {
		return true
	}
	lim := &c.s.limits
	size := len(id.Scheme) + len(id.ID)
	for _, x := range c.auth {
		size += len(x.Scheme) + len(x.ID)
	}
	if len(c.auth) >= lim.authCount || size > lim.authBytes {
		c.s.log.Warn("refusing an identity past the connection's bounds; closing",
			zap.String("remote", c.remote), zap.Int("identities", len(c.auth)), zap.Int("bytes", size),
			zap.Int("maxIdentities", lim.authCount), zap.Int("maxBytes", lim.authBytes))
		return false
	}
	c.auth = append(c.auth[:len(c.auth):len(c.auth)], id)
	ids := c.auth
	c.authNow.Store(&ids)
	return true
}

// whoAmI is what ZooKeeper's providers report as the user of each
// identity, in the order ZooKeeper lists them (javaSetOrder): for a digest
// id, the user name without its hash; for the super identity, which no
// provider owns, none (Java sends null).
func whoAmI(ids []proto.ID) []proto.ID {
	ids = javaSetOrder(ids)
	out := make([]proto.ID, len(ids))
	for i, id := range ids {
		switch id.Scheme {
		case "digest":
			id.ID, _, _ = strings.Cut(id.ID, ":")
		case "super":
			id.ID = ""
		}
		out[i] = id
	}
	return out
}

func containsID(ids []proto.ID, id proto.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func (c *conn) reply(start time.Time, xid int32, code proto.Code, resp proto.Record) {
	c.replyZxid(start, xid, c.s.tree.LastZxid(), code, resp)
}

// replyZxid queues a reply; an error reply carries no body, as in
// ZooKeeper, and go-zk relies on that.
func (c *conn) replyZxid(start time.Time, xid int32, zxid int64, code proto.Code, resp proto.Record) {
	// The figures are recorded before the reply leaves, so a client that
	// has its answer finds the request counted in stat and mntr.
	now := time.Now()
	ms := now.Sub(start).Milliseconds()
	c.lat.add(ms)
	c.s.stats.lat.add(ms)
	c.lastZxid.Store(zxid)
	c.lastResp.Store(now.UnixMilli())
	h := &proto.ReplyHeader{Xid: xid, Zxid: zxid, Err: code}
	if code != proto.OK || resp == nil {
		c.send(h)
	} else {
		c.send(h, resp)
	}
}
