package server

import (
	"cmp"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zookit/zookit/ensemble/admin"
	"github.com/zookit/zookit/ensemble/metrics"
	"github.com/zookit/zookit/ensemble/tree"
)

// command is one of ZooKeeper's monitoring commands. Its data is made
// once, typed, by run; the four-letter word prints it as text and the
// AdminServer as JSON, through the data's json tags, which carry
// ZooKeeper's field names (Commands.java and the classes it serializes).
type command struct {
	names []string // AdminServer names, primary first
	word  string   // four-letter word; "" for none
	// serving: answered only while the server serves (notServing
	// otherwise), in both forms.
	serving bool
	// expensive: the answer grows with the data, so the command runs one
	// at a time (see exec).
	expensive bool
	run       func(s *Server) output
}

// output is what a command made: its data, the error its JSON reports,
// and its four-letter text.
type output struct {
	data any
	err  error
	text func(b *strings.Builder)
}

// errTruncated reports an answer cut at FourLetterWordMaxOutput.
var errTruncated = fmt.Errorf("output truncated at %d bytes", FourLetterWordMaxOutput)

// def builds a command from a typed data function and the text its
// four-letter word prints from that data (nil for none).
func def[T any](names []string, word string, run func(*Server) (T, error), text func(*Server, *strings.Builder, T)) command {
	return command{names: names, word: word, run: func(s *Server) output {
		d, err := run(s)
		out := output{data: d, err: err}
		if text != nil {
			out.text = func(b *strings.Builder) { text(s, b, d) }
		}
		return out
	}}
}

func (c command) needsServing() command { c.serving = true; return c }
func (c command) costly() command       { c.expensive = true; return c }

// noData is the data of the commands that answer with no fields.
type noData struct{}

// constText prints a fixed four-letter answer.
func constText[T any](text string) func(*Server, *strings.Builder, T) {
	return func(_ *Server, b *strings.Builder, _ T) { b.WriteString(text) }
}

// commands are the monitoring commands zookit has; the package doc of
// ensemble/admin lists those of ZooKeeper it has not and why.
var commands = []command{
	def([]string{"ruok"}, "ruok", func(*Server) (noData, error) { return noData{}, nil }, constText[noData]("imok")),
	def([]string{"is_read_only", "isro"}, "isro", (*Server).isro, writeIsro),
	def([]string{"server_stats", "srvr"}, "srvr", (*Server).srvr, (*Server).writeSrvr).needsServing(),
	def([]string{"stats", "stat"}, "stat", (*Server).stat, (*Server).writeStat).needsServing(),
	def([]string{"monitor", "mntr"}, "mntr", (*Server).mntr, (*Server).writeMntr).needsServing(),
	def([]string{"configuration", "conf", "config"}, "conf", (*Server).conf, (*Server).writeConf),
	def([]string{"connections", "cons"}, "cons", (*Server).cons, (*Server).writeCons).needsServing(),
	def([]string{"connection_stat_reset", "crst"}, "crst", (*Server).crst, constText[noData]("Connection stats reset.\n")),
	def([]string{"stat_reset", "srst"}, "srst", (*Server).srst, constText[noData]("Server stats reset.\n")),
	def([]string{"environment", "env", "envi"}, "envi", (*Server).envi, (*Server).writeEnvi),
	def([]string{"dirs"}, "dirs", (*Server).dirs, (*Server).writeDirs).needsServing(),
	def([]string{"watch_summary", "wchs"}, "wchs", (*Server).wchs, (*Server).writeWchs).needsServing(),
	def([]string{"watches", "wchc"}, "wchc", (*Server).wchc, (*Server).writeWchc).needsServing().costly(),
	def([]string{"watches_by_path", "wchp"}, "wchp", (*Server).wchp, (*Server).writeWchp).needsServing().costly(),
	def([]string{"dump"}, "dump", (*Server).dump, (*Server).writeDump).needsServing().costly(),
	def([]string{"hash"}, "hash", (*Server).hash, writeHash).needsServing(),
	def([]string{"leader", "lead"}, "", (*Server).leader, nil),
	def([]string{"voting_view"}, "", (*Server).votingView, nil),
	def([]string{"observers", "obsr"}, "", (*Server).observers, nil),
	def([]string{"system_properties", "sysp"}, "", (*Server).sysp, nil),
	def([]string{"initial_configuration", "icfg"}, "", (*Server).icfg, nil),
	def([]string{"last_snapshot", "lsnp"}, "", (*Server).lastSnapshot, nil),
}

// byWord and byName index commands by four-letter word and by every
// AdminServer name.
var byWord, byName = func() (map[string]*command, map[string]*command) {
	w, n := map[string]*command{}, map[string]*command{}
	for i := range commands {
		c := &commands[i]
		if c.word != "" {
			w[c.word] = c
		}
		for _, name := range c.names {
			n[name] = c
		}
	}
	return w, n
}()

// exec runs c, one expensive command at a time: each may copy
// FourLetterWordMaxOutput bytes and format them, and many at once would
// take the memory and CPU the clients need. The lock is held while the
// data is made and printed, never while it is written to a client.
func (s *Server) exec(c *command, use func(output)) {
	if c.expensive {
		s.dumpMu.Lock()
		defer s.dumpMu.Unlock()
	}
	use(c.run(s))
}

// AdminCommands lists the AdminServer's primary command names, sorted.
func (s *Server) AdminCommands() []string {
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		names = append(names, c.names[0])
	}
	slices.Sort(names)
	return names
}

// RunAdminCommand runs the command the AdminServer calls name (see
// admin.Commands); it does not apply the four-letter word whitelist, as
// ZooKeeper's AdminServer does not.
func (s *Server) RunAdminCommand(name string) (admin.Result, bool) {
	c, ok := byName[name]
	if !ok {
		return admin.Result{}, false
	}
	res := admin.Result{Command: c.names[0]}
	if c.serving && !s.answering() {
		res.Error = strings.TrimSuffix(notServing, "\n")
		return res, true
	}
	s.exec(c, func(out output) {
		res.Data = out.data
		if out.err != nil {
			res.Error = out.err.Error()
		}
		if errors.Is(out.err, errTruncated) {
			s.stats.truncated4lw.Add(1)
		}
		if c.expensive {
			// Encode under dumpMu, as the four-letter word formats under
			// it: the typed copy is gone before the next expensive command
			// starts, and only the bytes are written, without the lock.
			if buf, err := json.Marshal(out.data); err == nil {
				res.Data = json.RawMessage(buf)
			}
		}
	})
	return res, true
}

// readOnly is is_read_only's data.
type readOnly struct {
	ReadOnly bool `json:"read_only"`
}

func (s *Server) isro() (readOnly, error) { return readOnly{s.readOnly.Load()}, nil }

func writeIsro(_ *Server, b *strings.Builder, d readOnly) {
	if d.ReadOnly {
		b.WriteString("ro")
	} else {
		b.WriteString("rw")
	}
}

// serverStats is ZooKeeper's ServerStats as srvr and stat serialize it.
type serverStats struct {
	PacketsSent               int64       `json:"packets_sent"`
	PacketsReceived           int64       `json:"packets_received"`
	DataDirSize               int64       `json:"data_dir_size"`
	LogDirSize                int64       `json:"log_dir_size"`
	ProviderNull              bool        `json:"provider_null"`
	ServerState               string      `json:"server_state"`
	LastProcessedZxid         int64       `json:"last_processed_zxid"`
	OutstandingRequests       int64       `json:"outstanding_requests"`
	AvgLatency                float64     `json:"avg_latency"`
	MaxLatency                int64       `json:"max_latency"`
	MinLatency                int64       `json:"min_latency"`
	NumAliveClientConnections int         `json:"num_alive_client_connections"`
	Uptime                    int64       `json:"uptime"`
	FsyncThresholdExceedCount int64       `json:"fsync_threshold_exceed_count"`
	ClientResponseStats       bufferStats `json:"client_response_stats"`
	AuthFailedCount           int64       `json:"auth_failed_count"`
	NonMTLSRemoteConnCount    int64       `json:"non_mtlsremote_conn_count"`
	NonMTLSLocalConnCount     int64       `json:"non_mtlslocal_conn_count"`
}

// bufferStats is ZooKeeper's BufferStats: sizes in bytes, -1 before the
// first.
type bufferStats struct {
	Last int64 `json:"last_buffer_size"`
	Min  int64 `json:"min_buffer_size"`
	Max  int64 `json:"max_buffer_size"`
}

func sizesOf(last, lo, hi int64) bufferStats { return bufferStats{last, lo, hi} }

// srvrData is srvr's data.
type srvrData struct {
	Version        string       `json:"version"`
	ReadOnly       bool         `json:"read_only"`
	Stats          serverStats  `json:"server_stats"`
	ClientResponse bufferStats  `json:"client_response"`
	ProposalStats  *bufferStats `json:"proposal_stats,omitempty"` // a leader's only
	NodeCount      int          `json:"node_count"`
}

// connsData is the connection lists of stat and cons, plain and TLS.
type connsData struct {
	Connections       []connInfo `json:"connections"`
	SecureConnections []connInfo `json:"secure_connections"`
	all               []connInfo // both, oldest first
}

// statData is stat's data: srvr's and the connections.
type statData struct {
	srvrData
	connsData
}

func (s *Server) srvr() (srvrData, error) {
	lo, avg, hi, _ := s.stats.lat.read()
	resp := sizesOf(s.metrics.responseSize.Read())
	var proposals *bufferStats
	if s.Mode() == "leader" {
		p := sizesOf(s.node.ProposalSize())
		proposals = &p
	}
	return srvrData{
		Version:  Version,
		ReadOnly: s.readOnly.Load(),
		Stats: serverStats{
			PacketsSent:               s.stats.sent.Load(),
			PacketsReceived:           s.stats.recved.Load(),
			DataDirSize:               dirSize(s.cfg.DataDir),
			LogDirSize:                dirSize(s.logDir()),
			ServerState:               s.Mode(),
			LastProcessedZxid:         s.tree.LastZxid(),
			OutstandingRequests:       s.outstanding(),
			AvgLatency:                avg,
			MaxLatency:                hi,
			MinLatency:                lo,
			NumAliveClientConnections: len(s.connList()),
			Uptime:                    time.Since(s.started).Milliseconds(),
			FsyncThresholdExceedCount: s.node.SlowFsyncs(),
			ClientResponseStats:       resp,
			AuthFailedCount:           s.stats.authFailed.Load(),
			NonMTLSRemoteConnCount:    s.stats.nonMTLSRemote.Load(),
			NonMTLSLocalConnCount:     s.stats.nonMTLSLocal.Load(),
		},
		ClientResponse: resp,
		ProposalStats:  proposals,
		NodeCount:      s.tree.NodeCount(),
	}, nil
}

func (s *Server) stat() (statData, error) {
	d, _ := s.srvr()
	return statData{d, s.connections(true)}, nil
}

// connInfo is ServerCnxn.getConnectionInfo: what stat (brief) and cons
// report of a connection.
type connInfo struct {
	remote      string // "/ip:port" as the four-letter words print it
	Remote      string `json:"remote_socket_address"`
	InterestOps int    `json:"interest_ops"`
	Queued      int    `json:"outstanding_requests"`
	Recved      int64  `json:"packets_received"`
	Sent        int64  `json:"packets_sent"`
	*sessionInfo
}

// sessionInfo is the part of connInfo that cons adds once the connection
// has a session.
type sessionInfo struct {
	SessionID    int64   `json:"session_id"`
	LastOp       string  `json:"last_operation"`
	Established  int64   `json:"established"`
	Timeout      int32   `json:"session_timeout"`
	LastCxid     int64   `json:"last_cxid"`
	LastZxid     int64   `json:"last_zxid"`
	LastResponse int64   `json:"last_response_time"`
	LastLatency  int64   `json:"last_latency"`
	MinLatency   int64   `json:"min_latency"`
	avgLatency   float64 // cons prints it as a double
	AvgLatency   int64   `json:"avg_latency"` // ZooKeeper's JSON has a long
	MaxLatency   int64   `json:"max_latency"`
}

// info is ServerCnxn.getConnectionInfo.
func (c *conn) info(brief bool) connInfo {
	c.outMu.Lock()
	queued := len(c.pending)
	c.outMu.Unlock()
	ci := connInfo{
		remote:      c.remote,
		Remote:      strings.TrimPrefix(c.remote, "/"),
		InterestOps: 1,
		Queued:      queued,
		Recved:      c.recved.Load(),
		Sent:        c.sent.Load(),
	}
	if !brief && c.session.ID != 0 {
		lo, avg, hi, last := c.lat.read()
		ci.sessionInfo = &sessionInfo{
			SessionID:    c.session.ID,
			LastOp:       c.lastOp.Load().(string),
			Established:  c.est.UnixMilli(),
			Timeout:      c.session.Timeout,
			LastCxid:     c.lastCxid.Load(),
			LastZxid:     c.lastZxid.Load(),
			LastResponse: c.lastResp.Load(),
			LastLatency:  last,
			MinLatency:   lo,
			avgLatency:   avg,
			AvgLatency:   int64(avg),
			MaxLatency:   hi,
		}
	}
	return ci
}

// connections are the clients' connections, split into plain and TLS as
// ZooKeeper's two connection factories report them; the text lists them
// all, oldest first.
func (s *Server) connections(brief bool) connsData {
	d := connsData{Connections: []connInfo{}, SecureConnections: []connInfo{}}
	for _, c := range s.connList() {
		ci := c.info(brief)
		d.all = append(d.all, ci)
		if _, secure := c.nc.(*tls.Conn); secure {
			d.SecureConnections = append(d.SecureConnections, ci)
		} else {
			d.Connections = append(d.Connections, ci)
		}
	}
	return d
}

func (s *Server) cons() (connsData, error) { return s.connections(false), nil }

func (s *Server) crst() (noData, error) {
	for _, c := range s.connList() {
		c.recved.Store(0)
		c.sent.Store(0)
		c.lat.reset()
	}
	return noData{}, nil
}

func (s *Server) srst() (noData, error) {
	s.stats.recved.Store(0)
	s.stats.sent.Store(0)
	s.stats.lat.reset()
	s.metrics.responseSize.Reset()
	return noData{}, nil
}

// metric is one mntr line.
type metric struct {
	name  string
	value any // int64, int, float64 or string
}

// mntrLines are mntr's data, in mntr's order.
type mntrLines []metric

// MarshalJSON keeps mntr's order, as ZooKeeper's ordered map does.
func (m mntrLines) MarshalJSON() ([]byte, error) {
	return orderedJSON(len(m), func(i int) (string, any) { return m[i].name, m[i].value })
}

// mntr is ZooKeeper's: version and state, then every metric of the
// Registry: the server's gauges, then the counters and summaries of the
// server and its log; under the Prometheus provider, its samples.
func (s *Server) mntr() (mntrLines, error) {
	m := mntrLines{{"version", Version}, {"server_state", s.Mode()}}
	if s.metricsSettings.prometheus {
		// ZooKeeper's mntr dumps its provider's samples, and the
		// Prometheus provider's are Prometheus's.
		err := metrics.Samples(s.prom, func(k string, v float64) { m = append(m, metric{k, v}) })
		return m, err
	}
	s.reg.Each(func(k string, v any) { m = append(m, metric{k, v}) })
	return m, nil
}

// confData is conf's data; the JSON has the fields of ZooKeeper's
// ZooKeeperServerConf, the text ZooKeeper's 4lw conf lines.
type confData struct {
	ClientPort              int    `json:"client_port"`
	secureClientPort        int    // text only
	DataDir                 string `json:"data_dir"`
	dataDirSize             int64  // text only
	DataLogDir              string `json:"data_log_dir"`
	dataLogSize             int64  // text only
	TickTime                int64  `json:"tick_time"`
	MaxClientCnxns          int    `json:"max_client_cnxns"`
	MinSessionTimeout       int64  `json:"min_session_timeout"`
	MaxSessionTimeout       int64  `json:"max_session_timeout"`
	ServerID                uint64 `json:"server_id"`
	ClientPortListenBacklog int    `json:"client_port_listen_backlog"`
}

func (s *Server) conf() (confData, error) {
	cfg := s.cfg
	d := confData{
		ClientPort:              cfg.ClientPort,
		secureClientPort:        s.securePort(),
		DataDir:                 cfg.DataDir,
		dataDirSize:             dirSize(cfg.DataDir),
		DataLogDir:              s.logDir(),
		dataLogSize:             dirSize(s.logDir()),
		TickTime:                cfg.TickTime.Milliseconds(),
		MaxClientCnxns:          cfg.MaxClientCnxns,
		MinSessionTimeout:       cfg.MinSessionTimeout.Milliseconds(),
		MaxSessionTimeout:       cfg.MaxSessionTimeout.Milliseconds(),
		ClientPortListenBacklog: -1,
	}
	if !cfg.Standalone() {
		d.ServerID = s.id
	}
	return d, nil
}

// property is one name=value line of envi or system_properties.
type property struct{ key, value string }

// properties keep their order in JSON.
type properties []property

// MarshalJSON writes the properties as one object, in order.
func (p properties) MarshalJSON() ([]byte, error) {
	return orderedJSON(len(p), func(i int) (string, any) { return p[i].key, p[i].value })
}

func (s *Server) envi() (properties, error) {
	host, _ := os.Hostname()
	wd, _ := os.Getwd()
	home, _ := os.UserHomeDir()
	return properties{
		{"zookeeper.version", Version},
		{"host.name", host},
		{"go.version", runtime.Version()},
		{"os.name", runtime.GOOS},
		{"os.arch", runtime.GOARCH},
		{"user.name", os.Getenv("USER")},
		{"user.home", home},
		{"user.dir", wd},
		{"os.cpus", strconv.Itoa(runtime.NumCPU())},
	}, nil
}

// sysp lists the system properties the server was started with, sorted:
// zoo.cfg's unknown keys as zookeeper.<key>, and -D flags.
func (s *Server) sysp() (properties, error) {
	var p properties
	for _, k := range slices.Sorted(maps.Keys(s.cfg.Props)) {
		p = append(p, property{k, s.cfg.Props[k]})
	}
	return p, nil
}

// dirsData is dirs' data.
type dirsData struct {
	DataDirSize int64 `json:"datadir_size"`
	LogDirSize  int64 `json:"logdir_size"`
}

func (s *Server) dirs() (dirsData, error) {
	return dirsData{dirSize(s.cfg.DataDir), dirSize(s.logDir())}, nil
}

// watchSummary is wchs' data.
type watchSummary struct {
	Connections int `json:"num_connections"`
	Paths       int `json:"num_paths"`
	Total       int `json:"num_total_watches"`
}

func (s *Server) wchs() (watchSummary, error) {
	conns, paths, total := s.tree.WatchSummary()
	return watchSummary{conns, paths, total}, nil
}

// wchcData is wchc's data, at most FourLetterWordMaxOutput bytes of it.
type wchcData struct {
	Watches  map[int64][]string `json:"session_id_to_watched_paths"`
	complete bool
}

// wchpData is wchp's data, at most FourLetterWordMaxOutput bytes of it.
type wchpData struct {
	Watches  map[string][]int64 `json:"path_to_session_ids"`
	complete bool
}

// cut is the error of an answer that is complete or not.
func cut(complete bool) error {
	if complete {
		return nil
	}
	return errTruncated
}

// wchc and wchp copy at most FourLetterWordMaxOutput bytes of output under
// the locks applies need; they are formatted without them.
func (s *Server) wchc() (wchcData, error) {
	m, complete := s.tree.WatchesBySessionUpTo(FourLetterWordMaxOutput)
	return wchcData{m, complete}, cut(complete)
}

func (s *Server) wchp() (wchpData, error) {
	m, complete := s.tree.WatchesByPathUpTo(FourLetterWordMaxOutput)
	return wchpData{m, complete}, cut(complete)
}

// dumpData is dump's data: session deadlines and ephemerals, at most
// FourLetterWordMaxOutput bytes of them, and the connections, which only
// the text lists.
type dumpData struct {
	Expiry     map[int64][]int64  `json:"expiry_time_to_session_ids"` // deadline in ms → sessions
	Ephemerals map[int64][]string `json:"session_id_to_ephemeral_paths"`
	sessions   int
	conns      []string
	complete   bool
}

func (s *Server) dump() (dumpData, error) {
	sessions, complete := s.sessions.snapshotUpTo(FourLetterWordMaxOutput / len("\t0x0123456789abcdef\n"))
	d := dumpData{Expiry: map[int64][]int64{}, Ephemerals: map[int64][]string{}, sessions: len(sessions)}
	for id, at := range sessions {
		// Deadlines are whole ticks, so milliseconds lose nothing.
		ms := at.UnixMilli()
		d.Expiry[ms] = append(d.Expiry[ms], id)
	}
	for _, ids := range d.Expiry {
		slices.Sort(ids)
	}
	if complete {
		// The text's budget for ephemerals is what the sessions leave.
		var b strings.Builder
		writeSessionSets(&b, d)
		d.Ephemerals, complete = s.tree.EphemeralsUpTo(max(FourLetterWordMaxOutput-b.Len(), 0))
	}
	for _, c := range s.connList() {
		d.conns = append(d.conns, c.remote)
	}
	d.complete = complete
	return d, cut(complete)
}

// leaderData is leader's data.
type leaderData struct {
	IsLeader bool   `json:"is_leader"`
	LeaderID int64  `json:"leader_id"` // -1 while there is none, as ZooKeeper
	LeaderIP string `json:"leader_ip"` // the leader's host; "" while there is none
}

// errNoQuorum is ZooKeeper's answer to leader from a standalone server.
var errNoQuorum = errors.New("server is not initialized")

func (s *Server) leader() (*leaderData, error) {
	if s.cfg.Standalone() {
		return nil, errNoQuorum
	}
	lead := s.node.Leader()
	d := &leaderData{IsLeader: s.node.IsLeader(), LeaderID: -1}
	if sv, ok := s.view.Load().server(lead); ok {
		d.LeaderID, d.LeaderIP = int64(lead), sv.Host
	}
	return d, nil
}

// serverView is ZooKeeper's QuorumServerView: one voter of voting_view.
type serverView struct {
	ServerAddresses   []string `json:"server_addresses"`
	ElectionAddresses []string `json:"election_addresses"`
	ClientAddress     string   `json:"client_address"`
	LearnerType       string   `json:"learner_type"`
}

// votingView is voting_view's data: the voters by server id.
type votingView struct {
	Config map[uint64]serverView `json:"current_config"`
}

func (s *Server) votingView() (votingView, error) {
	v := votingView{Config: map[uint64]serverView{}}
	if s.cfg.Standalone() {
		return v, nil
	}
	for _, sv := range s.view.Load().servers {
		if sv.Observer {
			continue
		}
		view := serverView{
			ServerAddresses:   []string{sv.QuorumAddr()},
			ElectionAddresses: []string{sv.ElectionAddr()},
			LearnerType:       "participant",
		}
		if sv.ClientPort != 0 {
			view.ClientAddress = net.JoinHostPort(sv.ClientHost, strconv.Itoa(sv.ClientPort))
		}
		v.Config[sv.ID] = view
	}
	return v, nil
}

// observerInfo is the part of ZooKeeper's LearnerHandler info that
// zookit has: raft learners are not connections of their own, so there
// are no connection times or packet counts.
type observerInfo struct {
	Remote   string `json:"remote_socket_address"` // its quorum address
	SID      uint64 `json:"sid"`
	LastZxid int64  `json:"last_zxid"` // the last it has acknowledged
}

// observersData is observers' data: on the leader, the observers raft is
// replicating to; elsewhere none, as on a ZooKeeper follower without an
// observer master.
type observersData struct {
	Synced    int            `json:"synced_observers"`
	Observers []observerInfo `json:"observers"`
}

func (s *Server) observers() (observersData, error) {
	d := observersData{Observers: []observerInfo{}}
	if s.cfg.Standalone() {
		return d, nil
	}
	for id, zxid := range s.syncedObservers() {
		info := observerInfo{SID: id, LastZxid: zxid}
		if sv, ok := s.view.Load().server(id); ok {
			info.Remote = sv.QuorumAddr()
		}
		d.Observers = append(d.Observers, info)
	}
	slices.SortFunc(d.Observers, func(a, b observerInfo) int { return cmp.Compare(a.SID, b.SID) })
	d.Synced = len(d.Observers)
	return d, nil
}

// initialConfig is initial_configuration's data: the configuration the
// server started with, as zoo.cfg text.
type initialConfig struct {
	Config string `json:"initial_configuration"`
}

func (s *Server) icfg() (initialConfig, error) {
	return initialConfig{s.initialConfig}, nil
}

// snapshotData is last_snapshot's data: the zxid the snapshot holds the
// state at, in hex, and when it was written, in seconds, as ZooKeeper
// reports them; -1 when that time is unknown.
type snapshotData struct {
	Zxid      string `json:"zxid"`
	Timestamp int64  `json:"timestamp"`
}

// lastSnapshot reports raft's snapshot, which a zxid names since zxids are
// log indexes.
func (s *Server) lastSnapshot() (snapshotData, error) {
	info := s.node.LastSnapshot()
	d := snapshotData{Zxid: strconv.FormatUint(info.Index, 16), Timestamp: -1}
	if !info.Saved.IsZero() {
		d.Timestamp = info.Saved.Unix()
	}
	return d, nil
}

// hashData is hash's data: the tree's digest log, oldest first, as
// ZooKeeper's DataTree.ZxidDigest serializes.
type hashData struct {
	Digests []zxidDigest `json:"digests"`
}

type zxidDigest struct {
	Zxid    int64 `json:"zxid"`
	Version int   `json:"digest_version"`
	Digest  int64 `json:"digest"`
}

func (s *Server) hash() (hashData, error) {
	log := s.tree.DigestLog()
	d := hashData{Digests: make([]zxidDigest, len(log))}
	for i, zd := range log {
		d.Digests[i] = zxidDigest{Zxid: zd.Zxid, Version: tree.DigestVersion, Digest: zd.Digest}
	}
	return d, nil
}

// writeHash prints a line "<zxid in hex>: <digest>" per logged digest, as
// ZooKeeper's hash four-letter word does.
func writeHash(_ *Server, b *strings.Builder, d hashData) {
	for _, zd := range d.Digests {
		fmt.Fprintf(b, "%x: %d\n", zd.Zxid, zd.Digest)
	}
}

// orderedJSON writes n key/value pairs as one JSON object in their order.
func orderedJSON(n int, pair func(i int) (string, any)) ([]byte, error) {
	b := []byte{'{'}
	for i := range n {
		k, v := pair(i)
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			// Jackson quotes what JSON has no number for.
			v = javaDouble(f)
		}
		vb, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, kb...), ':'), vb...)
	}
	return append(b, '}'), nil
}
