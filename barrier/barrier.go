package barrier

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/recipes"
)

// Barrier is a barrier that is up while its node exists, compatible with
// Curator's DistributedBarrier on the same path.
type Barrier struct {
	c    *recipes.Client
	path string
}

// New returns the Barrier on path (a Client path).
func New(c *recipes.Client, path string) *Barrier {
	return &Barrier{c: c, path: path}
}

// Set raises the barrier: it creates the node, and any missing parents as
// containers. A barrier that is already up is not an error.
func (b *Barrier) Set(ctx context.Context) error {
	_, err := b.c.CreateWithParents(ctx, b.path, nil, recipes.Persistent)
	if err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("barrier: set %s: %w", b.path, err)
	}
	return nil
}

// Remove lowers the barrier, releasing every waiter. A barrier that is
// already down is not an error.
func (b *Barrier) Remove(ctx context.Context) error {
	err := b.c.Delete(ctx, b.path, -1)
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("barrier: remove %s: %w", b.path, err)
	}
	return nil
}

// Wait blocks until the barrier is down or ctx ends.
func (b *Barrier) Wait(ctx context.Context) error {
	for {
		// getData, not exists: a barrier found down leaves no watch behind.
		_, _, ch, err := b.c.GetW(ctx, b.path)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("barrier: wait %s: %w", b.path, err)
		}
		// Any event, a data change or a reconnect as much as the delete,
		// only sends us back to look again.
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("barrier: wait %s: %w", b.path, ctx.Err())
		}
	}
}
