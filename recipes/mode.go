package recipes

import "github.com/go-zookeeper/zk"

// CreateMode is the kind of node a create makes; the values are ZooKeeper's
// create flags. The TTL modes need a duration: Client.CreateTTL makes them.
type CreateMode int32

// The create modes.
const (
	Persistent           CreateMode = zk.FlagPersistent
	Ephemeral            CreateMode = zk.FlagEphemeral
	PersistentSequential CreateMode = zk.FlagSequence
	EphemeralSequential  CreateMode = zk.FlagEphemeralSequential
	Container            CreateMode = zk.FlagContainer
	// PersistentWithTTL and PersistentSequentialWithTTL are persistent
	// nodes the server deletes once they have had no child and no change
	// for their TTL (the server must enable extended types).
	PersistentWithTTL           CreateMode = zk.FlagTTL
	PersistentSequentialWithTTL CreateMode = zk.FlagPersistentSequentialWithTTL
)

// IsEphemeral reports whether nodes of this mode end with their session.
func (m CreateMode) IsEphemeral() bool { return m == Ephemeral || m == EphemeralSequential }

// IsSequential reports whether the server appends a sequence number.
func (m CreateMode) IsSequential() bool {
	return m == PersistentSequential || m == EphemeralSequential || m == PersistentSequentialWithTTL
}

// HasTTL reports whether nodes of this mode need a TTL.
func (m CreateMode) HasTTL() bool { return m == PersistentWithTTL || m == PersistentSequentialWithTTL }

func (m CreateMode) String() string {
	switch m {
	case Persistent:
		return "PERSISTENT"
	case Ephemeral:
		return "EPHEMERAL"
	case PersistentSequential:
		return "PERSISTENT_SEQUENTIAL"
	case EphemeralSequential:
		return "EPHEMERAL_SEQUENTIAL"
	case Container:
		return "CONTAINER"
	case PersistentWithTTL:
		return "PERSISTENT_WITH_TTL"
	case PersistentSequentialWithTTL:
		return "PERSISTENT_SEQUENTIAL_WITH_TTL"
	}
	return "CreateMode(unknown)"
}
