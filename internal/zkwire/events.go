package zkwire

import (
	"context"
	"sync/atomic"

	"github.com/zookit/zookit/internal/fanout"
)

// EventType is a watch event's type (Watcher.Event.EventType).
type EventType int32

const (
	EventNone                   EventType = -1
	EventNodeCreated            EventType = 1
	EventNodeDeleted            EventType = 2
	EventNodeDataChanged        EventType = 3
	EventNodeChildrenChanged    EventType = 4
	EventDataWatchRemoved       EventType = 5
	EventChildWatchRemoved      EventType = 6
	EventPersistentWatchRemoved EventType = 7
)

var eventTypeNames = map[EventType]string{
	EventNone: "None", EventNodeCreated: "NodeCreated", EventNodeDeleted: "NodeDeleted",
	EventNodeDataChanged: "NodeDataChanged", EventNodeChildrenChanged: "NodeChildrenChanged",
	EventDataWatchRemoved: "DataWatchRemoved", EventChildWatchRemoved: "ChildWatchRemoved",
	EventPersistentWatchRemoved: "PersistentWatchRemoved",
}

// String is the name Java's client gives the type.
func (t EventType) String() string {
	if n, ok := eventTypeNames[t]; ok {
		return n
	}
	return "Unknown"
}

// KeeperState is the session state an event reports
// (Watcher.Event.KeeperState).
type KeeperState int32

const (
	StateUnknown           KeeperState = -1
	StateDisconnected      KeeperState = 0
	StateNoSyncConnected   KeeperState = 1
	StateSyncConnected     KeeperState = 3
	StateAuthFailed        KeeperState = 4
	StateConnectedReadOnly KeeperState = 5
	StateSaslAuthenticated KeeperState = 6
	StateExpired           KeeperState = -112
	StateClosed            KeeperState = 7
)

var keeperStateNames = map[KeeperState]string{
	StateUnknown: "Unknown", StateDisconnected: "Disconnected", StateNoSyncConnected: "NoSyncConnected",
	StateSyncConnected: "SyncConnected", StateAuthFailed: "AuthFailed",
	StateConnectedReadOnly: "ConnectedReadOnly", StateSaslAuthenticated: "SaslAuthenticated",
	StateExpired: "Expired", StateClosed: "Closed",
}

// String is the name Java's client gives the state.
func (s KeeperState) String() string {
	if n, ok := keeperStateNames[s]; ok {
		return n
	}
	return "Unknown"
}

// Event is a watch event or, with Type EventNone and an empty Path, a
// change of the session's state.
type Event struct {
	Type  EventType
	State KeeperState
	Path  string
}

// eventQueue hands events to one consumer channel without ever blocking the
// connection's reader, whose replies the consumer may be waiting for: a
// Fanout with its one subscription made at the start, so that no event is
// missed, and a count for EventCount.
type eventQueue struct {
	f      *fanout.Fanout[Event]
	out    <-chan Event
	pushed atomic.Uint64
	closed atomic.Bool
}

func newEventQueue() *eventQueue {
	f := fanout.New[Event]()
	return &eventQueue{f: f, out: f.Subscribe(context.Background())}
}

// push queues ev; it does nothing once closed.
func (e *eventQueue) push(ev Event) {
	if e.closed.Load() {
		return
	}
	e.pushed.Add(1)
	e.f.Publish(ev)
}

// close lets the consumer drain what is queued and then closes the channel.
func (e *eventQueue) close() {
	e.closed.Store(true)
	e.f.Close()
}

func (e *eventQueue) count() uint64 { return e.pushed.Load() }
