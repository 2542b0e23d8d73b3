package server

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// fourLetterWords are the commands served; their texts follow ZooKeeper
// 3.8 so that scripts and monitoring that parse them keep working.
var fourLetterWords = map[string]func(*Server, *strings.Builder){
	"ruok": func(_ *Server, b *strings.Builder) { b.WriteString("imok") },
	"isro": func(_ *Server, b *strings.Builder) { b.WriteString("rw") },
	"srvr": func(s *Server, b *strings.Builder) { s.writeStat(b, false) },
	"stat": func(s *Server, b *strings.Builder) { s.writeStat(b, true) },
	"mntr": (*Server).writeMntr,
	"conf": (*Server).writeConf,
	"cons": (*Server).writeCons,
	"crst": func(s *Server, b *strings.Builder) {
		for _, c := range s.connList() {
			c.recved.Store(0)
			c.sent.Store(0)
			c.lat.reset()
		}
		b.WriteString("Connection stats reset.\n")
	},
	"srst": func(s *Server, b *strings.Builder) {
		s.stats.recved.Store(0)
		s.stats.sent.Store(0)
		s.stats.lat.reset()
		b.WriteString("Server stats reset.\n")
	},
	"envi": (*Server).writeEnvi,
	"dirs": func(s *Server, b *strings.Builder) {
		fmt.Fprintf(b, "datadir_size: %d\nlogdir_size: %d\n", dirSize(s.cfg.DataDir), dirSize(s.logDir()))
	},
	"wchs": func(s *Server, b *strings.Builder) {
		conns, paths, total := s.tree.WatchSummary()
		fmt.Fprintf(b, "%d connections watching %d paths\nTotal watches:%d\n", conns, paths, total)
	},
	// wchc, wchp and dump copy at most FourLetterWordMaxOutput bytes of
	// output under the locks applies need, then format it without them.
	"wchc": func(s *Server, b *strings.Builder) {
		m, complete := s.tree.WatchesBySessionUpTo(FourLetterWordMaxOutput)
		for _, id := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(b, "0x%x\n", id)
			for _, p := range m[id] {
				fmt.Fprintf(b, "\t%s\n", p)
			}
		}
		s.truncated(b, complete)
		b.WriteString("\n")
	},
	"wchp": func(s *Server, b *strings.Builder) {
		m, complete := s.tree.WatchesByPathUpTo(FourLetterWordMaxOutput)
		for _, p := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(b, "%s\n", p)
			for _, id := range m[p] {
				fmt.Fprintf(b, "\t0x%x\n", id)
			}
		}
		s.truncated(b, complete)
		b.WriteString("\n")
	},
	"dump": (*Server).writeDump,
}

// truncated ends an answer that FourLetterWordMaxOutput cut short with a
// line that says so.
func (s *Server) truncated(b *strings.Builder, complete bool) {
	if !complete {
		s.stats.truncated4lw.Add(1)
		fmt.Fprintf(b, "(output truncated at %d bytes)\n", FourLetterWordMaxOutput)
	}
}

// notServing is ZooKeeper's answer, from the commands that report on the
// data, while a quorum server has no leader.
const notServing = "This ZooKeeper instance is not currently serving requests\n"

var needsServing = map[string]bool{
	"srvr": true, "stat": true, "mntr": true, "cons": true, "dirs": true,
	"dump": true, "wchs": true, "wchc": true, "wchp": true,
}

// expensive4lw are the words whose answer grows with the data.
var expensive4lw = map[string]bool{"wchc": true, "wchp": true, "dump": true}

func isFourLetterWord(cmd string) bool {
	_, ok := fourLetterWords[cmd]
	return ok
}

// send4lw answers a four-letter word and closes, as ZooKeeper does.
func (c *conn) send4lw(cmd string) {
	c.s.log.Info("processing four-letter word", zap.String("cmd", cmd), zap.String("remote", c.remote))
	c.queueRaw([]byte(c.s.FourLetterWord(cmd)))
	c.closeAfterFlush()
}

// FourLetterWord is the answer to cmd that a client sending it to the
// client port gets, whitelist included; it still answers after a storage
// failure has closed the port.
func (s *Server) FourLetterWord(cmd string) string {
	var b strings.Builder
	if s.cfg.Allowed(cmd) {
		if needsServing[cmd] && !s.Serving() {
			b.WriteString(notServing)
			if cmd == "mntr" && s.storageErr() != nil {
				// Monitoring that parses mntr needs the reason, which the
				// not-serving line does not give.
				b.WriteString("zk_storage_failed\t1\n")
			}
		} else {
			if expensive4lw[cmd] {
				// One at a time: each may copy FourLetterWordMaxOutput
				// bytes and format them, and many at once would take the
				// memory and CPU the clients need.
				s.dumpMu.Lock()
				defer s.dumpMu.Unlock()
			}
			fourLetterWords[cmd](s, &b)
		}
	} else {
		b.WriteString(cmd + " is not executed because it is not in the whitelist.\n")
	}
	return b.String()
}

// Serving reports whether the server answers clients: never once its
// storage failed; otherwise always when standalone, and while it knows a
// leader in a quorum.
func (s *Server) Serving() bool {
	return s.storageErr() == nil && (s.cfg.Standalone() || s.node.Leader() != 0)
}

// Mode is what srvr reports: standalone, leader, follower or observer.
func (s *Server) Mode() string {
	switch {
	case s.cfg.Standalone():
		return "standalone"
	case s.isObserver():
		return "observer"
	case s.node.IsLeader():
		return "leader"
	}
	return "follower"
}

func (s *Server) logDir() string {
	if s.cfg.DataLogDir != "" {
		return s.cfg.DataLogDir
	}
	return s.cfg.DataDir
}

func (s *Server) connList() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		l = append(l, c)
	}
	sort.Slice(l, func(i, j int) bool { return l[i].est.Before(l[j].est) })
	return l
}

// javaDouble prints a float the way Java's Double.toString does for the
// values latency averages take ("0.0", "1.25").
func javaDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func (s *Server) writeStat(b *strings.Builder, withClients bool) {
	fmt.Fprintf(b, "Zookeeper version: %s\n", Version)
	if withClients {
		b.WriteString("Clients:\n")
		for _, c := range s.connList() {
			c.writeInfo(b, true)
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	lo, avg, hi, _ := s.stats.lat.read()
	fmt.Fprintf(b, "Latency min/avg/max: %d/%s/%d\n", lo, javaDouble(avg), hi)
	fmt.Fprintf(b, "Received: %d\nSent: %d\nConnections: %d\n", s.stats.recved.Load(), s.stats.sent.Load(), len(s.connList()))
	fmt.Fprintf(b, "Outstanding: %d\nZxid: 0x%x\nMode: %s\nNode count: %d\n", s.outstanding(), s.tree.LastZxid(), s.Mode(), s.tree.NodeCount())
}

func (s *Server) outstanding() int64 { return s.inflight.Load() }

// writeInfo is ServerCnxn.dumpConnectionInfo.
func (c *conn) writeInfo(b *strings.Builder, brief bool) {
	c.outMu.Lock()
	queued := len(c.pending)
	c.outMu.Unlock()
	fmt.Fprintf(b, " %s[1](queued=%d,recved=%d,sent=%d", c.remote, queued, c.recved.Load(), c.sent.Load())
	if !brief && c.session.ID != 0 {
		lo, avg, hi, last := c.lat.read()
		fmt.Fprintf(b, ",sid=0x%x,lop=%s,est=%d,to=%d", c.session.ID, c.lastOp.Load(), c.est.UnixMilli(), c.session.Timeout)
		if cx := c.lastCxid.Load(); cx >= 0 {
			fmt.Fprintf(b, ",lcxid=0x%x", cx)
		}
		fmt.Fprintf(b, ",lzxid=0x%x,lresp=%d,llat=%d,minlat=%d,avglat=%s,maxlat=%d",
			c.lastZxid.Load(), c.lastResp.Load(), last, lo, javaDouble(avg), hi)
	}
	b.WriteString(")")
}

func (s *Server) writeCons(b *strings.Builder) {
	for _, c := range s.connList() {
		c.writeInfo(b, false)
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func (s *Server) writeMntr(b *strings.Builder) {
	lo, avg, hi, _ := s.stats.lat.read()
	kv := func(k string, v any) { fmt.Fprintf(b, "zk_%s\t%v\n", k, v) }
	kv("version", Version)
	kv("server_state", s.Mode())
	kv("avg_latency", javaDouble(avg))
	kv("max_latency", hi)
	kv("min_latency", lo)
	kv("packets_received", s.stats.recved.Load())
	kv("packets_sent", s.stats.sent.Load())
	kv("num_alive_connections", len(s.connList()))
	kv("outstanding_requests", s.outstanding())
	kv("uptime", time.Since(s.started).Milliseconds())
	kv("znode_count", s.tree.NodeCount())
	kv("watch_count", s.tree.WatchCount())
	kv("ephemerals_count", s.tree.EphemeralCount())
	kv("approximate_data_size", s.tree.ApproximateDataSize())
	kv("global_sessions", len(s.tree.Sessions()))
	kv("local_sessions", 0)
	kv("open_file_descriptor_count", openFDs())
	kv("max_file_descriptor_count", maxFDs())
	kv("connection_drop_probability", "0.0")
	// The limits at work (see the package doc); the first two names are
	// ZooKeeper's.
	kv("request_throttle_wait_count", s.stats.throttled.Load())
	kv("auth_failed_count", s.stats.authFailed.Load())
	kv("large_responses_rejected", s.stats.largeReplies.Load())
	kv("watches_rejected", s.tree.WatchRefusals())
	kv("outbound_limit_disconnects", s.stats.outboundClosed.Load())
	kv("four_letter_words_truncated", s.stats.truncated4lw.Load())
	if !s.cfg.Standalone() {
		voters, _ := membership(s.cfg)
		kv("quorum_size", len(voters))
	}
	if s.Mode() == "leader" {
		learners, followers, observers := s.leaderStats()
		kv("learners", learners)
		kv("synced_followers", followers)
		kv("synced_non_voting_followers", 0)
		kv("synced_observers", observers)
		kv("pending_syncs", 0)
	}
}

func (s *Server) writeConf(b *strings.Builder) {
	cfg := s.cfg
	port := cfg.ClientPort
	fmt.Fprintf(b, "clientPort=%d\nsecureClientPort=-1\n", port)
	fmt.Fprintf(b, "dataDir=%s\ndataDirSize=%d\n", cfg.DataDir, dirSize(cfg.DataDir))
	fmt.Fprintf(b, "dataLogDir=%s\ndataLogSize=%d\n", s.logDir(), dirSize(s.logDir()))
	fmt.Fprintf(b, "tickTime=%d\nmaxClientCnxns=%d\n", cfg.TickTime.Milliseconds(), cfg.MaxClientCnxns)
	fmt.Fprintf(b, "minSessionTimeout=%d\nmaxSessionTimeout=%d\n", cfg.MinSessionTimeout.Milliseconds(), cfg.MaxSessionTimeout.Milliseconds())
	fmt.Fprintf(b, "clientPortListenBacklog=-1\nserverId=%d\n", map[bool]uint64{true: 0, false: s.id}[cfg.Standalone()])
}

func (s *Server) writeEnvi(b *strings.Builder) {
	host, _ := os.Hostname()
	wd, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	user := os.Getenv("USER")
	b.WriteString("Environment:\n")
	for _, kv := range [][2]string{
		{"zookeeper.version", Version},
		{"host.name", host},
		{"go.version", runtime.Version()},
		{"os.name", runtime.GOOS},
		{"os.arch", runtime.GOARCH},
		{"user.name", user},
		{"user.home", home},
		{"user.dir", wd},
		{"os.cpus", strconv.Itoa(runtime.NumCPU())},
	} {
		fmt.Fprintf(b, "%s=%s\n", kv[0], kv[1])
	}
}

func (s *Server) writeDump(b *strings.Builder) {
	const javaDate = "Mon Jan 02 15:04:05 MST 2006"
	sessions, complete := s.sessions.snapshotUpTo(FourLetterWordMaxOutput / len("\t0x0123456789abcdef\n"))
	byDeadline := map[time.Time][]int64{}
	for id, d := range sessions {
		byDeadline[d] = append(byDeadline[d], id)
	}
	deadlines := make([]time.Time, 0, len(byDeadline))
	total := 0
	for d, ids := range byDeadline {
		deadlines = append(deadlines, d)
		total += len(ids)
	}
	sort.Slice(deadlines, func(i, j int) bool { return deadlines[i].Before(deadlines[j]) })
	b.WriteString("SessionTracker dump:\n")
	fmt.Fprintf(b, "Session Sets (%d)/(%d):\n", len(deadlines), total)
	for _, d := range deadlines {
		ids := byDeadline[d]
		slices.Sort(ids)
		fmt.Fprintf(b, "%d expire at %s:\n", len(ids), d.Format(javaDate))
		for _, id := range ids {
			fmt.Fprintf(b, "\t0x%x\n", id)
		}
	}
	eph := map[int64][]string{}
	if complete {
		eph, complete = s.tree.EphemeralsUpTo(max(FourLetterWordMaxOutput-b.Len(), 0))
	}
	b.WriteString("ephemeral nodes dump:\n")
	fmt.Fprintf(b, "Sessions with Ephemerals (%d):\n", len(eph))
	for _, id := range slices.Sorted(maps.Keys(eph)) {
		fmt.Fprintf(b, "0x%x:\n", id)
		for _, p := range eph[id] {
			fmt.Fprintf(b, "\t%s\n", p)
		}
	}
	b.WriteString("Connections dump:\n")
	conns := s.connList()
	fmt.Fprintf(b, "Connections Sets (%d)/(%d):\n", min(len(conns), 1), len(conns))
	for _, c := range conns {
		if b.Len() > FourLetterWordMaxOutput {
			complete = false
			break
		}
		fmt.Fprintf(b, "\t%s\n", c.remote)
	}
	s.truncated(b, complete)
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
