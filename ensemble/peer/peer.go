package peer

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

const (
	dialTimeout = time.Second
	// Re-dials back off from backoffMin to backoffMax, so a restarted peer
	// is found again within about a second while a dead one costs little.
	backoffMin = 50 * time.Millisecond
	backoffMax = time.Second
	// A write may take writeTimeout plus the time to move its bytes at
	// minWriteRate; a peer slower than that is treated as gone, so that a
	// stalled connection cannot hold the queue forever.
	writeTimeout = 5 * time.Second
	minWriteRate = 1 << 20 // bytes per second
	writeBuffer  = 64 << 10
)

type outMsg struct {
	raft    *raftpb.Message // nil for a control message
	kind    byte
	payload []byte
}

// peer owns the outbound connection to one server at one address; a new
// address gets a new peer. Everything but queue is touched only by its run
// goroutine.
type peer struct {
	t     *Transport
	id    uint64
	addr  string
	lg    *zap.Logger
	queue chan outMsg
	// ctx ends when the transport closes or the peer is removed or
	// replaced; it bounds the peer's goroutines and connection.
	ctx    context.Context
	cancel context.CancelFunc
	// tlsConfig verifies that the acceptor is this peer; nil without TLS.
	tlsConfig *tls.Config

	conn        net.Conn // nil while disconnected; a *tls.Conn over raw with TLS
	raw         net.Conn // the TCP connection under conn, which closing closes
	w           *bufio.Writer
	stopClose   func() bool // cancels closing conn when the transport closes
	connectedAt time.Time
	bo          *backoff.ExponentialBackOff
	retryAt     time.Time // no dial before this
	down        bool      // the last dial failed; log only the change
}

func newPeer(t *Transport, id uint64, addr string) *peer {
	p := &peer{
		t:     t,
		id:    id,
		addr:  addr,
		lg:    t.lg.With(zap.Uint64("peer", id), zap.String("addr", addr)),
		queue: make(chan outMsg, t.cfg.QueueSize),
		bo: backoff.NewExponentialBackOff(
			backoff.WithInitialInterval(backoffMin),
			backoff.WithMaxInterval(backoffMax),
			backoff.WithMaxElapsedTime(0),
		),
	}
	p.ctx, p.cancel = context.WithCancel(t.ctx)
	if t.tls != nil && !t.tls.dialPlaintext {
		p.tlsConfig = t.tls.clientFor(id, addr)
	}
	return p
}

func (p *peer) enqueue(m outMsg) bool {
	select {
	case p.queue <- m:
		return true
	default:
		return false
	}
}

func (p *peer) run() {
	defer p.disconnect()
	for {
		select {
		case <-p.ctx.Done():
			return
		case m := <-p.queue:
			p.send(m)
		}
	}
}

// send writes one message, dialing first if need be. Messages that cannot
// go out are dropped rather than held: raft resends what matters, and a
// stale backlog would only delay fresher messages.
func (p *peer) send(m outMsg) {
	snap := m.raft != nil && m.raft.GetType() == raftpb.MsgSnap
	fail := func() {
		if m.raft != nil {
			p.t.reportFailure(p.id, snap)
		}
	}
	// The filter may have changed while the message was queued.
	if !p.t.allowed(p.t.cfg.ID, p.id) {
		fail()
		return
	}
	kind, payload := m.kind, m.payload
	if m.raft != nil {
		b, err := proto.Marshal(m.raft)
		if err == nil && len(b) > p.t.cfg.MaxRaftFrame {
			err = fmt.Errorf("%d bytes exceed %d", len(b), p.t.cfg.MaxRaftFrame)
		}
		if err != nil {
			p.lg.Error("cannot encode raft message", zap.Stringer("type", m.raft.GetType()), zap.Error(err))
			fail()
			return
		}
		kind, payload = KindRaft, b
	}
	if !p.connect() {
		fail()
		return
	}
	err := p.write(kind, payload)
	// Batch what is already queued into one flush; a snapshot is flushed at
	// once because raft waits for its outcome.
	if err == nil && (snap || len(p.queue) == 0) {
		err = p.flush()
	}
	if err != nil {
		if p.ctx.Err() != nil {
			return // closing the transport or removing the peer broke the connection
		}
		p.lg.Warn("connection to peer broken", zap.Error(err))
		if time.Since(p.connectedAt) > backoffMax {
			p.bo.Reset()
		}
		p.retryAt = time.Now().Add(p.bo.NextBackOff())
		p.disconnect()
		// Whatever was buffered with this message is lost too; raft needs
		// only to hear that the peer is unreachable.
		p.t.reportFailure(p.id, snap)
		return
	}
	if snap {
		p.t.reportSnapshotSent(p.id)
	}
}

// connect dials the peer unless connected or still backing off, and
// reports whether a connection is up.
func (p *peer) connect() bool {
	if p.conn != nil {
		return true
	}
	if time.Now().Before(p.retryAt) {
		return false
	}
	d := net.Dialer{Timeout: dialTimeout}
	// Dialing by name every time is what lets a peer move to another address.
	raw, err := d.DialContext(p.ctx, "tcp", p.addr)
	conn := raw
	if err == nil && p.tlsConfig != nil {
		if conn, err = p.dialTLS(raw); err != nil {
			raw.Close()
		}
	}
	if err != nil {
		if !p.down {
			p.lg.Warn("cannot reach peer; retrying with backoff", zap.Error(err))
		}
		p.down = true
		p.retryAt = time.Now().Add(p.bo.NextBackOff())
		return false
	}
	if p.down {
		p.lg.Info("reached peer again")
	}
	p.down = false
	p.conn, p.raw, p.connectedAt = conn, raw, time.Now()
	p.stopClose = context.AfterFunc(p.ctx, func() { raw.Close() })
	p.w = bufio.NewWriterSize(conn, writeBuffer)
	p.w.Write(hello{from: p.t.cfg.ID, to: p.id}.marshal()) // a bufio error surfaces on the next write
	// The acceptor writes nothing past the TLS handshake; reading only
	// notices that it closed (for example after refusing the hello or, in
	// TLS 1.3, after refusing our certificate once our side of the
	// handshake is done), so the next write fails at once instead of
	// vanishing into a dead socket.
	p.t.wg.Go(func() {
		io.Copy(io.Discard, conn)
		raw.Close()
	})
	return true
}

func (p *peer) write(kind byte, payload []byte) error {
	deadline := writeTimeout + time.Duration(len(payload))*time.Second/minWriteRate
	if err := p.conn.SetWriteDeadline(time.Now().Add(deadline)); err != nil {
		return err
	}
	if _, err := p.w.Write(frameHeader(kind, len(payload))); err != nil {
		return err
	}
	_, err := p.w.Write(payload)
	return err
}

func (p *peer) flush() error {
	if err := p.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return p.w.Flush()
}

func (p *peer) disconnect() {
	if p.conn == nil {
		return
	}
	p.stopClose()
	p.raw.Close()
	p.conn, p.raw, p.w, p.stopClose = nil, nil, nil, nil
}
