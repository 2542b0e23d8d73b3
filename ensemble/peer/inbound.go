package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"
)

const (
	readBuffer = 64 << 10
	// statusTimeout bounds writing the election-port status line.
	statusTimeout = time.Second
	// acceptPause is how long to wait after a failed Accept (for example
	// out of file descriptors) before trying again.
	acceptPause = 50 * time.Millisecond
)

// accept runs serve on every connection ln accepts until the transport
// closes.
func (t *Transport) accept(ln net.Listener, serve func(net.Conn)) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil {
				return
			}
			t.lg.Warn("accept failed", zap.Stringer("addr", ln.Addr()), zap.Error(err))
			select {
			case <-time.After(acceptPause):
				continue
			case <-t.ctx.Done():
				return
			}
		}
		if ln == t.ln {
			t.admit(conn)
		}
		t.wg.Go(func() {
			stop := context.AfterFunc(t.ctx, func() { conn.Close() })
			defer stop()
			defer conn.Close()
			defer t.release(conn)
			serve(conn)
		})
	}
}

func (t *Transport) acceptQuorum() { t.accept(t.ln, t.serveQuorum) }

func (t *Transport) acceptElection() { t.accept(t.eln, t.serveElection) }

// serveElection writes the status line. zookit elects over the quorum port
// with raft, so nothing a client sends here is read.
func (t *Transport) serveElection(conn net.Conn) {
	if err := conn.SetWriteDeadline(time.Now().Add(statusTimeout)); err != nil {
		return
	}
	if _, err := io.WriteString(conn, t.cfg.Status()+"\n"); err != nil {
		t.lg.Debug("writing election-port status failed", zap.Stringer("remote", conn.RemoteAddr()), zap.Error(err))
	}
}

// serveQuorum checks the hello, then delivers the peer's frames in order
// until the connection ends or sends something malformed.
func (t *Transport) serveQuorum(conn net.Conn) {
	lg := t.lg.With(zap.Stringer("remote", conn.RemoteAddr()))
	// The TLS handshake, if any, and the hello must both be done within
	// HelloTimeout.
	if err := conn.SetDeadline(time.Now().Add(t.cfg.HelloTimeout)); err != nil {
		return
	}
	rw, tc, err := t.secure(conn)
	var (
		r *bufio.Reader
		h hello
	)
	if err == nil {
		r = bufio.NewReaderSize(rw, readBuffer)
		h, err = readHello(r)
	}
	if err == nil {
		err = t.checkHello(h)
	}
	if err == nil && tc != nil {
		err = t.checkPeer(tc, h.from)
	}
	if err != nil {
		t.refusals.Warn("refusing peer connection", zap.Stringer("remote", conn.RemoteAddr()), zap.Error(err))
		return
	}
	if !t.established(conn, h.from) {
		t.refusals.Warn("refusing peer connection", zap.Stringer("remote", conn.RemoteAddr()),
			zap.Error(fmt.Errorf("server %d was removed during its hello", h.from)))
		return
	}
	// An idle peer is normal (followers do not talk to each other), so
	// there is no read deadline past the hello; TCP keepalive finds dead
	// peers. Nothing is written past the handshake.
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return
	}
	if tc == nil && t.tls != nil {
		lg.Info("plaintext peer admitted by port unification; its id is taken on trust", zap.Uint64("peer", h.from))
	}
	lg = lg.With(zap.Uint64("peer", h.from))
	lg.Debug("peer connected")
	for {
		kind, payload, err := readFrame(r, t.cfg.MaxRaftFrame)
		if err != nil {
			switch {
			case t.ctx.Err() != nil:
			case errors.Is(err, errMalformed):
				t.refusals.Warn("closing peer connection", zap.Stringer("remote", conn.RemoteAddr()), zap.Uint64("peer", h.from), zap.Error(err))
			default:
				lg.Debug("peer connection ended", zap.Error(err))
				if t.cfg.PeerLost != nil {
					t.cfg.PeerLost(h.from)
				}
			}
			return
		}
		if err := t.deliver(h.from, kind, payload); err != nil {
			t.refusals.Warn("closing peer connection", zap.Stringer("remote", conn.RemoteAddr()), zap.Uint64("peer", h.from), zap.Error(err))
			return
		}
	}
}

func (t *Transport) checkHello(h hello) error {
	if h.to != t.cfg.ID {
		return fmt.Errorf("hello from server %d is addressed to server %d, this is %d", h.from, h.to, t.cfg.ID)
	}
	if t.peer(h.from) == nil {
		return fmt.Errorf("hello from server %d, which is not a configured peer", h.from)
	}
	return nil
}

// deliver hands one frame to the handler; an error means the frame was
// malformed and the connection must not be trusted further.
func (t *Transport) deliver(from uint64, kind byte, payload []byte) error {
	var m *raftpb.Message
	if kind == KindRaft {
		m = new(raftpb.Message)
		if err := proto.Unmarshal(payload, m); err != nil {
			return fmt.Errorf("%w raft message: %w", errMalformed, err)
		}
		// A peer speaks only for itself and only to us.
		if m.GetFrom() != from || m.GetTo() != t.cfg.ID {
			return fmt.Errorf("%w raft message: from %d to %d on the connection from %d", errMalformed, m.GetFrom(), m.GetTo(), from)
		}
	}
	if !t.allowed(from, t.cfg.ID) {
		return nil
	}
	if m == nil {
		t.h.Control(from, kind, payload)
		return nil
	}
	if err := t.h.Step(t.ctx, m); err != nil && t.ctx.Err() == nil {
		t.lg.Debug("raft refused a peer message", zap.Uint64("peer", from), zap.Stringer("type", m.GetType()), zap.Error(err))
	}
	return nil
}

// inbound tracks the accepted quorum connections: those still owing their
// hello, oldest first, and the one established connection of each peer.
type inbound struct {
	mu      sync.Mutex
	pending []net.Conn
	byPeer  map[uint64]net.Conn
}

func remoteIP(conn net.Conn) string {
	host, _, err := net.SplitHostPort(conn.RemoteAddr().String())
	if err != nil {
		return conn.RemoteAddr().String()
	}
	return host
}

// admit counts a new connection as pending; beyond MaxPendingPerIP or
// MaxPending it refuses the oldest pending connection, from the same
// address first. Refusing the oldest rather than the newest is what lets a
// real peer in during a flood: its hello follows its connect at once.
func (t *Transport) admit(conn net.Conn) {
	ip := remoteIP(conn)
	in := &t.inbound
	in.mu.Lock()
	victim, reason := -1, ""
	sameIP := 0
	for i, c := range in.pending {
		if remoteIP(c) == ip {
			if sameIP == 0 {
				victim = i
			}
			sameIP++
		}
	}
	switch {
	case sameIP >= t.cfg.MaxPendingPerIP:
		reason = "too many connections without a hello from this address"
	case len(in.pending) >= t.cfg.MaxPending:
		victim, reason = 0, "too many connections without a hello"
	default:
		victim = -1
	}
	var refused net.Conn
	if victim >= 0 {
		refused = in.pending[victim]
		in.pending = slices.Delete(in.pending, victim, victim+1)
	}
	in.pending = append(in.pending, conn)
	in.mu.Unlock()
	if refused != nil {
		t.refusals.Warn("refusing peer connection", zap.Stringer("remote", refused.RemoteAddr()), zap.String("reason", reason))
		refused.Close()
	}
}

// established makes conn the connection of peer id, closing the one it
// replaces: a peer keeps one connection to us, so an older one is a
// leftover its side has already given up. It reports false if id is no
// longer a peer: checked under the inbound lock, after which dropPeer
// closes the connection anyway.
func (t *Transport) established(conn net.Conn, id uint64) bool {
	in := &t.inbound
	in.mu.Lock()
	if t.peer(id) == nil {
		in.mu.Unlock()
		return false
	}
	in.pending = slices.DeleteFunc(in.pending, func(c net.Conn) bool { return c == conn })
	if in.byPeer == nil {
		in.byPeer = make(map[uint64]net.Conn)
	}
	old := in.byPeer[id]
	in.byPeer[id] = conn
	in.mu.Unlock()
	if old != nil {
		t.refusals.Info("a newer connection from the peer replaces an older one", zap.Uint64("peer", id),
			zap.Stringer("old", old.RemoteAddr()), zap.Stringer("new", conn.RemoteAddr()))
		old.Close()
	}
	return true
}

// dropInbound closes the established connection from id, if any.
func (t *Transport) dropInbound(id uint64) {
	in := &t.inbound
	in.mu.Lock()
	conn := in.byPeer[id]
	delete(in.byPeer, id)
	in.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

// release forgets conn once it has ended.
func (t *Transport) release(conn net.Conn) {
	in := &t.inbound
	in.mu.Lock()
	defer in.mu.Unlock()
	in.pending = slices.DeleteFunc(in.pending, func(c net.Conn) bool { return c == conn })
	for id, c := range in.byPeer {
		if c == conn {
			delete(in.byPeer, id)
		}
	}
}

// sampled rate-limits a logger per message text: the first lines each
// second, then one in a thousand, so that a flood of refusals does not
// flood the log.
func sampled(lg *zap.Logger) *zap.Logger {
	return lg.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(c, time.Second, 5, 1000)
	}))
}
