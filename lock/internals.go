package lock

import (
	"context"
	"errors"
	"path"
	"slices"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/recipes"
)

// Lock names, byte-exact with Curator.
const (
	mutexName = "lock-"
	readName  = "__READ__"
	writeName = "__WRIT__"
	leaseName = "lease-"
)

// errMissing means our node is not among the children: the session that
// made it ended. Curator restarts the acquisition with a new node.
var errMissing = errors.New("lock: own node missing")

// predicate decides from the sorted children whether the node named ours
// holds the lock, and if not which child to wait for.
type predicate func(children []string, ours string) (held bool, watch string, err error)

// maxLeasesPredicate is Curator's StandardLockInternalsDriver.getsTheLock:
// the first maxLeases children hold the lock; the others wait for the child
// maxLeases places before them.
func maxLeasesPredicate(maxLeases int) predicate {
	return func(children []string, ours string) (bool, string, error) {
		i := slices.Index(children, ours)
		if i < 0 {
			return false, "", errMissing
		}
		if i < maxLeases {
			return true, "", nil
		}
		return false, children[i-maxLeases], nil
	}
}

// contention is one kind of contender on a lock path: Curator's
// LockInternals with a driver.
type contention struct {
	c     *recipes.Client
	base  string
	name  string // lock name: lock-, __READ__, __WRIT__
	key   func(string) string
	pred  predicate
	opts  options
	fixed string // for a downgrade: a non-sequential node name suffix
}

func mutexKey(n string) string { return recipes.SortKey(n, mutexName) }

func rwKey(n string) string {
	return recipes.SortKey(recipes.SortKey(n, readName), writeName)
}

// acquire creates a contender node and waits until it holds the lock, or
// with try, gives up at once when it does not. On any failure the node is
// deleted.
func (k *contention) acquire(ctx context.Context, try bool) (*Lease, error) {
	for {
		node, err := k.c.CreateProtected(ctx, path.Join(k.base, k.name+k.fixed), k.opts.data, k.fixed == "")
		if err != nil {
			return nil, err
		}
		l, err := k.wait(ctx, node, try)
		if err == nil {
			return l, nil
		}
		abandon(k.c, node)
		if !errors.Is(err, errMissing) {
			return nil, err
		}
	}
}

// abandon deletes a node we no longer want, even when ctx has ended.
func abandon(c *recipes.Client, node string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.SessionTimeout())
	defer cancel()
	c.DeleteGuaranteed(ctx, node)
}

// wait is Curator's internalLockLoop for the node we created.
func (k *contention) wait(ctx context.Context, node string, try bool) (*Lease, error) {
	ours := path.Base(node)
	for {
		children, err := k.c.Children(ctx, k.base)
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			return nil, err
		}
		recipes.SortChildren(children, k.key)
		held, prev, err := k.pred(children, ours)
		if err != nil {
			return nil, err
		}
		if held {
			return hold(ctx, k.c, node, k.opts)
		}
		if try {
			return nil, ErrLocked
		}
		// getData, not exists, so that no watch stays behind when the
		// predecessor is already gone.
		_, _, ch, err := k.c.GetW(ctx, path.Join(k.base, prev))
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// participants lists the contender nodes of a lock path in lock order.
func participants(ctx context.Context, c *recipes.Client, base string, key func(string) string, keep func(string) bool) ([]string, error) {
	children, err := c.Children(ctx, base)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	recipes.SortChildren(children, key)
	var out []string
	for _, n := range children {
		if keep(n) {
			out = append(out, path.Join(base, n))
		}
	}
	return out, nil
}
