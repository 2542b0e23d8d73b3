package cache

import (
	"context"

	"github.com/zookit/zookit/recipes"
)

// NodeCache keeps the data and stat of one node, which need not exist, and
// reports its changes (Curator's NodeCache). It is safe for concurrent
// use. Close it when done.
type NodeCache struct {
	t *TreeCache
}

// NewNodeCache starts caching the node at path in the background;
// AwaitInitialized waits for the first read. The cache never creates the
// node.
func NewNodeCache(c *recipes.Client, path string) *NodeCache {
	return &NodeCache{t: newTreeCache(c, path, options{maxDepth: 0})}
}

// Get returns the node, or false while it does not exist (or has not been
// read yet).
func (n *NodeCache) Get() (Node, bool) { return n.t.Get(n.t.root) }

// Events returns the node's events: Added when it is there (first, if it
// already is), Updated, Removed, Initialized and the connection states; see
// TreeCache.Events.
func (n *NodeCache) Events(ctx context.Context) <-chan Event { return n.t.Events(ctx) }

// AwaitInitialized waits until the node has been read once.
func (n *NodeCache) AwaitInitialized(ctx context.Context) error { return n.t.AwaitInitialized(ctx) }

// Close stops the cache (see TreeCache.Close).
func (n *NodeCache) Close() { n.t.Close() }
