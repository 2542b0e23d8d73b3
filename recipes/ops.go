package recipes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// zkConn is the part of *zk.Conn the Client uses.
type zkConn interface {
	Create(path string, data []byte, flags int32, acl []zk.ACL) (string, error)
	CreateContainer(path string, data []byte, flags int32, acl []zk.ACL) (string, error)
	CreateTTL(path string, data []byte, flags int32, acl []zk.ACL, ttl time.Duration) (string, error)
	Children(path string) ([]string, *zk.Stat, error)
	ChildrenW(path string) ([]string, *zk.Stat, <-chan zk.Event, error)
	Get(path string) ([]byte, *zk.Stat, error)
	GetW(path string) ([]byte, *zk.Stat, <-chan zk.Event, error)
	Exists(path string) (bool, *zk.Stat, error)
	ExistsW(path string) (bool, *zk.Stat, <-chan zk.Event, error)
	Sync(path string) (string, error)
	Set(path string, data []byte, version int32) (*zk.Stat, error)
	Delete(path string, version int32) error
	Multi(ops ...any) ([]zk.MultiResponse, error)
	SessionID() int64
	Close()
}

// All paths below are Client paths: the namespace is added on the way to the
// server and removed from the paths that come back. Errors keep go-zk's
// values for errors.Is.

func opErr(op, p string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %w", op, p, err)
}

// Create creates a node with the Client's ACL and returns its path (with the
// sequence number for sequential modes). A retry after connection loss
// recognises the node an earlier attempt made, as far as it can be told
// from others' nodes (see own.go), instead of failing with
// zk.ErrNodeExists or making a second sequential node.
func (c *Client) Create(ctx context.Context, p string, data []byte, mode CreateMode) (string, error) {
	return c.create(ctx, p, data, mode, 0, false)
}

// CreateWithParents is Create that first makes missing parents, as
// CONTAINER nodes, which the server removes once they are empty again.
func (c *Client) CreateWithParents(ctx context.Context, p string, data []byte, mode CreateMode) (string, error) {
	return c.create(ctx, p, data, mode, 0, true)
}

// CreateTTL is Create for the TTL modes: the server deletes the node once
// it has had no child and no change for ttl. It makes no parents: a parent
// made for it could be mistaken for the TTL node a recipe is keeping.
func (c *Client) CreateTTL(ctx context.Context, p string, data []byte, mode CreateMode, ttl time.Duration) (string, error) {
	if !mode.HasTTL() || ttl <= 0 {
		return "", opErr("create", p, fmt.Errorf("%w: mode %v with ttl %v", zk.ErrInvalidFlags, mode, ttl))
	}
	return c.create(ctx, p, data, mode, ttl, false)
}

// create retries a create; a retry recognises the node an earlier attempt
// made (see own.go) instead of reporting zk.ErrNodeExists for it or making
// a second sequential node.
func (c *Client) create(ctx context.Context, p string, data []byte, mode CreateMode, ttl time.Duration, parents bool) (string, error) {
	if mode.HasTTL() && ttl <= 0 {
		return "", opErr("create", p, fmt.Errorf("%w: mode %v needs a ttl (CreateTTL)", zk.ErrInvalidFlags, mode))
	}
	end := c.claims.begin()
	defer end()
	z0 := c.zxid.load()
	full := c.FullPath(p)
	var created string
	attempt := 0
	err := c.retry(ctx, func(conn zkConn) error {
		attempt++
		if attempt > 1 && mode.IsSequential() {
			own, err := c.findOwnSequential(conn, full, data, mode, z0)
			if err != nil {
				return err
			}
			if own != "" {
				created = c.RelPath(own)
				return nil
			}
		}
		var err error
		created, err = c.createOnce(conn, p, data, mode, ttl, parents)
		if attempt > 1 && !mode.IsSequential() && errors.Is(err, zk.ErrNodeExists) {
			own, ownErr := c.isOwnNode(conn, full, data, mode, z0)
			if Retryable(ownErr) {
				return ownErr
			}
			if own {
				created = p
				return nil
			}
		}
		return err
	})
	if err != nil {
		return "", opErr("create", p, err)
	}
	c.claims.add(c.FullPath(created), c.zxid.load())
	return created, nil
}

// createOnce is one create attempt; with parents it makes missing parents
// only after the create has failed with ErrNoNode, which is the rare case.
func (c *Client) createOnce(conn zkConn, p string, data []byte, mode CreateMode, ttl time.Duration, parents bool) (string, error) {
	full := c.FullPath(p)
	create := conn.Create
	switch {
	case mode == Container:
		create = conn.CreateContainer
	case mode.HasTTL():
		create = func(p string, data []byte, flags int32, acl []zk.ACL) (string, error) {
			return conn.CreateTTL(p, data, flags, acl, ttl)
		}
	}
	created, err := create(full, data, int32(mode), c.opts.acl)
	if parents && errors.Is(err, zk.ErrNoNode) {
		if err = c.mkContainers(conn, parentOf(full)); err != nil {
			return "", err
		}
		created, err = create(full, data, int32(mode), c.opts.acl)
	}
	if err != nil {
		return "", err
	}
	return c.RelPath(created), nil
}

// mkContainers creates every missing node on the server path full as a
// container, root first. A parent reaped between two steps shows up as
// ErrNoNode on the caller's next attempt.
func (c *Client) mkContainers(conn zkConn, full string) error {
	if full == "/" {
		return nil
	}
	p := ""
	for _, part := range strings.Split(strings.TrimPrefix(full, "/"), "/") {
		p += "/" + part
		if _, err := conn.CreateContainer(p, nil, zk.FlagContainer, c.opts.acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
	}
	return nil
}

// Get returns a node's data and stat.
func (c *Client) Get(ctx context.Context, p string) ([]byte, *zk.Stat, error) {
	var data []byte
	var st *zk.Stat
	err := c.retry(ctx, func(conn zkConn) (err error) {
		data, st, err = conn.Get(c.FullPath(p))
		return err
	})
	return data, st, opErr("get", p, err)
}

// GetW is Get that also sets a data watch. The watch channel gets one event;
// go-zk keeps it across reconnects and closes it with zk.EventNotWatching
// when the session ends or the Client is closed.
func (c *Client) GetW(ctx context.Context, p string) ([]byte, *zk.Stat, <-chan zk.Event, error) {
	var data []byte
	var st *zk.Stat
	var ch <-chan zk.Event
	err := c.retry(ctx, func(conn zkConn) (err error) {
		data, st, ch, err = conn.GetW(c.FullPath(p))
		return err
	})
	return data, st, ch, opErr("get", p, err)
}

// Exists returns a node's stat, or nil when it does not exist.
func (c *Client) Exists(ctx context.Context, p string) (*zk.Stat, error) {
	var st *zk.Stat
	err := c.retry(ctx, func(conn zkConn) error {
		ok, s, err := conn.Exists(c.FullPath(p))
		if ok {
			st = s
		}
		return err
	})
	return st, opErr("exists", p, err)
}

// ExistsW is Exists that also sets a watch, which fires when the node is
// created, deleted or changed (see GetW for the channel).
func (c *Client) ExistsW(ctx context.Context, p string) (*zk.Stat, <-chan zk.Event, error) {
	var st *zk.Stat
	var ch <-chan zk.Event
	err := c.retry(ctx, func(conn zkConn) error {
		ok, s, w, err := conn.ExistsW(c.FullPath(p))
		if ok {
			st = s
		}
		ch = w
		return err
	})
	return st, ch, opErr("exists", p, err)
}

// Sync makes the server this Client is connected to catch up with the
// leader on p, so that reads after it see every write acknowledged before
// it began.
func (c *Client) Sync(ctx context.Context, p string) error {
	err := c.retry(ctx, func(conn zkConn) error {
		_, err := conn.Sync(c.FullPath(p))
		return err
	})
	return opErr("sync", p, err)
}

// Children returns the names of a node's children, in the server's order.
func (c *Client) Children(ctx context.Context, p string) ([]string, error) {
	var kids []string
	err := c.retry(ctx, func(conn zkConn) (err error) {
		kids, _, err = conn.Children(c.FullPath(p))
		return err
	})
	return kids, opErr("children", p, err)
}

// ChildrenW is Children that also sets a child watch (see GetW).
func (c *Client) ChildrenW(ctx context.Context, p string) ([]string, <-chan zk.Event, error) {
	var kids []string
	var ch <-chan zk.Event
	err := c.retry(ctx, func(conn zkConn) (err error) {
		kids, _, ch, err = conn.ChildrenW(c.FullPath(p))
		return err
	})
	return kids, ch, opErr("children", p, err)
}

// Set writes a node's data if its version matches (-1 matches any).
func (c *Client) Set(ctx context.Context, p string, data []byte, version int32) (*zk.Stat, error) {
	var st *zk.Stat
	err := c.retry(ctx, func(conn zkConn) (err error) {
		st, err = conn.Set(c.FullPath(p), data, version)
		return err
	})
	return st, opErr("set", p, err)
}

// Delete deletes a node if its version matches (-1 matches any). A retry
// that finds the node gone counts as success, since the first attempt may
// have deleted it before the connection dropped.
func (c *Client) Delete(ctx context.Context, p string, version int32) error {
	attempts := 0
	err := c.retry(ctx, func(conn zkConn) error {
		attempts++
		err := conn.Delete(c.FullPath(p), version)
		if attempts > 1 && errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		return err
	})
	return opErr("delete", p, err)
}

// Multi runs ops (*zk.CreateRequest, *zk.DeleteRequest, *zk.SetDataRequest,
// *zk.CheckVersionRequest, with Client paths) as one transaction. When the
// transaction fails, the error is an *OpError naming the op that failed; it
// wraps that op's error, so errors.Is(err, zk.ErrNoNode) still matches.
// When a retry after connection loss fails because the first attempt
// committed, and the nodes prove it, Multi succeeds with the paths of the
// creates and the stats of the sets; a multi of only deletes and checks
// cannot be proved and reports the retry's failure.
func (c *Client) Multi(ctx context.Context, ops ...any) ([]zk.MultiResponse, error) {
	fixed := make([]any, len(ops))
	for i, op := range ops {
		switch o := op.(type) {
		case *zk.CreateRequest:
			cp := *o
			cp.Path = c.FullPath(o.Path)
			if cp.Acl == nil {
				cp.Acl = c.opts.acl
			}
			fixed[i] = &cp
		case *zk.DeleteRequest:
			cp := *o
			cp.Path = c.FullPath(o.Path)
			fixed[i] = &cp
		case *zk.SetDataRequest:
			cp := *o
			cp.Path = c.FullPath(o.Path)
			fixed[i] = &cp
		case *zk.CheckVersionRequest:
			cp := *o
			cp.Path = c.FullPath(o.Path)
			fixed[i] = &cp
		default:
			return nil, fmt.Errorf("multi: unsupported op %T", op)
		}
	}
	end := c.claims.begin()
	defer end()
	z0 := c.zxid.load()
	var res []zk.MultiResponse
	attempt := 0
	err := c.retry(ctx, func(conn zkConn) (err error) {
		attempt++
		res, err = conn.Multi(fixed...)
		if attempt == 1 || Retryable(err) || (err == nil && multiFailure(res) == nil) {
			return err
		}
		// The retry failed, maybe because the first attempt committed.
		done, ok, checkErr := c.multiCommitted(conn, fixed, z0)
		if Retryable(checkErr) {
			return checkErr
		}
		if ok {
			res = done
			return nil
		}
		return err
	})
	// go-zk reports a failed multi with the first op's error; the op that
	// made it fail is in the results.
	if f := multiFailure(res); f != nil {
		err = f
	}
	if err == nil {
		zxid := c.zxid.load()
		for _, r := range res {
			if r.String != "" {
				c.claims.add(r.String, zxid)
			}
		}
	}
	for i := range res {
		if res[i].String != "" {
			res[i].String = c.RelPath(res[i].String)
		}
	}
	return res, opErr("multi", fmt.Sprintf("(%d ops)", len(ops)), err)
}

// rolledBack is how go-zk reports the ops of a failed multi that did not
// fail themselves (ZooKeeper's RUNTIMEINCONSISTENCY, -2, which go-zk has no
// value for).
var rolledBack = fmt.Sprintf("unknown error: %v", zk.ErrCode(-2))

// OpError is the failure of one op of a multi: the transaction failed
// because of ops[Index].
type OpError struct {
	Index int
	Err   error
}

func (e *OpError) Error() string { return fmt.Sprintf("op %d: %v", e.Index, e.Err) }
func (e *OpError) Unwrap() error { return e.Err }

// multiFailure picks the op that made a multi fail.
func multiFailure(res []zk.MultiResponse) error {
	var first error
	for i, r := range res {
		if r.Error == nil {
			continue
		}
		if r.Error.Error() != rolledBack {
			return &OpError{Index: i, Err: r.Error}
		}
		if first == nil {
			first = &OpError{Index: i, Err: r.Error}
		}
	}
	return first
}
