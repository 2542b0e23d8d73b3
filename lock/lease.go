package lock

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/internal/contend"
	"github.com/zookit/zookit/recipes"
)

var (
	// ErrLocked is returned by the Try methods when the lock is held
	// elsewhere.
	ErrLocked = errors.New("lock: held elsewhere")
	// ErrReleased is returned when a Lease is used after its last Unlock.
	ErrReleased = errors.New("lock: lease released")
	// ErrNotHeld is the error of a guarded write made when the lock was no
	// longer held (see Lease.Guard).
	ErrNotHeld = contend.ErrNotHeld
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
// suspended for up to d, capped at a quarter of the session timeout so that
// Done closes before the server can expire the session and hand the lock to
// another; the default, 0, closes Done on the first Suspended, which is
// Curator's standard error policy. Lost always closes it.
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

// A Lease is a held lock. Path, Fence, Done and Guard are those of the
// held node (see the package doc); a guarded write made after the lock was
// lost or released fails with ErrNotHeld.
type Lease struct {
	*contend.Hold
	parts []*Lease // a MultiLock's

	revoked chan struct{}
	revOnce sync.Once

	mu       sync.Mutex
	count    int
	released bool
}

// Revoked is closed when another process asked for the lock with Revoke;
// only for locks made WithRevocation.
func (l *Lease) Revoked() <-chan struct{} { return l.revoked }

// Parts are the leases a MultiLock's lease is made of, in acquisition
// order; nil for other leases. A MultiLock's Path is "".
func (l *Lease) Parts() []*Lease { return l.parts }

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
	return contend.Release(ctx, l.Hold)
}

func (l *Lease) onData(data []byte) {
	if bytes.Equal(data, revokeMessage) {
		l.revOnce.Do(func() { close(l.revoked) })
	}
}

// combine makes the Lease of a MultiLock out of its parts.
func combine(parts []*Lease) *Lease {
	holds := make([]*contend.Hold, len(parts))
	for i, p := range parts {
		holds[i] = p.Hold
	}
	return &Lease{Hold: contend.Combine(holds), parts: parts, revoked: make(chan struct{}), count: 1}
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
