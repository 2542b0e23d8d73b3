package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"
	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/peer"
	"github.com/zookit/zookit/ensemble/raftnode"
)

// controlTouch is the peer control message in which a server reports the
// sessions its clients were active on, so the leader can decide expiry.
const controlTouch byte = 1

// raftTiming maps ZooKeeper's timing onto raft: a tenth of a tick per raft
// tick, and an election timeout of syncLimit ticks, the time after which
// a ZooKeeper follower gives up on its leader. The leader's heartbeat goes
// every raft tick: a member stops vouching for its clients' sessions once
// it has not heard from the leader for a quarter of their timeout, which
// for the shortest sessions (two ticks) is five raft ticks.
func raftTiming(cfg *config.Config) (tick time.Duration, election, heartbeat int) {
	tick = max(cfg.TickTime/10, time.Millisecond)
	if cfg.Standalone() {
		return tick, 10, 1
	}
	return tick, max(cfg.SyncLimit*10, 10), 1
}

// peerHandler hands inbound peer traffic to the server; the node it steps
// is set once the log has started, and raft retransmits what arrives
// before.
type peerHandler struct {
	s    *Server
	node atomic.Pointer[raftnode.Node]
}

func (h *peerHandler) Step(ctx context.Context, m *raftpb.Message) error {
	if n := h.node.Load(); n != nil {
		return n.Step(ctx, m)
	}
	return nil
}

func (h *peerHandler) Control(from uint64, kind byte, payload []byte) {
	if kind == controlReconfig || kind == controlReconfigReply {
		h.s.reconfigControl(from, kind, payload)
		return
	}
	if kind != controlTouch {
		h.s.log.Debug("unknown control message", zap.Uint64("from", from), zap.Uint8("kind", kind))
		return
	}
	for len(payload) >= 8 {
		id := int64(binary.BigEndian.Uint64(payload))
		payload = payload[8:]
		if sess, ok := h.s.tree.Session(id); ok {
			h.s.sessions.touch(id, sess.Timeout)
		}
	}
}

// lost starts an election at once when the leader's connection drops, as
// a ZooKeeper follower goes looking when its leader's socket closes,
// instead of waiting out missed heartbeats. Pre-vote makes a false alarm
// harmless: voters that still hear from the leader refuse.
func (h *peerHandler) lost(id uint64) {
	n := h.node.Load()
	if n == nil || n.Leader() != id || h.s.isObserver() {
		return
	}
	h.s.log.Info("lost the leader's connection; starting an election", zap.Uint64("leader", id))
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), h.s.electionTimeout)
		defer cancel()
		if err := n.Campaign(ctx); err != nil {
			h.s.log.Debug("campaign after losing the leader", zap.Error(err))
		}
	}()
}

// startPeers binds the quorum and election ports of this server.
func (s *Server) startPeers() (*peer.Transport, *peerHandler, error) {
	self, ok := s.cfg.Self()
	if !ok {
		return nil, nil, fmt.Errorf("server: myid %d is not in the server list", s.cfg.MyID)
	}
	peers := make(map[uint64]string)
	for _, sv := range s.view.Load().servers {
		if sv.ID != self.ID {
			peers[sv.ID] = sv.QuorumAddr()
		}
	}
	h := &peerHandler{s: s}
	s.peerHandler = h
	listen, election := listenAddrs(s.cfg, self)
	pc := peer.Config{
		ID:       self.ID,
		Listen:   listen,
		Election: election,
		Peers:    peers,
		Status:   s.statusLine,
		PeerLost: h.lost,
		Logger:   s.log.Named("peer"),
		// zookeeper.maxRaftFrame (zoo.cfg maxRaftFrame); 0 is peer's default.
		MaxRaftFrame: s.limits.raftFrame,
	}
	if err := quorumTLS(s.cfg, &pc); err != nil {
		return nil, nil, err
	}
	t, err := peer.New(pc, h)
	if err != nil {
		return nil, nil, fmt.Errorf("server: quorum transport: %w", err)
	}
	return t, h, nil
}

// listenAddrs are the quorum and election addresses to bind: the server's
// own line, or every interface with quorumListenOnAllIPs=true, as ZooKeeper
// does for hosts whose name resolves to an address they do not own (NAT,
// Kubernetes services).
func listenAddrs(cfg *config.Config, self config.Server) (quorum, election string) {
	if !strings.EqualFold(cfg.Other["quorumListenOnAllIPs"], "true") {
		return self.QuorumAddr(), self.ElectionAddr()
	}
	return net.JoinHostPort("", strconv.Itoa(self.QuorumPort)), net.JoinHostPort("", strconv.Itoa(self.ElectionPort))
}

// statusLine is what the election port answers.
func (s *Server) statusLine() string {
	// It may be asked while New still starts the log: the node comes
	// from the handler, which publishes it once it runs.
	n := s.peerHandler.node.Load()
	if n == nil {
		return fmt.Sprintf("myid=%d state=starting\n", s.id)
	}
	st := n.Status()
	return fmt.Sprintf("myid=%d mode=%s leader=%d term=%d zxid=0x%x members=%s\n", s.id, s.modeOf(n), st.Lead, st.Term, s.tree.LastZxid(), memberList(n.Membership()))
}

// reportTouches sends the sessions active here since the last report to the
// leader; the leader touches its own sessions directly.
func (s *Server) reportTouches() {
	ids := s.sessions.drainTouched()
	lead := s.node.Leader()
	if s.transport == nil || len(ids) == 0 || lead == 0 || lead == s.id {
		return
	}
	b := make([]byte, 0, 8*len(ids))
	for _, id := range ids {
		b = binary.BigEndian.AppendUint64(b, uint64(id))
	}
	s.transport.SendControl(lead, controlTouch, b)
}

// leaderStats are the mntr keys only a leader reports.
func (s *Server) leaderStats() (learners, syncedFollowers, syncedObservers int) {
	st := s.node.Status()
	if st.RaftState != raft.StateLeader {
		return 0, 0, 0
	}
	for id, pr := range st.Progress {
		if id == s.id {
			continue
		}
		learners++
		if pr.State != tracker.StateReplicate {
			continue
		}
		if pr.IsLearner {
			syncedObservers++
		} else {
			syncedFollowers++
		}
	}
	return learners, syncedFollowers, syncedObservers
}

// syncedObservers are the observers a leader is replicating to, by id,
// with the last zxid each has acknowledged; none when not leading.
func (s *Server) syncedObservers() map[uint64]int64 {
	st := s.node.Status()
	if st.RaftState != raft.StateLeader {
		return nil
	}
	obs := map[uint64]int64{}
	for id, pr := range st.Progress {
		if id != s.id && pr.IsLearner && pr.State == tracker.StateReplicate {
			obs[id] = int64(pr.Match)
		}
	}
	return obs
}

// SetPeerFilter drops the traffic between servers for which f returns
// false, in both directions; tests partition an ensemble with it. A
// standalone server has no peers and ignores it.
func (s *Server) SetPeerFilter(f func(from, to uint64) bool) {
	if s.transport != nil {
		s.transport.SetFilter(f)
	}
}

// campaignAtStart asks for elections while no leader is known after
// start, as ZooKeeper servers elect at once on start, rather than waiting
// for raft's election timeout each round. Pre-vote keeps it from unseating
// a live leader; random delays keep servers started together from
// splitting the vote.
func (s *Server) campaignAtStart() {
	defer s.wg.Done()
	if s.isObserver() {
		return
	}
	for s.node.Leader() == 0 {
		delay := time.Duration(rand.Int64N(int64(s.electionTimeout/4) + 1))
		select {
		case <-time.After(delay):
		case <-s.stopping:
			return
		case <-s.node.Done():
			return
		}
		if s.node.Leader() != 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.electionTimeout)
		if err := s.node.Campaign(ctx); err != nil {
			s.log.Debug("campaign at start", zap.Error(err))
		}
		cancel()
	}
}

// handOver transfers leadership to the most up-to-date voter before a
// leader stops, so a planned restart costs a round trip instead of an
// election timeout.
func (s *Server) handOver() {
	st := s.node.Status()
	if st.RaftState != raft.StateLeader {
		return
	}
	var target, best uint64
	for id, pr := range st.Progress {
		if id != s.id && !pr.IsLearner && pr.Match >= best {
			target, best = id, pr.Match
		}
	}
	if target == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.electionTimeout)
	defer cancel()
	s.node.TransferLeadership(ctx, target)
	for s.node.IsLeader() && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
}
