package node

import (
	"context"
	"errors"
	"path"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zookit/zookit/recipes"
)

// Option configures a Persistent node.
type Option func(*options)

type options struct {
	protected bool
	ttl       time.Duration
}

// WithProtection names the node as Curator's protection mode does
// (<parent>/_c_<uuid>-<name>), so that a create whose reply was lost is
// found again rather than made twice.
func WithProtection() Option { return func(o *options) { o.protected = true } }

// WithTTL is the TTL of a node in a TTL mode (recipes.PersistentWithTTL,
// recipes.PersistentSequentialWithTTL); the server deletes the node once it
// has had no child and no change for ttl.
func WithTTL(ttl time.Duration) Option { return func(o *options) { o.ttl = ttl } }

// Persistent is Curator's PersistentNode.
type Persistent struct {
	c    *recipes.Client
	path string
	mode recipes.CreateMode
	opts options

	ctx     context.Context // ends on Close
	cancel  context.CancelFunc
	done    chan struct{}
	created chan struct{} // closed at the first create

	mu     sync.Mutex
	data   []byte
	actual string // the node's path once made
}

// NewPersistent starts keeping the node at path with data in mode. It is
// made in the background; WaitForInitialCreate waits for it.
func NewPersistent(c *recipes.Client, path string, data []byte, mode recipes.CreateMode, opts ...Option) *Persistent {
	ctx, cancel := context.WithCancel(context.Background())
	n := &Persistent{c: c, path: path, mode: mode, data: data, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), created: make(chan struct{})}
	for _, f := range opts {
		f(&n.opts)
	}
	go n.run()
	return n
}

// WaitForInitialCreate waits until the node has been made once, or ctx
// ends.
func (n *Persistent) WaitForInitialCreate(ctx context.Context) error {
	select {
	case <-n.created:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Path is the node's path, "" until it has been made.
func (n *Persistent) Path() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.actual
}

// SetData changes the node's data, now if it exists and whenever it is
// made again.
func (n *Persistent) SetData(ctx context.Context, data []byte) error {
	n.mu.Lock()
	n.data = data
	actual := n.actual
	n.mu.Unlock()
	if actual == "" {
		return nil
	}
	_, err := n.c.Set(ctx, actual, data, -1)
	if errors.Is(err, zk.ErrNoNode) {
		return nil // gone: the keeper makes it again with data
	}
	return err
}

// Close stops keeping the node and deletes it (in the background if the
// server cannot be reached before ctx ends). Safe to call twice.
func (n *Persistent) Close(ctx context.Context) error {
	n.cancel()
	<-n.done
	if p := n.Path(); p != "" {
		return n.c.DeleteGuaranteed(ctx, p)
	}
	return nil
}

// run makes the node, watches it, and makes it again when it goes.
func (n *Persistent) run() {
	defer close(n.done)
	pause := backoff.NewExponentialBackOff(backoff.WithMaxInterval(5*time.Second), backoff.WithMaxElapsedTime(0))
	for n.ctx.Err() == nil {
		gone, err := n.ensure()
		if err == nil {
			pause.Reset()
			select {
			case <-gone:
			case <-n.ctx.Done():
			}
			continue
		}
		if n.ctx.Err() != nil {
			return
		}
		n.c.Logger().Warn("persistent node", zap.String("path", n.path), zap.Error(err))
		if n.c.AwaitConnected(n.ctx) != nil {
			return
		}
		if !recipes.Retryable(err) {
			select {
			case <-time.After(pause.NextBackOff()):
			case <-n.ctx.Done():
			}
		}
	}
}

// ensure makes the node if it is missing and returns a channel that fires
// when it changes or its watch is lost with the session.
func (n *Persistent) ensure() (<-chan zk.Event, error) {
	for {
		n.mu.Lock()
		actual, data := n.actual, n.data
		n.mu.Unlock()
		if actual != "" {
			st, ch, err := n.c.ExistsW(n.ctx, actual)
			if err != nil {
				return nil, err
			}
			if st != nil {
				return ch, nil
			}
		}
		made, err := n.create(actual, data)
		if err != nil {
			return nil, err
		}
		n.mu.Lock()
		if n.actual == "" {
			close(n.created)
		}
		n.actual = made
		n.mu.Unlock()
	}
}

// create makes the node: the first time as configured, afterwards at the
// path it got, in the mode's non-sequential form. A node already there is
// adopted and given our data.
func (n *Persistent) create(actual string, data []byte) (string, error) {
	var made string
	var err error
	switch {
	case actual != "":
		made, err = n.make(actual, data, fixed(n.mode))
	case n.opts.protected:
		made, err = n.c.CreateProtected(n.ctx, n.path, data, n.mode)
	default:
		made, err = n.make(n.path, data, n.mode)
	}
	if errors.Is(err, zk.ErrNodeExists) {
		made = actual
		if made == "" {
			made = n.path
		}
		// A node gone again before it took our data is made on the next
		// look, which finds it missing.
		if _, err = n.c.Set(n.ctx, made, data, -1); errors.Is(err, zk.ErrNoNode) {
			err = nil
		}
	}
	return made, err
}

// make creates the node at p, parents first as containers.
func (n *Persistent) make(p string, data []byte, mode recipes.CreateMode) (string, error) {
	if !mode.HasTTL() {
		return n.c.CreateWithParents(n.ctx, p, data, mode)
	}
	made, err := n.c.CreateTTL(n.ctx, p, data, mode, n.opts.ttl)
	if errors.Is(err, zk.ErrNoNode) {
		_, err = n.c.CreateWithParents(n.ctx, path.Dir(p), nil, recipes.Container)
		if err == nil || errors.Is(err, zk.ErrNodeExists) {
			made, err = n.c.CreateTTL(n.ctx, p, data, mode, n.opts.ttl)
		}
	}
	return made, err
}

// fixed is the non-sequential form of a mode.
func fixed(m recipes.CreateMode) recipes.CreateMode {
	switch m {
	case recipes.EphemeralSequential:
		return recipes.Ephemeral
	case recipes.PersistentSequential:
		return recipes.Persistent
	case recipes.PersistentSequentialWithTTL:
		return recipes.PersistentWithTTL
	}
	return m
}
