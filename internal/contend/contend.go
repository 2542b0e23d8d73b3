package contend

import (
	"context"
	"errors"
	"path"
	"slices"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/recipes"
)

var (
	// ErrMissing means our node is not among the children: the session that
	// made it ended. Acquire starts over with a new node, as Curator does.
	ErrMissing = errors.New("contend: own node missing")
	// ErrWouldWait is returned by a try acquisition that would have to wait.
	ErrWouldWait = errors.New("contend: would wait")
)

// Predicate decides from the sorted children whether the node named ours
// has won, and if not which child to wait for. It returns ErrMissing when
// ours is not among them.
type Predicate func(children []string, ours string) (won bool, watch string, err error)

// MaxLeases is Curator's StandardLockInternalsDriver.getsTheLock: the first
// n children win; the others wait for the child n places before them.
func MaxLeases(n int) Predicate {
	return func(children []string, ours string) (bool, string, error) {
		i := slices.Index(children, ours)
		if i < 0 {
			return false, "", ErrMissing
		}
		if i < n {
			return true, "", nil
		}
		return false, children[i-n], nil
	}
}

// Contender is one kind of participant on a path.
type Contender struct {
	Client *recipes.Client
	// Base is the directory the contenders' nodes live in.
	Base string
	// Name is what the node name carries before its sequence number
	// ("lock-", "latch-", "__WRIT__", ...).
	Name string
	// Data is every node's data.
	Data []byte
	// Key is the sort key of a child name (recipes.SortKey for Name when nil).
	Key func(string) string
	// Won says whether a node has won.
	Won Predicate
	// WatchChildren makes a node that has not won wait for any change of
	// Base's children instead of for the child Won names (a semaphore's
	// leases, where only the turn holder waits, so there is no herd).
	WatchChildren bool
	// Fixed, when set, makes the node a plain ephemeral named Name+Fixed
	// instead of a sequential one (a read lock downgraded from a write lock
	// takes the writer's sequence number).
	Fixed string
}

func (k *Contender) key(n string) string {
	if k.Key != nil {
		return k.Key(n)
	}
	return recipes.SortKey(n, k.Name)
}

// Create makes a new contender node and returns its path.
func (k *Contender) Create(ctx context.Context) (string, error) {
	return k.Client.CreateProtected(ctx, k.path(), k.Data, k.mode())
}

func (k *Contender) path() string { return path.Join(k.Base, k.Name+k.Fixed) }

func (k *Contender) mode() recipes.CreateMode {
	if k.Fixed != "" {
		return recipes.Ephemeral
	}
	return recipes.EphemeralSequential
}

// Acquire creates a node and waits until it wins, or with try gives up with
// ErrWouldWait when it would have to wait. A node whose session ended is
// replaced; a node that did not win is deleted before Acquire returns, as
// Curator deletes it, so that the caller's next try on the path does not
// find it in the way. It returns the node and its Stat as created, nil when
// the create could not tell (see recipes.Client.CreateProtectedAndList).
// The first listing goes out with the create, in the same round trip.
func (k *Contender) Acquire(ctx context.Context, try bool) (string, *zk.Stat, error) {
	for {
		node, st, children, err := k.Client.CreateProtectedAndList(ctx, k.path(), k.Data, k.mode())
		if err != nil {
			return "", nil, err
		}
		err = k.wait(ctx, node, try, children)
		if err == nil {
			return node, st, nil
		}
		k.abandon(ctx, node)
		if !errors.Is(err, ErrMissing) {
			return "", nil, err
		}
	}
}

// Hold is Acquire followed by Take (takeCreated when the create returned
// the node's Stat): it returns the Hold of a node that has won and that the
// current session owns, starting over with a new node when the one it made
// turns out not to be ours.
func (k *Contender) Hold(ctx context.Context, try bool, p Policy) (*Hold, error) {
	for {
		node, st, err := k.Acquire(ctx, try)
		if err != nil {
			return nil, err
		}
		var h *Hold
		if st != nil && p.OnData == nil {
			h, err = takeCreated(k.Client, node, st, p)
		} else {
			h, err = Take(ctx, k.Client, node, p)
		}
		if err == nil {
			return h, nil
		}
		k.abandon(ctx, node)
		if !errors.Is(err, ErrMissing) {
			return nil, err
		}
	}
}

// abandonWait bounds the delete of a node that lost: on a working
// connection it takes milliseconds, and longer means the connection is in
// trouble, which the background delete rides out instead of the caller.
const abandonWait = time.Second

// abandon deletes node before returning, as Curator does before acquire
// gives up, so that the next try on the path does not find it ahead. That
// holds when ctx has ended too (a wait that timed out): the delete runs
// without ctx's end, for at most abandonWait, and is left to the
// background only when it fails.
func (k *Contender) abandon(ctx context.Context, node string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abandonWait)
	defer cancel()
	err := k.Client.Delete(dctx, node, -1)
	if err == nil || errors.Is(err, zk.ErrNoNode) {
		return
	}
	k.Client.DeleteInBackground(node)
}

// Wait waits until node wins (Curator's internalLockLoop), or with try
// returns ErrWouldWait. ErrMissing means node is gone. It leaves node in
// place on every error, so that a caller may wait again on the same node
// (a leader latch after a reconnect).
func (k *Contender) Wait(ctx context.Context, node string, try bool) error {
	return k.wait(ctx, node, try, nil)
}

// wait is Wait that starts from the children listed, when not nil: a
// listing taken after node was made, which set no watch.
func (k *Contender) wait(ctx context.Context, node string, try bool, listed []string) error {
	ours := path.Base(node)
	for {
		early := listed != nil
		children, kids := listed, (<-chan zk.Event)(nil)
		listed = nil
		if early {
			recipes.SortChildren(children, k.key)
		} else {
			var err error
			children, kids, err = k.list(ctx, k.WatchChildren && !try)
			if err != nil {
				return err
			}
		}
		won, prev, err := k.Won(children, ours)
		if err != nil || won {
			return err
		}
		if try {
			return ErrWouldWait
		}
		if k.WatchChildren && early {
			// The children must be listed again, with a watch.
			continue
		}
		wake := kids
		if !k.WatchChildren {
			// getData, not exists, so that no watch stays behind when the
			// predecessor is already gone.
			_, _, wake, err = k.Client.GetW(ctx, path.Join(k.Base, prev))
			if errors.Is(err, zk.ErrNoNode) {
				continue
			}
			if err != nil {
				return err
			}
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Sorted lists the names of every child of Base in Curator's order; a
// missing Base has none.
func (k *Contender) Sorted(ctx context.Context) ([]string, error) {
	children, _, err := k.list(ctx, false)
	return children, err
}

// list is Sorted, with a child watch when watch is set.
func (k *Contender) list(ctx context.Context, watch bool) ([]string, <-chan zk.Event, error) {
	var children []string
	var ch <-chan zk.Event
	var err error
	if watch {
		children, ch, err = k.Client.ChildrenW(ctx, k.Base)
	} else {
		children, err = k.Client.Children(ctx, k.Base)
	}
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	recipes.SortChildren(children, k.key)
	return children, ch, nil
}

// Participants lists the paths of the children keep accepts, in order.
func (k *Contender) Participants(ctx context.Context, keep func(name string) bool) ([]string, error) {
	children, err := k.Sorted(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range children {
		if keep == nil || keep(n) {
			out = append(out, path.Join(k.Base, n))
		}
	}
	return out, nil
}

// WaitChildren waits on the children of parent until done says so: it
// lists them with a watch and calls done after every change. A missing
// parent has no children.
func WaitChildren(ctx context.Context, c *recipes.Client, parent string, done func(children []string) (bool, error)) error {
	for {
		children, ch, err := c.ChildrenW(ctx, parent)
		if errors.Is(err, zk.ErrNoNode) {
			// No child watch on a missing node: watch for its creation.
			var st *zk.Stat
			st, ch, err = c.ExistsW(ctx, parent)
			if err == nil && st != nil {
				continue
			}
			children = nil
		}
		if err != nil {
			return err
		}
		ok, err := done(children)
		if err != nil || ok {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
