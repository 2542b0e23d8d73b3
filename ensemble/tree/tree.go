package tree

import (
	"cmp"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/tidwall/btree"

	"github.com/zookit/zookit/ensemble/proto"
)

const (
	procPath   = "/zookeeper"
	quotaPath  = "/zookeeper/quota"
	configPath = "/zookeeper/config"

	// containerOwner and the TTL encoding are EphemeralType's.
	containerOwner = int64(-1 << 63)
	extendedMask   = int64(-1 << 56) // 0xff00000000000000
	reservedMask   = int64(0x00ffff0000000000)
	ttlValueMask   = ^(extendedMask | reservedMask)
	maxTTL         = int64(0xFFFFFFFFFF)
)

// Watcher is one client connection's watch endpoint. Notify and Auth are
// called with the tree lock held, so they must not block and must not call
// back into the Tree; Notify queues the event. Implementations must be
// comparable: watches are keyed by the Watcher value.
type Watcher interface {
	Notify(ev proto.WatcherEvent, zxid int64)
	SessionID() int64
	// Auth is the connection's identities now: as in ZooKeeper since
	// CVE-2024-23944, an event reaches the watcher only if they grant
	// READ on the node the event is about.
	Auth() []proto.ID
}

// Caller identifies who issues a read.
type Caller struct {
	Session int64
	Auth    []proto.ID
	Watcher Watcher // where watches set by this read go; nil when the caller cannot hold watches
	// MaxReply bounds the encoded size of the reply record (the reply
	// header not included); a read whose reply would be larger fails with
	// ErrReplyTooLarge before any of it is built. 0: no bound.
	MaxReply int
}

// Session is a global session as the log created it.
type Session struct {
	ID      int64
	Timeout int32
	Passwd  []byte
	// Owner is the server the session's client is attached to; writes
	// proposed through any other server fail with ErrSessionMoved, so a
	// request left in flight on a server the client has left cannot take
	// effect after the client has moved on.
	Owner uint64
}

type options struct {
	superDigest  string
	x509Super    string
	saslSuper    string
	extended     bool
	configData   []byte
	maxNeverUsed int64
	maxWatches   int // per watcher, 0: no bound
	maxWatchPath int // bytes of watched paths per watcher, 0: no bound
	fired        func(eventType int32, watchers int)
}

// Option configures a Tree.
type Option func(*options)

// WithSuperDigest names the super user, "super:<base64 sha1>": a caller whose
// Auth holds {digest, d} passes every ACL check.
func WithSuperDigest(d string) Option { return func(o *options) { o.superDigest = d } }

// WithX509SuperUser names the client certificate subject that passes every
// ACL check (zookeeper.X509AuthenticationProvider.superUser): a caller
// whose Auth holds {x509, dn}.
func WithX509SuperUser(dn string) Option { return func(o *options) { o.x509Super = dn } }

// WithSASLSuperUser names the SASL authorization id that passes every ACL
// check (zookeeper.superUser): a caller whose Auth holds {sasl, id}.
func WithSASLSuperUser(id string) Option { return func(o *options) { o.saslSuper = id } }

// WithExtendedTypes enables TTL nodes (zookeeper.extendedTypesEnabled);
// without it TTL creates fail with proto.ErrUnimplemented.
func WithExtendedTypes(on bool) Option { return func(o *options) { o.extended = on } }

// WithConfigData sets the contents of /zookeeper/config.
func WithConfigData(data []byte) Option {
	return func(o *options) { o.configData = slices.Clone(data) }
}

// WithWatchLimits bounds the watches one Watcher (a client connection) may
// hold: at most count watches, a path watched in both the data and the
// child manager counting twice, and at most bytes of watched paths in all.
// A read that would set a watch past either bound fails with
// ErrWatchLimit and sets nothing. Zero or less leaves that bound off.
func WithWatchLimits(count, bytes int) Option {
	return func(o *options) { o.maxWatches, o.maxWatchPath = count, bytes }
}

// WithFiredWatches has fired called, under the tree's lock, each time an
// event reaches watchers: its type and how many (ZooKeeper's
// node_*_watch_count metrics). fired must be quick and must not call the
// tree.
func WithFiredWatches(fired func(eventType int32, watchers int)) Option {
	return func(o *options) { o.fired = fired }
}

// WithMaxNeverUsed is znode.container.maxNeverUsedIntervalMs: how long a
// container that never had a child lives (0: for ever).
func WithMaxNeverUsed(ms int64) Option { return func(o *options) { o.maxNeverUsed = ms } }

// statOut is the Stat a client sees, which differs from the stored one as
// in ZooKeeper's DataNode.copyStat: only a session's ephemeral shows an
// owner (containers and TTL nodes show 0), and the stored cversion counts
// child creations (it names sequential children) while the visible one
// counts creations and deletions, which is creations*2 - present children.
func (t *Tree) statOut(n *node) proto.Stat {
	s := &n.stat
	out := proto.Stat{
		Czxid: s.Czxid, Mzxid: s.Mzxid, Ctime: s.Ctime, Mtime: s.Mtime, Pzxid: s.Pzxid,
		Version: s.Version, Cversion: s.Cversion*2 - s.NumChildren, Aversion: s.Aversion,
		DataLength: int32(len(n.bytes())), NumChildren: s.NumChildren,
	}
	if t.kind(s.EphemeralOwner) == ownerSession {
		out.EphemeralOwner = s.EphemeralOwner
	}
	return out
}

// ownerKind is EphemeralType.
type ownerKind int

const (
	ownerNone ownerKind = iota // VOID: persistent
	ownerSession
	ownerContainer
	ownerTTL
)

// Tree is ZooKeeper's data tree. Methods are safe for concurrent use:
// Apply takes the write lock, reads the read lock.
type Tree struct {
	mu   sync.RWMutex
	opts options

	nodes      *btree.BTreeG[item] // by path (see byPath); the root is "/"
	acls       aclCache
	sessions   map[int64]*Session
	ephemerals map[int64]map[string]struct{}
	containers map[string]struct{}
	ttls       map[string]struct{}
	lastZxid   int64
	dataSize   int64
	digest     int64         // see digest.go
	digestLog  []ZxidDigest  // oldest first
	scratch    digestScratch // under the write lock

	wmu     sync.Mutex // guards watches; taken after mu
	watches *watchState

	superSum      proto.ID     // the super digest's sum (see CompactAuth)
	watchRefusals atomic.Int64 // watches refused by WithWatchLimits
}

// New returns a fresh tree holding "/", "/zookeeper", "/zookeeper/quota" and
// "/zookeeper/config" (readable by anyone, writable by nobody but super).
func New(opts ...Option) *Tree {
	t := &Tree{}
	for _, o := range opts {
		o(&t.opts)
	}
	t.watches = newWatchState(func(acl []proto.ACL, w Watcher) bool {
		return t.allowed(acl, proto.PermRead, w.Auth())
	})
	t.watches.maxCount, t.watches.maxBytes = t.opts.maxWatches, t.opts.maxWatchPath
	t.watches.fired = t.opts.fired
	t.superSum = digestSum(t.opts.superDigest)
	t.reset()
	return t
}

// reset installs the built-in tree of DataTree's constructor.
func (t *Tree) reset() {
	t.nodes = newIndex()
	t.acls = aclCache{}
	t.sessions = map[int64]*Session{}
	t.ephemerals = map[int64]map[string]struct{}{}
	t.containers = map[string]struct{}{}
	t.ttls = map[string]struct{}{}
	t.lastZxid = 0
	t.dataSize = 0
	t.digest = 0
	t.digestLog = nil
	// DataTree's built-in nodes hold empty data, not null.
	open, read := t.acls.intern(openACL), t.acls.intern(readACL)
	t.insertChild("/", &node{acl: open, data: noBytes})
	t.insertChild(procPath, &node{acl: open, data: noBytes})
	t.insertChild(quotaPath, &node{acl: open, data: noBytes})
	// DataTree.addConfigNode sets the ACL with version -1, which lands in
	// the stat: clients see aversion -1 on this node.
	t.insertChild(configPath, &node{acl: read, data: t.newData(configPath, append([]byte{}, t.opts.configData...)), stat: stat{Aversion: -1}})
}

// insertChild inserts n and counts it in its parent in place, which only a
// tree being built may do: nothing can have frozen it yet.
func (t *Tree) insertChild(p string, n *node) {
	t.insert(p, n)
	if p != "/" {
		parent, _, _ := splitPath(p)
		t.lookup(parent).stat.NumChildren++
	}
}

// nodeSize is DataTree.getNodeSize, with Java's UTF-16 length of the path.
func nodeSize(path string, data []byte) int64 {
	return int64(utf8.RuneCountInString(path) + len(data))
}

func (t *Tree) index(p string, owner int64, add bool) {
	var set map[string]struct{}
	switch t.kind(owner) {
	case ownerContainer:
		set = t.containers
	case ownerTTL:
		set = t.ttls
	case ownerSession:
		set = t.ephemerals[owner]
		if set == nil {
			if !add {
				return
			}
			set = map[string]struct{}{}
			t.ephemerals[owner] = set
		}
	default:
		return
	}
	if add {
		set[p] = struct{}{}
		return
	}
	delete(set, p)
	if t.kind(owner) == ownerSession && len(set) == 0 {
		delete(t.ephemerals, owner)
	}
}

// kind classifies an ephemeralOwner like EphemeralType.get: the TTL encoding
// exists only while extended types are enabled.
func (t *Tree) kind(owner int64) ownerKind {
	switch {
	case owner == 0:
		return ownerNone
	case t.opts.extended && owner&extendedMask == extendedMask && owner&reservedMask == 0:
		return ownerTTL
	case owner == containerOwner:
		return ownerContainer
	}
	return ownerSession
}

// LastZxid is the zxid of the last applied transaction.
func (t *Tree) LastZxid() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.lastZxid
}

// Session returns a live session.
func (t *Tree) Session(id int64) (Session, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s, ok := t.sessions[id]
	if !ok {
		return Session{}, false
	}
	return copySession(s), true
}

func copySession(s *Session) Session {
	return Session{ID: s.ID, Timeout: s.Timeout, Passwd: slices.Clone(s.Passwd), Owner: s.Owner}
}

// Sessions lists the live sessions sorted by id.
func (t *Tree) Sessions() []Session {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Session, 0, len(t.sessions))
	for _, s := range t.sessions {
		out = append(out, copySession(s))
	}
	slices.SortFunc(out, func(a, b Session) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// NodeCount is the node count of the stat 4lw: ZooKeeper stores the root
// under both "" and "/", so a fresh tree counts 5.
func (t *Tree) NodeCount() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.nodes.Len() + 1
}

// ApproximateDataSize is DataTree.approximateDataSize: path lengths plus data
// lengths over every map entry, the root's "" alias included.
func (t *Tree) ApproximateDataSize() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.dataSize + int64(len(t.lookup("/").bytes()))
}

// EphemeralCount is the number of ephemeral nodes.
func (t *Tree) EphemeralCount() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := 0
	for _, set := range t.ephemerals {
		n += len(set)
	}
	return n
}

// Ephemerals maps each session to its sorted ephemeral paths (the dump 4lw).
func (t *Tree) Ephemerals() map[int64][]string {
	m, _ := t.EphemeralsUpTo(-1)
	return m
}

// lineBudget bounds what a four-letter word copies under a lock: each
// session id or path costs the bytes of its output line. A negative max
// is no bound.
type lineBudget struct{ left int }

const sessionLine = len("\t0x0123456789abcdef\n")

// take reports whether a line of n bytes still fits, and counts it.
func (b *lineBudget) take(n int) bool {
	if b.left < 0 {
		return true
	}
	if n > b.left {
		b.left = 0
		return false
	}
	b.left -= n
	return true
}

// EphemeralsUpTo is Ephemerals bounded for the dump 4lw: it stops copying
// once the output lines would pass max bytes (negative: no bound), so the
// read lock, which holds off applies, is held for a bounded time. complete
// is false when something was left out.
func (t *Tree) EphemeralsUpTo(max int) (m map[int64][]string, complete bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	b := lineBudget{max}
	out := make(map[int64][]string)
	for id, set := range t.ephemerals {
		if !b.take(sessionLine) {
			return out, false
		}
		paths := make([]string, 0, len(set))
		for p := range set {
			if !b.take(len(p) + 2) {
				slices.Sort(paths)
				out[id] = paths
				return out, false
			}
			paths = append(paths, p)
		}
		slices.Sort(paths)
		out[id] = paths
	}
	return out, true
}

func sortedKeys(set map[string]struct{}) []string {
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// WatchSummary is the wchs 4lw: connections, paths and watches. Like
// ZooKeeper it counts the data watches (exists, getData, addWatch) only.
func (t *Tree) WatchSummary() (watchers int, paths int, total int) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	m := t.watches.data
	for _, ps := range m.byWatcher {
		total += len(ps)
	}
	return len(m.byWatcher), len(m.table), total
}

// WatchCount is mntr's zk_watch_count: data and child watches together, as
// ZooKeeper counts them there (wchs counts data watches only).
func (t *Tree) WatchCount() int {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	n := 0
	for _, m := range []*watchManager{t.watches.data, t.watches.child} {
		for _, ps := range m.byWatcher {
			n += len(ps)
		}
	}
	return n
}

// WatchesBySession is the wchc 4lw (data watches, as ZooKeeper).
func (t *Tree) WatchesBySession() map[int64][]string {
	m, _ := t.WatchesBySessionUpTo(-1)
	return m
}

// WatchesBySessionUpTo is WatchesBySession bounded as EphemeralsUpTo is:
// the watch lock, which an apply needs to fire watches, is held only while
// at most max bytes of output are copied.
func (t *Tree) WatchesBySessionUpTo(max int) (m map[int64][]string, complete bool) {
	t.wmu.Lock()
	sets := map[int64]map[string]struct{}{}
	b := lineBudget{max}
	complete = true
fill:
	for w, ps := range t.watches.data.byWatcher {
		id := w.SessionID()
		if sets[id] == nil {
			if !b.take(sessionLine) {
				complete = false
				break
			}
			sets[id] = map[string]struct{}{}
		}
		for p := range ps {
			if _, dup := sets[id][p]; dup {
				continue
			}
			if !b.take(len(p) + 2) {
				complete = false
				break fill
			}
			sets[id][p] = struct{}{}
		}
	}
	t.wmu.Unlock()
	out := make(map[int64][]string, len(sets))
	for id, set := range sets {
		out[id] = sortedKeys(set)
	}
	return out, complete
}

// WatchesByPath is the wchp 4lw (data watches, as ZooKeeper).
func (t *Tree) WatchesByPath() map[string][]int64 {
	m, _ := t.WatchesByPathUpTo(-1)
	return m
}

// WatchesByPathUpTo is WatchesByPath bounded as WatchesBySessionUpTo is.
func (t *Tree) WatchesByPathUpTo(max int) (m map[string][]int64, complete bool) {
	t.wmu.Lock()
	out := make(map[string][]int64)
	b := lineBudget{max}
	complete = true
fill:
	for p, ws := range t.watches.data.table {
		if !b.take(len(p) + 1) {
			complete = false
			break
		}
		ids := make([]int64, 0, len(ws))
		for w := range ws {
			if !b.take(sessionLine) {
				complete = false
				if len(ids) > 0 {
					out[p] = ids
				}
				break fill
			}
			ids = append(ids, w.SessionID())
		}
		out[p] = ids
	}
	t.wmu.Unlock()
	for p, ids := range out {
		slices.Sort(ids)
		out[p] = slices.Compact(ids)
	}
	return out, complete
}

// WatchRefusals counts the watches refused so far for WithWatchLimits.
func (t *Tree) WatchRefusals() int64 { return t.watchRefusals.Load() }

// RemoveWatcher drops every watch of a closed connection.
func (t *Tree) RemoveWatcher(w Watcher) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.watches.data.removeWatcher(w)
	t.watches.child.removeWatcher(w)
	delete(t.watches.seq, w)
}
