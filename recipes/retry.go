package recipes

import (
	"context"
	"errors"
	"io"
	"net"
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
// done or the Client is closed.
func (c *Client) Retry(ctx context.Context, op func(conn *zk.Conn) error) error {
	return c.retry(ctx, func(conn zkConn) error {
		c.mu.Lock()
		raw := c.link.raw
		c.mu.Unlock()
		return op(raw)
	})
}

func (c *Client) retry(ctx context.Context, op func(conn zkConn) error) error {
	b := backoff.WithContext(c.opts.retry(), ctx)
	return backoff.Retry(func() error {
		conn, err := c.active()
		if err != nil {
			return backoff.Permanent(err)
		}
		err = withContext(ctx, func() error { return op(conn) })
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
// go-zk calls take no context; an abandoned call still ends by itself when
// its reply arrives or the connection drops.
func withContext(ctx context.Context, f func() error) error {
	if ctx.Done() == nil {
		return f()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
