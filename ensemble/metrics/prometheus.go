package metrics

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// promQuantiles are the quantiles of ZooKeeper's Prometheus summaries, by
// detail.
var promQuantiles = [...][]float64{Basic: {0.5}, Advanced: {0.5, 0.9, 0.99}}

// Describe sends nothing: the Registry is an unchecked collector, because
// a SummarySet's keys and a Registry's metrics come and go while it runs.
func (r *Registry) Describe(chan<- *prometheus.Desc) {}

// Collect sends every metric as ZooKeeper's PrometheusMetricsProvider
// names it: counters and gauges under their own names (a string-valued
// gauge has no Prometheus form and is skipped), summaries as summaries.
func (r *Registry) Collect(ch chan<- prometheus.Metric) {
	names, ms := r.snapshot()
	for i, m := range ms {
		name := names[i]
		switch m := m.(type) {
		case *Counter:
			ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, name, nil, nil), prometheus.CounterValue, float64(m.Load()))
		case gauge:
			if v, ok := number(m()); ok {
				ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, name, nil, nil), prometheus.GaugeValue, v)
			}
		case *Summary:
			ch <- m.prometheus(prometheus.NewDesc(name, name, nil, nil))
		case *SummarySet:
			desc := prometheus.NewDesc(name, name, []string{"key"}, nil)
			keys, sums := m.summaries()
			for j, s := range sums {
				ch <- s.prometheus(desc, keys[j])
			}
		}
	}
}

func (s *Summary) prometheus(desc *prometheus.Desc, labels ...string) prometheus.Metric {
	st := s.read()
	qs := make(map[float64]float64, 3)
	for _, q := range promQuantiles[s.detail] {
		// With nothing observed there is no quantile: NaN, as
		// Prometheus's own summaries say, not a measured 0.
		qs[q] = math.NaN()
		if st.count > 0 {
			qs[q] = st.quantile(q)
		}
	}
	return prometheus.MustNewConstSummary(desc, uint64(st.count), float64(st.sum), qs, labels...)
}

// number is a gauge's value as a float, if it is a number.
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// Gatherer is r as Prometheus gathers it, with the Go runtime's and the
// process's metrics when runtime is true (ZooKeeper's exportJvmInfo).
func Gatherer(r *Registry, runtime bool) prometheus.Gatherer {
	reg := prometheus.NewRegistry()
	reg.MustRegister(r)
	if runtime {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return reg
}

// Handler serves g in Prometheus's text format at any path, as
// ZooKeeper's /metrics servlet does. Errors in gathering are answered with
// status 500.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})
}

// Samples passes every sample g gathers as ZooKeeper's Prometheus provider
// dumps its samples into mntr: the sample name with its labels,
// name{label="value",...}, and its value. A summary gives a sample per
// quantile, then name_count and name_sum.
func Samples(g prometheus.Gatherer, emit func(key string, value float64)) error {
	fams, err := g.Gather()
	for _, f := range fams {
		name := f.GetName()
		for _, m := range f.GetMetric() {
			labels := m.GetLabel()
			key := func(suffix string, extra ...string) string {
				var b strings.Builder
				b.WriteString(name + suffix)
				pairs := make([]string, 0, len(labels)+1)
				for _, l := range labels {
					pairs = append(pairs, l.GetName()+`="`+l.GetValue()+`"`)
				}
				pairs = append(pairs, extra...)
				if len(pairs) > 0 {
					b.WriteString("{" + strings.Join(pairs, ",") + "}")
				}
				return b.String()
			}
			switch {
			case m.Counter != nil:
				emit(key(""), m.GetCounter().GetValue())
			case m.Gauge != nil:
				emit(key(""), m.GetGauge().GetValue())
			case m.Untyped != nil:
				emit(key(""), m.GetUntyped().GetValue())
			case m.Summary != nil:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					emit(key("", `quantile="`+strconv.FormatFloat(q.GetQuantile(), 'g', -1, 64)+`"`), q.GetValue())
				}
				emit(key("_count"), float64(s.GetSampleCount()))
				emit(key("_sum"), s.GetSampleSum())
			case m.Histogram != nil:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					emit(key("_bucket", `le="`+strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)+`"`), float64(b.GetCumulativeCount()))
				}
				emit(key("_count"), float64(h.GetSampleCount()))
				emit(key("_sum"), h.GetSampleSum())
			}
		}
	}
	return err
}
