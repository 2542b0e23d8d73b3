package recipes

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-zookeeper/zk"
	"github.com/google/uuid"
	"go.uber.org/zap"
)

// ProtectedPrefix is the start of every protected node name.
const ProtectedPrefix = "_c_"

// protectedPrefixLen is len("_c_") + 36 (canonical UUID) + len("-").
const protectedPrefixLen = 40

// IsProtected reports whether name starts with a protected prefix Curator
// would recognise: "_c_", a canonical UUID, "-".
func IsProtected(name string) bool {
	if len(name) < protectedPrefixLen || !strings.HasPrefix(name, ProtectedPrefix) || name[protectedPrefixLen-1] != '-' {
		return false
	}
	_, err := uuid.Parse(name[len(ProtectedPrefix) : protectedPrefixLen-1])
	return err == nil
}

// StripProtected returns name without its protected prefix, if it has one.
func StripProtected(name string) string {
	if IsProtected(name) {
		return name[protectedPrefixLen:]
	}
	return name
}

// CreateProtected creates the node p with mode, named
// <parent>/_c_<uuid>-<name> as Curator's protection mode names it (with the
// sequence number after name for sequential modes), making missing parents
// as containers. It returns the node's path.
//
// A create can succeed on the server while its reply is lost. Every retry
// therefore first looks for a child with this call's prefix and adopts it,
// unless it is an ephemeral node of an earlier session: such a node is
// deleted and a new one made. If the create finally fails, or ctx ends, a
// background search deletes whatever the lost attempts left, so a failure
// never leaves an orphan: an ephemeral one until its session is over, which
// takes it along, a persistent one until it is gone or the Client closes.
func (c *Client) CreateProtected(ctx context.Context, p string, data []byte, mode CreateMode) (string, error) {
	created, _, err := c.CreateProtectedStat(ctx, p, data, mode)
	return created, err
}

// CreateProtectedStat is CreateProtected that also returns the node's Stat
// as the create made it, from the create's own reply (see createTaps), so
// that a recipe learns its node's czxid and owner without reading it. The
// Stat is nil when the node is one a lost reply left and a retry adopted.
func (c *Client) CreateProtectedStat(ctx context.Context, p string, data []byte, mode CreateMode) (string, *zk.Stat, error) {
	created, st, _, err := c.createProtected(ctx, p, data, mode, false)
	return created, st, err
}

// CreateProtectedAndList is CreateProtectedStat that also lists the
// parent's children in the same round trip, as a sequential-node recipe
// does next: the list request goes out right behind the create, on the
// same connection, without waiting for the create's reply, and a server
// answers a session's requests in order (ZooKeeper's FIFO client order).
// The children are nil unless the listing shows the node, which proves it
// was taken after the node was made, as a listing sent after the reply
// would be.
func (c *Client) CreateProtectedAndList(ctx context.Context, p string, data []byte, mode CreateMode) (string, *zk.Stat, []string, error) {
	return c.createProtected(ctx, p, data, mode, true)
}

// createProtected is CreateProtectedAndList, which lists only with list.
func (c *Client) createProtected(ctx context.Context, p string, data []byte, mode CreateMode, list bool) (string, *zk.Stat, []string, error) {
	if mode.HasTTL() {
		return "", nil, nil, opErr("create protected", p, fmt.Errorf("%w: protected creates take no ttl mode", zk.ErrInvalidFlags))
	}
	parent := parentOf(p)
	prefix := ProtectedPrefix + uuid.NewString() + "-"
	name := joinPath(parent, prefix+path.Base(p))
	tap := c.taps.tap(c.FullPath(name))
	defer tap.end()
	var listed chan []string
	finished := make(chan struct{})
	if list {
		listed = make(chan []string, 1)
		go func() {
			var kids []string
			select {
			case <-tap.sent:
				kids, _ = c.listOnce(ctx, parent)
			case <-finished:
			}
			listed <- kids
		}()
	}
	var created string
	var st *zk.Stat
	var session int64
	var calls sync.WaitGroup
	attempt := 0
	err := c.retryCalls(ctx, &calls, func(conn zkConn) error {
		attempt++
		st = nil
		if attempt > 1 {
			found, err := c.findProtected(conn, parent, prefix)
			if err != nil {
				return err
			}
			if found != "" {
				if !mode.IsEphemeral() || conn.SessionID() == session {
					created = found
					return nil
				}
				// Made by a session that is over, or about to be: it is
				// no contender of ours, and its name is ours to reuse.
				c.log.Debug("deleting protected node of an old session", zap.String("node", found))
				if err := conn.Delete(c.FullPath(found), -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
					return err
				}
			}
		}
		session = conn.SessionID()
		var err error
		created, err = c.createOnce(conn, name, data, mode, 0, true)
		if err == nil {
			st = tap.stat(c.FullPath(created))
		}
		return err
	})
	close(finished)
	var kids []string
	if list {
		kids = <-listed
		if !slices.Contains(kids, path.Base(created)) {
			kids = nil
		}
	}
	if err != nil {
		if attempt > 0 && (Retryable(err) || ctx.Err() != nil) {
			if !mode.IsEphemeral() {
				session = anySession
			}
			c.findAndDeleteInBackground(parent, prefix, session, &calls)
		}
		return "", nil, nil, opErr("create protected", name, err)
	}
	return created, st, kids, nil
}

// listOnce lists the children of parent in one attempt.
func (c *Client) listOnce(ctx context.Context, parent string) ([]string, error) {
	conn, err := c.active()
	if err != nil {
		return nil, err
	}
	kids, _, err := ctxConn{zkConn: conn, ctx: ctx}.Children(c.FullPath(parent))
	return kids, err
}

func joinPath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

// findProtected returns the path of parent's child that starts with prefix,
// or "" when there is none.
func (c *Client) findProtected(conn zkConn, parent, prefix string) (string, error) {
	kids, _, err := conn.Children(c.FullPath(parent))
	if errors.Is(err, zk.ErrNoNode) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	for _, k := range kids {
		if strings.HasPrefix(k, prefix) {
			return joinPath(parent, k), nil
		}
	}
	return "", nil
}

// DeleteGuaranteed deletes p like Delete; if that fails, it keeps retrying
// in the background until the node is gone or the Client is closed, or, for
// an ephemeral node, until the session that was current at the call is over
// (taking its ephemeral nodes with it). The error is that of the foreground
// attempt.
func (c *Client) DeleteGuaranteed(ctx context.Context, p string) error {
	session := c.SessionID()
	err := c.Delete(ctx, p, -1)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil && !errors.Is(err, ErrClosed) {
		c.deleteInBackground(p, session)
	}
	return err
}

// DeleteInBackground deletes p without blocking the caller: a background
// task retries until the node is gone or the Client is closed, or, for an
// ephemeral node, until the current session is over (taking its ephemeral
// nodes with it). It is how a recipe gives up a node when its caller's
// context has already ended.
func (c *Client) DeleteInBackground(p string) { c.deleteInBackground(p, c.SessionID()) }

// deleteInBackground keeps deleting p until it is gone, has children or
// the Client is closed. Once session is no longer the current one, an ephemeral node at p
// is either going with it or someone else's, so only a persistent one is
// still deleted.
func (c *Client) deleteInBackground(p string, session int64) {
	c.inBackground("delete", p, anySession, func(ctx context.Context) error {
		if c.SessionID() != session {
			st, err := c.Exists(ctx, p)
			if err != nil || st == nil || st.EphemeralOwner != 0 {
				return err
			}
		}
		err := c.Delete(ctx, p, -1)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if errors.Is(err, zk.ErrNotEmpty) {
			// Someone builds on it now: no longer ours to take away.
			c.log.Info("not deleting a node that has children", zap.String("path", p))
			return nil
		}
		return err
	})
}

// undoLateCreate deletes the node of a create its caller gave up on, once
// the call has returned, if it made one (see ctxConn.create).
func (c *Client) undoLateCreate(landed func() (string, error), session int64) {
	c.inBackground("undo a create given up on", "", anySession, func(context.Context) error {
		if full, err := landed(); err == nil {
			c.deleteInBackground(c.RelPath(full), session)
		}
		return nil
	})
}

// findAndDeleteInBackground deletes whatever child of parent carries prefix,
// as Curator's FindAndDeleteProtectedNodeInBackground does, while session is
// current (see inBackground). It searches only once the go-zk calls counted
// in calls have returned: a create given up on may still be waiting in go-zk
// to be sent, and make its node after a search that came first. Those calls
// end at the latest when Close closes their connection.
func (c *Client) findAndDeleteInBackground(parent, prefix string, session int64, calls *sync.WaitGroup) {
	c.inBackground("find and delete", parent+"/"+prefix, session, func(ctx context.Context) error {
		calls.Wait()
		var found string
		err := c.retry(ctx, func(conn zkConn) (err error) {
			found, err = c.findProtected(conn, parent, prefix)
			return err
		})
		if err != nil || found == "" {
			return err
		}
		err = c.Delete(ctx, found, -1)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		return err
	})
}

// anySession ties a background task to no session.
const anySession = 0

// inBackground runs f until it succeeds or the Client is closed, or, unless
// session is anySession, the session is no longer the current one: the
// task then concerns ephemeral nodes that go with their session. It backs
// off between tries.
func (c *Client) inBackground(what, p string, session int64, f func(ctx context.Context) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.closed:
		return
	default:
	}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-c.closed:
				cancel()
			case <-ctx.Done():
			}
		}()
		b := backoff.NewExponentialBackOff(
			backoff.WithInitialInterval(100*time.Millisecond),
			backoff.WithMaxInterval(5*time.Second),
			backoff.WithMaxElapsedTime(0),
		)
		for {
			err := f(ctx)
			if err == nil {
				return
			}
			if ctx.Err() != nil || (session != anySession && c.SessionID() != session) {
				return
			}
			c.log.Debug("background "+what+" failed; retrying", zap.String("path", p), zap.Error(err))
			select {
			case <-time.After(b.NextBackOff()):
			case <-ctx.Done():
				return
			}
		}
	}()
}
