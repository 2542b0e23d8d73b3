package server

import (
	"bytes"
	"crypto/rand"
	"time"

	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/tree"
)

// Read-only mode is ZooKeeper's (readonlymode.enabled): a member that has
// had no leader for roGrace serves the clients that said they can be
// read-only (the handshake's readOnly flag) from its own tree, refusing
// their writes with NOTREADONLY, and refuses the others; isro answers
// "ro" and srvr's Mode "read-only". Once a leader is back it closes those
// connections, and their clients reconnect to a server that can write.

// roGrace is how long a member must be without a leader before it serves
// read-only clients: ZooKeeper's max(2 s, tickTime).
func (s *Server) roGrace() time.Duration { return max(2*time.Second, s.cfg.TickTime) }

// answering reports whether the monitoring commands that need a serving
// server answer: with a leader, or in read-only mode.
func (s *Server) answering() bool { return s.Serving() || s.readOnly.Load() }

// updateReadOnly enters read-only mode once the server has been without a
// leader since leaderless for roGrace, and leaves it when a leader is
// back, closing the read-only connections.
func (s *Server) updateReadOnly(now, leaderless time.Time) {
	if !s.cfg.ReadOnlyMode() || s.cfg.Standalone() || s.storageErr() != nil {
		return
	}
	switch {
	case s.Serving():
		if s.readOnly.Swap(false) {
			s.log.Info("a leader is back; leaving read-only mode")
			for _, c := range s.connList() {
				if c.readOnly.Load() {
					c.close()
				}
			}
		}
	case !leaderless.IsZero() && now.Sub(leaderless) >= s.roGrace():
		if !s.readOnly.Swap(true) {
			s.log.Info("no leader; serving read-only clients", zap.Duration("after", now.Sub(leaderless)))
		}
	}
}

// readOnlyHandshake admits a client in read-only mode. A client that
// cannot be read-only is refused, as ZooKeeper's ReadOnlyZooKeeperServer
// refuses it. A new session is local to this server and this mode; a known
// session, with its password, is served read-only without being moved
// here, which needs the quorum.
func (c *conn) readOnlyHandshake(req *proto.ConnectRequest, resp *proto.ConnectResponse) error {
	s := c.s
	if !req.ReadOnly {
		s.metrics.closedNotServing.Inc()
		s.log.Info("refusing a client that cannot be read-only while serving read-only", zap.String("remote", c.remote))
		return errRefused
	}
	resp.ReadOnly = true
	sess := tree.Session{Timeout: resp.Timeout}
	if req.SessionID == 0 {
		sess.ID = s.nextSID.Add(1)
		sess.Passwd = make([]byte, 16)
		rand.Read(sess.Passwd)
	} else {
		known, ok := s.tree.Session(req.SessionID)
		if !ok || !bytes.Equal(known.Passwd, req.Passwd) {
			resp.Timeout = 0
			resp.Passwd = make([]byte, 16)
			c.send(resp)
			c.closeAfterFlush()
			return errRefused
		}
		sess.ID, sess.Passwd = known.ID, known.Passwd
	}
	c.readOnly.Store(true)
	c.session = sess
	c.register()
	if !s.readOnly.Load() {
		// A leader came back meanwhile, and updateReadOnly may have
		// closed the read-only connections before this one was listed.
		return errRefused
	}
	resp.SessionID, resp.Passwd = sess.ID, sess.Passwd
	c.send(resp)
	return nil
}

// notReadOnly answers, on a read-only connection, a request that would
// change the tree or needs the quorum (ReadOnlyRequestProcessor); true
// when it did. A closeSession closes the connection only: the session is
// the quorum's to close.
func (c *conn) notReadOnly(start time.Time, xid int32, op proto.Op) bool {
	if !c.readOnly.Load() {
		return false
	}
	switch op {
	case proto.OpCloseSession:
		c.reply(start, xid, proto.OK, nil)
		c.closeAfterFlush()
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL, proto.OpDelete,
		proto.OpSetData, proto.OpSetACL, proto.OpMulti, proto.OpSync, proto.OpCheck, proto.OpReconfig:
		c.reply(start, xid, proto.ErrNotReadOnly, nil)
	default:
		return false
	}
	return true
}
