package recipes

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-zookeeper/zk"
)

// RetryPolicy makes a fresh backoff schedule for one operation. The
// schedule decides how long to sleep before each retry and when to give up;
// which errors are retried is fixed (see Retryable).
type RetryPolicy func() backoff.BackOff

// ExponentialBackoff retries up to maxRetries times, sleeping about base,
// 2×base, 4×base... (±50% jitter), like Curator's ExponentialBackoffRetry.
func ExponentialBackoff(base time.Duration, maxRetries int) RetryPolicy {
	return BoundedExponentialBackoff(base, backoff.DefaultMaxInterval, maxRetries)
}

// BoundedExponentialBackoff is ExponentialBackoff with no sleep longer than
// maxSleep, like Curator's BoundedExponentialBackoffRetry.
func BoundedExponentialBackoff(base, maxSleep time.Duration, maxRetries int) RetryPolicy {
	return func() backoff.BackOff {
		return capped{backoff.WithMaxRetries(backoff.NewExponentialBackOff(
			backoff.WithInitialInterval(base),
			backoff.WithMultiplier(2),
			backoff.WithMaxInterval(maxSleep),
			backoff.WithMaxElapsedTime(0),
		), uint64(maxRetries)), maxSleep}
	}
}

// capped bounds every sleep; ExponentialBackOff adds its jitter after
// applying MaxInterval, so alone it may sleep up to 1.5× longer.
type capped struct {
	backoff.BackOff
	max time.Duration
}

func (c capped) NextBackOff() time.Duration {
	d := c.BackOff.NextBackOff()
	if d == backoff.Stop {
		return d
	}
	return min(d, c.max)
}

// RetryNTimes retries up to n times, sleeping the same time before each.
func RetryNTimes(n int, sleep time.Duration) RetryPolicy {
	return func() backoff.BackOff {
		return backoff.WithMaxRetries(backoff.NewConstantBackOff(sleep), uint64(n))
	}
}

// RetryUntilElapsed retries, sleeping the same time before each retry, until
// maxElapsed has passed since the first attempt.
func RetryUntilElapsed(maxElapsed, sleep time.Duration) RetryPolicy {
	return func() backoff.BackOff {
		return backoff.NewExponentialBackOff(
			backoff.WithInitialInterval(sleep),
			backoff.WithMultiplier(1),
			backoff.WithRandomizationFactor(0),
			backoff.WithMaxElapsedTime(maxElapsed),
		)
	}
}

// Retryable reports whether err is one a retry may cure: the connection was
// lost (which is also how go-zk reports an operation that timed out, and
// go-zk passes on the network error when a write to a dropped connection
// fails), no server could be reached, or the session moved or expired. The
// Client replaces its connection after Lost, so zk.ErrClosing from the old
// one is retryable too.
func Retryable(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, zk.ErrConnectionClosed) ||
		errors.Is(err, zk.ErrNoServer) ||
		errors.Is(err, zk.ErrSessionMoved) ||
		errors.Is(err, zk.ErrSessionExpired) ||
		errors.Is(err, zk.ErrClosing)
}

// Retry runs op with the Client's current connection until it succeeds,
// fails with an error that is not Retryable, the policy gives up, ctx is
// done or the Client is closed. When ctx ends first, Retry returns at once
// and op, which takes no context, runs on until its go-zk calls return.
func (c *Client) Retry(ctx context.Context, op func(conn *zk.Conn) error) error {
	return c.retry(ctx, func(zkConn) error {
		c.mu.Lock()
		raw := c.link.raw
		c.mu.Unlock()
		return withContext(ctx, func() error { return op(raw) })
	})
}

func (c *Client) retry(ctx context.Context, op func(conn zkConn) error) error {
	return c.retryCalls(ctx, nil, op)
}

// retryCalls is retry that counts in calls the go-zk calls op makes until
// each has returned, including the ones given up on when ctx ended.
func (c *Client) retryCalls(ctx context.Context, calls *sync.WaitGroup, op func(conn zkConn) error) error {
	b := backoff.WithContext(c.opts.retry(), ctx)
	return backoff.Retry(func() error {
		conn, err := c.active()
		if err != nil {
			return backoff.Permanent(err)
		}
		err = op(ctxConn{zkConn: conn, ctx: ctx, calls: calls, undo: c.undoLateCreate})
		if err != nil && (!Retryable(err) || ctx.Err() != nil) {
			return backoff.Permanent(err)
		}
		if err != nil {
			select {
			case <-c.closed:
				return backoff.Permanent(ErrClosed)
			default:
			}
		}
		return err
	}, b)
}

// withContext runs f, returning early with ctx's error when ctx ends first.
func withContext(ctx context.Context, f func() error) error {
	_, err := await(ctx, nil, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// await runs f, returning early with ctx's error when ctx ends first. go-zk
// calls take no context; a call given up on still ends by itself when its
// reply arrives or the connection drops or closes. calls, if not nil,
// counts f until it has returned.
func await[T any](ctx context.Context, calls *sync.WaitGroup, f func() (T, error)) (T, error) {
	v, _, err := awaitLate(ctx, calls, f)
	return v, err
}

// awaitLate is await that, when it gives up on f, also returns a function
// that waits for f's result: a call given up on may still take effect.
func awaitLate[T any](ctx context.Context, calls *sync.WaitGroup, f func() (T, error)) (T, func() (T, error), error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, nil, err
	}
	if ctx.Done() == nil {
		v, err := f()
		return v, nil, replyErr(err)
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	if calls != nil {
		calls.Add(1)
	}
	go func() {
		if calls != nil {
			defer calls.Done()
		}
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, nil, replyErr(r.err)
	case <-ctx.Done():
		return zero, func() (T, error) { r := <-done; return r.v, replyErr(r.err) }, ctx.Err()
	}
}

// ctxConn is the zkConn an op of retry gets: each call returns when ctx
// ends. Abandoning the single go-zk call rather than the whole op keeps the
// op in its caller's goroutine, so that it takes no further step once ctx
// has ended (a protected create must not create after its caller, and its
// cleanup, have given up) and shares no variables with a goroutine that
// runs on.
type ctxConn struct {
	zkConn
	ctx   context.Context
	calls *sync.WaitGroup
	// undo deletes the node of a create given up on, should it land.
	undo func(landed func() (string, error), session int64)
}

type pair[A, B any] struct {
	a A
	b B
}

type triple[A, B, C any] struct {
	a A
	b B
	c C
}

func (cc ctxConn) Create(p string, data []byte, flags int32, acl []zk.ACL) (string, error) {
	return cc.create(func() (string, error) { return cc.zkConn.Create(p, data, flags, acl) })
}

func (cc ctxConn) CreateTTL(p string, data []byte, flags int32, acl []zk.ACL, ttl time.Duration) (string, error) {
	return cc.create(func() (string, error) { return cc.zkConn.CreateTTL(p, data, flags, acl, ttl) })
}

// CreateContainer is not undone when given up on: the server removes an
// empty container by itself.
func (cc ctxConn) CreateContainer(p string, data []byte, flags int32, acl []zk.ACL) (string, error) {
	return await(cc.ctx, cc.calls, func() (string, error) { return cc.zkConn.CreateContainer(p, data, flags, acl) })
}

// create runs a create call. Its caller is told it failed once ctx ends, so
// if the call lands after that, its node is deleted rather than left as an
// orphan nobody knows of: an ephemeral lock node made that way would hold
// the lock until the session ends.
func (cc ctxConn) create(f func() (string, error)) (string, error) {
	session := cc.zkConn.SessionID()
	p, landed, err := awaitLate(cc.ctx, cc.calls, f)
	if landed != nil && cc.undo != nil {
		cc.undo(landed, session)
	}
	return p, err
}

func (cc ctxConn) Children(p string) ([]string, *zk.Stat, error) {
	r, err := await(cc.ctx, cc.calls, func() (pair[[]string, *zk.Stat], error) {
		kids, st, err := cc.zkConn.Children(p)
		return pair[[]string, *zk.Stat]{kids, st}, err
	})
	return r.a, r.b, err
}

func (cc ctxConn) ChildrenW(p string) ([]string, *zk.Stat, <-chan zk.Event, error) {
	r, err := await(cc.ctx, cc.calls, func() (triple[[]string, *zk.Stat, <-chan zk.Event], error) {
		kids, st, ch, err := cc.zkConn.ChildrenW(p)
		return triple[[]string, *zk.Stat, <-chan zk.Event]{kids, st, ch}, err
	})
	return r.a, r.b, r.c, err
}

func (cc ctxConn) Get(p string) ([]byte, *zk.Stat, error) {
	r, err := await(cc.ctx, cc.calls, func() (pair[[]byte, *zk.Stat], error) {
		data, st, err := cc.zkConn.Get(p)
		return pair[[]byte, *zk.Stat]{data, st}, err
	})
	return r.a, r.b, err
}

func (cc ctxConn) GetW(p string) ([]byte, *zk.Stat, <-chan zk.Event, error) {
	r, err := await(cc.ctx, cc.calls, func() (triple[[]byte, *zk.Stat, <-chan zk.Event], error) {
		data, st, ch, err := cc.zkConn.GetW(p)
		return triple[[]byte, *zk.Stat, <-chan zk.Event]{data, st, ch}, err
	})
	return r.a, r.b, r.c, err
}

func (cc ctxConn) Exists(p string) (bool, *zk.Stat, error) {
	r, err := await(cc.ctx, cc.calls, func() (pair[bool, *zk.Stat], error) {
		ok, st, err := cc.zkConn.Exists(p)
		return pair[bool, *zk.Stat]{ok, st}, err
	})
	return r.a, r.b, err
}

func (cc ctxConn) ExistsW(p string) (bool, *zk.Stat, <-chan zk.Event, error) {
	r, err := await(cc.ctx, cc.calls, func() (triple[bool, *zk.Stat, <-chan zk.Event], error) {
		ok, st, ch, err := cc.zkConn.ExistsW(p)
		return triple[bool, *zk.Stat, <-chan zk.Event]{ok, st, ch}, err
	})
	return r.a, r.b, r.c, err
}

func (cc ctxConn) Sync(p string) (string, error) {
	return await(cc.ctx, cc.calls, func() (string, error) { return cc.zkConn.Sync(p) })
}

func (cc ctxConn) Set(p string, data []byte, version int32) (*zk.Stat, error) {
	return await(cc.ctx, cc.calls, func() (*zk.Stat, error) { return cc.zkConn.Set(p, data, version) })
}

func (cc ctxConn) Delete(p string, version int32) error {
	_, err := await(cc.ctx, cc.calls, func() (struct{}, error) { return struct{}{}, cc.zkConn.Delete(p, version) })
	return err
}

func (cc ctxConn) Multi(ops ...any) ([]zk.MultiResponse, error) {
	return await(cc.ctx, cc.calls, func() ([]zk.MultiResponse, error) { return cc.zkConn.Multi(ops...) })
}
