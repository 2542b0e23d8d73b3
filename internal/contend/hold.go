package contend

import (
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

// ErrNotHeld is the error of a guarded write whose node is gone or was
// released: the write was not made because the lock or leadership it was
// guarded by is no longer held. It is distinct from the zk.ErrNoNode of the
// caller's own ops.
var ErrNotHeld = errors.New("not held")

// Policy says when a Hold stops being trusted, and what else it watches.
type Policy struct {
	// Tolerance is how long the connection may stay suspended before Done
	// closes; 0 closes it on the first Suspended (Curator's standard error
	// policy). It is capped at a quarter of the session timeout: a client
	// learns of a dead connection two thirds of the timeout after it last
	// heard from the server, and the server may expire the session, and so
	// elect another holder, a whole timeout after it last heard from the
	// client, which can be a round trip earlier. A third would leave no
	// margin for that round trip, nor for the events' delivery; a quarter
	// leaves a twelfth of the timeout.
	Tolerance time.Duration
	// OnData, when set, is called with the node's data when the hold is
	// taken and whenever it changes (Curator's revocation requests).
	OnData func(data []byte)
}

// A Hold is a node that has won: a lock lease or a leadership.
type Hold struct {
	c     *recipes.Client
	node  string // "" for a combined Hold
	czxid int64
	parts []*Hold

	done     chan struct{}
	doneOnce sync.Once
	stop     chan struct{}
	stopOnce sync.Once
	// watchWanted is closed by the first Done, which is when monitor sets
	// the node's watch if the acquisition did not.
	watchWanted chan struct{}
	wantOnce    sync.Once
}

func newHold(c *recipes.Client, node string) *Hold {
	return &Hold{c: c, node: node, done: make(chan struct{}), stop: make(chan struct{}), watchWanted: make(chan struct{})}
}

// Take makes the Hold of node, which has just won. It reads the node with a
// watch and checks that the current session owns it (Curator 5.7's fix for
// CURATOR-696: a node whose session ended while the client was away is not
// ours, however it sorts). ErrMissing means the node is gone or not ours.
func Take(ctx context.Context, c *recipes.Client, node string, p Policy) (*Hold, error) {
	session := c.SessionID()
	data, st, ch, err := c.GetW(ctx, node)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, ErrMissing
	}
	if err != nil {
		return nil, err
	}
	if st.EphemeralOwner != session || session == 0 {
		return nil, ErrMissing
	}
	h := newHold(c, node)
	h.czxid = st.Czxid
	if p.OnData != nil {
		p.OnData(data)
	}
	go h.monitor(session, ch, p)
	return h, nil
}

// takeCreated is Take for a node whose Stat its create returned, which
// saves reading the node again, the round trip Curator does not make
// either. The Stat gives the czxid and the owner. Wait's last listing,
// made after the create, showed the node; if the current session is still
// the owner, the listing was made in that session (sessions do not come
// back), so the node was there and the session's when it won, which is
// what Take's read proves. The watch that closes Done when the node goes
// is set by monitor once Done is first called, off the acquirer's path; a
// node gone before then fails that read, which closes Done as well.
func takeCreated(c *recipes.Client, node string, st *zk.Stat, p Policy) (*Hold, error) {
	session := c.SessionID()
	if st.EphemeralOwner != session || session == 0 {
		return nil, ErrMissing
	}
	h := newHold(c, node)
	h.czxid = st.Czxid
	go h.monitor(session, nil, p)
	return h, nil
}

// Combine makes one Hold of several (a MultiLock's): Done closes when any
// part's does, Guard checks every part's node through the first part's
// Client, Fence is the largest, and Release releases the parts in reverse
// order. parts must not be empty.
func Combine(parts []*Hold) *Hold {
	h := newHold(parts[0].c, "")
	h.parts = parts
	go func() {
		defer h.closeDone()
		cases := []<-chan struct{}{h.stop}
		for _, p := range parts {
			cases = append(cases, p.Done())
		}
		waitAny(cases)
	}()
	return h
}

// Path is the node, or "" for a combined Hold.
func (h *Hold) Path() string { return h.node }

// Done is closed when the Hold can no longer be trusted (the connection
// has been suspended past the tolerance, the session is lost, the node was
// deleted) or was released. Unless the acquisition read the node, the
// first call sets the watch that tells of its deletion, so that a Hold
// nobody watches costs no read, as a Curator lock makes none; a node
// already gone by then closes Done at once.
func (h *Hold) Done() <-chan struct{} {
	h.wantOnce.Do(func() { close(h.watchWanted) })
	return h.done
}

// Fence is a fencing token: the zxid that created the node. Each new
// holder's token is larger than every earlier holder's, so a resource that
// remembers the largest token it has seen can refuse a stale holder. For a
// combined Hold it is the largest of its parts'.
func (h *Hold) Fence() int64 {
	f := h.czxid
	for _, p := range h.parts {
		f = max(f, p.Fence())
	}
	return f
}

// Guard runs ops (go-zk multi ops with Client paths) in one transaction
// that also checks every node of the Hold still exists, so the writes
// happen only while it is held. The responses are those of ops. When a node
// is gone the error matches ErrNotHeld.
func (h *Hold) Guard(ctx context.Context, ops ...any) ([]zk.MultiResponse, error) {
	if h.released() {
		return nil, fmt.Errorf("guarded write: %w: released", ErrNotHeld)
	}
	nodes := h.nodes()
	all := make([]any, 0, len(nodes)+len(ops))
	for _, n := range nodes {
		all = append(all, &zk.CheckVersionRequest{Path: n, Version: -1})
	}
	res, err := h.c.Multi(ctx, append(all, ops...)...)
	if len(res) >= len(nodes) {
		res = res[len(nodes):]
	}
	var op *recipes.OpError
	switch {
	case errors.As(err, &op) && op.Index < len(nodes):
		return res, fmt.Errorf("guarded write: %w: %s is gone", ErrNotHeld, nodes[op.Index])
	case errors.As(err, &op):
		// Report the caller's op by its own index.
		return res, fmt.Errorf("guarded write: %w", &recipes.OpError{Index: op.Index - len(nodes), Err: op.Err})
	case err != nil:
		return res, fmt.Errorf("guarded write: %w", err)
	}
	return res, nil
}

// Release stops trusting h and deletes its node (its parts' nodes, in
// reverse order), retrying in the background when the delete fails, so the
// error is informational. Safe to call more than once; only the first call
// deletes. It is a function, not a method, so that the types embedding a
// Hold (a lease, a leadership) keep their own ways of letting go.
func Release(ctx context.Context, h *Hold) error {
	first := false
	h.stopOnce.Do(func() { first = true; close(h.stop) })
	if !first {
		return nil
	}
	h.closeDone()
	if h.node != "" {
		return h.c.DeleteGuaranteed(ctx, h.node)
	}
	var errs []error
	for _, p := range slices.Backward(h.parts) {
		if err := Release(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (h *Hold) released() bool {
	select {
	case <-h.stop:
		return true
	default:
		return false
	}
}

func (h *Hold) nodes() []string {
	if h.node != "" {
		return []string{h.node}
	}
	var ns []string
	for _, p := range h.parts {
		ns = append(ns, p.nodes()...)
	}
	return ns
}

func (h *Hold) closeDone() { h.doneOnce.Do(func() { close(h.done) }) }

// monitor closes Done when the connection has been suspended too long, the
// session is lost or replaced, the node goes away, or the Hold is released,
// and re-arms the node's data watch for OnData. A nil node makes it set
// the watch once Done is first called.
func (h *Hold) monitor(session int64, node <-chan zk.Event, p Policy) {
	defer h.closeDone()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-h.stop:
		case <-h.c.Closed():
		case <-ctx.Done():
		}
		cancel()
	}()
	tolerance := min(p.Tolerance, h.c.SessionTimeout()/4)
	states := h.c.Listen(ctx)
	var timeout <-chan time.Time
	log := h.c.Logger().With(zap.String("node", h.node))
	var wanted <-chan struct{}
	var watched <-chan watch
	if node == nil {
		wanted = h.watchWanted
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-wanted:
			wanted, watched = nil, h.watch(ctx)
		case w := <-watched:
			if w.err != nil {
				if ctx.Err() == nil {
					log.Warn("cannot watch the node; no longer trusted", zap.Error(w.err))
				}
				return
			}
			watched, node = nil, w.ch
		case st, ok := <-states:
			if !ok {
				return
			}
			switch {
			case st == recipes.Lost:
				log.Warn("session lost; node no longer held")
				return
			case st == recipes.Suspended && tolerance <= 0:
				log.Warn("connection suspended; node no longer trusted")
				return
			case st == recipes.Suspended:
				timeout = time.After(tolerance)
			case st.IsConnected():
				if h.c.SessionID() != session {
					return
				}
				timeout = nil
			}
		case <-timeout:
			log.Warn("connection suspended beyond tolerance; node no longer trusted")
			return
		case ev := <-node:
			if ev.Type != zk.EventNodeDataChanged {
				return
			}
			data, _, ch, err := h.c.GetW(ctx, h.node)
			if err != nil {
				return
			}
			node = ch
			if p.OnData != nil {
				p.OnData(data)
			}
		}
	}
}

// watch is the result of setting the node's watch.
type watch struct {
	ch  <-chan zk.Event
	err error
}

// watch sets a data watch on the node, in the background so that the
// monitor goes on following the connection meanwhile. getData, not exists,
// leaves no watch behind on a node already gone.
func (h *Hold) watch(ctx context.Context) <-chan watch {
	out := make(chan watch, 1)
	go func() {
		_, _, ch, err := h.c.GetW(ctx, h.node)
		out <- watch{ch, err}
	}()
	return out
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
