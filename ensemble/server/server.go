package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/admin"
	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/metrics"
	"github.com/zookit/zookit/ensemble/peer"
	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/raftnode"
	"github.com/zookit/zookit/ensemble/tlsconf"
	"github.com/zookit/zookit/ensemble/tree"
)

// Version is reported by srvr, stat, mntr and envi in ZooKeeper's format.
const Version = "3.8.4-zookit-0.1.0, built on 2026-11-24 00:00 UTC"

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("server: closed")

// Option changes an optional setting of a Server.
type Option func(*Server)

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *zap.Logger) Option { return func(s *Server) { s.log = l } }

// WithTLSConfig sets the configuration ServeTLS uses, instead of the one
// New builds from the zookeeper.ssl.* settings when secureClientPort is
// set.
func WithTLSConfig(c *tls.Config) Option { return func(s *Server) { s.tlsConfig = c } }

// WithHandshakeTimeout bounds a client's TLS handshake; the default is
// DefaultHandshakeTimeout.
func WithHandshakeTimeout(d time.Duration) Option { return func(s *Server) { s.handshakeTimeout = d } }

// Server is one ZooKeeper-compatible server. Create it with New, then call
// Serve or ListenAndServe; Close stops it.
type Server struct {
	cfg   *config.Config
	log   *zap.Logger
	id    uint64
	tree  *tree.Tree
	node  *raftnode.Node
	stats stats

	limits limits
	// inflight counts the writes in flight from this server's
	// connections, for globalOutstandingLimit.
	inflight atomic.Int64
	dumpMu   sync.Mutex // serializes the four-letter words that copy much

	sessions  *sessionTracker
	transport *peer.Transport // nil in standalone
	// peerHandler hands peer traffic to the log; nil in standalone.
	peerHandler *peerHandler

	// view is the membership as of the last applied change (ensemble.go).
	view atomic.Pointer[ensembleView]
	// reconfMu makes the leader run one reconfig at a time (reconfig.go).
	reconfMu sync.Mutex

	electionTimeout time.Duration
	nextSID         atomic.Int64
	seq             atomic.Uint64

	// tlsConfig serves ServeTLS's listeners; nil when no secure client
	// port is configured and no WithTLSConfig given.
	tlsConfig        *tls.Config
	handshakeTimeout time.Duration
	handshakeLimit   int            // TLS handshakes in progress at once; <= 0: no bound
	handshaking      atomic.Int64   // TLS handshakes in progress
	closers          sync.WaitGroup // TLS connections being closed (closeConn)

	mu      sync.Mutex
	waiters map[uint64]waiter
	// reconfigs are the reconfigs this server forwarded to the leader,
	// by request number, waiting for its answer.
	reconfigs map[uint64]chan reconfigReply
	conns     map[*conn]struct{}
	bySess    map[int64]*conn
	// perIP counts an address's connections on all client ports together.
	perIP    map[string]int
	lns      []listener // every listener Serve or ServeTLS was given
	closed   bool
	fault    error // why the log stopped on its own; set once
	stopping chan struct{}
	wg       sync.WaitGroup
	started  time.Time

	adminSettings admin.Settings
	https         []httpListener // every listener ServeAdmin or ServeMetrics was given

	reg             *metrics.Registry
	prom            prometheus.Gatherer // reg as the Prometheus endpoint serves it
	metrics         serverMetrics
	metricsSettings metricsSettings
	sasl            saslSettings
	// readOnly: cut off from its leader past roGrace with
	// readonlymode.enabled, the server serves read-only clients.
	readOnly atomic.Bool
	// nodeReady is set once node is: the log's apply goroutine, which
	// runs before New has it, may read node only after that.
	nodeReady atomic.Bool

	// initialConfig is the configuration New was given, as zoo.cfg text
	// (initial_configuration).
	initialConfig string
}

// New opens the data directories, replays the log and returns a server
// ready to Serve. The caller must Close it.
func New(cfg *config.Config, opts ...Option) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("server: dataDir is not set")
	}
	if err := checkSettings(cfg); err != nil {
		return nil, err
	}
	lim, err := readLimits(cfg)
	if err != nil {
		return nil, err
	}
	adminSettings, err := admin.Read(cfg)
	if err != nil {
		return nil, err
	}
	metricsSettings, err := readMetricsSettings(cfg)
	if err != nil {
		return nil, err
	}
	saslSettings, err := readSASL(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:              cfg,
		log:              zap.NewNop(),
		id:               1,
		handshakeTimeout: DefaultHandshakeTimeout,
		waiters:          make(map[uint64]waiter),
		reconfigs:        make(map[uint64]chan reconfigReply),
		conns:            make(map[*conn]struct{}),
		bySess:           make(map[int64]*conn),
		perIP:            make(map[string]int),
		stopping:         make(chan struct{}),
		started:          time.Now(),
		limits:           lim,
		initialConfig:    cfg.String(),
		adminSettings:    adminSettings,
		metricsSettings:  metricsSettings,
		sasl:             saslSettings,
		reg:              metrics.NewRegistry(),
	}
	// Gauges first: mntr lists them before the other metrics, as
	// ZooKeeper does. They read the server only when asked.
	s.registerGauges()
	s.metrics = newServerMetrics(s.reg)
	s.stats.limitCounters(s.reg)
	s.prom = metrics.Gatherer(s.reg, metricsSettings.runtime)
	for _, o := range opts {
		o(s)
	}
	if !cfg.Standalone() {
		s.id = cfg.MyID
	}
	if err := s.loadTLS(); err != nil {
		return nil, err
	}
	s.view.Store(newView(cfg.Servers, 0))
	x509Super, _ := cfg.Property(tlsconf.SuperUserProperty)
	s.tree = tree.New(
		tree.WithSuperDigest(cfg.SuperDigest),
		tree.WithX509SuperUser(x509Super),
		tree.WithSASLSuperUser(saslSettings.superUser),
		tree.WithExtendedTypes(cfg.ExtendedTypesEnabled),
		tree.WithConfigData([]byte(s.configData())),
		tree.WithMaxNeverUsed(cfg.ContainerMaxNeverUsedInterval.Milliseconds()),
		tree.WithWatchLimits(lim.watchCount, lim.watchBytes),
		tree.WithFiredWatches(s.metrics.fired),
	)
	s.sessions = newSessionTracker(cfg.TickTime)
	s.nextSID.Store(initialSessionID(s.id, time.Now()))
	// Request numbers start from the clock so that a txn replayed from a
	// previous run can never be mistaken for one proposed by this run.
	s.seq.Store(uint64(time.Now().UnixNano()))
	dataLogDir := cfg.DataLogDir
	if dataLogDir == "" {
		dataLogDir = cfg.DataDir
	}
	voters, learners := []uint64{s.id}, []uint64(nil)
	walDir := filepath.Join(dataLogDir, "zookit", "wal")
	var transport raftnode.Transport
	var handler *peerHandler
	var join bool
	if !cfg.Standalone() {
		voters, learners = s.view.Load().members()
		t, h, err := s.startPeers()
		if err != nil {
			return nil, err
		}
		s.transport, handler, transport = t, h, t
		join = cfg.ReconfigEnabled && !wal.Exist(walDir) && s.groupWithoutMe()
	}
	tick, election, heartbeat := raftTiming(cfg)
	node, err := raftnode.Start(raftnode.Config{
		ID:            s.id,
		Peers:         voters,
		Learners:      learners,
		Join:          join,
		WALDir:        walDir,
		SnapDir:       filepath.Join(cfg.DataDir, "zookit", "snap"),
		SnapCount:     uint64(max(cfg.SnapCount, 1)),
		SnapRetain:    max(cfg.SnapRetainCount, 3),
		TickInterval:  tick,
		ElectionTick:  election,
		HeartbeatTick: heartbeat,
		Transport:     transport,
		// raft's own chatter (elections, term changes) is routine; only
		// its warnings belong in the server log.
		Logger:       s.log.WithOptions(zap.IncreaseLevel(zap.WarnLevel)),
		Metrics:      s.reg,
		FsyncWarning: s.metricsSettings.fsyncWarning,
	}, (*stateMachine)(s))
	if err != nil {
		if s.transport != nil {
			s.transport.Close()
		}
		return nil, fmt.Errorf("server: start the log: %w", err)
	}
	if handler != nil {
		handler.node.Store(node)
		s.transport.SetReporter(node)
	}
	s.electionTimeout = tick * time.Duration(election)
	s.node = node
	s.nodeReady.Store(true)
	// Restored sessions get a full timeout from now, as ZooKeeper does
	// after loading a snapshot: their clients need time to reconnect.
	for _, ss := range s.tree.Sessions() {
		s.sessions.touch(ss.ID, ss.Timeout)
	}
	s.wg.Add(2)
	go s.housekeeping()
	go s.watchStorage()
	if !cfg.Standalone() {
		s.wg.Add(1)
		go s.campaignAtStart()
	}
	return s, nil
}

// initialSessionID mirrors ZooKeeper's scheme: server id in the top byte,
// milliseconds in the middle, so ids from different servers and restarts
// do not collide.
func initialSessionID(id uint64, now time.Time) int64 {
	sid := int64(uint64(now.UnixMilli()<<24) >> 8)
	sid |= int64(id << 56)
	if sid == int64(-1<<63) {
		sid++
	}
	return sid
}

// configData is the text of /zookeeper/config on a fresh tree: the server
// lines in ZooKeeper's dynamic-config format, so Curator's EnsembleTracker
// reads the real client addresses, and version 0.
func (s *Server) configData() string {
	if s.cfg.Standalone() {
		return ""
	}
	return s.view.Load().text()
}

// ListenAndServe listens on the configured client addresses, clientPort
// and secureClientPort, whichever are set, on the AdminServer's when
// admin.enableServer=true, and on the Prometheus endpoint's when
// metricsProvider.className names ZooKeeper's PrometheusMetricsProvider,
// and serves them until Close or until one fails;
// it returns that one's error.
func (s *Server) ListenAndServe() error {
	type addr struct {
		addr  string
		serve func(net.Listener) error
	}
	var addrs []addr
	if s.cfg.ClientPort != 0 {
		addrs = append(addrs, addr{s.cfg.ClientAddr(), s.Serve})
	}
	if a, ok := s.cfg.SecureClientAddr(); ok {
		addrs = append(addrs, addr{a, s.ServeTLS})
	}
	if len(addrs) == 0 {
		return errors.New("server: neither clientPort nor secureClientPort is set")
	}
	if s.adminSettings.Enabled {
		addrs = append(addrs, addr{s.adminSettings.Addr, s.ServeAdmin})
	}
	if s.metricsSettings.prometheus {
		addrs = append(addrs, addr{s.metricsSettings.addr, s.ServeMetrics})
	}
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a.addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("server: listen: %w", err)
		}
		lns = append(lns, ln)
	}
	errc := make(chan error, len(lns))
	for i, ln := range lns {
		go func() { errc <- addrs[i].serve(ln) }()
	}
	err := <-errc
	closeAll()
	for range len(lns) - 1 {
		<-errc
	}
	return err
}

// httpListener is a listener ServeAdmin or ServeMetrics serves, and its
// HTTP server.
type httpListener struct {
	ln      net.Listener
	hs      *http.Server
	metrics bool // the Prometheus endpoint, not the AdminServer
}

// ServeAdmin serves ZooKeeper's AdminServer (package admin) on ln, with
// the admin.commandURL and admin.idleTimeout settings, until Close.
// admin.enableServer only decides whether ListenAndServe opens
// admin.serverAddress:admin.serverPort; ServeAdmin serves whatever
// listener it is given, as Serve does.
func (s *Server) ServeAdmin(ln net.Listener) error {
	hs := admin.NewServer(s, s.adminSettings, s.log.Named("admin"))
	inner := hs.Handler
	hs.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every AdminServer request is plain HTTP: ZooKeeper counts those.
		s.metrics.insecureAdmin.Inc()
		inner.ServeHTTP(w, r)
	})
	return s.serveHTTP(httpListener{ln: ln, hs: hs}, "the AdminServer")
}

// ServeMetrics serves the Prometheus endpoint (package metrics) on ln until
// Close: every metric of mntr under ZooKeeper's Prometheus names, and the
// Go runtime's unless metricsProvider.exportJvmInfo=false. The
// PrometheusMetricsProvider setting only decides whether ListenAndServe
// opens metricsProvider.httpHost:httpPort.
func (s *Server) ServeMetrics(ln net.Listener) error {
	hs := &http.Server{
		Handler:           metrics.Handler(s.prom),
		ReadHeaderTimeout: admin.DefaultIdleTimeout,
		ReadTimeout:       admin.DefaultIdleTimeout,
		WriteTimeout:      admin.DefaultIdleTimeout,
		IdleTimeout:       admin.DefaultIdleTimeout,
		MaxHeaderBytes:    8 << 10,
	}
	return s.serveHTTP(httpListener{ln: ln, hs: hs, metrics: true}, "metrics")
}

// serveHTTP serves l until Close, for ServeAdmin and ServeMetrics.
func (s *Server) serveHTTP(l httpListener, what string) error {
	l.hs.ErrorLog = admin.ErrorLog(s.log.Named(what))
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.ln.Close()
		return ErrClosed
	}
	s.https = append(s.https, l)
	s.mu.Unlock()
	s.log.Info("serving "+what, zap.String("addr", l.ln.Addr().String()))
	err := l.hs.Serve(l.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return ErrClosed
	}
	select {
	case <-s.stopping:
		return ErrClosed
	default:
	}
	return fmt.Errorf("server: %s: %w", what, err)
}

// httpAddr is the address of the first HTTP listener of the kind, or nil.
func (s *Server) httpAddr(metrics bool) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.https {
		if l.metrics == metrics {
			return l.ln.Addr()
		}
	}
	return nil
}

// AdminAddr is the address of the first listener ServeAdmin was given, or
// nil.
func (s *Server) AdminAddr() net.Addr { return s.httpAddr(false) }

// MetricsAddr is the address of the first listener ServeMetrics was given,
// or nil.
func (s *Server) MetricsAddr() net.Addr { return s.httpAddr(true) }

// listener is a client port and whether it speaks TLS.
type listener struct {
	net.Listener
	secure bool
}

// Serve accepts plain connections on ln until Close, or until a WAL or
// snapshot write fails: then it returns that error, and the caller should
// Close the server and start a new one, which recovers from what is on
// disk. Serve and ServeTLS may be called for any number of listeners, each
// on its own goroutine.
func (s *Server) Serve(ln net.Listener) error { return s.serve(listener{ln, false}) }

// ServeTLS is Serve for clients that speak TLS: each connection's
// handshake runs on the connection's own goroutine, bounded by the
// handshake timeout, so a client that never completes it holds up no one
// else. The configuration is WithTLSConfig's, or the one New built from
// the zookeeper.ssl.* settings for secureClientPort.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.tlsConfig == nil {
		ln.Close()
		return errors.New("server: ServeTLS needs secureClientPort and zookeeper.ssl.* settings, or WithTLSConfig")
	}
	return s.serve(listener{ln, true})
}

func (s *Server) serve(ln listener) error {
	s.mu.Lock()
	if s.fault != nil || s.closed {
		err := s.fault
		s.mu.Unlock()
		ln.Close()
		return cmp.Or(err, ErrClosed)
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	s.log.Info("serving clients", zap.String("addr", ln.Addr().String()), zap.Bool("tls", ln.secure))
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if err := s.storageErr(); err != nil {
				return err
			}
			select {
			case <-s.stopping:
				return ErrClosed
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("server: accept: %w", err)
		}
		delay = 0
		if ln.secure {
			if !s.admitHandshake() {
				s.metrics.tlsExceeded.Inc()
				s.log.Warn("too many TLS handshakes in progress; closing a new connection",
					zap.String("remote", nc.RemoteAddr().String()), zap.Int("limit", s.handshakeLimit))
				nc.Close()
				continue
			}
			nc = tls.Server(nc, s.tlsConfig)
		}
		s.accept(nc)
	}
}

// Addr is the address of the first listener Serve was given, or nil.
func (s *Server) Addr() net.Addr { return s.addr(false) }

// SecureAddr is the address of the first listener ServeTLS was given, or
// nil.
func (s *Server) SecureAddr() net.Addr { return s.addr(true) }

func (s *Server) addr(secure bool) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ln := range s.lns {
		if ln.secure == secure {
			return ln.Addr()
		}
	}
	return nil
}

// Close stops accepting, closes every connection and stops the log; a
// leader first hands leadership to another voter. It is safe to call more
// than once.
func (s *Server) Close() error { return s.shutdown(true) }

// HardStop stops like a crashed process: no leadership hand-over, so the
// others notice only when the connections drop. Tests use it for faults.
func (s *Server) HardStop() error { return s.shutdown(false) }

// watchStorage stops serving once the log stops on its own, which it does
// when it cannot persist or apply an entry: in practice when a WAL or
// snapshot write (or fsync) fails, a full disk say. Going on would answer
// reads from a tree that no longer follows the log, and a server that
// cannot write must not look healthy: its clients move to other servers,
// Serve returns the error, and a supervisor restarts the process.
func (s *Server) watchStorage() {
	defer s.wg.Done()
	select {
	case <-s.stopping:
		return
	case <-s.node.Done():
	}
	err := s.node.Err()
	if err == nil {
		return
	}
	s.metrics.unrecoverable.Inc()
	err = fmt.Errorf("server: storage failed: %w", err)
	s.log.Error("stopped serving: the data directory cannot be written; restart to recover from what is on disk", zap.Error(err))
	s.mu.Lock()
	s.fault = err
	lns := s.lns
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	for _, c := range s.connList() {
		c.close()
	}
}

// storageErr is the storage failure that stopped the server, or nil.
func (s *Server) storageErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}

func (s *Server) shutdown(handOver bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stopping)
	for _, ln := range s.lns {
		ln.Close()
	}
	for _, a := range s.https {
		a.hs.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.wg.Wait()
	s.closers.Wait()
	if handOver && s.transport != nil {
		s.handOver()
	}
	s.node.Stop()
	if s.transport != nil {
		s.transport.Close()
	}
	return nil
}

// ExpireSession ends a session as if its timeout had passed: its ephemeral
// nodes go and its connection is closed. Tests use it to exercise expiry.
func (s *Server) ExpireSession(ctx context.Context, id int64) error {
	_, err := s.propose(ctx, &tree.Txn{Session: id, Op: proto.OpCloseSession})
	return err
}

// propose replicates txn and waits for its result.
// It gives up when the leader changes: raft drops, without a word, a
// proposal forwarded to a leader that has gone, and the caller (a client's
// handshake) should fail fast so the client retries rather than wait out
// its session.
func (s *Server) propose(ctx context.Context, txn *tree.Txn) (tree.Result, error) {
	ch := make(chan tree.Result, 1)
	refused := make(chan error, 1)
	if err := s.proposeAsync(ctx, txn, func(_ int64, r tree.Result) { ch <- r }, func(err error) { refused <- err }); err != nil {
		return tree.Result{}, err
	}
	lead := s.node.Leader()
	poll := time.NewTicker(max(s.electionTimeout/10, time.Millisecond))
	defer poll.Stop()
	for {
		select {
		case r := <-ch:
			return r, nil
		case err := <-refused:
			return tree.Result{}, err
		case <-poll.C:
			if s.node.Leader() == lead {
				continue
			}
			s.forget(txn.Seq)
			return tree.Result{}, errLeaderChanged
		case <-ctx.Done():
			s.forget(txn.Seq)
			return tree.Result{}, ctx.Err()
		case <-s.stopping:
			return tree.Result{}, ErrClosed
		}
	}
}

// errLeaderChanged ends a wait for a proposal that may have been lost.
var errLeaderChanged = errors.New("server: the leader changed while a proposal was pending")

// waiter is the callback of a proposal this server made.
type waiter struct {
	done func(zxid int64, r tree.Result)
	at   time.Time
}

// forget drops the callback of proposal seq; false when it was no longer
// there, because the proposal applied and its callback has run or runs.
func (s *Server) forget(seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.waiters[seq]
	delete(s.waiters, seq)
	return ok
}

// forgetLost drops the callbacks of proposals older than any client waits
// for: raft drops proposals that meet a leader change, and their
// callbacks would otherwise stay forever.
func (s *Server) forgetLost(now time.Time) {
	horizon := now.Add(-2 * max(s.cfg.MaxSessionTimeout, s.electionTimeout))
	s.mu.Lock()
	defer s.mu.Unlock()
	for seq, w := range s.waiters {
		if w.at.Before(horizon) {
			delete(s.waiters, seq)
		}
	}
}

// proposeAsync replicates txn. done runs once it is applied and dropped
// once raft has refused it, at most one of them, both on the apply
// goroutine, so neither may block.
func (s *Server) proposeAsync(ctx context.Context, txn *tree.Txn, done func(zxid int64, r tree.Result), dropped func(error)) error {
	txn.Origin = s.id
	txn.Seq = s.seq.Add(1)
	if txn.Time == 0 {
		txn.Time = time.Now().UnixMilli()
	}
	if done != nil {
		s.mu.Lock()
		s.waiters[txn.Seq] = waiter{done: done, at: time.Now()}
		s.mu.Unlock()
	}
	refused := func(err error) {
		// A callback already taken (a caller gave up waiting) answers
		// nothing more.
		if done != nil && !s.forget(txn.Seq) || dropped == nil {
			return
		}
		dropped(err)
	}
	if err := s.node.Propose(ctx, txn.Marshal(), refused); err != nil {
		// Raft never had it, so it cannot apply.
		if done != nil {
			s.forget(txn.Seq)
		}
		return err
	}
	return nil
}

// newSession picks an id and password and replicates the session.
func (s *Server) newSession(ctx context.Context, timeout int32) (tree.Session, error) {
	passwd := make([]byte, 16)
	rand.Read(passwd)
	for range 3 {
		id := s.nextSID.Add(1)
		r, err := s.propose(ctx, &tree.Txn{Session: id, Op: proto.OpCreateSession, Timeout: timeout, Passwd: passwd})
		if err != nil {
			return tree.Session{}, err
		}
		if r.Err == proto.OK {
			return tree.Session{ID: id, Timeout: timeout, Passwd: passwd}, nil
		}
	}
	return tree.Session{}, fmt.Errorf("server: no free session id: %w", proto.ErrSystemError)
}

// housekeeping runs the periodic duties: session expiry (on the leader)
// or reporting session activity to the leader, dropping clients the server
// can no longer vouch for or whose write is stuck, reaping containers and
// TTL nodes, and purging old snapshots.
func (s *Server) housekeeping() {
	defer s.wg.Done()
	tick := time.NewTicker(max(s.cfg.TickTime/2, 10*time.Millisecond))
	defer tick.Stop()
	// Every raft tick, a member reports its sessions' activity and checks
	// its contact with the group: the less either lags, the more of a
	// session's timeout is left for its client to act on a lost contact.
	var vouch <-chan time.Time
	if !s.cfg.Standalone() {
		raftTick, _, _ := raftTiming(s.cfg)
		t := time.NewTicker(raftTick)
		defer t.Stop()
		vouch = t.C
	}
	reap := time.NewTicker(max(s.cfg.ContainerCheckInterval, 10*time.Millisecond))
	defer reap.Stop()
	var purge <-chan time.Time
	if s.cfg.PurgeInterval > 0 {
		t := time.NewTicker(s.cfg.PurgeInterval)
		defer t.Stop()
		purge = t.C
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stopping
		cancel()
	}()
	var leading bool
	var leader uint64
	var leaderless time.Time
	for {
		select {
		case <-s.stopping:
			return
		case <-s.node.Done():
			// Nothing left to do without a log; watchStorage reports why.
			return
		case now := <-tick.C:
			if l := s.node.IsLeader(); l != leading {
				leading = l
				if l {
					// A new leader cannot know when clients last spoke to
					// the old one: every session gets a full timeout.
					s.sessions.resetDeadlines()
				}
			}
			if leading {
				s.expireSessions(ctx, now)
			}
			leaderless = s.leaderlessSince(now, leaderless)
			s.updateReadOnly(now, leaderless)
			if l := s.node.Leader(); l != leader {
				if leader != 0 {
					s.dropPendingWriters()
				}
				leader = l
			}
			s.dropStuckClients(now)
			s.forgetLost(now)
		case now := <-vouch:
			if !s.node.IsLeader() {
				s.reportTouches()
			}
			s.dropUnvouched(now)
		case now := <-reap.C:
			if s.node.IsLeader() {
				s.reap(ctx, now)
			}
		case <-purge:
			if err := s.node.Purge(); err != nil {
				s.log.Warn("autopurge", zap.Error(err))
			}
		}
	}
}

func (s *Server) expireSessions(ctx context.Context, now time.Time) {
	for _, id := range s.sessions.expired(now) {
		s.metrics.expired.Inc()
		s.log.Info("session expired", zap.String("session", fmt.Sprintf("0x%x", id)))
		failed := func(err error) { s.log.Warn("cannot expire session", zap.Error(err)) }
		if err := s.proposeAsync(ctx, &tree.Txn{Session: id, Op: proto.OpCloseSession}, nil, failed); err != nil {
			failed(err)
		}
	}
}

func (s *Server) reap(ctx context.Context, now time.Time) {
	limit := max(s.cfg.ContainerMaxPerMinute*int(s.cfg.ContainerCheckInterval/time.Second)/60, 1)
	for _, p := range s.tree.ReapCandidates(now.UnixMilli(), limit) {
		txn := &tree.Txn{Op: proto.OpDeleteContainer, Req: &proto.PathRequest{Path: p}}
		failed := func(err error) { s.log.Warn("cannot reap", zap.String("path", p), zap.Error(err)) }
		if err := s.proposeAsync(ctx, txn, nil, failed); err != nil {
			failed(err)
		}
	}
}

// leaderlessSince is when the server lost its leader, given since, the
// value it returned last; the zero time while there is a leader.
func (s *Server) leaderlessSince(now, since time.Time) time.Time {
	switch {
	case s.Serving():
		return time.Time{}
	case since.IsZero():
		return now
	}
	return since
}

// dropUnvouched closes the connection of every session the server can no
// longer vouch for, as a ZooKeeper follower does when it goes looking, so
// that the client moves on to a server that can serve it.
//
// A server vouches for a session while it is in contact with its group
// (raftnode's Contact). The leader expires a session a timeout after it
// last heard of it; a member that kept answering a client's pings after
// losing its leader would let the session expire while the client still
// thought itself connected, and trusted the locks and leadership it held.
// So a connection goes once contact is older than a quarter of its
// session's timeout, which leaves the client time to hear of it, and a
// recipe time to let go, before the leader can expire the session; or
// older than two election timeouts, whichever is less.
//
// Connections without a session are left alone: a four-letter word still
// gets its answer (closing it before its 4 bytes are read would reset it),
// and a handshake is refused on its own. So are read-only sessions, which
// a partitioned server serves on purpose.
func (s *Server) dropUnvouched(now time.Time) {
	if s.cfg.Standalone() {
		return
	}
	quiet := now.Sub(s.node.Contact())
	if quiet < s.vouchLimit(s.cfg.MinSessionTimeout) {
		return
	}
	s.mu.Lock()
	var drop []*conn
	for _, c := range s.bySess {
		if !c.readOnly.Load() && quiet >= s.vouchLimit(time.Duration(c.session.Timeout)*time.Millisecond) {
			drop = append(drop, c)
		}
	}
	s.mu.Unlock()
	if len(drop) > 0 {
		s.log.Info("closing the connections of sessions this server can no longer vouch for",
			zap.Int("connections", len(drop)), zap.Duration("sinceContact", quiet))
	}
	for _, c := range drop {
		c.close()
	}
}

// vouchLimit is how long a member may go without contact with its group
// and still vouch for a session of the given timeout (see dropUnvouched).
func (s *Server) vouchLimit(timeout time.Duration) time.Duration {
	return min(2*s.electionTimeout, timeout/4)
}

// vouches reports whether the server may serve a session of the given
// timeout now.
func (s *Server) vouches(timeout time.Duration) bool {
	return s.cfg.Standalone() || time.Since(s.node.Contact()) < s.vouchLimit(timeout)
}

// dropPendingWriters closes the connections waiting for a write when the
// leader changes: a proposal forwarded to the old leader may be lost, and
// the client learns so (connection loss, outcome unknown) now rather than
// after a session timeout, as ZooKeeper's clients do when their follower
// goes looking.
func (s *Server) dropPendingWriters() {
	for _, c := range s.connList() {
		if _, ok := c.oldestWrite(); ok {
			c.close()
		}
	}
}

// dropStuckClients closes connections whose oldest write has waited longer
// than the session timeout: the proposal was lost with a leader, and the
// client will learn so (connection loss) and retry elsewhere.
func (s *Server) dropStuckClients(now time.Time) {
	for _, c := range s.connList() {
		if at, ok := c.oldestWrite(); ok && now.Sub(at) > time.Duration(c.session.Timeout)*time.Millisecond {
			s.log.Info("closing a connection whose write was not committed in time", zap.String("remote", c.remote))
			c.close()
		}
	}
}
