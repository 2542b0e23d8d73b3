package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"go.etcd.io/raft/v3/tracker"
	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/raftnode"
	"github.com/zookit/zookit/ensemble/tree"
)

// Dynamic reconfiguration.
//
// Only the raft leader can propose a membership change (raftnode refuses
// forwarded ones), so a follower hands a client's reconfig to the leader
// over the peer transport (controlReconfig) and waits for its answer
// (controlReconfigReply). The leader checks the request against the
// membership it has applied, under reconfMu so that one reconfig runs at a
// time, and proposes the change with the new server lines in the change's
// Context. Every member applies it in log order (ApplyConfChange): the view,
// the peer transport and /zookeeper/config change together, and the
// config version is the change's log index, as ZooKeeper's is the
// reconfig's zxid. A replicated txn that the leader turns into a change
// when it applies was the other way; it would put in the log a request
// whose outcome the log does not decide, and a leader change between the
// txn and the change would lose it with no one to answer the client.
//
// A control message can be lost like any other; the follower then gives
// up after the session timeout and closes the connection, so the client
// learns the outcome is unknown (connection loss), as when its server
// loses the leader in ZooKeeper.

// Peer control messages of reconfig.
const (
	controlReconfig      byte = 2 // seq, ReconfigRequest, auth: a follower asks the leader
	controlReconfigReply byte = 3 // seq, code, zxid: the leader answers
)

// Kinds of conf change Context.
const (
	ccFinal  byte = 1 // the new configuration: mtime, server lines
	ccStaged byte = 2 // joining participants added as learners: mtime, their lines
)

// errReconfigUnknown ends a reconfig whose outcome is unknown: the client
// is told by losing its connection.
var errReconfigUnknown = errors.New("server: the outcome of the reconfig is unknown")

func encodeConfContext(kind byte, mtime int64, servers []config.Server) []byte {
	b := []byte{kind}
	b = binary.BigEndian.AppendUint64(b, uint64(mtime))
	return append(b, serverLines(servers)...)
}

func decodeConfContext(b []byte) (kind byte, mtime int64, servers []config.Server, err error) {
	if len(b) < 9 || (b[0] != ccFinal && b[0] != ccStaged) {
		return 0, 0, nil, fmt.Errorf("malformed conf change context of %d bytes", len(b))
	}
	servers, _, err = parseServers(string(b[9:]))
	return b[0], int64(binary.BigEndian.Uint64(b[1:9])), servers, err
}

// ApplyConfChange makes a membership change the server's, on the apply
// goroutine, in log order: every member does the same at the same index.
func (sm *stateMachine) ApplyConfChange(index uint64, cc *raftpb.ConfChangeV2, state *raftpb.ConfState) {
	s := (*Server)(sm)
	if len(cc.GetContext()) > 0 {
		kind, mtime, servers, err := decodeConfContext(cc.GetContext())
		if err != nil {
			// Every member skips the same bytes alike.
			s.log.Error("membership change without a readable configuration", zap.Uint64("index", index), zap.Error(err))
		} else if kind == ccStaged {
			v := *s.view.Load()
			v.staged = servers
			s.setView(&v)
		} else {
			v := newView(servers, int64(index))
			s.tree.SetConfig(int64(index), mtime, []byte(v.text()))
			s.setView(v)
			s.log.Info("reconfigured", zap.String("version", strconv.FormatInt(v.version, 16)), zap.String("servers", strings.TrimSpace(serverLines(v.servers))))
		}
	}
	// Leaving a joint configuration carries no Context: the view changed
	// when it was entered.
	ids := slices.Concat(state.GetVoters(), state.GetLearners(), state.GetVotersOutgoing(), state.GetLearnersNext())
	if len(ids) > 0 && !slices.Contains(ids, s.id) {
		s.stopServing(errRemoved)
	}
	s.succeedRemovedLeader(state)
}

// succeedRemovedLeader starts an election at once when the change removed
// the leader, which steps down without handing over: else the others
// would wait an election timeout (syncLimit ticks) without a leader, as
// ZooKeeper's designated leader avoids. Every member applies the same
// change, so they agree that the lowest remaining voter stands.
func (s *Server) succeedRemovedLeader(state *raftpb.ConfState) {
	if !s.nodeReady.Load() {
		// Replaying the log at start: the change is history.
		return
	}
	voters := state.GetVoters()
	lead := s.node.Leader()
	if lead == 0 || lead == s.id || slices.Contains(voters, lead) || len(state.GetVotersOutgoing()) > 0 ||
		len(voters) == 0 || slices.Min(voters) != s.id {
		return
	}
	s.log.Info("the leader removed itself; standing for election at once", zap.Uint64("removed", lead))
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.electionTimeout)
		defer cancel()
		if err := s.node.Succeed(ctx); err != nil {
			s.log.Info("could not stand for election", zap.Error(err))
		}
	}()
}

// errRemoved is why a server removed by reconfig stops serving.
var errRemoved = errors.New("server: removed from the ensemble by reconfig")

// stopServing closes the client listeners and connections for good; Serve
// returns err. A server whose storage failed and one removed from the
// ensemble both must not look healthy to clients.
func (s *Server) stopServing(err error) {
	s.mu.Lock()
	if s.fault != nil {
		s.mu.Unlock()
		return
	}
	s.fault = err
	lns := s.lns
	s.mu.Unlock()
	if errors.Is(err, errRemoved) {
		s.log.Warn("this server is no longer a member of the ensemble: it stopped serving clients; stop it and remove its data", zap.Uint64("myid", s.id))
	}
	for _, ln := range lns {
		ln.Close()
	}
	for _, c := range s.connList() {
		c.close()
	}
}

// reconfig serves a client's reconfig request; an error means the
// connection must close because the outcome is unknown.
func (c *conn) reconfig(start time.Time, xid int32, req *proto.ReconfigRequest) error {
	if !c.waitIdle() {
		return nil
	}
	s := c.s
	if !s.cfg.ReconfigEnabled {
		c.reply(start, xid, proto.ErrReconfigDisabled, nil)
		return nil
	}
	if s.cfg.Standalone() {
		// ZooKeeper's standalone server cannot reconfigure either.
		c.reply(start, xid, proto.ErrUnimplemented, nil)
		return nil
	}
	ctx, cancel := context.WithTimeout(c.ctx, time.Duration(c.session.Timeout)*time.Millisecond)
	defer cancel()
	zxid, code, err := s.reconfig(ctx, tree.CompactAuth(c.auth), req)
	if err == nil && code == proto.OK {
		err = s.node.WaitApplied(ctx, uint64(zxid))
	}
	if err != nil {
		return fmt.Errorf("reconfig: %w", err)
	}
	if code != proto.OK {
		c.reply(start, xid, code, nil)
		return nil
	}
	data, stat := s.tree.Config()
	c.replyZxid(start, xid, zxid, proto.OK, &proto.GetDataResponse{Data: data, Stat: stat})
	return nil
}

// reconfig runs req on the leader, here or over the peer transport, and
// returns the new config version or the error code.
func (s *Server) reconfig(ctx context.Context, auth []proto.ID, req *proto.ReconfigRequest) (int64, proto.Code, error) {
	if s.node.IsLeader() {
		return s.leadReconfig(ctx, auth, req)
	}
	lead := s.node.Leader()
	if lead == 0 {
		return 0, 0, fmt.Errorf("%w: no leader", errReconfigUnknown)
	}
	seq := s.seq.Add(1)
	e := &proto.Encoder{}
	e.Long(int64(seq))
	e.Buffer(proto.Marshal(req))
	e.Int(int32(len(auth)))
	for i := range auth {
		auth[i].Encode(e)
	}
	ch := make(chan reconfigReply, 1)
	s.mu.Lock()
	s.reconfigs[seq] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.reconfigs, seq)
		s.mu.Unlock()
	}()
	if err := s.transport.SendControl(lead, controlReconfig, e.Buf); err != nil {
		return 0, 0, fmt.Errorf("%w: %w", errReconfigUnknown, err)
	}
	select {
	case r := <-ch:
		if r.code == proto.ErrConnectionLoss {
			return 0, 0, fmt.Errorf("%w: the leader could not tell", errReconfigUnknown)
		}
		return r.zxid, r.code, nil
	case <-ctx.Done():
		return 0, 0, fmt.Errorf("%w: %w", errReconfigUnknown, ctx.Err())
	}
}

type reconfigReply struct {
	code proto.Code
	zxid int64
}

// reconfigControl handles the reconfig control messages: a request from a
// follower (on a goroutine of its own, since it waits for the log) or an
// answer to one of ours.
func (s *Server) reconfigControl(from uint64, kind byte, payload []byte) {
	d := proto.NewDecoder(payload)
	seq := uint64(d.Long())
	if kind == controlReconfigReply {
		r := reconfigReply{code: proto.Code(d.Int()), zxid: d.Long()}
		if d.Err() != nil {
			return
		}
		s.mu.Lock()
		ch := s.reconfigs[seq]
		s.mu.Unlock()
		if ch != nil {
			select {
			case ch <- r:
			default:
			}
		}
		return
	}
	req := &proto.ReconfigRequest{}
	if b := d.Buffer(); d.Err() == nil {
		rd := proto.NewDecoder(b)
		req.Decode(rd)
		if rd.Err() != nil {
			return
		}
	}
	n := int(d.Int())
	if d.Err() != nil || n < 0 || n > d.Remaining()/8 {
		return
	}
	auth := make([]proto.ID, n)
	for i := range auth {
		auth[i].Decode(d)
	}
	if d.Err() != nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.reconfigTimeout())
		defer cancel()
		go func() {
			select {
			case <-s.stopping:
				cancel()
			case <-ctx.Done():
			}
		}()
		zxid, code, err := s.leadReconfig(ctx, auth, req)
		if err != nil {
			s.log.Info("a forwarded reconfig ended with its outcome unknown", zap.Uint64("from", from), zap.Error(err))
			code = proto.ErrConnectionLoss
		}
		e := &proto.Encoder{}
		e.Long(int64(seq))
		e.Int(int32(code))
		e.Long(zxid)
		if err := s.transport.SendControl(from, controlReconfigReply, e.Buf); err != nil {
			s.log.Info("cannot answer a forwarded reconfig", zap.Uint64("from", from), zap.Error(err))
		}
	}()
}

// reconfigTimeout bounds a reconfig on the leader: joining servers get
// initLimit ticks to catch up, as ZooKeeper gives a learner to sync, and
// each membership change some election timeouts to commit.
func (s *Server) reconfigTimeout() time.Duration {
	return time.Duration(max(s.cfg.InitLimit, 1))*s.cfg.TickTime + 6*s.electionTimeout
}

// leadReconfig checks and runs req on the leader, in ZooKeeper's order
// (PrepRequestProcessor): in progress, version, the new configuration, its
// quorum; then the ACL, which zookit checks before the quorum because
// catching up joining servers changes the membership.
func (s *Server) leadReconfig(ctx context.Context, auth []proto.ID, req *proto.ReconfigRequest) (int64, proto.Code, error) {
	if !s.reconfMu.TryLock() {
		return 0, proto.ErrReconfigInProgress, nil
	}
	defer s.reconfMu.Unlock()
	if !s.node.IsLeader() {
		return 0, 0, fmt.Errorf("%w: no longer the leader", errReconfigUnknown)
	}
	cur := s.view.Load()
	if req.CurConfigID != -1 && req.CurConfigID != cur.version {
		return 0, proto.ErrBadVersion, nil
	}
	next, err := nextServers(cur, req)
	if err != nil {
		s.log.Info("refusing a reconfig", zap.Error(err))
		return 0, proto.ErrBadArguments, nil
	}
	nv := newView(next, 0)
	voters, _ := nv.members()
	if len(voters) < 1 || (s.cfg.StandaloneEnabled && len(voters) < 2) {
		s.log.Info("refusing a reconfig: too few participants", zap.Int("participants", len(voters)))
		return 0, proto.ErrBadArguments, nil
	}
	if err := s.tree.CheckConfigWrite(auth); err != nil {
		return 0, proto.CodeOf(err), nil
	}
	var joining []config.Server
	var changes []*raftpb.ConfChangeSingle
	add := func(t raftpb.ConfChangeType, id uint64) {
		changes = append(changes, &raftpb.ConfChangeSingle{Type: &t, NodeId: &id})
	}
	for _, sv := range cur.servers {
		if _, ok := nv.server(sv.ID); !ok {
			add(raftpb.ConfChangeRemoveNode, sv.ID)
		}
	}
	for _, sv := range nv.servers {
		old, ok := cur.server(sv.ID)
		switch {
		case !ok && sv.Observer:
			add(raftpb.ConfChangeAddLearnerNode, sv.ID)
		case !ok:
			joining = append(joining, sv)
			add(raftpb.ConfChangeAddNode, sv.ID)
		case old.Observer && !sv.Observer:
			add(raftpb.ConfChangeAddNode, sv.ID)
		case !old.Observer && sv.Observer:
			add(raftpb.ConfChangeAddLearnerNode, sv.ID)
		}
	}
	if len(changes) == 0 {
		// Only addresses change: raft needs a change to carry the new
		// configuration, and re-adding the leader changes nothing.
		add(raftpb.ConfChangeAddNode, s.id)
	}
	if len(joining) > 0 {
		if err := s.stage(ctx, joining); err != nil {
			return 0, codeOfConfErr(err), errUnknownOf(err)
		}
	}
	if !s.quorumSynced(voters) {
		code := proto.ErrNewConfigNoQuorum
		if len(joining) > 0 {
			if err := s.unstage(ctx, joining); err != nil {
				s.log.Warn("cannot remove the joining servers that did not catch up", zap.Error(err))
				code = codeOfConfErr(err)
			}
		}
		return 0, code, nil
	}
	cc := &raftpb.ConfChangeV2{Changes: changes, Context: encodeConfContext(ccFinal, time.Now().UnixMilli(), nv.servers)}
	if err := s.proposeConfChange(ctx, cc); err != nil {
		return 0, codeOfConfErr(err), errUnknownOf(err)
	}
	return s.view.Load().version, proto.OK, nil
}

// nextServers is the configuration req asks for: newMembers replaces the
// servers (non-incremental), else leavingServers and joiningServers
// change them.
func nextServers(cur *ensembleView, req *proto.ReconfigRequest) ([]config.Server, error) {
	if req.NewMembers != "" {
		servers, _, err := parseServers(req.NewMembers)
		return servers, err
	}
	next := map[uint64]config.Server{}
	for _, sv := range cur.servers {
		next[sv.ID] = sv
	}
	for _, f := range strings.Split(req.LeavingServers, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		id, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("leaving server %q is not a server id", f)
		}
		delete(next, id)
	}
	joining, _, err := parseServers(strings.ReplaceAll(req.JoiningServers, "\n", ","))
	if err != nil {
		return nil, err
	}
	for _, sv := range joining {
		next[sv.ID] = sv
	}
	out := make([]config.Server, 0, len(next))
	for _, sv := range next {
		for _, o := range out {
			if o.QuorumAddr() == sv.QuorumAddr() || o.ElectionAddr() == sv.ElectionAddr() {
				return nil, fmt.Errorf("servers %d and %d share an address", o.ID, sv.ID)
			}
		}
		out = append(out, sv)
	}
	return out, nil
}

// stage adds joining participants as raft learners and waits, up to
// initLimit ticks, until they have caught up, so that they never vote
// before they hold the log; quorumSynced then decides.
func (s *Server) stage(ctx context.Context, joining []config.Server) error {
	var changes []*raftpb.ConfChangeSingle
	for _, sv := range joining {
		t, id := raftpb.ConfChangeAddLearnerNode, sv.ID
		changes = append(changes, &raftpb.ConfChangeSingle{Type: &t, NodeId: &id})
	}
	cc := &raftpb.ConfChangeV2{Changes: changes, Context: encodeConfContext(ccStaged, time.Now().UnixMilli(), joining)}
	if err := s.proposeConfChange(ctx, cc); err != nil {
		return err
	}
	target := s.node.Status().GetCommit()
	deadline := time.Now().Add(time.Duration(max(s.cfg.InitLimit, 1)) * s.cfg.TickTime)
	for time.Now().Before(deadline) {
		st := s.node.Status()
		caught := true
		for _, sv := range joining {
			if pr, ok := st.Progress[sv.ID]; !ok || pr.Match < target {
				caught = false
			}
		}
		if caught {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// unstage removes joining servers that stage added.
func (s *Server) unstage(ctx context.Context, joining []config.Server) error {
	var changes []*raftpb.ConfChangeSingle
	for _, sv := range joining {
		t, id := raftpb.ConfChangeRemoveNode, sv.ID
		changes = append(changes, &raftpb.ConfChangeSingle{Type: &t, NodeId: &id})
	}
	return s.proposeConfChange(ctx, &raftpb.ConfChangeV2{Changes: changes, Context: encodeConfContext(ccStaged, time.Now().UnixMilli(), nil)})
}

// quorumSynced is ZooKeeper's isQuorumSynced: a majority of voters is this
// leader or followers it is replicating to and hears from.
func (s *Server) quorumSynced(voters []uint64) bool {
	st := s.node.Status()
	synced := 0
	for _, id := range voters {
		pr, ok := st.Progress[id]
		if id == s.id || ok && pr.State == tracker.StateReplicate && pr.RecentActive && pr.Match+uint64(s.cfg.SyncLimit*10) >= st.GetCommit() {
			synced++
		}
	}
	return synced > len(voters)/2
}

// proposeConfChange proposes cc, retrying for an election timeout while
// raft has not settled the previous change yet (the one stage made, say).
func (s *Server) proposeConfChange(ctx context.Context, cc *raftpb.ConfChangeV2) error {
	deadline := time.Now().Add(s.electionTimeout)
	for {
		_, err := s.node.ProposeConfChange(ctx, cc)
		if !errors.Is(err, raftnode.ErrConfChangeInProgress) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// codeOfConfErr is the client's code for a failed membership change.
func codeOfConfErr(err error) proto.Code {
	switch {
	case err == nil:
		return proto.OK
	case errors.Is(err, raftnode.ErrConfChangeInProgress):
		return proto.ErrReconfigInProgress
	case errors.Is(err, raftnode.ErrInvalidConfChange):
		return proto.ErrBadArguments
	}
	return proto.ErrConnectionLoss
}

// errUnknownOf is err when the change may or may not have applied.
func errUnknownOf(err error) error {
	if err == nil || codeOfConfErr(err) != proto.ErrConnectionLoss {
		return nil
	}
	return fmt.Errorf("%w: %w", errReconfigUnknown, err)
}
