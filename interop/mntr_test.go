package interop

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/zookit/zookit/ensemble/admin/admintest"
	"github.com/zookit/zookit/ensemble/server"
)

// mntrKind is how a mntr value reads: "int", "float" or "string", as an
// exporter parsing the text would take it.
func mntrKind(v string) string {
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return "int"
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return "float"
	}
	return "string"
}

// mntrKinds asks addr for mntr and returns each key (without zk_) with
// the kind of its value.
func mntrKinds(t *testing.T, addr string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := FourLetterWord(ctx, addr, "mntr")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for line := range strings.Lines(out) {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\n"), "\t")
		if !ok || !strings.HasPrefix(k, "zk_") {
			t.Fatalf("%s: mntr line %q", addr, line)
		}
		m[setKey.ReplaceAllString(strings.TrimPrefix(k, "zk_"), "${1}*_$2")] = mntrKind(v)
	}
	return m
}

// setKey matches the mntr keys of a summary set, whose middle part is
// data (a namespace, a server id) and is compared as "*".
var setKey = regexp.MustCompile(`^((?:avg|min|max|cnt|sum|p50|p95|p99|p999)_).+_(read_per_namespace|write_per_namespace|learner_handler_qp_size|learner_handler_qp_time_ms)$`)

// leftOut reports whether ZooKeeper's mntr key is one zookit leaves out
// on purpose (server.MetricsLeftOut, by metric name: a summary's keys
// carry avg_, min_, max_, cnt_, sum_ or p50_..p999_ before the name, and a
// summary set's also a key).
func leftOut(key string) bool {
	if _, ok := server.MetricsLeftOut[key]; ok {
		return true
	}
	for _, p := range []string{"avg_", "min_", "max_", "cnt_", "sum_", "p50_", "p95_", "p99_", "p999_"} {
		if name, ok := strings.CutPrefix(key, p); ok {
			if _, ok := server.MetricsLeftOut[strings.TrimPrefix(name, "*_")]; ok {
				return true
			}
		}
	}
	return false
}

// compareMntr fails for every key Apache ZooKeeper prints that zkserver
// does not and that is not documented as left out, for every key both
// print with different kinds, and for a key zkserver prints that is
// neither ZooKeeper's nor zookit's own (zookit_*, or one of zookit's
// limits).
func compareMntr(t *testing.T, role string, apache, zookit map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(apache)) {
		zk, ok := zookit[k]
		switch {
		case !ok && !leftOut(k):
			t.Errorf("%s: Apache ZooKeeper's mntr has zk_%s (%s); zkserver has not, and server.MetricsLeftOut does not list it", role, k, apache[k])
		case ok && leftOut(k):
			t.Errorf("%s: zkserver has zk_%s; drop it from server.MetricsLeftOut", role, k)
		case ok && zk != apache[k]:
			t.Errorf("%s: zk_%s is a %s in Apache ZooKeeper, a %s in zkserver", role, k, apache[k], zk)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(zookit)) {
		if _, ok := apache[k]; !ok && !strings.HasPrefix(k, "zookit_") && !slices.Contains(server.MetricsZookitOnly, k) {
			t.Errorf("%s: zkserver's mntr has zk_%s, Apache ZooKeeper's does not", role, k)
		}
	}
}

// TestMntrKeys compares the key set and value kinds of mntr between a
// standalone Apache ZooKeeper and a standalone zkserver, then between the
// leaders and the followers of two three-server ensembles.
func TestMntrKeys(t *testing.T) {
	Require(t, ZooKeeper)
	apache, zookit := StartApacheZooKeeper(t, Options{}), StartZookit(t, Options{})
	admintest.Activity(t, apache)
	admintest.Activity(t, zookit)
	compareMntr(t, "standalone", mntrKinds(t, apache), mntrKinds(t, zookit))

	apacheAddrs, zookitAddrs := StartApacheEnsemble(t, 3, 0, Options{}), StartZookitEnsemble(t, 3, 0, Options{})
	byRole := func(addrs []string) map[string]string {
		m := map[string]string{}
		for _, a := range addrs {
			m[Mode(t.Context(), a)] = a
		}
		return m
	}
	a, z := byRole(apacheAddrs), byRole(zookitAddrs)
	if a["leader"] == "" || z["leader"] == "" {
		t.Fatalf("no leader: Apache ZooKeeper %v, zkserver %v", a, z)
	}
	admintest.Activity(t, a["leader"])
	admintest.Activity(t, z["leader"])
	for _, role := range []string{"leader", "follower"} {
		if a[role] == "" || z[role] == "" {
			t.Fatalf("no %s: Apache ZooKeeper %v, zkserver %v", role, a, z)
		}
		compareMntr(t, role, mntrKinds(t, a[role]), mntrKinds(t, z[role]))
	}
}

// TestPrometheusZkserver starts zkserver with ZooKeeper's Prometheus
// provider settings and scrapes the port they name with Prometheus's
// text parser. Debian packages no ZooKeeper Prometheus provider, so the
// names are checked against ZooKeeper's mntr names instead.
func TestPrometheusZkserver(t *testing.T) {
	var url string
	addr := StartZookit(t, Options{
		Config: map[string]string{
			"metricsProvider.className": "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
			"metricsProvider.httpHost":  "127.0.0.1",
		},
		ServerConfig: func(_, port int) map[string]string {
			url = fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
			return map[string]string{"metricsProvider.httpPort": strconv.Itoa(port)}
		},
	})
	admintest.Activity(t, addr)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range map[string]string{
		"znode_count": "GAUGE", "num_alive_connections": "GAUGE", "commit_count": "COUNTER",
		"readlatency": "SUMMARY", "fsynctime": "SUMMARY", "write_per_namespace": "SUMMARY", "go_goroutines": "GAUGE",
	} {
		if f := fams[name]; f == nil || f.GetType().String() != typ {
			t.Errorf("%s: %v, want a %s", name, f, typ)
		}
	}
	if n := fams["ephemerals_count"].GetMetric()[0].GetGauge().GetValue(); n != 1 {
		t.Errorf("ephemerals_count %v, want 1 (the activity's /eph)", n)
	}
}
