package node

import (
	"context"
	"errors"
	"path"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/recipes"
)

// touchName is Curator's PersistentTtlNode.DEFAULT_CHILD_NODE_NAME.
const touchName = "touch"

// PersistentTTL is Curator's PersistentTtlNode: a TTL node at path that
// lives while this process does and about ttl longer. Its touch child
// holds no data; Curator's holds its client's default data (the local IP
// address), which nothing reads.
type PersistentTTL struct {
	node   *Persistent
	c      *recipes.Client
	touch  string
	ttl    time.Duration
	cancel context.CancelFunc
	done   chan struct{}
}

// NewPersistentTTL starts keeping a TTL node at path with data (the server
// must enable TTL nodes: extendedTypesEnabled).
func NewPersistentTTL(c *recipes.Client, p string, data []byte, ttl time.Duration) *PersistentTTL {
	ctx, cancel := context.WithCancel(context.Background())
	t := &PersistentTTL{
		node:   NewPersistent(c, p, data, recipes.PersistentWithTTL, WithTTL(ttl)),
		c:      c,
		touch:  path.Join(p, touchName),
		ttl:    ttl,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go t.run(ctx)
	return t
}

// WaitForInitialCreate waits until the node has been made once.
func (t *PersistentTTL) WaitForInitialCreate(ctx context.Context) error {
	return t.node.WaitForInitialCreate(ctx)
}

// SetData changes the node's data.
func (t *PersistentTTL) SetData(ctx context.Context, data []byte) error {
	return t.node.SetData(ctx, data)
}

// Close stops touching and deletes the touch child and the node.
func (t *PersistentTTL) Close(ctx context.Context) error {
	t.cancel()
	<-t.done
	if err := t.c.DeleteGuaranteed(ctx, t.touch); err != nil {
		return err
	}
	return t.node.Close(ctx)
}

// run writes the touch child every ttl/2, creating it when it is missing,
// so that it, and through it the node, outlives no more than a TTL.
func (t *PersistentTTL) run(ctx context.Context) {
	defer close(t.done)
	tick := time.NewTicker(t.ttl / 2)
	defer tick.Stop()
	for {
		if t.node.WaitForInitialCreate(ctx) == nil {
			_, err := t.c.Set(ctx, t.touch, nil, -1)
			if errors.Is(err, zk.ErrNoNode) {
				_, err = t.c.CreateTTL(ctx, t.touch, nil, recipes.PersistentWithTTL, t.ttl)
			}
			if err != nil && ctx.Err() == nil {
				t.c.Logger().Debug("touching TTL node failed; next tick retries")
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}
