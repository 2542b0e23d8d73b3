package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zookit/zookit/internal/fanout"
	"github.com/zookit/zookit/recipes"
)

const (
	// retryDelay spaces the retries of reads that failed while the client
	// looked connected; reads that fail while it is not wait for
	// Reconnected instead.
	retryDelay = time.Second
	// rebuildJitter spreads the rebuilds of caches whose sessions ended
	// together (a server restart), so that they do not all read their
	// subtrees at the same moment.
	rebuildJitter = 250 * time.Millisecond
)

// ErrClosed is returned by AwaitInitialized when the cache or its Client
// was closed first.
var ErrClosed = fmt.Errorf("cache: closed: %w", recipes.ErrClosed)

// Option configures a TreeCache.
type Option func(*options)

type options struct {
	maxDepth int // negative: no limit
}

// WithMaxDepth caches the root and its descendants down to depth levels
// below it: 0 is the root alone, 1 the root and its children. The default
// is no limit.
func WithMaxDepth(depth int) Option {
	return func(o *options) { o.maxDepth = depth }
}

// TreeCache keeps a local copy of the subtree at a root path, which need
// not exist, and reports every change through Events. It is safe for
// concurrent use. Close it when done.
type TreeCache struct {
	c      *recipes.Client
	root   string
	opts   options
	log    *zap.Logger
	cancel context.CancelFunc
	bg     sync.WaitGroup
	inbox  *inbox
	mux    *watchMux
	events *fanout.Fanout[Event]
	once   sync.Once
	inited chan struct{} // closed at the first Initialized
	closed chan struct{} // closed by Close

	mu    sync.Mutex
	nodes map[string]*entry
	ready bool // the content is a complete read (Initialized was sent and no rebuild runs)

	// The rest belongs to the run goroutine alone; it also writes nodes,
	// under mu, so it may read them without.
	epoch    uint64 // counts sessions; older watches are ignored
	watched  map[watchID]bool
	queue    []*task
	pending  map[taskKey]*task
	failed   []*task
	loading  bool
	session  int64
	lost     bool
	retrying *time.Timer
	rebuild  *time.Timer
}

type entry struct {
	node     Node
	children map[string]struct{}
}

// watchID is a watch's path and kind, without the epoch.
type watchID struct {
	path string
	kind watchKind
}

// taskKey is a read the cache has to do: a node's data, or its children.
type taskKey struct {
	path     string
	children bool
}

// task is a queued read; full also reads everything below the node, as on
// a start or a rebuild, rather than only what is new.
type task struct {
	taskKey
	full bool
}

// NewTreeCache starts caching the subtree at root. Its first read runs in
// the background; AwaitInitialized waits for it. The cache never creates
// nodes: a missing root is watched until it appears.
func NewTreeCache(c *recipes.Client, root string, opts ...Option) *TreeCache {
	o := options{maxDepth: -1}
	for _, f := range opts {
		f(&o)
	}
	return newTreeCache(c, root, o)
}

func newTreeCache(c *recipes.Client, root string, o options) *TreeCache {
	ctx, cancel := context.WithCancel(context.Background())
	t := &TreeCache{
		c:       c,
		root:    root,
		opts:    o,
		log:     c.Logger().With(zap.String("cache", root)),
		cancel:  cancel,
		inbox:   newInbox(),
		events:  fanout.New[Event](),
		inited:  make(chan struct{}),
		closed:  make(chan struct{}),
		nodes:   map[string]*entry{},
		watched: map[watchID]bool{},
		pending: map[taskKey]*task{},
	}
	t.mux = newWatchMux(func(f fired) { t.inbox.push(msg{fired: &f}) })
	t.bg.Add(2)
	go func() {
		defer t.bg.Done()
		// go-zk does not wake a watch on a plain disconnect, so the
		// connection states come from the Client's own stream.
		for st := range c.Listen(ctx) {
			t.inbox.push(msg{state: st})
		}
	}()
	go t.run(ctx)
	return t
}

// Get returns the cached node at path.
func (t *TreeCache) Get(path string) (Node, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.nodes[path]
	if !ok {
		return Node{}, false
	}
	return e.node, true
}

// Children returns the sorted names of the cached children of path, and
// whether path is cached.
func (t *TreeCache) Children(path string) ([]string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.nodes[path]
	if !ok {
		return nil, false
	}
	names := make([]string, 0, len(e.children))
	for n := range e.children {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, true
}

// Snapshot returns every cached node, sorted by path, so that a parent
// comes before its children.
func (t *TreeCache) Snapshot() []Node {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.snapshotLocked()
}

func (t *TreeCache) snapshotLocked() []Node {
	out := make([]Node, 0, len(t.nodes))
	for _, e := range t.nodes {
		out = append(out, e.node)
	}
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// Events returns a channel that first carries an Added event for every
// cached node (parents first) and Initialized if the content is complete,
// then every change, in order and without drops, until ctx is done or the
// cache is closed. Applying the events in order to an empty map gives the
// cache's content. A slow reader delays only itself.
func (t *TreeCache) Events(ctx context.Context) <-chan Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	nodes := t.snapshotLocked()
	first := make([]Event, 0, len(nodes)+1)
	for _, n := range nodes {
		first = append(first, Event{Type: Added, Node: n})
	}
	if t.ready {
		first = append(first, Event{Type: Initialized})
	}
	return t.events.Subscribe(ctx, first...)
}

// AwaitInitialized waits until the cache has read its subtree once. It
// fails with ErrClosed if the cache or its Client is closed first.
func (t *TreeCache) AwaitInitialized(ctx context.Context) error {
	select {
	case <-t.inited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.closed:
		return ErrClosed
	case <-t.c.Closed():
		return ErrClosed
	}
}

// Close stops the cache and waits for its goroutines; Events channels are
// closed. The server keeps the cache's pending watches until they fire or
// the session ends, because go-zk cannot remove watches (no removeWatches);
// they cost the server a little memory, and the client nothing once fired.
func (t *TreeCache) Close() {
	t.once.Do(func() {
		close(t.closed)
		t.cancel()
		t.bg.Wait()
		t.mux.close()
		t.events.Stop()
		for _, tm := range []*time.Timer{t.retrying, t.rebuild} {
			if tm != nil {
				tm.Stop()
			}
		}
	})
}

// msg is one input of the run goroutine: a fired watch, a connection
// state, or a timer.
type msg struct {
	fired   *fired
	state   recipes.State
	retry   bool
	rebuild bool
}

// inbox hands messages to the run goroutine without ever blocking the
// sender, which may be go-zk's watch delivery or a timer.
type inbox struct {
	mu    sync.Mutex
	items []msg
	wake  chan struct{}
}

func newInbox() *inbox { return &inbox{wake: make(chan struct{}, 1)} }

func (q *inbox) push(m msg) {
	q.mu.Lock()
	q.items = append(q.items, m)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *inbox) take() []msg {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// run is the one goroutine that reads the server and changes the cache,
// so that the events of a path come in the order of its changes. It reads
// one node at a time: the work of a rebuild is bounded by the subtree and
// never floods the server.
func (t *TreeCache) run(ctx context.Context) {
	defer t.bg.Done()
	t.session = t.c.SessionID()
	t.startLoad()
	first := true
	for {
		for _, m := range t.inbox.take() {
			t.handle(m, first)
			first = first && m.state == 0
		}
		if ctx.Err() != nil {
			return
		}
		if len(t.queue) > 0 {
			if !t.step(ctx) {
				return
			}
			continue
		}
		if t.loading && len(t.failed) == 0 {
			t.loading = false
			t.mu.Lock()
			t.ready = true
			t.events.Publish(Event{Type: Initialized})
			t.mu.Unlock()
			select {
			case <-t.inited:
			default:
				close(t.inited)
			}
		}
		select {
		case <-t.inbox.wake:
		case <-ctx.Done():
			return
		}
	}
}

func (t *TreeCache) startLoad() {
	t.loading = true
	t.mu.Lock()
	t.ready = false
	t.mu.Unlock()
	t.enqueue(t.root, false, true)
}

func (t *TreeCache) enqueue(path string, children, full bool) {
	k := taskKey{path, children}
	if q, ok := t.pending[k]; ok {
		q.full = q.full || full
		return
	}
	q := &task{k, full}
	t.pending[k] = q
	t.queue = append(t.queue, q)
}

// handle reacts to one message; first is true for the Client's state as
// it was when the cache started, which is no change to report.
func (t *TreeCache) handle(m msg, first bool) {
	switch {
	case m.fired != nil:
		t.onWatch(*m.fired)
	case m.retry:
		t.retrying = nil
		if t.c.State().IsConnected() {
			t.requeueFailed()
		}
	case m.rebuild:
		t.rebuild = nil
		t.startRebuild()
	case first:
		t.lost = m.state == recipes.Lost
	case m.state == recipes.Suspended:
		t.publish(Event{Type: Suspended})
	case m.state == recipes.Lost:
		t.lost = true
		t.publish(Event{Type: Lost})
	case m.state == recipes.Reconnected:
		t.publish(Event{Type: Reconnected})
		if t.lost || t.c.SessionID() != t.session {
			// The watches died with the session: read everything again.
			if t.rebuild != nil {
				t.rebuild.Stop()
			}
			t.rebuild = time.AfterFunc(rand.N(rebuildJitter), func() { t.inbox.push(msg{rebuild: true}) })
			return
		}
		// go-zk has set the watches again (setWatches), so the server
		// reports what changed while we were away; only the reads that
		// failed meanwhile are left to do.
		t.requeueFailed()
	}
}

func (t *TreeCache) publish(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events.Publish(e)
}

// startRebuild reads the whole subtree again in a new session: a new
// epoch disowns the old session's watches, and the full read emits the
// differences, then Initialized.
func (t *TreeCache) startRebuild() {
	t.epoch++
	t.watched = map[watchID]bool{}
	t.queue, t.pending, t.failed = nil, map[taskKey]*task{}, nil
	t.session, t.lost = t.c.SessionID(), false
	t.startLoad()
}

func (t *TreeCache) requeueFailed() {
	failed := t.failed
	t.failed = nil
	for _, q := range failed {
		t.enqueue(q.path, q.children, q.full)
	}
}

func (t *TreeCache) onWatch(f fired) {
	if f.key.epoch != t.epoch {
		return
	}
	// Deleted, not set false, so that the map holds only pending watches
	// and does not grow with every path that ever came and went.
	delete(t.watched, watchID{f.key.path, f.key.kind})
	p := f.key.path
	switch {
	case f.ev.Type == zk.EventNotWatching:
		// The session ended or the connection was closed: the rebuild
		// that follows Reconnected, or Close, takes over.
	case f.key.kind == existsWatch:
		t.enqueue(p, false, true)
	case f.key.kind == childWatch && f.ev.Type == zk.EventNodeChildrenChanged:
		t.enqueue(p, true, false)
	default:
		t.enqueue(p, false, false)
	}
}

// step does the next read. It reports false once the Client is closed,
// when nothing more can be read.
func (t *TreeCache) step(ctx context.Context) bool {
	q := t.queue[0]
	t.queue[0] = nil
	t.queue = t.queue[1:]
	delete(t.pending, q.taskKey)
	var err error
	if q.children {
		err = t.readChildren(ctx, q)
	} else {
		err = t.readData(ctx, q)
	}
	switch {
	case err == nil || ctx.Err() != nil:
	case errors.Is(err, recipes.ErrClosed):
		return false
	case !recipes.Retryable(err):
		// Such as NOAUTH: reading again would fail again. The node stays
		// as last read (or out of the cache).
		t.log.Warn("cache cannot read a node; leaving it", zap.String("path", q.path), zap.Error(err))
	default:
		t.log.Debug("cache read failed; will retry", zap.String("path", q.path), zap.Error(err))
		t.failed = append(t.failed, q)
		if t.retrying == nil {
			t.retrying = time.AfterFunc(retryDelay, func() { t.inbox.push(msg{retry: true}) })
		}
	}
	return true
}

// readData reads a node with a data watch (getData, not exists: a watch
// set by exists on a missing node stays on the server until the node is
// made, which for a node that never returns is a leak).
func (t *TreeCache) readData(ctx context.Context, q *task) error {
	p := q.path
	if p != t.root {
		if _, ok := t.nodes[parentOf(p)]; !ok {
			return nil // the parent left; its next read decides
		}
	}
	id := watchID{p, dataWatch}
	var data []byte
	var st *zk.Stat
	var err error
	if t.watched[id] {
		data, st, err = t.c.Get(ctx, p)
	} else {
		var ch <-chan zk.Event
		data, st, ch, err = t.c.GetW(ctx, p)
		if err == nil {
			t.watch(ch, id)
		}
	}
	if errors.Is(err, zk.ErrNoNode) {
		t.mu.Lock()
		t.removeLocked(p)
		t.mu.Unlock()
		if p == t.root {
			return t.watchRoot(ctx)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if t.store(p, data, st) {
		q.full = true
	}
	if q.full && t.below(p) {
		t.enqueue(p, true, true)
	}
	return nil
}

// watchRoot waits for a missing root to appear. Only exists can watch a
// missing node; the one watch it leaves if the root never comes is the
// price of not creating the root.
func (t *TreeCache) watchRoot(ctx context.Context) error {
	id := watchID{t.root, existsWatch}
	if t.watched[id] {
		return nil
	}
	st, ch, err := t.c.ExistsW(ctx, t.root)
	if err != nil {
		return err
	}
	t.watch(ch, id)
	if st != nil {
		t.enqueue(t.root, false, true) // made meanwhile
	}
	return nil
}

func (t *TreeCache) watch(ch <-chan zk.Event, id watchID) {
	t.watched[id] = true
	t.mux.watch(ch, watchKey{id.path, id.kind, t.epoch})
}

// store puts what a read found into the cache and reports whether the
// node is new to it.
func (t *TreeCache) store(p string, data []byte, st *zk.Stat) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := Node{Path: p, Data: data, Stat: *st}
	e := t.nodes[p]
	if e != nil && e.node.Stat.Czxid != st.Czxid {
		// Deleted and made again between two reads.
		t.removeLocked(p)
		e = nil
	}
	switch {
	case e == nil:
		t.nodes[p] = &entry{node: n, children: map[string]struct{}{}}
		if p != t.root {
			t.nodes[parentOf(p)].children[baseOf(p)] = struct{}{}
		}
		t.events.Publish(Event{Type: Added, Node: n})
		return true
	case e.node.Stat.Version != st.Version:
		e.node = n
		t.events.Publish(Event{Type: Updated, Node: n})
	default:
		e.node = n
	}
	return false
}

func (t *TreeCache) readChildren(ctx context.Context, q *task) error {
	p := q.path
	e, ok := t.nodes[p]
	if !ok || !t.below(p) {
		return nil
	}
	id := watchID{p, childWatch}
	var names []string
	var err error
	if t.watched[id] {
		names, err = t.c.Children(ctx, p)
	} else {
		var ch <-chan zk.Event
		names, ch, err = t.c.ChildrenW(ctx, p)
		if err == nil {
			t.watch(ch, id)
		}
	}
	if errors.Is(err, zk.ErrNoNode) {
		t.enqueue(p, false, false)
		return nil
	}
	if err != nil {
		return err
	}
	listed := make(map[string]struct{}, len(names))
	for _, name := range names {
		listed[name] = struct{}{}
		if _, known := e.children[name]; q.full || !known {
			t.enqueue(childOf(p, name), false, q.full)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for name := range e.children {
		if _, ok := listed[name]; !ok {
			t.removeLocked(childOf(p, name))
		}
	}
	return nil
}

// removeLocked drops p and everything below it, children first as the
// server deletes them.
func (t *TreeCache) removeLocked(p string) {
	e, ok := t.nodes[p]
	if !ok {
		return
	}
	for name := range e.children {
		t.removeLocked(childOf(p, name))
	}
	delete(t.nodes, p)
	if p != t.root {
		if parent, ok := t.nodes[parentOf(p)]; ok {
			delete(parent.children, baseOf(p))
		}
	}
	t.events.Publish(Event{Type: Removed, Node: e.node})
}

// below reports whether p's children are within the cache's depth.
func (t *TreeCache) below(p string) bool {
	if t.opts.maxDepth < 0 {
		return true
	}
	rest := p[len(t.root):]
	if t.root == "/" {
		rest = p
	}
	if p == t.root {
		rest = ""
	}
	return strings.Count(rest, "/") < t.opts.maxDepth
}

func parentOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i == 0 {
		return "/"
	}
	return p[:i]
}

func baseOf(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

func childOf(p, name string) string {
	if p == "/" {
		return "/" + name
	}
	return p + "/" + name
}
