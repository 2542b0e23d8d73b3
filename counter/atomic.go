package counter

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/lock"
	"github.com/zookit/zookit/recipes"
)

// ErrCorrupt is returned for counter data shorter than its encoding.
var ErrCorrupt = errors.New("counter: corrupted data")

// Integer is what an Atomic counts in: int64 (DistributedAtomicLong) or
// int32 (DistributedAtomicInteger).
type Integer interface{ ~int32 | ~int64 }

// Result is the outcome of an update, as Curator's AtomicValue: when
// Succeeded is false the counter was not changed (too much contention).
type Result[T Integer] struct {
	Succeeded bool
	PreValue  T
	PostValue T
	// Promoted is set when the update went through the promotion lock.
	Promoted bool
}

// Option configures an Atomic.
type Option func(*atomicOptions)

type atomicOptions struct {
	retry          recipes.RetryPolicy
	lockPath       string
	lockTimeout    time.Duration
	promotionRetry recipes.RetryPolicy
}

// WithRetry sets the policy of the optimistic attempts; the default is
// recipes.RetryNTimes(10, 10*time.Millisecond). Like Curator's, it counts
// attempts that lost a race, not connection errors (the Client retries
// those).
func WithRetry(p recipes.RetryPolicy) Option {
	return func(o *atomicOptions) { o.retry = p }
}

// WithPromotion makes an update whose optimistic attempts all lost take the
// lock.Mutex at lockPath for up to timeout (which must be positive: there is
// no turn in no time) and try again under it, under retry (nil: once), as
// Curator's PromotedToLock. The mutex only serialises
// promoted writers; correctness still comes from the versioned write.
func WithPromotion(lockPath string, timeout time.Duration, retry recipes.RetryPolicy) Option {
	return func(o *atomicOptions) { o.lockPath, o.lockTimeout, o.promotionRetry = lockPath, timeout, retry }
}

// Atomic is a counter on one node.
type Atomic[T Integer] struct {
	c    *recipes.Client
	path string
	opts atomicOptions
	lock *lock.Mutex
}

// NewAtomicLong returns Curator's DistributedAtomicLong on path.
func NewAtomicLong(c *recipes.Client, path string, opts ...Option) *Atomic[int64] {
	return newAtomic[int64](c, path, opts)
}

// NewAtomicInt returns Curator's DistributedAtomicInteger on path.
func NewAtomicInt(c *recipes.Client, path string, opts ...Option) *Atomic[int32] {
	return newAtomic[int32](c, path, opts)
}

func newAtomic[T Integer](c *recipes.Client, path string, opts []Option) *Atomic[T] {
	o := atomicOptions{retry: recipes.RetryNTimes(10, 10*time.Millisecond)}
	for _, f := range opts {
		f(&o)
	}
	a := &Atomic[T]{c: c, path: path, opts: o}
	if o.lockPath != "" {
		a.lock = lock.NewMutex(c, o.lockPath)
	}
	return a
}

func size[T Integer]() int {
	var v T
	return binary.Size(v)
}

func encode[T Integer](v T) []byte {
	b := make([]byte, size[T]())
	if len(b) == 8 {
		binary.BigEndian.PutUint64(b, uint64(v))
	} else {
		binary.BigEndian.PutUint32(b, uint32(v))
	}
	return b
}

// decode reads Curator's encoding: empty is 0, short is corrupt, and bytes
// past the encoding are ignored as Java's ByteBuffer ignores them.
func decode[T Integer](b []byte) (T, error) {
	n := size[T]()
	switch {
	case len(b) == 0:
		return 0, nil
	case len(b) < n:
		return 0, fmt.Errorf("%w: %d bytes, want %d", ErrCorrupt, len(b), n)
	case n == 8:
		return T(int64(binary.BigEndian.Uint64(b))), nil
	default:
		return T(int32(binary.BigEndian.Uint32(b))), nil
	}
}

// Get returns the value; a missing node is 0.
func (a *Atomic[T]) Get(ctx context.Context) (T, error) {
	v, _, err := a.read(ctx)
	return v, err
}

// read returns the value and stat (nil when the node is missing).
func (a *Atomic[T]) read(ctx context.Context) (T, *zk.Stat, error) {
	v, st, _, err := a.readRaw(ctx)
	return v, st, err
}

// readRaw is read that also returns the stored bytes.
func (a *Atomic[T]) readRaw(ctx context.Context) (T, *zk.Stat, []byte, error) {
	data, st, err := a.c.Get(ctx, a.path)
	if errors.Is(err, zk.ErrNoNode) {
		return 0, nil, nil, nil
	}
	if err != nil {
		return 0, nil, nil, err
	}
	v, err := decode[T](data)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("counter %s: %w", a.path, err)
	}
	return v, st, data, nil
}

// Add adds delta (Curator's add/increment/decrement/subtract).
func (a *Atomic[T]) Add(ctx context.Context, delta T) (Result[T], error) {
	return a.update(ctx, func(v T, _ current) (T, bool) { return v + delta, true })
}

// Increment adds 1.
func (a *Atomic[T]) Increment(ctx context.Context) (Result[T], error) { return a.Add(ctx, 1) }

// Decrement subtracts 1.
func (a *Atomic[T]) Decrement(ctx context.Context) (Result[T], error) { return a.Add(ctx, -1) }

// CompareAndSet sets newValue if the stored bytes are expected's encoding,
// byte for byte, as Curator compares them: a missing node, empty data or
// data longer than the encoding never match. A mismatch fails without
// retrying.
func (a *Atomic[T]) CompareAndSet(ctx context.Context, expected, newValue T) (Result[T], error) {
	want := encode(expected)
	return a.update(ctx, func(_ T, cur current) (T, bool) {
		return newValue, cur.exists && bytes.Equal(cur.data, want)
	})
}

// TrySet sets the value, losing (Succeeded false) only to contention.
func (a *Atomic[T]) TrySet(ctx context.Context, v T) (Result[T], error) {
	return a.update(ctx, func(T, current) (T, bool) { return v, true })
}

// Initialize creates the node with v if it does not exist; false when it
// already did.
func (a *Atomic[T]) Initialize(ctx context.Context, v T) (bool, error) {
	_, err := a.c.CreateWithParents(ctx, a.path, encode(v), recipes.Persistent)
	if errors.Is(err, zk.ErrNodeExists) {
		return false, nil
	}
	return err == nil, err
}

// ForceSet sets the value unconditionally.
func (a *Atomic[T]) ForceSet(ctx context.Context, v T) error {
	_, err := a.c.Set(ctx, a.path, encode(v), -1)
	if errors.Is(err, zk.ErrNoNode) {
		_, err = a.c.CreateWithParents(ctx, a.path, encode(v), recipes.Persistent)
		if errors.Is(err, zk.ErrNodeExists) {
			_, err = a.c.Set(ctx, a.path, encode(v), -1)
		}
	}
	return err
}

// errLost means an attempt lost a race: retry under the recipe's policy.
var errLost = errors.New("counter: lost a race")

// current is the node as an attempt read it.
type current struct {
	data   []byte
	exists bool
}

// step computes the value to write from the one read; false leaves the
// counter as it is (a compare-and-set that does not match).
type step[T Integer] func(pre T, cur current) (T, bool)

// update runs Curator's optimistic loop, then the promoted one.
func (a *Atomic[T]) update(ctx context.Context, next step[T]) (Result[T], error) {
	r, err := a.tryUnder(ctx, a.opts.retry, next)
	if err != nil || r.Succeeded || a.lock == nil {
		return r, err
	}
	lctx, cancel := context.WithTimeout(ctx, a.opts.lockTimeout)
	defer cancel()
	l, err := a.lock.Lock(lctx)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return r, nil // no turn at the lock in time: not succeeded
		}
		return r, err
	}
	defer l.Unlock(ctx)
	retry := a.opts.promotionRetry
	if retry == nil {
		retry = recipes.RetryNTimes(0, 0)
	}
	r, err = a.tryUnder(ctx, retry, next)
	r.Promoted = true
	return r, err
}

// tryUnder repeats tryOnce while it loses races and policy allows.
func (a *Atomic[T]) tryUnder(ctx context.Context, policy recipes.RetryPolicy, next step[T]) (Result[T], error) {
	var r Result[T]
	err := backoff.Retry(func() error {
		var err error
		r, err = a.tryOnce(ctx, next)
		if err != nil && !errors.Is(err, errLost) {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(policy(), ctx))
	if errors.Is(err, errLost) {
		return r, nil
	}
	return r, err
}

// tryOnce is one versioned read-modify-write; errLost when another writer
// came between the read and the write.
func (a *Atomic[T]) tryOnce(ctx context.Context, next step[T]) (Result[T], error) {
	pre, st, data, err := a.readRaw(ctx)
	if err != nil {
		return Result[T]{}, err
	}
	post, ok := next(pre, current{data: data, exists: st != nil})
	r := Result[T]{PreValue: pre, PostValue: pre}
	if !ok {
		return r, nil
	}
	// Through Multi: a write retried after a lost reply is then recognised
	// as done instead of failing with BadVersion and being applied twice.
	if st == nil {
		_, err = a.c.CreateWithParents(ctx, a.path, encode(post), recipes.Persistent)
	} else {
		_, err = a.c.Multi(ctx, &zk.SetDataRequest{Path: a.path, Data: encode(post), Version: st.Version})
	}
	if errors.Is(err, zk.ErrNodeExists) || errors.Is(err, zk.ErrBadVersion) || errors.Is(err, zk.ErrNoNode) {
		return r, errLost
	}
	if err != nil {
		return r, err
	}
	return Result[T]{Succeeded: true, PreValue: pre, PostValue: post}, nil
}
