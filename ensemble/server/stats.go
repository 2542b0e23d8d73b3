package server

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/zookit/zookit/ensemble/metrics"
	"github.com/zookit/zookit/ensemble/proto"
)

// stats are the server-wide counters srvr, stat and mntr print.
type stats struct {
	recved, sent atomic.Int64
	lat          latency

	authFailed    atomic.Int64 // addAuth answered AUTHFAILED: auth_failed_count
	nonMTLSLocal  atomic.Int64 // connections from loopback with no client certificate
	nonMTLSRemote atomic.Int64 // and from elsewhere

	// Limits at work (mntr; see the package doc), in the Registry.
	throttled      *metrics.Counter // times a connection stopped being read: request_throttle_wait_count
	largeReplies   *metrics.Counter // reads refused for a reply above jute.maxbuffer
	outboundClosed *metrics.Counter // connections closed for the bytes queued to them
	truncated4lw   *metrics.Counter // four-letter word answers cut at FourLetterWordMaxOutput
	rejected       *metrics.Counter // connections refused by maxClientCnxns or maxCnxns: connection_rejected
}

// limitCounters are the stats kept in r, under ZooKeeper's names where it
// has the same limit.
func (st *stats) limitCounters(r *metrics.Registry) {
	st.throttled = r.Counter("request_throttle_wait_count")
	st.rejected = r.Counter("connection_rejected")
	st.largeReplies = r.Counter("large_responses_rejected")
	st.outboundClosed = r.Counter("outbound_limit_disconnects")
	st.truncated4lw = r.Counter("four_letter_words_truncated")
}

// latency keeps min/avg/max of request latencies in ms.
type latency struct {
	mu              sync.Mutex
	min, max, total int64
	count           int64
	last            int64
}

func (l *latency) add(ms int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == 0 || ms < l.min {
		l.min = ms
	}
	l.max = max(l.max, ms)
	l.total += ms
	l.count++
	l.last = ms
}

// read returns min, avg, max and the last sample; all zero before any.
func (l *latency) read() (lo int64, avg float64, hi, last int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == 0 {
		return 0, 0, 0, 0
	}
	return l.min, math.Round(float64(l.total)/float64(l.count)*10000) / 10000, l.max, l.last
}

func (l *latency) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Field by field: overwriting the whole struct would zero the mutex
	// held here, and the deferred Unlock would then crash the process.
	l.min, l.max, l.total, l.count, l.last = 0, 0, 0, 0, 0
}

// opAbbrev is the short operation name the cons 4lw shows as lop.
func opAbbrev(op proto.Op) string {
	switch op {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		return "CREA"
	case proto.OpDelete:
		return "DELE"
	case proto.OpExists:
		return "EXIS"
	case proto.OpGetData:
		return "GETD"
	case proto.OpSetData:
		return "SETD"
	case proto.OpGetACL:
		return "GACL"
	case proto.OpSetACL:
		return "SACL"
	case proto.OpGetChildren, proto.OpGetChildren2:
		return "GETC"
	case proto.OpSync:
		return "SYNC"
	case proto.OpPing:
		return "PING"
	case proto.OpMulti:
		return "MULT"
	case proto.OpMultiRead:
		return "MLTR"
	case proto.OpSetWatches, proto.OpSetWatches2:
		return "SETW"
	case proto.OpCloseSession:
		return "CLOS"
	case proto.OpAuth:
		return "AUTH"
	case proto.OpAddWatch:
		return "ADDW"
	case proto.OpCheckWatches, proto.OpRemoveWatches:
		return "REMW"
	}
	return "NA"
}
