package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Detail is how much of a Summary is kept, ZooKeeper's DetailLevel.
type Detail int

const (
	// Basic keeps count, sum, min and max.
	Basic Detail = iota
	// Advanced also keeps the quantiles.
	Advanced
)

// metric is what every kind is to a Registry.
type metric interface {
	// each passes mntr's lines for the metric called name.
	each(name string, emit func(key string, value any))
	reset()
}

// Registry holds metrics by name, in the order they were first asked for.
type Registry struct {
	mu     sync.Mutex
	names  []string
	byName map[string]metric
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{byName: make(map[string]metric)}
}

// get returns the metric called name, creating it with make the first
// time. Asking for a name under another kind panics: that is a
// programming error, never an input.
func get[M metric](r *Registry, name string, make func() M) M {
	mustBeValid(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.byName[name]; ok {
		return m.(M)
	}
	m := make()
	r.byName[name] = m
	r.names = append(r.names, name)
	return m
}

// Counter returns the counter called name.
func (r *Registry) Counter(name string) *Counter {
	return get(r, name, func() *Counter { return new(Counter) })
}

// Gauge registers read as the value of name, replacing an earlier one:
// read returns an int, int64, float64 or string (a string has no
// Prometheus form), or nil while the gauge has no value and is left out,
// as ZooKeeper leaves out a gauge it has unregistered. read must not
// block for long.
func (r *Registry) Gauge(name string, read func() any) {
	mustBeValid(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byName[name]; !ok {
		r.names = append(r.names, name)
	}
	r.byName[name] = gauge(read)
}

// Summary returns the summary called name.
func (r *Registry) Summary(name string, d Detail) *Summary {
	return get(r, name, func() *Summary { return newSummary(d) })
}

// SummarySet returns the summary set called name.
func (r *Registry) SummarySet(name string, d Detail) *SummarySet {
	return get(r, name, func() *SummarySet { return &SummarySet{detail: d} })
}

// snapshot is the registry's metrics in order, read under the lock and
// used without it.
func (r *Registry) snapshot() ([]string, []metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ms := make([]metric, len(r.names))
	for i, n := range r.names {
		ms[i] = r.byName[n]
	}
	return slices.Clone(r.names), ms
}

// Each passes every mntr line, without mntr's "zk_" prefix, in the order
// the metrics were registered. A value is an int64, an int or a float64.
func (r *Registry) Each(emit func(key string, value any)) {
	names, ms := r.snapshot()
	for i, m := range ms {
		m.each(names[i], emit)
	}
}

// Reset zeroes every counter and summary; gauges read live values.
func (r *Registry) Reset() {
	_, ms := r.snapshot()
	for _, m := range ms {
		m.reset()
	}
}

// Counter is a count that only grows.
type Counter struct{ v atomic.Int64 }

// Add adds n, which must not be negative.
func (c *Counter) Add(n int64) {
	if n > 0 {
		c.v.Add(n)
	}
}

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Load returns the count.
func (c *Counter) Load() int64 { return c.v.Load() }

func (c *Counter) each(name string, emit func(string, any)) { emit(name, c.v.Load()) }
func (c *Counter) reset()                                   { c.v.Store(0) }

type gauge func() any

func (g gauge) each(name string, emit func(string, any)) {
	if v := g(); v != nil {
		emit(name, v)
	}
}
func (gauge) reset() {}

// Sample sizes: an Advanced summary keeps Dropwizard's default uniform
// reservoir, which ZooKeeper's percentile counters use; a Basic one, which
// ZooKeeper keeps no sample for, only enough for the median Prometheus is
// given, so that a summary per namespace stays small.
const (
	reservoirSize      = 1028
	basicReservoirSize = 64
)

// Summary keeps count, sum, min and max of observations and a uniform
// sample of them for quantiles. Observe takes no lock: every request
// passes through some summary, and a lock would serialize them.
type Summary struct {
	detail   Detail
	count    atomic.Int64
	sum      atomic.Int64
	min, max atomic.Int64 // valid once count > 0
	sample   []atomic.Int64
}

func newSummary(d Detail) *Summary {
	n := basicReservoirSize
	if d == Advanced {
		n = reservoirSize
	}
	s := &Summary{detail: d, sample: make([]atomic.Int64, n)}
	s.min.Store(math.MaxInt64)
	s.max.Store(math.MinInt64)
	return s
}

// Observe records one observation.
func (s *Summary) Observe(v int64) {
	n := s.count.Add(1)
	s.sum.Add(v)
	for old := s.min.Load(); v < old && !s.min.CompareAndSwap(old, v); old = s.min.Load() {
	}
	for old := s.max.Load(); v > old && !s.max.CompareAndSwap(old, v); old = s.max.Load() {
	}
	// Vitter's algorithm R: every observation so far is in the sample with
	// the same probability.
	if size := int64(len(s.sample)); n <= size {
		s.sample[n-1].Store(v)
	} else if i := rand.Int64N(n); i < size {
		s.sample[i].Store(v)
	}
}

// stats is a summary read at one moment.
type stats struct {
	count, sum, min, max int64
	sorted               []int64 // the sample, sorted
}

// read reads the summary; observations that land meanwhile may show in
// some fields and not others, which a metric can afford.
func (s *Summary) read() stats {
	st := stats{count: s.count.Load(), sum: s.sum.Load()}
	if st.count == 0 {
		return st
	}
	st.min, st.max = s.min.Load(), s.max.Load()
	st.sorted = make([]int64, min(st.count, int64(len(s.sample))))
	for i := range st.sorted {
		st.sorted[i] = s.sample[i].Load()
	}
	slices.Sort(st.sorted)
	return st
}

// quantile is the q-quantile of the sorted sample, interpolated as
// Dropwizard's UniformSnapshot does; 0 for an empty sample.
func (st stats) quantile(q float64) float64 {
	n := len(st.sorted)
	if n == 0 {
		return 0
	}
	pos := q * float64(n+1)
	switch {
	case pos < 1:
		return float64(st.sorted[0])
	case pos >= float64(n):
		return float64(st.sorted[n-1])
	}
	lo, hi := float64(st.sorted[int(pos)-1]), float64(st.sorted[int(pos)])
	return lo + (pos-math.Floor(pos))*(hi-lo)
}

// avg is the mean rounded to four places, as ZooKeeper prints it.
func (st stats) avg() float64 {
	if st.count == 0 {
		return 0
	}
	return math.Round(float64(st.sum)/float64(st.count)*10000) / 10000
}

// mntrQuantiles are the percentiles mntr prints for Advanced summaries.
var mntrQuantiles = []struct {
	prefix string
	q      float64
}{{"p50_", 0.5}, {"p95_", 0.95}, {"p99_", 0.99}, {"p999_", 0.999}}

func (s *Summary) each(name string, emit func(string, any)) {
	st := s.read()
	emit("avg_"+name, st.avg())
	emit("min_"+name, st.min)
	emit("max_"+name, st.max)
	emit("cnt_"+name, st.count)
	emit("sum_"+name, st.sum)
	if s.detail == Advanced {
		for _, p := range mntrQuantiles {
			emit(p.prefix+name, int64(st.quantile(p.q)))
		}
	}
}

func (s *Summary) reset() {
	s.count.Store(0)
	s.sum.Store(0)
	s.min.Store(math.MaxInt64)
	s.max.Store(math.MinInt64)
}

// SummarySet is a Summary per key.
type SummarySet struct {
	detail Detail
	byKey  sync.Map // string → *Summary
}

// Observe records v under key.
func (ss *SummarySet) Observe(key string, v int64) {
	s, ok := ss.byKey.Load(key)
	if !ok {
		s, _ = ss.byKey.LoadOrStore(key, newSummary(ss.detail))
	}
	s.(*Summary).Observe(v)
}

// summaries are the set's summaries by sorted key.
func (ss *SummarySet) summaries() ([]string, []*Summary) {
	var keys []string
	ss.byKey.Range(func(k, _ any) bool { keys = append(keys, k.(string)); return true })
	slices.Sort(keys)
	out := make([]*Summary, 0, len(keys))
	for _, k := range keys {
		s, _ := ss.byKey.Load(k)
		out = append(out, s.(*Summary))
	}
	return keys, out
}

func (ss *SummarySet) each(name string, emit func(string, any)) {
	keys, sums := ss.summaries()
	for i, s := range sums {
		s.each(keys[i]+"_"+name, emit)
	}
}

// reset forgets every key, as ZooKeeper's AvgMinMaxCounterSet does.
func (ss *SummarySet) reset() { ss.byKey.Clear() }

// mustBeValid panics unless name is a metric name both mntr and
// Prometheus accept; names are constants in the code, never input.
func mustBeValid(name string) {
	bad := name == "" || name[0] >= '0' && name[0] <= '9' || strings.ContainsFunc(name, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
	if bad {
		panic("metrics: invalid metric name " + strconv.Quote(name))
	}
}

// Sizes keeps the last, smallest and largest of a run of sizes, as
// ZooKeeper's BufferStats does for its *_size gauges, without a lock: every
// reply passes through one. The zero value is not ready: use NewSizes.
type Sizes struct {
	last, min, max atomic.Int64 // -1, MaxInt64, -1 before the first
}

// NewSizes returns Sizes that have seen nothing.
func NewSizes() *Sizes {
	z := new(Sizes)
	z.Reset()
	return z
}

// Add records one size, which must not be negative.
func (z *Sizes) Add(n int) {
	v := int64(n)
	z.last.Store(v)
	for old := z.min.Load(); v < old && !z.min.CompareAndSwap(old, v); old = z.min.Load() {
	}
	for old := z.max.Load(); v > old && !z.max.CompareAndSwap(old, v); old = z.max.Load() {
	}
}

// Read returns the last, smallest and largest size; -1 for each before the
// first Add.
func (z *Sizes) Read() (last, lo, hi int64) {
	last, lo, hi = z.last.Load(), z.min.Load(), z.max.Load()
	if last < 0 || lo == math.MaxInt64 {
		return -1, -1, -1
	}
	return last, lo, hi
}

// Reset forgets every size.
func (z *Sizes) Reset() {
	z.last.Store(-1)
	z.min.Store(math.MaxInt64)
	z.max.Store(-1)
}
