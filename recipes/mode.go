package recipes

import "github.com/go-zookeeper/zk"

// CreateMode is the kind of node a create makes; the values are ZooKeeper's
// create flags. TTL nodes need a duration and go through Conn's CreateTTL.
type CreateMode int32

// The create modes.
const (
	Persistent           CreateMode = zk.FlagPersistent
	Ephemeral            CreateMode = zk.FlagEphemeral
	PersistentSequential CreateMode = zk.FlagSequence
	EphemeralSequential  CreateMode = zk.FlagEphemeralSequential
	Container            CreateMode = zk.FlagContainer
)

// IsEphemeral reports whether nodes of this mode end with their session.
func (m CreateMode) IsEphemeral() bool { return m == Ephemeral || m == EphemeralSequential }

// IsSequential reports whether the server appends a sequence number.
func (m CreateMode) IsSequential() bool { return m == PersistentSequential || m == EphemeralSequential }

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
	}
	return "CreateMode(unknown)"
}
