package lock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zookit/zookit/recipes"
)

var (
	// ErrLocked is returned by the Try methods when the lock is held
	// elsewhere.
	ErrLocked = errors.New("lock: held elsewhere")
	// ErrReleased is returned when a Lease is used after its last Unlock.
	ErrReleased = errors.New("lock: lease released")
)

// revokeMessage is what Curator's Revoker writes into a holder's node.
var revokeMessage = []byte("__REVOKE__")

// Option configures a lock.
type Option func(*options)

type options struct {
	data      []byte
	tolerance time.Duration
	revocable bool
}

// WithData sets the data of the lock's nodes (default empty).
func WithData(data []byte) Option {
	return func(o *options) { o.data = data }
}

// WithSuspendTolerance lets a Lease stay trusted while the connection is
// suspended for up to d; the default, 0, closes Done on the first
// Suspended, which is Curator's standard error policy. Lost always closes it.
func WithSuspendTolerance(d time.Duration) Option {
	return func(o *options) { o.tolerance = d }
}

// WithRevocation makes Leases revocable as Curator's makeRevocable does:
// when another process writes "__REVOKE__" into the holder's node (see
// Revoke), the Lease's Revoked channel closes. Revocation is cooperative:
// the holder decides whether to Unlock.
func WithRevocation() Option {
	return func(o *options) { o.revocable = true }
}

func buildOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Revoke asks the holder of the lock node p (a path from Participants) to
// release it. A node that is already gone is not an error.
func Revoke(ctx context.Context, c *recipes.Client, p string) error {
	_, err := c.Set(ctx, p, revokeMessage, -1)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	return err
}

// A Lease is a held lock.
type Lease struct {
	c       *recipes.Client
	node    string // the lock node; "" for a MultiLock's lease
	czxid   int64
	parts   []*Lease
	release func(ctx context.Context) error

	done     chan struct{}
	doneOnce sync.Once
	revoked  chan struct{}
	revOnce  sync.Once
	stop     chan struct{} // closed by the last Unlock

	mu       sync.Mutex
	count    int
	released bool
}

func newLease(c *recipes.Client, node string, release func(context.Context) error) *Lease {
	return &Lease{
		c:       c,
		node:    node,
		release: release,
		done:    make(chan struct{}),
		revoked: make(chan struct{}),
		stop:    make(chan struct{}),
		count:   1,
	}
}

// Done is closed when the lock can no longer be trusted, or was released.
func (l *Lease) Done() <-chan struct{} { return l.done }

// Revoked is closed when another process asked for the lock with Revoke;
// only for locks made WithRevocation.
func (l *Lease) Revoked() <-chan struct{} { return l.revoked }

// Path is the lock node. For a MultiLock it is "" (see Parts).
func (l *Lease) Path() string { return l.node }

// Parts are the leases a MultiLock's lease is made of, in acquisition
// order; nil for other leases.
func (l *Lease) Parts() []*Lease { return l.parts }

// Fence is a fencing token: the zxid that created the lock node. Each new
// holder's token is larger than every earlier holder's, so a resource that
// remembers the largest token it has seen can refuse a stale holder. For a
// MultiLock it is the largest of its parts' tokens.
func (l *Lease) Fence() int64 {
	f := l.czxid
	for _, p := range l.parts {
		f = max(f, p.Fence())
	}
	return f
}

// Reenter takes the lock again through this Lease; each Reenter needs its
// own Unlock.
func (l *Lease) Reenter() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return ErrReleased
	}
	l.count++
	return nil
}

// Unlock releases one hold; the last one deletes the lock node. A delete
// that fails keeps being retried in the background until the node is gone
// or the session is, so the error is informational: the Lease is released
// either way.
func (l *Lease) Unlock(ctx context.Context) error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return ErrReleased
	}
	l.count--
	if l.count > 0 {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	l.mu.Unlock()
	close(l.stop)
	l.closeDone()
	return l.release(ctx)
}

// Guard runs ops (go-zk multi ops, with Client paths) in one transaction
// that also checks every lock node of the Lease still exists, so the writes
// happen only while the lock is held. The responses are those of ops.
func (l *Lease) Guard(ctx context.Context, ops ...any) ([]zk.MultiResponse, error) {
	nodes := l.nodes()
	all := make([]any, 0, len(nodes)+len(ops))
	for _, n := range nodes {
		all = append(all, &zk.CheckVersionRequest{Path: n, Version: -1})
	}
	res, err := l.c.Multi(ctx, append(all, ops...)...)
	if len(res) >= len(nodes) {
		res = res[len(nodes):]
	}
	if err != nil {
		return res, fmt.Errorf("lock: guarded write: %w", err)
	}
	return res, nil
}

func (l *Lease) nodes() []string {
	if l.node != "" {
		return []string{l.node}
	}
	var ns []string
	for _, p := range l.parts {
		ns = append(ns, p.nodes()...)
	}
	return ns
}

func (l *Lease) closeDone()   { l.doneOnce.Do(func() { close(l.done) }) }
func (l *Lease) closeRevoke() { l.revOnce.Do(func() { close(l.revoked) }) }

// hold makes the Lease of a node that has just won: it reads the node with
// a watch (which gives its czxid and owner) and starts the goroutine that
// closes Done when trust ends. errMissing means the node is not ours any
// more, so the caller must start over.
func hold(ctx context.Context, c *recipes.Client, node string, o options) (*Lease, error) {
	session := c.SessionID()
	data, st, ch, err := c.GetW(ctx, node)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, errMissing
	}
	if err != nil {
		return nil, err
	}
	if st.EphemeralOwner != session {
		return nil, errMissing
	}
	l := newLease(c, node, func(ctx context.Context) error { return c.DeleteGuaranteed(ctx, node) })
	l.czxid = st.Czxid
	if o.revocable && bytes.Equal(data, revokeMessage) {
		l.closeRevoke()
	}
	go l.monitor(session, ch, o)
	return l, nil
}

// monitor closes Done when the connection has been suspended too long, the
// session is lost, the node goes away, or the Lease is released, and
// re-arms the node watch to see revocations.
func (l *Lease) monitor(session int64, node <-chan zk.Event, o options) {
	defer l.closeDone()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-l.stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	states := l.c.Listen(ctx)
	var timeout <-chan time.Time
	log := l.c.Logger().With(zap.String("lock", l.node))
	for {
		select {
		case <-ctx.Done():
			return
		case st, ok := <-states:
			if !ok {
				return
			}
			switch {
			case st == recipes.Lost:
				log.Warn("session lost; lock no longer held")
				return
			case st == recipes.Suspended && o.tolerance == 0:
				log.Warn("connection suspended; lock no longer trusted")
				return
			case st == recipes.Suspended:
				timeout = time.After(o.tolerance)
			case st.IsConnected():
				if l.c.SessionID() != session {
					return
				}
				timeout = nil
			}
		case <-timeout:
			log.Warn("connection suspended beyond tolerance; lock no longer trusted")
			return
		case ev := <-node:
			if ev.Type != zk.EventNodeDataChanged {
				return
			}
			data, _, ch, err := l.c.GetW(ctx, l.node)
			if err != nil {
				return
			}
			node = ch
			if o.revocable && bytes.Equal(data, revokeMessage) {
				l.closeRevoke()
			}
		}
	}
}

// combine makes the Lease of a MultiLock: Done closes when any part's does,
// and Unlock releases the parts in reverse order.
func combine(c *recipes.Client, parts []*Lease) *Lease {
	l := newLease(c, "", nil)
	l.parts = parts
	l.release = func(ctx context.Context) error { return releaseAll(ctx, parts) }
	go func() {
		defer l.closeDone()
		cases := make([]<-chan struct{}, 0, len(parts)+1)
		cases = append(cases, l.stop)
		for _, p := range parts {
			cases = append(cases, p.Done())
		}
		waitAny(cases)
	}()
	return l
}

// releaseAll unlocks leases in reverse order, reporting every failure.
func releaseAll(ctx context.Context, leases []*Lease) error {
	var errs []error
	for _, p := range slices.Backward(leases) {
		if err := p.Unlock(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// waitAny returns when any of chans is closed.
func waitAny(chans []<-chan struct{}) {
	done := make(chan struct{})
	var once sync.Once
	for _, ch := range chans {
		go func() {
			select {
			case <-ch:
				once.Do(func() { close(done) })
			case <-done:
			}
		}()
	}
	<-done
}
