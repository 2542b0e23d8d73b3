package server

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/config"
)

// ensembleView is the membership the server acts on: the server lines of
// zoo.cfg at first, then those of each reconfiguration as it applies, in log
// order, on every member alike. Mode, mntr, the leader's statistics and the
// peer transport's addresses read it, never cfg.Servers, which is only
// where it starts. A view is never changed once published.
type ensembleView struct {
	servers []config.Server // by id
	// version is the zxid of the reconfiguration that made the view, 0
	// for the configuration file's; ZooKeeper's config version, which
	// /zookeeper/config ends with and curConfigId is checked against.
	version int64
	// staged are joining participants the leader has added as raft
	// learners so that they catch up before they vote. They are not in
	// the configuration yet, but the transport must reach them.
	staged []config.Server
}

func newView(servers []config.Server, version int64) *ensembleView {
	s := slices.Clone(servers)
	slices.SortFunc(s, func(a, b config.Server) int { return cmp.Compare(a.ID, b.ID) })
	return &ensembleView{servers: s, version: version}
}

func (v *ensembleView) server(id uint64) (config.Server, bool) {
	i, ok := slices.BinarySearchFunc(v.servers, id, func(s config.Server, id uint64) int { return cmp.Compare(s.ID, id) })
	if !ok {
		return config.Server{}, false
	}
	return v.servers[i], true
}

// members is the raft group the view describes: participants vote,
// observers are learners.
func (v *ensembleView) members() (voters, learners []uint64) {
	for _, sv := range v.servers {
		if sv.Observer {
			learners = append(learners, sv.ID)
		} else {
			voters = append(voters, sv.ID)
		}
	}
	return voters, learners
}

// serverLines are the view's server lines in ZooKeeper's dynamic-config
// format, one per line, without the version.
func serverLines(servers []config.Server) string {
	var b strings.Builder
	for _, sv := range servers {
		fmt.Fprintf(&b, "server.%d=%s\n", sv.ID, sv)
	}
	return b.String()
}

// text is /zookeeper/config's data, as QuorumVerifier.toString writes it:
// the server lines, then the version in hex.
func (v *ensembleView) text() string {
	return serverLines(v.servers) + "version=" + strconv.FormatInt(v.version, 16)
}

// parseServers reads server lines separated by newlines or commas (as
// reconfig's newMembers may be); blank lines are skipped and a version line
// is returned apart. Every other key is an error, as in ZooKeeper's
// dynamic configuration.
func parseServers(text string) (servers []config.Server, version int64, err error) {
	seen := map[uint64]bool{}
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' || r == '\r' }) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, 0, fmt.Errorf("%q is not key=value", line)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if key == "version" {
			if version, err = strconv.ParseInt(value, 16, 64); err != nil {
				return nil, 0, fmt.Errorf("version %q: %w", value, err)
			}
			continue
		}
		sv, err := config.ParseServer(key, value)
		if err != nil {
			return nil, 0, err
		}
		if seen[sv.ID] {
			return nil, 0, fmt.Errorf("server %d is listed twice", sv.ID)
		}
		seen[sv.ID] = true
		servers = append(servers, sv)
	}
	return servers, version, nil
}

// setView publishes v and points the peer transport at its members.
func (s *Server) setView(v *ensembleView) {
	s.view.Store(v)
	if s.transport == nil {
		return
	}
	want := map[uint64]string{}
	for _, sv := range slices.Concat(v.servers, v.staged) {
		if sv.ID != s.id {
			want[sv.ID] = sv.QuorumAddr()
		}
	}
	for id := range s.transport.Peers() {
		if _, ok := want[id]; ok {
			continue
		}
		// A removed member's last messages (a removed leader's answer
		// to the reconfig that removed it) must still arrive: it is
		// forgotten a while later, unless a later change added it back.
		time.AfterFunc(s.removalGrace(), func() {
			v := s.view.Load()
			_, member := v.server(id)
			if !member && !slices.ContainsFunc(v.staged, func(sv config.Server) bool { return sv.ID == id }) {
				s.transport.RemovePeer(id)
			}
		})
	}
	for id, addr := range want {
		if err := s.transport.SetPeer(id, addr); err != nil {
			s.log.Warn("cannot reach a member at its new address", zap.Uint64("server", id), zap.String("addr", addr), zap.Error(err))
		}
	}
}

// removalGrace is how long a removed member's traffic is still taken.
func (s *Server) removalGrace() time.Duration {
	return max(4*s.electionTimeout, time.Second)
}

// isObserver reports whether this server is a non-voting member.
func (s *Server) isObserver() bool {
	self, ok := s.view.Load().server(s.id)
	return ok && !s.cfg.Standalone() && self.Observer
}

// memberList is a membership as the election port's status line shows it:
// ids joined by commas, "-" for none.
func memberList(cs *raftpb.ConfState) string {
	ids := slices.Concat(cs.GetVoters(), cs.GetLearners(), cs.GetVotersOutgoing(), cs.GetLearnersNext())
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return "-"
	}
	f := make([]string, len(ids))
	for i, id := range ids {
		f[i] = strconv.FormatUint(id, 10)
	}
	return strings.Join(f, ",")
}

// groupWithoutMe reports whether a running group that does not count this
// server among its members answers on another server's election port: a
// server with no log then joins it (raftnode's Config.Join) rather than
// bootstrap a group of its own. Servers of a new ensemble find no leader,
// or one whose bootstrap membership names them, and bootstrap.
func (s *Server) groupWithoutMe() bool {
	me := strconv.FormatUint(s.id, 10)
	for _, sv := range s.view.Load().servers {
		if sv.ID == s.id {
			continue
		}
		line, err := readStatus(sv.ElectionAddr(), s.electionProbeTimeout())
		if err != nil {
			continue
		}
		var leader uint64
		var members string
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "leader":
				leader, _ = strconv.ParseUint(v, 10, 64)
			case "members":
				members = v
			}
		}
		if leader != 0 && members != "" && members != "-" && !slices.Contains(strings.Split(members, ","), me) {
			s.log.Info("joining a running ensemble that does not count this server yet", zap.Uint64("asked", sv.ID), zap.String("members", members))
			return true
		}
	}
	return false
}

// electionProbeTimeout bounds one look at a peer's status line.
func (s *Server) electionProbeTimeout() time.Duration {
	return max(s.cfg.TickTime, time.Second)
}

// readStatus reads the status line a server writes on its election port.
func readStatus(addr string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(io.LimitReader(c, 4096)).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("status of %s: %w", addr, err)
	}
	return line, nil
}
