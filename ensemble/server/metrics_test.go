package server_test

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
)

// mntrMap is mntr's output as key (without zk_) to value text.
func mntrMap(t *testing.T, addr string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for line := range strings.Lines(fourLetter(t, addr, "mntr")) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok {
			t.Fatalf("mntr line %q", line)
		}
		m[strings.TrimPrefix(k, "zk_")] = v
	}
	return m
}

func connectZK(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestMntrMeasures checks that mntr's metrics follow what clients do,
// counted as ZooKeeper counts them.
func TestMntrMeasures(t *testing.T) {
	srv := ensembletest.Start(t)
	c := connectZK(t, srv.Addr())
	acl := zk.WorldACL(zk.PermAll)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Create("/foo", nil, 0, acl))
	must(c.Create("/foo/bar", []byte("x"), 0, acl))
	_, _, ch, err := c.ChildrenW("/foo")
	if err != nil {
		t.Fatal(err)
	}
	must(c.Create("/foo/c", nil, 0, acl))
	<-ch
	data, _, err := c.Get("/foo/bar")
	if err != nil || string(data) != "x" {
		t.Fatal(data, err)
	}

	m := mntrMap(t, srv.Addr())
	for k, want := range map[string]string{
		// DataTree counts path plus data: 4, 9, 6.
		"cnt_foo_write_per_namespace": "3", "sum_foo_write_per_namespace": "19",
		"min_foo_write_per_namespace": "4", "max_foo_write_per_namespace": "9",
		// and path, children's names and a 68-byte stat per read:
		// getChildren2 /foo (bar) 75, getData /foo/bar 77.
		"cnt_foo_read_per_namespace": "2", "sum_foo_read_per_namespace": "152",
		"cnt_node_children_watch_count": "1", "sum_node_children_watch_count": "1",
		"cnt_node_created_watch_count": "0",
		// one NodeChildrenChanged event for /foo: 16 + 4 + 4 + 4 + 4.
		"watch_bytes":    "32",
		"commit_count":   "4", // the session and three creates
		"proposal_count": "4",
		"server_state":   "standalone",
	} {
		if m[k] != want {
			t.Errorf("zk_%s = %q, want %q", k, m[k], want)
		}
	}
	for _, k := range []string{"cnt_readlatency", "cnt_updatelatency", "bytes_received_count", "response_bytes",
		"connection_request_count", "cnt_fsynctime", "non_mtls_local_conn_count", "cnt_dbinittime", "looking_count"} {
		if n, err := strconv.Atoi(m[k]); err != nil || n < 1 {
			t.Errorf("zk_%s = %q, want at least 1", k, m[k])
		}
	}
	for _, k := range []string{"learners", "synced_followers", "quorum_size", "leader_uptime"} {
		if v, ok := m[k]; ok {
			t.Errorf("standalone mntr has zk_%s (%s)", k, v)
		}
	}
	if m["p50_readlatency"] == "" || m["avg_latency"] == "" || m["zookit_raft_applied_index"] == "" {
		t.Errorf("missing keys in %v", m)
	}
}

// TestMntrLeaderOnly checks that the leader-only gauges are on the leader
// alone, as ZooKeeper registers them only while it leads.
func TestMntrLeaderOnly(t *testing.T) {
	cl := ensembletest.StartCluster(t, 3, 0)
	leader := cl.WaitLeader()
	c := connectZK(t, leader.Addr())
	if _, err := c.Create("/p", []byte("data"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for _, mb := range cl.Members() {
		m := mntrMap(t, mb.Addr())
		if m["quorum_size"] != "3" {
			t.Errorf("server %d: zk_quorum_size %q", mb.ID, m["quorum_size"])
		}
		_, has := m["synced_followers"]
		if lead := mb == leader; has != lead {
			t.Errorf("server %d (leader %v) has synced_followers: %v", mb.ID, lead, has)
		}
		srvr := fourLetter(t, mb.Addr(), "srvr")
		if lead := mb == leader; strings.Contains(srvr, "Proposal sizes last/min/max: ") != lead {
			t.Errorf("server %d (leader %v) srvr: %q", mb.ID, lead, srvr)
		}
		if mb == leader {
			if m["learners"] != "2" || m["synced_followers"] != "2" {
				t.Errorf("leader: learners %q, synced_followers %q", m["learners"], m["synced_followers"])
			}
			if n, _ := strconv.Atoi(m["max_proposal_size"]); n < len("data") {
				t.Errorf("leader: max_proposal_size %q", m["max_proposal_size"])
			}
		} else if n, _ := strconv.Atoi(m["learner_commit_received_count"]); n < 1 {
			t.Errorf("follower %d: learner_commit_received_count %q", mb.ID, m["learner_commit_received_count"])
		}
	}
}

// TestPrometheusEndpoint scrapes ServeMetrics with Prometheus's text
// parser and checks it says what mntr says.
func TestPrometheusEndpoint(t *testing.T) {
	srv := ensembletest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Server().ServeMetrics(ln)
	c := connectZK(t, srv.Addr())
	if _, err := c.Create("/q", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get("/q"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := mntrMap(t, srv.Addr())
	if got := fams["znode_count"].GetMetric()[0].GetGauge().GetValue(); strconv.Itoa(int(got)) != m["znode_count"] {
		t.Errorf("znode_count %v, mntr %s", got, m["znode_count"])
	}
	if f := fams["commit_count"]; f.GetType().String() != "COUNTER" || f.GetMetric()[0].GetCounter().GetValue() < 2 {
		t.Errorf("commit_count: %v", f)
	}
	if f := fams["readlatency"]; f.GetType().String() != "SUMMARY" || f.GetMetric()[0].GetSummary().GetSampleCount() < 1 ||
		len(f.GetMetric()[0].GetSummary().GetQuantile()) != 3 {
		t.Errorf("readlatency: %v", f)
	}
	if fams["go_goroutines"] == nil {
		t.Error("no Go runtime metrics though exportJvmInfo defaults to true")
	}
	if srv.Server().MetricsAddr().String() != ln.Addr().String() {
		t.Errorf("MetricsAddr %v", srv.Server().MetricsAddr())
	}
}

// Under the Prometheus provider, mntr prints the Prometheus samples, as
// ZooKeeper's does.
func TestMntrUnderPrometheus(t *testing.T) {
	srv := ensembletest.Start(t, ensembletest.WithConfig(func(c *config.Config) {
		c.Other["metricsProvider.className"] = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"
	}))
	c := connectZK(t, srv.Addr())
	if _, _, err := c.Get("/"); err != nil {
		t.Fatal(err)
	}
	m := mntrMap(t, srv.Addr())
	for k, want := range map[string]string{"server_state": "standalone", "znode_count": "5.0", "readlatency_count": "1.0"} {
		if m[k] != want {
			t.Errorf("zk_%s = %q, want %q", k, m[k], want)
		}
	}
	for _, k := range []string{`readlatency{quantile="0.99"}`, "go_goroutines", "commit_count"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no zk_%s in %v", k, m)
		}
	}
	if _, ok := m["cnt_readlatency"]; ok {
		t.Error("mntr has the default provider's keys too")
	}
}

// A client that has its reply finds the request counted: the figures are
// recorded before the reply is sent, not after.
func TestLatencyCountedBeforeReply(t *testing.T) {
	srv := ensembletest.Start(t, ensembletest.WithConfig(func(c *config.Config) {
		c.Other["metricsProvider.className"] = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"
	}))
	c := connectZK(t, srv.Addr())
	for i := 1; i <= 30; i++ {
		if _, _, err := c.Get("/"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Set("/", nil, -1); err != nil {
			t.Fatal(err)
		}
		m := mntrMap(t, srv.Addr())
		want := strconv.Itoa(i) + ".0"
		if m["readlatency_count"] != want || m["updatelatency_count"] != want {
			t.Fatalf("after %d reads and writes: readlatency_count %q, updatelatency_count %q",
				i, m["readlatency_count"], m["updatelatency_count"])
		}
	}
}
