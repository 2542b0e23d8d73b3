package server

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/metrics"
	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/raftnode"
)

// The metricsProvider.className values zookit honours.
const (
	defaultMetricsProvider    = "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider"
	prometheusMetricsProvider = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"
)

// propFsyncWarning is ZooKeeper's threshold for a slow log write.
const propFsyncWarning = "zookeeper.fsync.warningthresholdms"

// metricsSettings are zoo.cfg's metricsProvider.* keys and the
// fsync.warningthresholdms behind a statistic.
type metricsSettings struct {
	prometheus bool   // className names ZooKeeper's PrometheusMetricsProvider
	addr       string // httpHost:httpPort, for ListenAndServe
	runtime    bool   // exportJvmInfo: the Go runtime's and the process's metrics too
	// fsyncWarning is fsync.warningthresholdms: a WAL write that takes
	// longer is logged and counted in srvr's fsync_threshold_exceed_count.
	fsyncWarning time.Duration
}

// readMetricsSettings reads the keys as ZooKeeper's Prometheus provider
// does (httpHost 0.0.0.0, httpPort 7000, exportJvmInfo true), but a value
// it cannot use is an error rather than a provider that fails to start.
func readMetricsSettings(cfg *config.Config) (metricsSettings, error) {
	m := metricsSettings{addr: "0.0.0.0:7000", runtime: true, fsyncWarning: raftnode.DefaultFsyncWarning}
	if v, ok := cfg.Property(propFsyncWarning); ok {
		ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || ms <= 0 {
			return m, fmt.Errorf("server: property %s=%q: want a positive number of milliseconds", propFsyncWarning, v)
		}
		m.fsyncWarning = time.Duration(ms) * time.Millisecond
	}
	class, _ := setting(cfg, "metricsProvider.className")
	switch class = strings.TrimSpace(class); class {
	case "", defaultMetricsProvider:
		return m, nil
	case prometheusMetricsProvider:
		m.prometheus = true
	default:
		return m, fmt.Errorf("server: metricsProvider.className=%s is not supported: use %s or %s", class, defaultMetricsProvider, prometheusMetricsProvider)
	}
	host := "0.0.0.0"
	if v, ok := setting(cfg, "metricsProvider.httpHost"); ok {
		host = strings.TrimSpace(v)
	}
	port := "7000"
	if v, ok := setting(cfg, "metricsProvider.httpPort"); ok {
		p, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || p < 0 || p > 65535 {
			return m, fmt.Errorf("server: metricsProvider.httpPort=%s: want a port number", v)
		}
		port = strconv.Itoa(p)
	}
	m.addr = net.JoinHostPort(host, port)
	if v, ok := setting(cfg, "metricsProvider.exportJvmInfo"); ok {
		m.runtime = isTrue(v)
	}
	return m, nil
}

// serverMetrics are the server's handles into its Registry, under
// ZooKeeper's names and units (ms, bytes).
type serverMetrics struct {
	readLatency   *metrics.Summary // readlatency: ms from a read's arrival to its reply
	updateLatency *metrics.Summary // updatelatency: ms from a write's arrival to its reply
	// local_write_committed_time_ms: ms from proposing a write on this
	// server to applying it here.
	localCommitted *metrics.Summary
	readNS         *metrics.SummarySet // read_per_namespace: bytes read, by first path element
	writeNS        *metrics.SummarySet // write_per_namespace: bytes written, by first path element
	watchFired     map[int32]*metrics.Summary

	connRequests     *metrics.Counter // connection_request_count
	bytesReceived    *metrics.Counter // bytes_received_count: request frames, length prefix included
	responseBytes    *metrics.Counter // response_bytes: reply frames, length prefix included
	watchBytes       *metrics.Counter // watch_bytes: watch notifications, length prefix excluded
	largeRequests    *metrics.Counter // large_requests_rejected: frames over jute.maxbuffer
	insecureAdmin    *metrics.Counter // insecure_admin_count: AdminServer requests over plain HTTP
	closedNotServing *metrics.Counter // cnxn_closed_without_zk_server_running
	sessionless      *metrics.Counter // sessionless_connections_expired: no handshake in time
	badHandshakes    *metrics.Counter // unsuccessful_handshake: TLS handshakes that failed
	tlsExceeded      *metrics.Counter // tls_handshake_exceeded: refused at the handshake limit
	expired          *metrics.Counter // stale_sessions_expired
	unrecoverable    *metrics.Counter // unrecoverable_error_count: the log stopped on a fault

	responseSize *metrics.Sizes // last/min/max_client_response_size
}

func newServerMetrics(r *metrics.Registry) serverMetrics {
	return serverMetrics{
		readLatency:    r.Summary("readlatency", metrics.Advanced),
		updateLatency:  r.Summary("updatelatency", metrics.Advanced),
		localCommitted: r.Summary("local_write_committed_time_ms", metrics.Advanced),
		readNS:         r.SummarySet("read_per_namespace", metrics.Basic),
		writeNS:        r.SummarySet("write_per_namespace", metrics.Basic),
		watchFired: map[int32]*metrics.Summary{
			proto.EventNodeCreated:         r.Summary("node_created_watch_count", metrics.Basic),
			proto.EventNodeDeleted:         r.Summary("node_deleted_watch_count", metrics.Basic),
			proto.EventNodeDataChanged:     r.Summary("node_changed_watch_count", metrics.Basic),
			proto.EventNodeChildrenChanged: r.Summary("node_children_watch_count", metrics.Basic),
		},
		connRequests:     r.Counter("connection_request_count"),
		bytesReceived:    r.Counter("bytes_received_count"),
		responseBytes:    r.Counter("response_bytes"),
		watchBytes:       r.Counter("watch_bytes"),
		largeRequests:    r.Counter("large_requests_rejected"),
		insecureAdmin:    r.Counter("insecure_admin_count"),
		closedNotServing: r.Counter("cnxn_closed_without_zk_server_running"),
		sessionless:      r.Counter("sessionless_connections_expired"),
		badHandshakes:    r.Counter("unsuccessful_handshake"),
		tlsExceeded:      r.Counter("tls_handshake_exceeded"),
		expired:          r.Counter("stale_sessions_expired"),
		unrecoverable:    r.Counter("unrecoverable_error_count"),
		responseSize:     metrics.NewSizes(),
	}
}

// fired is the tree's WithFiredWatches hook.
func (m *serverMetrics) fired(eventType int32, watchers int) {
	if s := m.watchFired[eventType]; s != nil {
		s.Observe(int64(watchers))
	}
}

// namespace is the first element of a path, ZooKeeper's
// PathUtils.getTopNamespace; "" for the root.
func namespace(path string) string {
	ns, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return ns
}

// statOverhead is the bytes ZooKeeper counts for a stat in
// read_per_namespace (DataTree.STAT_OVERHEAD_BYTES).
const statOverhead = 6*8 + 5*4

// read records read_per_namespace for a reply, as DataTree counts reads:
// the path, the data or the children's names, and a stat.
func (m *serverMetrics) read(req proto.Record, resp proto.Record) {
	pr, ok := req.(*proto.PathWatch)
	if !ok {
		return
	}
	n := 0
	switch r := resp.(type) {
	case *proto.GetDataResponse:
		n = len(r.Data)
	case *proto.ChildrenResponse:
		for _, c := range r.Children {
			n += len(c)
		}
	case *proto.StatResponse:
	default:
		return
	}
	if ns := namespace(pr.Path); ns != "" {
		m.readNS.Observe(ns, int64(len(pr.Path)+n+statOverhead))
	}
}

// wrote records write_per_namespace for an applied change, as DataTree
// counts writes: the path and the data.
func (m *serverMetrics) wrote(op proto.Op, req proto.Record) {
	var path string
	n := 0
	switch r := req.(type) {
	case *proto.CreateRequest:
		path, n = r.Path, len(r.Data)
	case *proto.SetDataRequest:
		path, n = r.Path, len(r.Data)
	case *proto.PathInt:
		if op != proto.OpDelete {
			return
		}
		path = r.Path
	case *proto.MultiRequest:
		for _, o := range r.Ops {
			m.wrote(o.Op, o.Req)
		}
		return
	default:
		return
	}
	if ns := namespace(path); ns != "" {
		m.writeNS.Observe(ns, int64(len(path)+n))
	}
}

// registerGauges adds the gauges of ZooKeeper's ZooKeeperServer, Leader
// and QuorumPeer, read live from the server; a leader-only gauge reads nil,
// and so is absent, on any other server, as ZooKeeper registers those only
// while it leads.
func (s *Server) registerGauges() {
	r := s.reg
	lat := func(pick func(lo int64, avg float64, hi int64) any) func() any {
		return func() any { lo, avg, hi, _ := s.stats.lat.read(); return pick(lo, avg, hi) }
	}
	r.Gauge("avg_latency", lat(func(_ int64, avg float64, _ int64) any { return avg }))
	r.Gauge("max_latency", lat(func(_ int64, _ float64, hi int64) any { return hi }))
	r.Gauge("min_latency", lat(func(lo int64, _ float64, _ int64) any { return lo }))
	r.Gauge("packets_received", func() any { return s.stats.recved.Load() })
	r.Gauge("packets_sent", func() any { return s.stats.sent.Load() })
	r.Gauge("num_alive_connections", func() any { return len(s.connList()) })
	r.Gauge("outstanding_requests", func() any { return s.outstanding() })
	r.Gauge("uptime", func() any { return time.Since(s.started).Milliseconds() })
	r.Gauge("znode_count", func() any { return s.tree.NodeCount() })
	r.Gauge("watch_count", func() any { return s.tree.WatchCount() })
	r.Gauge("ephemerals_count", func() any { return s.tree.EphemeralCount() })
	r.Gauge("approximate_data_size", func() any { return s.tree.ApproximateDataSize() })
	r.Gauge("global_sessions", func() any { return len(s.tree.Sessions()) })
	r.Gauge("local_sessions", func() any { return 0 })
	r.Gauge("open_file_descriptor_count", func() any { return openFDs() })
	r.Gauge("max_file_descriptor_count", func() any { return maxFDs() })
	r.Gauge("connection_drop_probability", func() any { return 0.0 })
	// sizes registers last_, min_ and max_<name> of a BufferStats, absent
	// while on is false.
	sizes := func(name string, read func() (last, lo, hi int64), on func() bool) {
		for i, prefix := range []string{"last_", "min_", "max_"} {
			r.Gauge(prefix+name, func() any {
				if !on() {
					return nil
				}
				last, lo, hi := read()
				return [3]int64{last, lo, hi}[i]
			})
		}
	}
	// Read through s.metrics when asked: it is set after the gauges.
	sizes("client_response_size", func() (int64, int64, int64) { return s.metrics.responseSize.Read() }, func() bool { return true })
	r.Gauge("outstanding_tls_handshake", func() any { return s.handshaking.Load() })
	r.Gauge("auth_failed_count", func() any { return s.stats.authFailed.Load() })
	r.Gauge("non_mtls_remote_conn_count", func() any { return s.stats.nonMTLSRemote.Load() })
	r.Gauge("non_mtls_local_conn_count", func() any { return s.stats.nonMTLSLocal.Load() })
	r.Gauge("watches_rejected", func() any { return s.tree.WatchRefusals() })
	if s.cfg.Standalone() {
		return
	}
	r.Gauge("quorum_size", func() any { voters, _ := s.view.Load().members(); return len(voters) })
	r.Gauge("peer_state", func() any { return s.peerState() })
	isLeader := func() bool { return s.Mode() == "leader" }
	leading := func(read func() any) func() any {
		return func() any {
			if !isLeader() {
				return nil
			}
			return read()
		}
	}
	stat := func(i int) func() any {
		return leading(func() any {
			learners, followers, observers := s.leaderStats()
			return [3]int{learners, followers, observers}[i]
		})
	}
	r.Gauge("learners", stat(0))
	r.Gauge("synced_followers", stat(1))
	r.Gauge("synced_non_voting_followers", leading(func() any { return 0 }))
	r.Gauge("synced_observers", stat(2))
	r.Gauge("pending_syncs", leading(func() any { return 0 }))
	r.Gauge("leader_uptime", leading(func() any { return time.Since(s.node.LeaderSince()).Milliseconds() }))
	sizes("proposal_size", func() (int64, int64, int64) { return s.node.ProposalSize() }, isLeader)
}

// peerState is ZooKeeper's QuorumPeer.getDetailedPeerState: the role and,
// for a server that has one, its phase; a raft member that knows its
// leader is past synchronisation and broadcasting.
func (s *Server) peerState() string {
	if s.node.Leader() == 0 {
		return "looking - election"
	}
	switch s.Mode() {
	case "leader":
		return "leading - broadcast"
	case "observer":
		return "observing - broadcast"
	}
	return "following - broadcast"
}

// MetricsLeftOut are the metrics of ZooKeeper 3.8's mntr that zookit does
// not have, by metric name (a summary's mntr keys put avg_, min_, max_,
// cnt_, sum_ and, for the detailed ones, p50_, p95_, p99_ and p999_
// before the name; a summary set's also a key such as a server id), each
// with why. The interop tests fail when Apache ZooKeeper prints a key that
// zkserver does not and that is not here, or one that is here and that
// zkserver prints.
var MetricsLeftOut = leftOut(
	because("a stage of ZooKeeper's request pipeline (its prep, sync, commit and final request processors and their queues) that zookit does not have: a write is a raft proposal, logged and applied in one step, timed by updatelatency, local_write_committed_time_ms, fsynctime and sync_processor_batch_size",
		"prep_process_time", "prep_processor_queue_size", "prep_processor_queue_time_ms", "prep_processor_request_queued",
		"outstanding_changes_queued", "outstanding_changes_removed", "proposal_process_time",
		"commit_commit_proc_req_queued", "commit_process_time", "concurrent_request_processing_in_commit_processor",
		"read_commit_proc_issued", "read_commit_proc_req_queued", "read_commitproc_time_ms",
		"write_commit_proc_issued", "write_commit_proc_req_queued", "write_commitproc_time_ms",
		"write_batch_time_in_commit_processor", "time_waiting_empty_pool_in_commit_processor_read_ms",
		"request_commit_queued", "requests_not_forwarded_to_commit_processor",
		"read_final_proc_time_ms", "write_final_proc_time_ms",
		"reads_after_write_in_session_queue", "reads_issued_from_session_queue", "requests_in_session_queue",
		"pending_session_queue_size", "session_queues_drained",
		"skip_learner_request_to_next_processor_count", "learner_request_processor_queue_size", "close_session_prep_time",
		"sync_process_time", "sync_processor_queue_size", "sync_processor_queue_time_ms",
		"sync_processor_queue_flush_time_ms", "sync_processor_queue_and_flush_time_ms"),
	because("a step of Zab's broadcast and learner synchronisation: etcd raft proposes, acknowledges and commits inside its own loop and brings a learner up to date with appends or a snapshot (snap_count), with no per-learner queue or sync phase to time",
		"proposal_latency", "proposal_ack_creation_latency", "quorum_ack_latency", "commit_propagation_latency",
		"propagation_latency", "server_write_committed_time_ms", "learner_handler_qp_size", "learner_handler_qp_time_ms",
		"inflight_snap_count", "inflight_diff_count", "diff_count", "follower_sync_time", "observer_sync_time",
		"quit_leading_due_to_disloyal_voter"),
	because("observers replicate from the raft leader; there is no observer master (observerMasterPort is refused)",
		"om_proposal_process_time_ms", "om_commit_process_time_ms"),
	because("there is no serialized-response cache",
		"response_packet_cache_hits", "response_packet_cache_misses",
		"response_packet_get_children_cache_hits", "response_packet_get_children_cache_misses"),
	because("the request throttler and connection token bucket are not implemented (their settings are refused); back-pressure is globalOutstandingLimit's, counted in request_throttle_wait_count",
		"throttled_ops", "request_throttle_queue_time_ms", "connection_token_deficit", "connection_drop_count"),
	because("a closed connection's watches are removed at once, not queued for a background cleaner",
		"dead_watchers_queued", "dead_watchers_cleared", "dead_watchers_cleaner_latency", "add_dead_watcher_stall_time"),
	because("a session moves between servers by a logged attach, not by revalidation with the leader, and a closed connection's requests are answered or dropped with it, never queued as stale",
		"revalidate_count", "connection_revalidate_count", "stale_requests", "stale_requests_dropped", "stale_replies"),
	because("the ensemble-name authentication provider is not implemented",
		"ensemble_auth_success", "ensemble_auth_fail", "ensemble_auth_skip"),
	because("replicas do not exchange tree digests: raft's log keeps them equal", "digest_mismatches_count"),
	because("there is no JVM; the Go runtime's pauses are go_gc_duration_seconds on the Prometheus endpoint", "jvm_pause_time_ms"),
	because("Netty's buffers and socket closing are not part of a Go server", "netty_queued_buffer_capacity", "socket_closing_time"),
)

// reason is why some metrics are left out.
type reason struct {
	why   string
	names []string
}

func because(why string, names ...string) reason { return reason{why, names} }

func leftOut(rs ...reason) map[string]string {
	m := map[string]string{}
	for _, r := range rs {
		for _, n := range r.names {
			m[n] = r.why
		}
	}
	return m
}

// MetricsZookitOnly are the mntr keys of zookit's own that are not
// ZooKeeper's, beside those named zookit_*: the limits of the package doc
// that ZooKeeper does not have.
var MetricsZookitOnly = []string{"large_responses_rejected", "watches_rejected", "outbound_limit_disconnects", "four_letter_words_truncated"}
