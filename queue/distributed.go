package queue

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zookit/zookit/internal/contend"
	"github.com/zookit/zookit/recipes"
)

// itemPrefix starts every item name of Curator's DistributedQueue family;
// Curator's consumers skip any other child as foreign.
const itemPrefix = "queue-"

// seqDigits is the width of the sequence number the server appends.
const seqDigits = 10

// ErrorMode says what a lock-path consumer does with an item whose Handler
// failed, as Curator's ErrorMode does.
type ErrorMode int

const (
	// ErrorRequeue puts the item back at the end of the queue, in one
	// transaction with its removal (Curator's default). The messages of a
	// multi-message item that came before the failing one are delivered
	// again with it.
	ErrorRequeue ErrorMode = iota
	// ErrorDelete drops the message, delivers the item's other messages
	// and removes the item.
	ErrorDelete
)

// Handler is given each message a consumer takes. In lock-path mode the item
// stays in the queue until Handler returns; an error is dealt with by the
// ErrorMode. Without a lock path the item is already gone when Handler
// runs, and an error is logged (see WithErrorMode).
type Handler func(ctx context.Context, msg []byte) error

// Option configures a queue.
type Option func(*options)

type options struct {
	lockPath  string
	errorMode ErrorMode
	maxItems  int
}

// WithLockPath makes consumers take an item by creating the ephemeral node
// <lockPath>/<item name> first and removing the item only once the Handler
// has returned (Curator's lockPath, "safe" mode): a consumer that dies
// mid-message leaves the item to another consumer once its session is over,
// so every message is delivered at least once.
func WithLockPath(p string) Option { return func(o *options) { o.lockPath = p } }

// WithErrorMode sets what a lock-path consumer does when its Handler fails
// (ErrorRequeue unless set). Without a lock path the item is gone before
// the Handler runs, and the mode only says whether a failing message ends
// the delivery of a multi-message item (ErrorRequeue, as in Curator) or
// not (ErrorDelete).
func WithErrorMode(m ErrorMode) Option { return func(o *options) { o.errorMode = m } }

// WithMaxItems bounds the queue: a put waits while the queue path has n
// children or more (Curator's maxItems). n <= 0 means no bound. The bound is
// soft, as Curator's is: producers that find room at the same time may all
// put.
func WithMaxItems(n int) Option { return func(o *options) { o.maxItems = n } }

// layout is what tells the queues of the family apart besides the name a
// put gives its item.
type layout struct {
	// compare orders two item names as Curator's consumer sorts them.
	compare func(a, b string) int
	// due, when set, is when an item may be taken; ok is false when the
	// name carries no time (it may be taken at once).
	due func(name string) (t time.Time, ok bool)
	// refresh makes Consume list the children again after every item, so
	// that a new item that sorts first is taken next (Curator's
	// refreshOnWatch).
	refresh bool
}

// Queue is what the queues of the family share: taking and consuming. Each
// queue type embeds it and adds its own puts.
type Queue struct {
	c    *recipes.Client
	path string
	opts options
	lay  layout
}

// open makes the queue path and the lock path, if any, as persistent nodes
// (with container parents), as Curator's start does: Curator's put and lock
// creates make no parents, so these must not be containers that vanish
// when empty.
func open(ctx context.Context, c *recipes.Client, p string, lay layout, opts []Option) (*Queue, error) {
	q := &Queue{c: c, path: p, lay: lay}
	for _, o := range opts {
		o(&q.opts)
	}
	if err := q.ensure(ctx); err != nil {
		return nil, fmt.Errorf("queue %s: open: %w", p, err)
	}
	return q, nil
}

func (q *Queue) ensure(ctx context.Context) error {
	for _, p := range []string{q.path, q.opts.lockPath} {
		if p == "" {
			continue
		}
		_, err := q.c.CreateWithParents(ctx, p, nil, recipes.Persistent)
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
	}
	return nil
}

// Path returns the queue path.
func (q *Queue) Path() string { return q.path }

// put writes msgs as one item named prefix plus a sequence number, after
// waiting for room when the queue is bounded. A retry after a lost reply is
// recognised by the Client (recipes' own-write check), so it makes no
// second item.
func (q *Queue) put(ctx context.Context, prefix string, msgs [][]byte) error {
	if len(msgs) == 0 {
		return fmt.Errorf("queue %s: put of no message", q.path)
	}
	if err := q.create(ctx, prefix, msgs); err != nil {
		return fmt.Errorf("queue %s: put: %w", q.path, err)
	}
	return nil
}

func (q *Queue) create(ctx context.Context, prefix string, msgs [][]byte) error {
	if q.opts.maxItems > 0 {
		err := contend.WaitChildren(ctx, q.c, q.path, func(children []string) (bool, error) {
			return len(children) < q.opts.maxItems, nil
		})
		if err != nil {
			return err
		}
	}
	data := EncodeItem(msgs...)
	_, err := q.c.Create(ctx, path.Join(q.path, prefix), data, recipes.PersistentSequential)
	if errors.Is(err, zk.ErrNoNode) { // someone removed the queue path: make it again
		if err = q.ensure(ctx); err == nil {
			_, err = q.c.Create(ctx, path.Join(q.path, prefix), data, recipes.PersistentSequential)
		}
	}
	return err
}

// Len returns the number of items in the queue (a multi-message put is one
// item).
func (q *Queue) Len(ctx context.Context) (int, error) {
	children, err := q.c.Children(ctx, q.path)
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		return 0, fmt.Errorf("queue %s: len: %w", q.path, err)
	}
	return len(q.items(children)), nil
}

// items are children's item names in queue order.
func (q *Queue) items(children []string) []string {
	return sortedWithPrefix(children, itemPrefix, q.lay.compare)
}

// sortedWithPrefix returns the names that start with prefix, sorted by
// compare with ties broken by name.
func sortedWithPrefix(children []string, prefix string, compare func(a, b string) int) []string {
	var out []string
	for _, n := range children {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := compare(a, b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return out
}

// Take waits until it has taken at least one item and returns the messages
// of up to max items taken in one round (an item put with PutMulti holds
// several). In lock-path mode the items are locked while they are read and
// removed, so Take never takes an item another consumer is handling; Take
// itself delivers at most once, as the messages are returned only after
// their items are gone. When it fails after taking some items, it returns
// their messages with the error.
func (q *Queue) Take(ctx context.Context, max int) ([][]byte, error) {
	if max < 1 {
		max = 1
	}
	var msgs [][]byte
	collect := func(_ context.Context, m []byte) error {
		msgs = append(msgs, m)
		return nil
	}
	err := q.rounds(ctx, func(items []string) (bool, wake, error) {
		taken, w, err := q.round(ctx, items, max, collect)
		return taken > 0, w, err
	})
	if err != nil {
		return msgs, fmt.Errorf("queue %s: take: %w", q.path, err)
	}
	return msgs, nil
}

// Consume takes items and gives their messages to h, one at a time in
// queue order, until ctx ends or an operation fails for good; it then
// returns that error. Several consumers, in this process or others, may
// consume one queue.
func (q *Queue) Consume(ctx context.Context, h Handler) error {
	limit := -1
	if q.lay.refresh {
		limit = 1
	}
	err := q.rounds(ctx, func(items []string) (bool, wake, error) {
		taken, w, err := q.round(ctx, items, limit, h)
		if limit > 0 && taken > 0 {
			w.again = true
		}
		return false, w, err
	})
	return fmt.Errorf("queue %s: consume: %w", q.path, err)
}

// wake is what a round waits for besides a change of the queue's children.
type wake struct {
	at    time.Time         // the first item that is not due yet is due
	locks []<-chan zk.Event // an item locked by another consumer is unlocked
	again bool              // list the children again at once
}

// arm calls interrupt when w happens, until stop is called.
func (w wake) arm(interrupt func()) (stop func()) {
	done := make(chan struct{})
	var t *time.Timer
	if !w.at.IsZero() {
		t = time.AfterFunc(time.Until(w.at), interrupt)
	}
	for _, ch := range w.locks {
		go func() {
			select {
			case <-ch:
				interrupt()
			case <-done:
			}
		}()
	}
	return func() {
		if t != nil {
			t.Stop()
		}
		close(done)
	}
}

// rounds runs step on the queue's items, again after every change of the
// children (contend.WaitChildren) and whenever the wake step returned
// happens, until step says it is done or fails.
func (q *Queue) rounds(ctx context.Context, step func(items []string) (bool, wake, error)) error {
	for {
		wctx, interrupt := context.WithCancel(ctx)
		stop := func() {}
		err := contend.WaitChildren(wctx, q.c, q.path, func(children []string) (bool, error) {
			stop()
			stop = func() {}
			done, w, err := step(q.items(children))
			if err != nil || done {
				return true, err
			}
			if w.again {
				interrupt()
				return false, nil
			}
			stop = w.arm(interrupt)
			return false, nil
		})
		stop()
		interrupt()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.Canceled): // interrupted by a wake
		default:
			return err
		}
	}
}

// round takes the due items of items in order, up to limit (< 0: all),
// giving their messages to h. It returns how many it took and what to wait
// for before the next round.
func (q *Queue) round(ctx context.Context, items []string, limit int, h Handler) (int, wake, error) {
	var w wake
	taken := 0
	now := time.Now()
	for _, name := range items {
		if taken == limit {
			break
		}
		if q.lay.due != nil {
			if t, ok := q.lay.due(name); ok && t.After(now) {
				if w.at.IsZero() || t.Before(w.at) {
					w.at = t
				}
				continue
			}
		}
		var ok bool
		var err error
		if q.opts.lockPath == "" {
			ok, err = q.takeItem(ctx, name, h)
		} else {
			ok, err = q.takeLocked(ctx, name, h, &w)
		}
		if err != nil {
			return taken, w, err
		}
		if ok {
			taken++
		}
	}
	return taken, w, nil
}

// takeItem is Curator's default mode: read, remove if unchanged, then
// deliver. A consumer that dies after the remove loses the item.
func (q *Queue) takeItem(ctx context.Context, name string, h Handler) (bool, error) {
	p := path.Join(q.path, name)
	data, st, err := q.c.Get(ctx, p)
	if err == nil {
		// A delete given up on when ctx ends may still remove the item:
		// see it through, so that the item is delivered, not lost.
		finish, cancel := q.finish(ctx)
		err = q.c.Delete(finish, p, st.Version)
		cancel()
	}
	if errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrBadVersion) { // another consumer has it
		return false, nil
	}
	if err != nil {
		return false, err
	}
	// As in Curator, a failing Handler ends the delivery of a multi-message
	// item under ErrorRequeue; there is nothing to requeue.
	q.deliver(ctx, p, data, h)
	return true, nil
}

// takeLocked is Curator's lock-path mode: lock the item, read it, deliver
// its messages, then remove it (or requeue it) and unlock.
func (q *Queue) takeLocked(ctx context.Context, name string, h Handler, w *wake) (bool, error) {
	var ok bool
	err := q.locked(ctx, name, w, func(finish context.Context, p string) error {
		data, _, err := q.c.Get(ctx, p)
		if errors.Is(err, zk.ErrNoNode) { // handled and removed by another consumer
			return nil
		}
		if err != nil {
			return err
		}
		if requeue := q.deliver(ctx, p, data, h); requeue {
			_, err = q.c.Multi(finish,
				&zk.DeleteRequest{Path: p, Version: -1},
				&zk.CreateRequest{Path: path.Join(q.path, requeueName(name)), Data: data, Flags: zk.FlagSequence})
		} else {
			err = q.c.Delete(finish, p, -1)
		}
		ok = err == nil
		if errors.Is(err, zk.ErrNoNode) {
			err = nil
		}
		return err
	})
	return ok, err
}

// remove deletes an item without delivering it, locking it first in
// lock-path mode; ok is false when another consumer had it.
func (q *Queue) remove(ctx context.Context, name string) (ok bool, err error) {
	p := path.Join(q.path, name)
	if q.opts.lockPath == "" {
		err = q.c.Delete(ctx, p, -1)
		ok = err == nil
	} else {
		err = q.locked(ctx, name, nil, func(finish context.Context, p string) error {
			err := q.c.Delete(finish, p, -1)
			ok = err == nil
			return err
		})
	}
	if errors.Is(err, zk.ErrNoNode) {
		err = nil
	}
	return ok, err
}

// locked runs f on the item's path while holding the ephemeral node
// <lockPath>/<name>, then deletes that node (guaranteed). An item locked by
// another consumer is skipped; when w is set, its lock node is watched, so
// that the item is taken once that consumer's session ends.
//
// The lock is created, and f removes the item, under finish, a context
// that outlives ctx by up to a session timeout: a create given up on when
// ctx ends may still make the node, which would lock the item until the
// session ends, and a handled item whose removal is given up on is
// delivered again.
func (q *Queue) locked(ctx context.Context, name string, w *wake, f func(finish context.Context, p string) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	finish, cancel := q.finish(ctx)
	defer cancel()
	lock := path.Join(q.opts.lockPath, name)
	_, err := q.c.Create(finish, lock, nil, recipes.Ephemeral)
	if errors.Is(err, zk.ErrNoNode) { // the lock path was removed: make it again
		if err = q.ensure(finish); err == nil {
			_, err = q.c.Create(finish, lock, nil, recipes.Ephemeral)
		}
	}
	if errors.Is(err, zk.ErrNodeExists) {
		if w == nil {
			return nil
		}
		st, ch, err := q.c.ExistsW(ctx, lock)
		switch {
		case err != nil:
			return err
		case st == nil:
			w.again = true
		default:
			w.locks = append(w.locks, ch)
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer q.c.DeleteGuaranteed(finish, lock) // a failure is retried in the background
	return f(finish, path.Join(q.path, name))
}

// finish returns a context for writes that must not be given up on when
// ctx ends, bounded by a session timeout.
func (q *Queue) finish(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), q.c.SessionTimeout())
}

// deliver gives the messages of the item at p to h and reports whether the
// item is to be requeued: under ErrorRequeue the first failing message ends
// the delivery. A corrupt item is dropped.
func (q *Queue) deliver(ctx context.Context, p string, data []byte, h Handler) bool {
	msgs, err := DecodeItem(data)
	if err != nil {
		q.c.Logger().Error("queue: dropping a corrupt item", zap.String("item", p), zap.Error(err))
		return false
	}
	for _, m := range msgs {
		if err := h(ctx, m); err != nil {
			q.c.Logger().Warn("queue: handler failed", zap.String("item", p), zap.Error(err))
			if q.opts.errorMode == ErrorRequeue {
				return true
			}
		}
	}
	return false
}

// requeueName is the name a requeued item is created under: the item's own
// name without its sequence number, so that it keeps its priority, due time
// or id. (Curator 5.4 keeps only the id; its priority and delay queues
// requeue under plain queue-.)
func requeueName(name string) string {
	if len(name) >= len(itemPrefix)+seqDigits {
		return name[:len(name)-seqDigits]
	}
	return itemPrefix
}
