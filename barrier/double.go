package barrier

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"

	"github.com/go-zookeeper/zk"
	"github.com/google/uuid"

	"github.com/zookit/zookit/internal/contend"
	"github.com/zookit/zookit/recipes"
)

// readyName is Curator's READY_NODE: its existence opens the barrier.
const readyName = "ready"

var (
	// ErrEntered is returned by Enter on a member that has entered and not
	// yet left.
	ErrEntered = errors.New("barrier: already entered")
	// ErrNotEntered is returned by Leave on a member that has not entered.
	ErrNotEntered = errors.New("barrier: not entered")
	// ErrNodeLost means the member's node vanished while it waited: its
	// session ended, and with it its membership.
	ErrNodeLost = errors.New("barrier: own node is gone (session lost?)")
)

// Option configures a DoubleBarrier.
type Option func(*options)

type options struct {
	data []byte
}

// WithData sets the data of the member's node (default empty).
func WithData(data []byte) Option {
	return func(o *options) { o.data = data }
}

// DoubleBarrier is one member of a barrier that members enter together and
// leave together, compatible with Curator's DistributedDoubleBarrier on the
// same path. Enter and Leave are called in turn, never concurrently; a
// member that has left may enter again.
type DoubleBarrier struct {
	c       *recipes.Client
	path    string
	ready   string
	members int
	opts    options
	node    string // our node while entered
}

// NewDouble returns a member of the double barrier on path (a Client path)
// that opens once members members have entered. As in Curator, members is a
// threshold, not a limit: more may enter.
func NewDouble(c *recipes.Client, path string, members int, opts ...Option) *DoubleBarrier {
	d := &DoubleBarrier{c: c, path: path, ready: joinPath(path, readyName), members: members}
	for _, f := range opts {
		f(&d.opts)
	}
	return d
}

// joinPath is path.Join for methods whose parameter named path hides the
// package.
func joinPath(parent, name string) string { return path.Join(parent, name) }

// isMember reports whether a child of the barrier path is a member's node:
// a UUID, in Curator's 36-character form or Kazoo's 32 hex digits.
func isMember(name string) bool {
	if len(name) != 36 && len(name) != 32 {
		return false
	}
	_, err := uuid.Parse(name)
	return err == nil
}

// Enter makes this member's node and waits until the barrier opens: until
// the ready node exists, which the member that finds itself completing the
// count creates. A member that finds ready already there has come late and
// passes at once, as in Curator. If ctx ends or the wait fails, the node is
// removed (in the background when the server cannot be reached), so that
// the member is not counted.
func (d *DoubleBarrier) Enter(ctx context.Context) error {
	if d.members < 1 {
		return fmt.Errorf("barrier: enter %s: %d members, want at least 1", d.path, d.members)
	}
	if d.node != "" {
		return ErrEntered
	}
	open, err := d.c.Exists(ctx, d.ready)
	if err != nil {
		return fmt.Errorf("barrier: enter %s: %w", d.path, err)
	}
	// A fresh name for every entry, so that a failed entry whose node is
	// still being deleted in the background cannot collide with the next.
	name := uuid.NewString()
	node := joinPath(d.path, name)
	_, err = d.c.CreateWithParents(ctx, node, d.opts.data, recipes.Ephemeral)
	// No one else makes this name: NodeExists means a retried create found
	// its own first attempt.
	if err == nil || errors.Is(err, zk.ErrNodeExists) {
		err = nil
		if open == nil {
			err = d.await(ctx, name)
		}
	}
	if err != nil {
		d.c.DeleteInBackground(node)
		return fmt.Errorf("barrier: enter %s: %w", d.path, err)
	}
	d.node = node
	return nil
}

// await waits until the ready node exists, creating it once members
// members' nodes are there. A child watch wakes it on every arrival and on
// ready's creation, and each wake-up looks at the children again, so
// nothing but ready lets it return. Watching the children rather than
// ready (as Curator does) also copes with a server whose first answer was
// stale, since the watch fires when it catches up; it wakes every waiter on
// every arrival, which the few members of a barrier can afford.
func (d *DoubleBarrier) await(ctx context.Context, ours string) error {
	return contend.WaitChildren(ctx, d.c, d.path, func(children []string) (bool, error) {
		if slices.Contains(children, readyName) {
			return true, nil
		}
		if !slices.Contains(children, ours) {
			return false, ErrNodeLost
		}
		if count(children) < d.members {
			return false, nil
		}
		_, err := d.c.Create(ctx, d.ready, nil, recipes.Persistent)
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return false, err
		}
		return true, nil
	})
}

func count(children []string) int {
	n := 0
	for _, c := range children {
		if isMember(c) {
			n++
		}
	}
	return n
}

// Leave removes this member from the barrier and waits until every member
// has left; then the last ones delete the ready node. The members' nodes
// sorted as strings, the lowest waits for the highest to go and every other
// member deletes its node and waits for the lowest, as in Curator, so that
// a departure wakes one member, not all. If ctx ends first the member's
// node is still removed (in the background if need be): a member that stops
// waiting has nevertheless left.
func (d *DoubleBarrier) Leave(ctx context.Context) error {
	node := d.node
	if node == "" {
		return ErrNotEntered
	}
	d.node = ""
	if err := d.leave(ctx, node); err != nil {
		d.c.DeleteInBackground(node)
		return fmt.Errorf("barrier: leave %s: %w", d.path, err)
	}
	return nil
}

func (d *DoubleBarrier) leave(ctx context.Context, node string) error {
	ours := path.Base(node)
	present := true // our node is still there
	for {
		children, err := d.c.Children(ctx, d.path)
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		var nodes []string
		for _, c := range children {
			if isMember(c) {
				nodes = append(nodes, c)
			}
		}
		if len(nodes) == 0 {
			break
		}
		slices.Sort(nodes)
		i := slices.Index(nodes, ours)
		if present && i < 0 {
			return ErrNodeLost
		}
		if present && len(nodes) == 1 {
			if err := d.deleteOwn(ctx, node); err != nil {
				return err
			}
			break
		}
		// Curator stops here when one node other than ours is left; we wait
		// for it too, so that a spurious wake-up cannot end Leave while a
		// member is still inside.
		watch := nodes[0]
		if present && i == 0 {
			watch = nodes[len(nodes)-1]
		}
		// getData, not exists: a node already gone leaves no watch behind.
		_, _, ch, err := d.c.GetW(ctx, joinPath(d.path, watch))
		gone := errors.Is(err, zk.ErrNoNode)
		if err != nil && !gone {
			return err
		}
		if present && i > 0 {
			if err := d.deleteOwn(ctx, node); err != nil {
				return err
			}
			present = false
		}
		if gone {
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := d.c.Delete(ctx, d.ready, -1)
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return err
	}
	return nil
}

// deleteOwn deletes our node; one already gone has left all the same.
func (d *DoubleBarrier) deleteOwn(ctx context.Context, node string) error {
	err := d.c.Delete(ctx, node, -1)
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return err
	}
	return nil
}
