package lock

import (
	"context"

	"github.com/zookit/zookit/internal/contend"
	"github.com/zookit/zookit/recipes"
)

// Mutex is an exclusive lock on a path, compatible with Curator's
// InterProcessMutex and LeaderSelector on the same path: contenders are
// <path>/_c_<uuid>-lock-<seq>, ordered by sequence number, each waiting only
// for the one before it.
type Mutex struct {
	k contender
}

// NewMutex returns a Mutex on path (a Client path).
func NewMutex(c *recipes.Client, path string, opts ...Option) *Mutex {
	return &Mutex{k: newContender(c, path, mutexName, nil, contend.MaxLeases(1), buildOptions(opts))}
}

// Lock waits until the lock is held or ctx ends.
func (m *Mutex) Lock(ctx context.Context) (*Lease, error) { return m.k.acquire(ctx, false) }

// TryLock takes the lock if no one holds it or waits for it, and otherwise
// returns ErrLocked at once.
func (m *Mutex) TryLock(ctx context.Context) (*Lease, error) { return m.k.acquire(ctx, true) }

// Participants lists the contenders' node paths, the holder first.
func (m *Mutex) Participants(ctx context.Context) ([]string, error) {
	return m.k.participants(ctx, mutexName)
}
