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
)

// The metricsProvider.className values zookit honours.
const (
	defaultMetricsProvider    = "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider"
	prometheusMetricsProvider = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"
)

// metricsSettings are zoo.cfg's metricsProvider.* keys.
type metricsSettings struct {
	prometheus bool   // className names ZooKeeper's PrometheusMetricsProvider
	addr       string // httpHost:httpPort, for ListenAndServe
	runtime    bool   // exportJvmInfo: the Go runtime's and the process's metrics too
}

// readMetricsSettings reads the keys as ZooKeeper's Prometheus provider
// does (httpHost 0.0.0.0, httpPort 7000, exportJvmInfo true), but a value
// it cannot use is an error rather than a provider that fails to start.
func readMetricsSettings(cfg *config.Config) (metricsSettings, error) {
	m := metricsSettings{addr: "0.0.0.0:7000", runtime: true}
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
	readLatency   *metrics.Summary    // readlatency: ms from a read's arrival to its reply
	updateLatency *metrics.Summary    // updatelatency: ms from a write's arrival to its reply
	readNS        *metrics.SummarySet // read_per_namespace: bytes read, by first path element
	writeNS       *metrics.SummarySet // write_per_namespace: bytes written, by first path element
	watchFired    map[int32]*metrics.Summary

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

	responseSize metrics.Sizes // last/min/max_client_response_size
}

func newServerMetrics(r *metrics.Registry) serverMetrics {
	return serverMetrics{
		readLatency:   r.Summary("readlatency", metrics.Advanced),
		updateLatency: r.Summary("updatelatency", metrics.Advanced),
		readNS:        r.SummarySet("read_per_namespace", metrics.Basic),
		writeNS:       r.SummarySet("write_per_namespace", metrics.Basic),
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
	resp := func(i int) func() any {
		return func() any { last, lo, hi := s.metrics.responseSize.Read(); return [3]int64{last, lo, hi}[i] }
	}
	r.Gauge("last_client_response_size", resp(0))
	r.Gauge("min_client_response_size", resp(1))
	r.Gauge("max_client_response_size", resp(2))
	r.Gauge("outstanding_tls_handshake", func() any { return s.handshaking.Load() })
	r.Gauge("auth_failed_count", func() any { return s.stats.authFailed.Load() })
	r.Gauge("non_mtls_remote_conn_count", func() any { return s.stats.nonMTLSRemote.Load() })
	r.Gauge("non_mtls_local_conn_count", func() any { return s.stats.nonMTLSLocal.Load() })
	r.Gauge("watches_rejected", func() any { return s.tree.WatchRefusals() })
	if s.cfg.Standalone() {
		return
	}
	r.Gauge("quorum_size", func() any { voters, _ := membership(s.cfg); return len(voters) })
	leading := func(read func() any) func() any {
		return func() any {
			if s.Mode() != "leader" {
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
	prop := func(i int) func() any {
		return leading(func() any { last, lo, hi := s.node.ProposalSize(); return [3]int64{last, lo, hi}[i] })
	}
	r.Gauge("last_proposal_size", prop(0))
	r.Gauge("min_proposal_size", prop(1))
	r.Gauge("max_proposal_size", prop(2))
}
