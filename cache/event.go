package cache

import "github.com/go-zookeeper/zk"

// Node is a cached znode: its path (a Client path, without the namespace),
// data and stat as last read. Data is shared with the cache and must not
// be modified.
type Node struct {
	Path string
	Data []byte
	Stat zk.Stat
}

// EventType says what an Event reports.
type EventType int

const (
	// Initialized: the cache has read the whole subtree once, after a start
	// or after rebuilding for a new session; the events before it were the
	// differences found.
	Initialized EventType = iota + 1
	// Added: a node entered the cache.
	Added
	// Updated: a cached node's data version changed.
	Updated
	// Removed: a node left the cache; Node is what it held last.
	Removed
	// Suspended: the connection is gone; the cache keeps its content, which
	// may be stale until Reconnected.
	Suspended
	// Reconnected: a session is usable again. After Lost the cache rebuilds
	// and ends the rebuild with Initialized.
	Reconnected
	// Lost: the session is gone. The cache keeps its content and rebuilds
	// on Reconnected.
	Lost
)

var eventNames = map[EventType]string{
	Initialized: "Initialized",
	Added:       "Added",
	Updated:     "Updated",
	Removed:     "Removed",
	Suspended:   "Suspended",
	Reconnected: "Reconnected",
	Lost:        "Lost",
}

func (t EventType) String() string {
	if n, ok := eventNames[t]; ok {
		return n
	}
	return "EventType(unknown)"
}

// Event is one change of a cache. Node is set for Added, Updated and
// Removed.
type Event struct {
	Type EventType
	Node Node
}
