package queue

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/recipes"
)

// DistributedQueue is Curator's DistributedQueue: items <path>/queue-<seq>,
// taken in name order.
type DistributedQueue struct{ *Queue }

// NewDistributedQueue opens the queue at path (a Client path), making the
// queue path and the lock path, if any, as Curator's start does.
func NewDistributedQueue(ctx context.Context, c *recipes.Client, path string, opts ...Option) (*DistributedQueue, error) {
	q, err := open(ctx, c, path, layout{compare: strings.Compare}, opts)
	if err != nil {
		return nil, err
	}
	return &DistributedQueue{q}, nil
}

// Put appends a message.
func (q *DistributedQueue) Put(ctx context.Context, msg []byte) error {
	return q.put(ctx, itemPrefix, [][]byte{msg})
}

// PutMulti appends msgs as one item, taken as a whole by one consumer.
func (q *DistributedQueue) PutMulti(ctx context.Context, msgs ...[]byte) error {
	return q.put(ctx, itemPrefix, msgs)
}

// PriorityQueue is Curator's DistributedPriorityQueue: items
// <path>/queue-<priority><seq>, lower priorities first, and among equal
// priorities in the order they were put. A consumer lists the queue again
// after each item, so a new item of a lower priority value is taken next.
type PriorityQueue struct{ *Queue }

// NewPriorityQueue opens the priority queue at path (see
// NewDistributedQueue).
func NewPriorityQueue(ctx context.Context, c *recipes.Client, path string, opts ...Option) (*PriorityQueue, error) {
	q, err := open(ctx, c, path, layout{compare: strings.Compare, refresh: true}, opts)
	if err != nil {
		return nil, err
	}
	return &PriorityQueue{q}, nil
}

// Put appends a message with a priority.
func (q *PriorityQueue) Put(ctx context.Context, priority int32, msg []byte) error {
	return q.put(ctx, priorityName(priority), [][]byte{msg})
}

// PutMulti appends msgs as one item with a priority.
func (q *PriorityQueue) PutMulti(ctx context.Context, priority int32, msgs ...[]byte) error {
	return q.put(ctx, priorityName(priority), msgs)
}

// priorityName is Curator's name for a priority: "1" for a priority >= 0,
// else "0", then its 32 bits in 8 hex digits, so that names sort by
// priority.
func priorityName(p int32) string {
	sign := "1"
	if p < 0 {
		sign = "0"
	}
	return fmt.Sprintf("%s%s%08X", itemPrefix, sign, uint32(p))
}

// DelayQueue is Curator's DistributedDelayQueue: items
// <path>/queue-|<due time>|<seq>, each taken only once it is due, earliest
// first. A consumer sleeps until the first item is due, and wakes earlier
// when the queue changes.
type DelayQueue struct{ *Queue }

// NewDelayQueue opens the delay queue at path (see NewDistributedQueue).
func NewDelayQueue(ctx context.Context, c *recipes.Client, path string, opts ...Option) (*DelayQueue, error) {
	lay := layout{
		compare: func(a, b string) int { return cmp.Compare(dueMillis(a), dueMillis(b)) },
		due: func(name string) (time.Time, bool) {
			ms := dueMillis(name)
			return time.UnixMilli(ms), ms != 0
		},
		refresh: true,
	}
	q, err := open(ctx, c, path, lay, opts)
	if err != nil {
		return nil, err
	}
	return &DelayQueue{q}, nil
}

// Put appends a message that is to be taken no earlier than due.
func (q *DelayQueue) Put(ctx context.Context, due time.Time, msg []byte) error {
	return q.PutMulti(ctx, due, msg)
}

// PutMulti appends msgs as one item due at due.
func (q *DelayQueue) PutMulti(ctx context.Context, due time.Time, msgs ...[]byte) error {
	ms := due.UnixMilli()
	if ms <= 0 {
		return fmt.Errorf("queue %s: put: due time %v is not after 1970", q.path, due)
	}
	return q.put(ctx, fmt.Sprintf("%s%c%08X%c", itemPrefix, idSep, ms, idSep), msgs)
}

// dueMillis is the due time (Unix ms) in an item name, between its last two
// '|', or 0 when there is none (Curator's getEpoch).
func dueMillis(name string) int64 {
	j := strings.LastIndexByte(name, idSep)
	if j <= 0 {
		return 0
	}
	i := strings.LastIndexByte(name[:j], idSep)
	if i <= 0 || j == i+1 {
		return 0
	}
	ms, err := strconv.ParseInt(name[i+1:j], 16, 64)
	if err != nil {
		return 0
	}
	return ms
}

// idSep brackets an id (IDQueue) or a due time (DelayQueue) in item names.
const idSep = '|'

// IDQueue is Curator's DistributedIdQueue: items <path>/queue-|<id>|<seq>,
// taken in the order they were put, whatever their id, and removable by id.
type IDQueue struct{ *Queue }

// NewIDQueue opens the id queue at path (see NewDistributedQueue). The path
// may not hold '|'.
func NewIDQueue(ctx context.Context, c *recipes.Client, path string, opts ...Option) (*IDQueue, error) {
	if strings.ContainsRune(path, idSep) {
		return nil, fmt.Errorf("queue %s: an id queue path may not hold %q", path, idSep)
	}
	lay := layout{compare: func(a, b string) int {
		_, ka := splitID(a)
		_, kb := splitID(b)
		return strings.Compare(ka, kb)
	}}
	q, err := open(ctx, c, path, lay, opts)
	if err != nil {
		return nil, err
	}
	return &IDQueue{q}, nil
}

// Put appends a message under id. Several messages may share an id.
func (q *IDQueue) Put(ctx context.Context, id string, msg []byte) error {
	if id == "" {
		return fmt.Errorf("queue %s: put: empty id", q.path)
	}
	return q.put(ctx, idName(id), [][]byte{msg})
}

// Remove deletes every item put under id that is still queued and returns
// how many it deleted. In lock-path mode it locks each item first, so an
// item a consumer is handling is left to it.
func (q *IDQueue) Remove(ctx context.Context, id string) (int, error) {
	children, err := q.c.Children(ctx, q.path)
	if errors.Is(err, zk.ErrNoNode) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("queue %s: remove %q: %w", q.path, id, err)
	}
	want := fixID(id)
	n := 0
	for _, name := range q.items(children) {
		if got, _ := splitID(name); got != want {
			continue
		}
		ok, err := q.remove(ctx, name)
		if err != nil {
			return n, fmt.Errorf("queue %s: remove %q: %w", q.path, id, err)
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// idName is the name prefix of an item put under id. Curator's Remove
// compares the stored (fixed) id with the id given, so it misses ids that
// hold '/' or '|'; this Remove fixes both sides.
func idName(id string) string {
	return fmt.Sprintf("%s%c%s%c", itemPrefix, idSep, fixID(id), idSep)
}

// fixID replaces what may not appear in a node name or would end the id.
func fixID(id string) string {
	return strings.NewReplacer("/", "_", string(idSep), "_").Replace(id)
}

// splitID returns the id of an item name and the name without its |id|
// part, Curator's sort key; a name without two '|' is its own id and key.
func splitID(name string) (id, key string) {
	i := strings.IndexByte(name, idSep)
	if i < 0 {
		return name, name
	}
	j := strings.IndexByte(name[i+1:], idSep)
	if j < 0 {
		return name, name
	}
	j += i + 1
	return name[i+1 : j], name[:i] + name[j+1:]
}
