package metrics

import (
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func lines(r *Registry) map[string]any {
	m := map[string]any{}
	r.Each(func(k string, v any) { m[k] = v })
	return m
}

func TestEachNamesAndTypes(t *testing.T) {
	r := NewRegistry()
	r.Counter("commit_count").Add(3)
	r.Gauge("znode_count", func() any { return 5 })
	r.Gauge("avg_latency", func() any { return 1.5 })
	s := r.Summary("fsynctime", Basic)
	for _, v := range []int64{4, 2, 9} {
		s.Observe(v)
	}
	p := r.Summary("readlatency", Advanced)
	for v := int64(1); v <= 100; v++ {
		p.Observe(v)
	}
	r.SummarySet("write_per_namespace", Basic).Observe("foo", 8)
	if r.Counter("commit_count").Load() != 3 {
		t.Error("asking again for a counter gave a new one")
	}
	want := map[string]any{
		"commit_count": int64(3), "znode_count": 5, "avg_latency": 1.5,
		"avg_fsynctime": 5.0, "min_fsynctime": int64(2), "max_fsynctime": int64(9), "cnt_fsynctime": int64(3), "sum_fsynctime": int64(15),
		"avg_readlatency": 50.5, "min_readlatency": int64(1), "max_readlatency": int64(100), "cnt_readlatency": int64(100), "sum_readlatency": int64(5050),
		"p50_readlatency": int64(50), "p95_readlatency": int64(95), "p99_readlatency": int64(99), "p999_readlatency": int64(100),
		"avg_foo_write_per_namespace": 8.0, "min_foo_write_per_namespace": int64(8), "max_foo_write_per_namespace": int64(8),
		"cnt_foo_write_per_namespace": int64(1), "sum_foo_write_per_namespace": int64(8),
	}
	got := lines(r)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v (%T), want %v (%T)", k, got[k], got[k], v, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d lines, want %d: %v", len(got), len(want), got)
	}
	var order []string
	r.Each(func(k string, _ any) { order = append(order, k) })
	if order[0] != "commit_count" || order[1] != "znode_count" || order[3] != "avg_fsynctime" {
		t.Errorf("order %v is not the order of registration", order[:4])
	}
	r.Reset()
	got = lines(r)
	if got["commit_count"] != int64(0) || got["cnt_readlatency"] != int64(0) || got["p50_readlatency"] != int64(0) || got["znode_count"] != 5 {
		t.Errorf("after Reset: %v", got)
	}
	if _, ok := got["cnt_foo_write_per_namespace"]; ok {
		t.Error("Reset kept a summary set's keys")
	}
}

// TestSampleStaysBounded observes far more than the reservoir holds.
func TestSampleStaysBounded(t *testing.T) {
	s := newSummary(Advanced)
	for v := range int64(100_000) {
		s.Observe(v % 1000)
	}
	st := s.read()
	if len(st.sorted) != reservoirSize || st.count != 100_000 {
		t.Fatalf("sample %d, count %d", len(st.sorted), st.count)
	}
	if q := st.quantile(0.5); q < 400 || q > 600 {
		t.Errorf("median of a uniform 0..999 sample is %v", q)
	}
}

func TestInvalidNamePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a name with a dash")
		}
	}()
	NewRegistry().Counter("bad-name")
}

// TestPrometheus scrapes Handler and parses the answer with Prometheus's
// own text parser.
func TestPrometheus(t *testing.T) {
	r := NewRegistry()
	r.Counter("commit_count").Add(7)
	r.Gauge("znode_count", func() any { return int64(12) })
	r.Gauge("version", func() any { return "3.8.0" })
	s := r.Summary("readlatency", Advanced)
	for v := int64(1); v <= 10; v++ {
		s.Observe(v)
	}
	r.Summary("fsynctime", Basic).Observe(3)
	r.Summary("snapshottime", Basic)
	r.SummarySet("read_per_namespace", Basic).Observe("foo", 75)

	rec := httptest.NewRecorder()
	Handler(Gatherer(r, true)).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, rec.Body)
	}
	if f := families["commit_count"]; f == nil || f.GetType().String() != "COUNTER" || f.Metric[0].GetCounter().GetValue() != 7 {
		t.Errorf("commit_count: %v", f)
	}
	if f := families["znode_count"]; f == nil || f.GetType().String() != "GAUGE" || f.Metric[0].GetGauge().GetValue() != 12 {
		t.Errorf("znode_count: %v", f)
	}
	if _, ok := families["version"]; ok {
		t.Error("a string gauge became a series")
	}
	f := families["readlatency"]
	if f == nil || f.GetType().String() != "SUMMARY" {
		t.Fatalf("readlatency: %v", f)
	}
	sum := f.Metric[0].GetSummary()
	if sum.GetSampleCount() != 10 || sum.GetSampleSum() != 55 || len(sum.Quantile) != 3 || sum.Quantile[0].GetValue() != 5.5 {
		t.Errorf("readlatency: %v", sum)
	}
	if q := families["fsynctime"].Metric[0].GetSummary().Quantile; len(q) != 1 || q[0].GetValue() != 3 {
		t.Errorf("fsynctime quantiles: %v", q)
	}
	if q := families["snapshottime"].Metric[0].GetSummary().Quantile; len(q) != 1 || !math.IsNaN(q[0].GetValue()) {
		t.Errorf("an empty summary's quantile: %v, want NaN", q)
	}
	ns := families["read_per_namespace"]
	if ns == nil || ns.Metric[0].Label[0].GetName() != "key" || ns.Metric[0].Label[0].GetValue() != "foo" {
		t.Errorf("read_per_namespace: %v", ns)
	}
	if families["go_goroutines"] == nil || families["process_open_fds"] == nil {
		t.Error("no Go runtime or process metrics")
	}
	rec = httptest.NewRecorder()
	Handler(Gatherer(r, false)).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Error("runtime metrics without exportJvmInfo")
	}
}

// A gauge reading nil is left out of both forms.
func TestNilGaugeIsAbsent(t *testing.T) {
	r := NewRegistry()
	on := false
	r.Gauge("learners", func() any {
		if !on {
			return nil
		}
		return 2
	})
	if _, ok := lines(r)["learners"]; ok {
		t.Error("a nil gauge has a line")
	}
	rec := httptest.NewRecorder()
	Handler(Gatherer(r, false)).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if strings.Contains(rec.Body.String(), "learners") {
		t.Error("a nil gauge has a series")
	}
	on = true
	if lines(r)["learners"] != 2 {
		t.Error("the gauge does not come back")
	}
}

// Samples names what it passes as ZooKeeper's Prometheus provider names
// its mntr keys.
func TestSamples(t *testing.T) {
	r := NewRegistry()
	r.Counter("commit_count").Add(2)
	s := r.Summary("readlatency", Advanced)
	s.Observe(4)
	r.SummarySet("write_per_namespace", Basic).Observe("foo", 8)
	got := map[string]float64{}
	if err := Samples(Gatherer(r, false), func(k string, v float64) { got[k] = v }); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"commit_count":                2,
		`readlatency{quantile="0.5"}`: 4, `readlatency{quantile="0.9"}`: 4, `readlatency{quantile="0.99"}`: 4,
		"readlatency_count": 1, "readlatency_sum": 4,
		`write_per_namespace{key="foo",quantile="0.5"}`: 8,
		`write_per_namespace_count{key="foo"}`:          1, `write_per_namespace_sum{key="foo"}`: 8,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
}

// Observe and Sizes.Add take no lock; many goroutines at once must still
// count every observation and keep the extremes.
func TestConcurrentObserve(t *testing.T) {
	s := newSummary(Advanced)
	z := NewSizes()
	done := make(chan struct{})
	for g := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range int64(1000) {
				s.Observe(i + int64(g))
				z.Add(int(i) + g)
			}
		}()
	}
	for range 8 {
		<-done
	}
	st := s.read()
	if st.count != 8000 || st.min != 0 || st.max != 1006 || len(st.sorted) != reservoirSize {
		t.Errorf("count %d min %d max %d sample %d", st.count, st.min, st.max, len(st.sorted))
	}
	if _, lo, hi := z.Read(); lo != 0 || hi != 1006 {
		t.Errorf("sizes %d..%d", lo, hi)
	}
	if last, lo, hi := NewSizes().Read(); last != -1 || lo != -1 || hi != -1 {
		t.Errorf("empty sizes %d %d %d", last, lo, hi)
	}
}
