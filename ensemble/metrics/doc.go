// Package metrics keeps a server's metrics once, under Apache ZooKeeper's
// names and units, and reads them two ways: as the lines of the mntr
// four-letter word (Registry.Each) and as Prometheus series
// (Registry.Collect, served by Handler), as ZooKeeper's
// DefaultMetricsProvider and PrometheusMetricsProvider read theirs.
//
// The kinds are ZooKeeper's:
//
//	Counter     a count that only grows: mntr "name", Prometheus counter "name"
//	Gauge       a value read when asked: mntr "name", Prometheus gauge "name"
//	Summary     observations (usually ms): mntr avg_/min_/max_/cnt_/sum_name, and with
//	            Advanced detail p50_/p95_/p99_/p999_name; Prometheus summary "name"
//	            with quantile 0.5, and with Advanced also 0.9 and 0.99
//	SummarySet  a Summary per key: mntr avg_key_name..., Prometheus label key="..."
//
// Quantiles come from a uniform sample of at most 1028 observations since
// the last reset, the reservoir ZooKeeper's percentile counters use; the
// Prometheus quantiles read the same sample (ZooKeeper's Prometheus
// summaries keep a ten-minute window instead).
//
// Asking a Registry twice for a name returns the first metric, so the
// packages that measure one thing (the raft node, the server) can share a
// Registry without agreeing on who creates what. All methods are safe for
// concurrent use, and observing never blocks on a reader for long.
package metrics
