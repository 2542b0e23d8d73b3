package queue

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/internal/contend"
	"github.com/zookit/zookit/recipes"
)

// simplePrefix is Curator's SimpleDistributedQueue PREFIX.
const simplePrefix = "qn-"

// SimpleQueue is Curator's SimpleDistributedQueue.
type SimpleQueue struct {
	c    *recipes.Client
	path string
}

// NewSimpleQueue returns the queue at path (a Client path).
func NewSimpleQueue(c *recipes.Client, path string) *SimpleQueue {
	return &SimpleQueue{c: c, path: path}
}

// Offer appends a message.
func (q *SimpleQueue) Offer(ctx context.Context, data []byte) error {
	if _, err := q.c.CreateWithParents(ctx, path.Join(q.path, simplePrefix), data, recipes.PersistentSequential); err != nil {
		return fmt.Errorf("queue %s: offer: %w", q.path, err)
	}
	return nil
}

// Take removes and returns the head, waiting until there is one or ctx
// ends.
func (q *SimpleQueue) Take(ctx context.Context) ([]byte, error) {
	var msg []byte
	err := contend.WaitChildren(ctx, q.c, q.path, func(children []string) (bool, error) {
		var ok bool
		var err error
		msg, ok, err = q.takeFrom(ctx, children)
		return ok, err
	})
	if err != nil {
		return nil, fmt.Errorf("queue %s: take: %w", q.path, err)
	}
	return msg, nil
}

// Poll removes and returns the head; ok is false when the queue is empty.
func (q *SimpleQueue) Poll(ctx context.Context) (msg []byte, ok bool, err error) {
	children, err := q.children(ctx)
	if err == nil {
		msg, ok, err = q.takeFrom(ctx, children)
	}
	if err != nil {
		return nil, false, fmt.Errorf("queue %s: poll: %w", q.path, err)
	}
	return msg, ok, nil
}

// Peek returns the head without removing it; ok is false when the queue is
// empty.
func (q *SimpleQueue) Peek(ctx context.Context) (msg []byte, ok bool, err error) {
	children, err := q.children(ctx)
	for err == nil {
		var head string
		if head, ok = first(children); !ok {
			return nil, false, nil
		}
		msg, _, err = q.c.Get(ctx, path.Join(q.path, head))
		if err == nil {
			return msg, true, nil
		}
		if errors.Is(err, zk.ErrNoNode) { // taken meanwhile: look again
			children, err = q.children(ctx)
		}
	}
	return nil, false, fmt.Errorf("queue %s: peek: %w", q.path, err)
}

func (q *SimpleQueue) children(ctx context.Context) ([]string, error) {
	children, err := q.c.Children(ctx, q.path)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	return children, err
}

// messages are children's qn- names in queue order; Curator skips any
// other child as foreign.
func messages(children []string) []string {
	return sortedWithPrefix(children, simplePrefix, strings.Compare)
}

func first(children []string) (string, bool) {
	m := messages(children)
	if len(m) == 0 {
		return "", false
	}
	return m[0], true
}

// takeFrom takes the first message of children that no other consumer
// takes first: whoever deletes a node has its message.
func (q *SimpleQueue) takeFrom(ctx context.Context, children []string) ([]byte, bool, error) {
	for _, n := range messages(children) {
		p := path.Join(q.path, n)
		data, _, err := q.c.Get(ctx, p)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		err = q.c.Delete(ctx, p, -1)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		return data, true, nil
	}
	return nil, false, nil
}
