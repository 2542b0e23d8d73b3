package server

import (
	"time"

	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/raftnode"
	"github.com/zookit/zookit/ensemble/tree"
)

// stateMachine is the Server as raftnode sees it: committed entries are
// applied to the tree here, on the log's single apply goroutine.
type stateMachine Server

func (sm *stateMachine) Apply(index uint64, data []byte) {
	s := (*Server)(sm)
	txn, err := tree.UnmarshalTxn(data)
	if err != nil {
		// Every server rejects the same bytes, so state stays identical.
		s.log.Error("skipping undecodable log entry", zap.Uint64("index", index), zap.Error(err))
		return
	}
	zxid := int64(index)
	res := s.tree.Apply(zxid, txn)
	if res.Err == proto.OK {
		s.metrics.wrote(txn.Op, txn.Req)
	}
	switch txn.Op {
	case proto.OpCreateSession:
		if res.Err == proto.OK {
			s.sessions.touch(txn.Session, txn.Timeout)
		}
	case proto.OpCloseSession:
		s.sessions.remove(txn.Session)
	}
	if txn.Origin == s.id {
		s.mu.Lock()
		w, ok := s.waiters[txn.Seq]
		delete(s.waiters, txn.Seq)
		s.mu.Unlock()
		if ok {
			s.metrics.localCommitted.Observe(time.Since(w.at).Milliseconds())
			w.done(zxid, res)
		}
	}
	if txn.Op == proto.OpCloseSession {
		// An expired or closed session's connection goes too; its client
		// learns of the expiry when it reconnects.
		s.mu.Lock()
		c := s.bySess[txn.Session]
		s.mu.Unlock()
		if c != nil {
			c.closeAfterFlush()
		}
	}
}

func (sm *stateMachine) Snapshot() raftnode.Frozen { return sm.tree.Freeze() }

// Restore loads a snapshot. Once a reconfig has applied, membership lives
// in the log: the snapshot's /zookeeper/config, not zoo.cfg, names the
// servers. Before that (version 0) zoo.cfg's server lines stay in force,
// so a static ensemble can still be readdressed by editing them.
func (sm *stateMachine) Restore(data []byte, index uint64) error {
	s := (*Server)(sm)
	if err := s.tree.Restore(data); err != nil {
		return err
	}
	text, _ := s.tree.Config()
	servers, version, err := parseServers(string(text))
	if err != nil {
		s.log.Warn("the snapshot's /zookeeper/config does not parse; keeping the configured servers", zap.Error(err))
		return nil
	}
	if version > 0 {
		s.setView(newView(servers, version))
	}
	return nil
}

func (sm *stateMachine) CheckSnapshot(data []byte) error { return sm.tree.CheckSnapshot(data) }
