package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

const (
	// helloTimeout bounds how long a connection that has not introduced
	// itself may hold a goroutine.
	helloTimeout = 5 * time.Second
	readBuffer   = 64 << 10
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
		t.wg.Go(func() {
			stop := context.AfterFunc(t.ctx, func() { conn.Close() })
			defer stop()
			defer conn.Close()
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
	r := bufio.NewReaderSize(conn, readBuffer)
	if err := conn.SetReadDeadline(time.Now().Add(helloTimeout)); err != nil {
		return
	}
	h, err := readHello(r)
	if err == nil {
		err = t.checkHello(h)
	}
	if err != nil {
		lg.Warn("refusing peer connection", zap.Error(err))
		return
	}
	// An idle peer is normal (followers do not talk to each other), so
	// there is no read deadline past the hello; TCP keepalive finds dead
	// peers.
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return
	}
	lg = lg.With(zap.Uint64("peer", h.from))
	lg.Debug("peer connected")
	for {
		kind, payload, err := readFrame(r)
		if err != nil {
			switch {
			case t.ctx.Err() != nil:
			case errors.Is(err, errMalformed):
				lg.Warn("closing peer connection", zap.Error(err))
			default:
				lg.Debug("peer connection ended", zap.Error(err))
				if t.cfg.PeerLost != nil {
					t.cfg.PeerLost(h.from)
				}
			}
			return
		}
		if err := t.deliver(h.from, kind, payload); err != nil {
			lg.Warn("closing peer connection", zap.Error(err))
			return
		}
	}
}

func (t *Transport) checkHello(h hello) error {
	if h.to != t.cfg.ID {
		return fmt.Errorf("hello from server %d is addressed to server %d, this is %d", h.from, h.to, t.cfg.ID)
	}
	if _, ok := t.peers[h.from]; !ok {
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
