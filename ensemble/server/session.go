package server

import (
	"sync"
	"time"
)

// sessionTracker holds the liveness deadline of every session. Only the
// leader acts on it; deadlines are rounded up to the next tick like
// ZooKeeper's ExpiryQueue, so a session dies between its timeout and one
// tick later after its last packet.
type sessionTracker struct {
	tick time.Duration

	mu       sync.Mutex
	deadline map[int64]time.Time
	timeout  map[int64]time.Duration
	closing  map[int64]bool
	touched  map[int64]struct{} // active since the last report to the leader
}

func newSessionTracker(tick time.Duration) *sessionTracker {
	return &sessionTracker{
		tick:     max(tick, time.Millisecond),
		deadline: make(map[int64]time.Time),
		timeout:  make(map[int64]time.Duration),
		closing:  make(map[int64]bool),
		touched:  make(map[int64]struct{}),
	}
}

// touch records activity of a session, adding it if new.
func (t *sessionTracker) touch(id int64, timeoutMs int32) {
	to := time.Duration(timeoutMs) * time.Millisecond
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing[id] {
		return
	}
	t.timeout[id] = to
	t.deadline[id] = t.round(time.Now().Add(to))
}

// alive touches an existing session and reports whether it is still live.
func (t *sessionTracker) alive(id int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	to, ok := t.timeout[id]
	if !ok || t.closing[id] {
		return false
	}
	t.deadline[id] = t.round(time.Now().Add(to))
	t.touched[id] = struct{}{}
	return true
}

// drainTouched returns the sessions active since the last call.
func (t *sessionTracker) drainTouched() []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	ids := make([]int64, 0, len(t.touched))
	for id := range t.touched {
		ids = append(ids, id)
	}
	clear(t.touched)
	return ids
}

// resetDeadlines gives every session a full timeout from now, and forgets
// expiries proposed in an earlier term, which a leader change may have
// dropped.
func (t *sessionTracker) resetDeadlines() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.closing)
	now := time.Now()
	for id, to := range t.timeout {
		t.deadline[id] = t.round(now.Add(to))
	}
}

func (t *sessionTracker) round(at time.Time) time.Time {
	n := at.UnixNano() / int64(t.tick)
	return time.Unix(0, (n+1)*int64(t.tick))
}

// expired returns the sessions whose deadline passed and marks them closing
// so that each is expired once.
func (t *sessionTracker) expired(now time.Time) []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ids []int64
	for id, d := range t.deadline {
		if !t.closing[id] && now.After(d) {
			t.closing[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

func (t *sessionTracker) remove(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.deadline, id)
	delete(t.timeout, id)
	delete(t.closing, id)
	delete(t.touched, id)
}

// snapshotUpTo lists at most n session ids by deadline for the dump 4lw,
// so that it holds the lock every request takes for a bounded time;
// complete is false when some were left out.
func (t *sessionTracker) snapshotUpTo(n int) (m map[int64]time.Time, complete bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m = make(map[int64]time.Time, min(len(t.deadline), n))
	for id, d := range t.deadline {
		if len(m) == n {
			return m, false
		}
		m[id] = d
	}
	return m, true
}
