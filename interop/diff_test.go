package interop

import (
	"errors"
	"fmt"
	"io"
	"log"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// TestDifferentialApacheControl runs the script against two fresh Apache
// ZooKeeper servers: if their transcripts differ, the normalisation is wrong,
// not zkserver.
func TestDifferentialApacheControl(t *testing.T) {
	compareScripts(t, StartApacheZooKeeper, StartApacheZooKeeper, runScript)
}

// TestDifferentialZookit requires zkserver to answer the script exactly as
// Apache ZooKeeper does, up to the normalisation.
func TestDifferentialZookit(t *testing.T) {
	compareScripts(t, StartApacheZooKeeper, StartZookit, runScript)
}

// compareScripts runs script against a server of each kind and requires
// the same transcript.
func compareScripts(t *testing.T, oracle, candidate Starter, script func(*testing.T, string) []string) {
	Require(t, ZooKeeper)
	// The candidate starts first so that a missing zkserver skips at once.
	candAddr := candidate(t, Options{})
	want := script(t, oracle(t, Options{}))
	got := script(t, candAddr)
	if d := unifiedDiff("apache-zookeeper", "candidate", want, got); d != "" {
		t.Fatalf("transcripts differ:\n%s", d)
	}
	if testing.Verbose() {
		t.Logf("transcript:\n%s", strings.Join(want, "\n"))
	}
	t.Logf("%d transcript lines identical", len(want))
}

// runScript executes the fixed script and returns its normalised transcript.
func runScript(t *testing.T, addr string) []string {
	tr := &transcript{t: t, addr: addr}
	s1 := tr.connect()
	s2 := tr.connect()
	world := zk.WorldACL(zk.PermAll)

	// Every node type, with the Stat each gets.
	tr.create(s1, "/t", "root", zk.FlagPersistent, world)
	tr.get(s1, "/t")
	tr.create(s1, "/t/p", "p", zk.FlagPersistent, world)
	tr.create(s1, "/t/e", "e", zk.FlagEphemeral, world)
	tr.create(s1, "/t/seq-", "s", zk.FlagSequence, world)
	tr.create(s1, "/t/seq-", "s", zk.FlagSequence, world)
	tr.create(s1, "/t/eseq-", "es", zk.FlagEphemeralSequential, world)
	tr.create(s1, "/t/c", "c", zk.FlagContainer, world)
	// The container keeps a child so the reaper has nothing to take mid-script.
	tr.create(s1, "/t/c/kid", "k", zk.FlagPersistent, world)
	tr.createTTL(s1, "/t/ttl", zk.FlagTTL, time.Hour)
	tr.createTTL(s1, "/t/ttlseq-", zk.FlagPersistentSequentialWithTTL, time.Hour)
	tr.exists(s1, "/t/e")
	tr.exists(s1, "/t/c")
	tr.exists(s1, "/t/ttl")
	tr.children(s1, "/t")

	// Errors.
	tr.create(s1, "/t", "again", zk.FlagPersistent, world)
	tr.create(s1, "/t/missing/child", "", zk.FlagPersistent, world)
	tr.get(s1, "/t/missing")
	tr.set(s1, "/t/missing", "x", -1)
	tr.del(s1, "/t/missing", -1)
	tr.children(s1, "/t/missing")
	tr.exists(s1, "/t/missing")
	tr.create(s1, "/t/e/child", "", zk.FlagPersistent, world)
	tr.del(s1, "/t", -1)
	tr.del(s1, "/t/c", -1)
	tr.createTTL(s1, "/t/ttl0", zk.FlagTTL, 0)
	// go-zk validates paths itself except inside multi, so bad paths reach
	// the server that way.
	for _, bad := range []string{"/t/", "/t//x", "/t/./x", "/t/../x", "t"} {
		tr.multi(s1, "create "+bad, &zk.CreateRequest{Path: bad, Data: []byte("x"), Acl: world})
	}

	// Versions, cversion and pzxid.
	tr.set(s1, "/t/p", "p1", 0)
	tr.set(s1, "/t/p", "p2", 0)
	tr.set(s1, "/t/p", "p2", -1)
	tr.del(s1, "/t/p", 7)
	tr.setACL(s1, "/t/p", world, 3)
	tr.setACL(s1, "/t/p", zk.WorldACL(zk.PermRead|zk.PermWrite|zk.PermDelete), 0)
	tr.get(s1, "/t/p")
	tr.exists(s1, "/t")
	tr.del(s1, "/t/p", 2)
	tr.exists(s1, "/t")
	tr.create(s1, "/t/seq-", "s", zk.FlagSequence, world)
	tr.exists(s1, "/t")

	// multi: one that commits and one that fails midway and rolls back.
	tr.multi(s1, "ok",
		&zk.CreateRequest{Path: "/t/m1", Data: []byte("m"), Acl: world},
		&zk.SetDataRequest{Path: "/t/m1", Data: []byte("m1"), Version: 0},
		&zk.CheckVersionRequest{Path: "/t/m1", Version: 1},
		&zk.CreateRequest{Path: "/t/m1/s-", Data: []byte("s"), Acl: world, Flags: zk.FlagSequence},
		&zk.CreateRequest{Path: "/t/m2", Acl: world},
		&zk.DeleteRequest{Path: "/t/m2", Version: 0},
	)
	tr.multi(s1, "fails",
		&zk.CreateRequest{Path: "/t/m3", Data: []byte("m"), Acl: world},
		&zk.SetDataRequest{Path: "/t/m1", Data: []byte("x"), Version: 1},
		&zk.CheckVersionRequest{Path: "/t/m1", Version: 0},
		&zk.CreateRequest{Path: "/t/m4", Acl: world},
		&zk.DeleteRequest{Path: "/t/missing", Version: -1},
	)
	tr.exists(s1, "/t/m3")
	tr.get(s1, "/t/m1")
	tr.multi(s1, "fails first",
		&zk.DeleteRequest{Path: "/t/missing", Version: -1},
		&zk.CreateRequest{Path: "/t/m5", Acl: world},
	)

	// Watches, as the other session receives them; each fires once.
	tr.create(s1, "/t/w", "w", zk.FlagPersistent, world)
	tr.getW(s2, "/t/w")
	tr.set(s1, "/t/w", "w1", -1)
	tr.set(s1, "/t/w", "w2", -1)
	tr.existsW(s2, "/t/nw")
	tr.create(s1, "/t/nw", "", zk.FlagPersistent, world)
	tr.del(s1, "/t/nw", -1)
	tr.childrenW(s2, "/t/w")
	tr.set(s1, "/t/w", "w3", -1)
	tr.create(s1, "/t/w/k", "", zk.FlagPersistent, world)
	tr.create(s1, "/t/w/k2", "", zk.FlagPersistent, world)
	tr.childrenW(s2, "/t/w")
	tr.del(s1, "/t/w/k", -1)
	tr.childrenW(s2, "/t/w")
	tr.existsW(s2, "/t/w")
	tr.getW(s2, "/t/w")
	tr.getW(s2, "/t/w/k2")
	tr.del(s1, "/t/w/k2", -1)
	tr.set(s1, "/t/w", "w4", -1)
	tr.getW(s1, "/t/w")
	tr.childrenW(s1, "/t/w")
	tr.existsW(s2, "/t/w")
	tr.del(s1, "/t/w", -1)

	// ACLs: digest, auth, world read-only, and the super user.
	tr.addAuth(s1, "digest", "alice:secret")
	tr.create(s1, "/t/acl", "private", zk.FlagPersistent, zk.DigestACL(zk.PermAll, "alice", "secret"))
	tr.create(s1, "/t/auth", "mine", zk.FlagPersistent, zk.AuthACL(zk.PermAll))
	tr.getACL(s1, "/t/acl")
	tr.getACL(s1, "/t/auth")
	tr.get(s1, "/t/acl")
	tr.get(s2, "/t/acl")
	tr.set(s2, "/t/acl", "stolen", -1)
	tr.create(s2, "/t/acl/kid", "", zk.FlagPersistent, world)
	tr.setACL(s2, "/t/acl", world, -1)
	// exists on a node the caller may not read is left out on purpose:
	// Debian's 3.8.0 answers it, ZooKeeper 3.8.4+ (and zookit) say NoAuth;
	// ensemble/server's TestExistsNeedsRead covers it.
	tr.children(s2, "/t/acl")
	tr.create(s1, "/t/ro", "ro", zk.FlagPersistent, zk.WorldACL(zk.PermRead))
	tr.get(s2, "/t/ro")
	tr.getACL(s2, "/t/ro")
	tr.set(s2, "/t/ro", "x", -1)
	tr.create(s2, "/t/ro/kid", "", zk.FlagPersistent, world)
	tr.create(s1, "/t/ro2", "", zk.FlagPersistent, world)
	tr.create(s1, "/t/ro2/kid", "", zk.FlagPersistent, world)
	tr.setACL(s1, "/t/ro2", zk.WorldACL(zk.PermRead), -1)
	tr.getACL(s1, "/t/ro2")
	tr.del(s2, "/t/ro2/kid", -1)
	tr.create(s1, "/t/bad-acl", "", zk.FlagPersistent, []zk.ACL{{Perms: zk.PermAll, Scheme: "nope", ID: "x"}})
	tr.addAuth(s2, "digest", "bob:other")
	tr.get(s2, "/t/acl")
	s3 := tr.connect()
	tr.addAuth(s3, "digest", SuperAuth)
	tr.get(s3, "/t/acl")
	tr.set(s3, "/t/acl", "by-super", 0)
	tr.setACL(s3, "/t/ro", world, 0)
	tr.getACL(s3, "/t/ro")
	tr.set(s2, "/t/ro", "now-writable", -1)

	// Sync, and ephemerals that vanish with their session.
	tr.sync(s2, "/t")
	tr.sync(s2, "/t/missing")
	tr.create(s2, "/t/e2", "", zk.FlagEphemeral, world)
	tr.exists(s1, "/t/e2")
	tr.existsW(s2, "/t/e")
	tr.childrenW(s2, "/t")
	tr.close(s1)
	tr.exists(s2, "/t/e")
	tr.children(s2, "/t")
	tr.exists(s3, "/t/e2")
	tr.close(s2)
	tr.exists(s3, "/t/e2")
	tr.dump(s3, "/t")
	return tr.render()
}

// transcript records operations and their results; zxids and session ids are
// kept raw and normalised only in render, when all of them are known.
type transcript struct {
	t        *testing.T
	addr     string
	lines    [][]any
	sessions []*session
}

type session struct {
	name   string
	id     int64
	conn   *zk.Conn
	closed bool

	mu     sync.Mutex
	events []zk.Event
}

// zxid and owner mark values render normalises.
type (
	zxid  int64
	owner int64
)

var quietLogger = log.New(io.Discard, "", 0)

func (tr *transcript) connect() *session {
	tr.t.Helper()
	s := &session{name: fmt.Sprintf("s%d", len(tr.sessions)+1)}
	conn, _, err := zk.Connect([]string{tr.addr}, 10*time.Second,
		zk.WithLogger(quietLogger), zk.WithEventCallback(s.onEvent))
	if err != nil {
		tr.t.Fatalf("connect %s: %v", tr.addr, err)
	}
	tr.t.Cleanup(conn.Close)
	// The first request completes only once the session exists.
	tr.guard(s.name+" first request", func() { _, err = conn.Sync("/") })
	if err != nil {
		tr.t.Fatalf("first request on %s: %v", s.name, err)
	}
	s.conn, s.id = conn, conn.SessionID()
	tr.sessions = append(tr.sessions, s)
	tr.rec(s, "connect")
	return s
}

// onEvent keeps the watch notifications exactly as they arrive; go-zk calls
// it from its receive loop, before it delivers any later reply.
func (s *session) onEvent(ev zk.Event) {
	if ev.Type == zk.EventSession {
		return
	}
	s.mu.Lock()
	s.events = append(s.events, ev)
	s.mu.Unlock()
}

func (s *session) takeEvents() []zk.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := s.events
	s.events = nil
	return evs
}

// do runs one request under the hang guard and records its results. Each
// request starts in a later millisecond than the last, so that whether a
// change moved a node's mtime off its ctime shows in the transcript however
// fast the server is.
func (tr *transcript) do(s *session, op string, f func() []any) {
	tr.t.Helper()
	time.Sleep(2 * time.Millisecond)
	var res []any
	tr.guard(s.name+" "+op, func() { res = f() })
	tr.rec(s, op, res...)
}

// guard fails the test if f does not return within the hang guard: go-zk
// waits forever for a reply the server never sends. The stuck goroutine ends
// when the test's cleanup closes the connection.
func (tr *transcript) guard(what string, f func()) {
	tr.t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(hangGuard):
		tr.t.Fatalf("%s: no reply within %v; transcript so far:\n%s", what, hangGuard, strings.Join(tr.render(), "\n"))
	}
}

// rec appends one line, then every notification any open session received
// because of it. A round trip on each session first makes that complete: the
// server queues a notification before the reply to any later request.
func (tr *transcript) rec(s *session, op string, results ...any) {
	tr.t.Helper()
	tr.lines = append(tr.lines, append([]any{s.name, op}, results...))
	for _, o := range tr.sessions {
		if o.closed {
			continue
		}
		var err error
		tr.guard("barrier on "+o.name, func() { _, _, err = o.conn.Exists("/") })
		if err != nil {
			tr.t.Fatalf("barrier on %s after %q: %v", o.name, op, err)
		}
		for _, ev := range o.takeEvents() {
			tr.lines = append(tr.lines, []any{o.name, "event", ev.Type.String(), ev.State.String(), ev.Path})
		}
	}
}

func (tr *transcript) create(s *session, path, data string, flags int32, acl []zk.ACL) {
	tr.do(s, fmt.Sprintf("create %s %q flags=%d acl=%s", path, data, flags, aclString(acl)), func() []any {
		create := s.conn.Create
		if flags == zk.FlagContainer {
			create = s.conn.CreateContainer
		}
		p, err := create(path, []byte(data), flags, acl)
		return []any{p, err}
	})
}

func (tr *transcript) createTTL(s *session, path string, flags int32, ttl time.Duration) {
	tr.do(s, fmt.Sprintf("createTTL %s flags=%d ttl=%v", path, flags, ttl), func() []any {
		p, err := s.conn.CreateTTL(path, []byte("ttl"), flags, zk.WorldACL(zk.PermAll), ttl)
		return []any{p, err}
	})
}

func (tr *transcript) get(s *session, path string) {
	tr.do(s, "get "+path, func() []any {
		data, st, err := s.conn.Get(path)
		return []any{fmt.Sprintf("%q", data), statOrNil(st, err), err}
	})
}

func (tr *transcript) getW(s *session, path string) {
	tr.do(s, "getW "+path, func() []any {
		data, st, _, err := s.conn.GetW(path)
		return []any{fmt.Sprintf("%q", data), statOrNil(st, err), err}
	})
}

func (tr *transcript) exists(s *session, path string) {
	tr.do(s, "exists "+path, func() []any {
		ok, st, err := s.conn.Exists(path)
		return []any{ok, statIfFound(ok, st, err), err}
	})
}

func (tr *transcript) existsW(s *session, path string) {
	tr.do(s, "existsW "+path, func() []any {
		ok, st, _, err := s.conn.ExistsW(path)
		return []any{ok, statIfFound(ok, st, err), err}
	})
}

func (tr *transcript) children(s *session, path string) {
	tr.do(s, "children "+path, func() []any {
		kids, st, err := s.conn.Children(path)
		return []any{kids, statOrNil(st, err), err}
	})
}

func (tr *transcript) childrenW(s *session, path string) {
	tr.do(s, "childrenW "+path, func() []any {
		kids, st, _, err := s.conn.ChildrenW(path)
		return []any{kids, statOrNil(st, err), err}
	})
}

func (tr *transcript) set(s *session, path, data string, version int32) {
	tr.do(s, fmt.Sprintf("set %s %q version=%d", path, data, version), func() []any {
		st, err := s.conn.Set(path, []byte(data), version)
		return []any{statOrNil(st, err), err}
	})
}

func (tr *transcript) del(s *session, path string, version int32) {
	tr.do(s, fmt.Sprintf("delete %s version=%d", path, version), func() []any {
		return []any{s.conn.Delete(path, version)}
	})
}

func (tr *transcript) getACL(s *session, path string) {
	tr.do(s, "getACL "+path, func() []any {
		acl, st, err := s.conn.GetACL(path)
		return []any{aclString(acl), statOrNil(st, err), err}
	})
}

func (tr *transcript) setACL(s *session, path string, acl []zk.ACL, version int32) {
	tr.do(s, fmt.Sprintf("setACL %s %s version=%d", path, aclString(acl), version), func() []any {
		st, err := s.conn.SetACL(path, acl, version)
		return []any{statOrNil(st, err), err}
	})
}

func (tr *transcript) addAuth(s *session, scheme, cred string) {
	tr.do(s, "addAuth "+scheme+" "+cred, func() []any {
		return []any{s.conn.AddAuth(scheme, []byte(cred))}
	})
}

func (tr *transcript) sync(s *session, path string) {
	tr.do(s, "sync "+path, func() []any {
		p, err := s.conn.Sync(path)
		return []any{p, err}
	})
}

func (tr *transcript) multi(s *session, label string, ops ...any) {
	tr.do(s, "multi "+label, func() []any {
		res, err := s.conn.Multi(ops...)
		parts := []any{err}
		for i, r := range res {
			parts = append(parts, fmt.Sprintf("| op%d", i), r.String, r.Stat, r.Error)
		}
		return parts
	})
}

func (tr *transcript) close(s *session) {
	tr.do(s, "close", func() []any {
		s.conn.Close()
		s.closed = true
		return nil
	})
}

// dump records the subtree under path, children in name order.
func (tr *transcript) dump(s *session, path string) {
	tr.get(s, path)
	var kids []string
	var err error
	tr.guard("children "+path, func() { kids, _, err = s.conn.Children(path) })
	if err != nil {
		tr.rec(s, "dump children "+path, err)
		return
	}
	slices.Sort(kids)
	for _, k := range kids {
		tr.dump(s, path+"/"+k)
	}
}

// statIfFound drops the zero Stat go-zk returns for a missing node.
func statIfFound(found bool, st *zk.Stat, err error) *zk.Stat {
	if !found {
		return nil
	}
	return statOrNil(st, err)
}

// statOrNil drops the zero Stat go-zk returns alongside an error.
func statOrNil(st *zk.Stat, err error) *zk.Stat {
	if err != nil {
		return nil
	}
	return st
}

func aclString(acl []zk.ACL) string {
	parts := make([]string, len(acl))
	for i, a := range acl {
		parts[i] = fmt.Sprintf("%s:%s:%s", a.Scheme, a.ID, permString(a.Perms))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func permString(p int32) string {
	var b strings.Builder
	for i, c := range "rwcda" {
		if p&(1<<i) != 0 {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// render turns the recorded lines into text: zxids become their rank among
// all zxids in the transcript, session ids their s1, s2... names, ctime and
// mtime only whether they are equal.
func (tr *transcript) render() []string {
	var all []int64
	for _, line := range tr.lines {
		for _, v := range line {
			if st, ok := v.(*zk.Stat); ok && st != nil {
				all = append(all, st.Czxid, st.Mzxid, st.Pzxid)
			}
		}
	}
	slices.Sort(all)
	all = slices.Compact(all)
	rank := func(z int64) string {
		i, _ := slices.BinarySearch(all, z)
		return fmt.Sprintf("z%d", i)
	}
	out := make([]string, 0, len(tr.lines))
	for _, line := range tr.lines {
		parts := make([]string, 0, len(line))
		for _, v := range line {
			parts = append(parts, tr.value(v, rank))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func (tr *transcript) value(v any, rank func(int64) string) string {
	switch v := v.(type) {
	case nil:
		return "ok"
	case error:
		return errName(v)
	case *zk.Stat:
		if v == nil {
			return "-"
		}
		times := "ctime!=mtime"
		if v.Ctime == v.Mtime {
			times = "ctime==mtime"
		}
		return fmt.Sprintf("stat{c=%s m=%s p=%s v=%d cv=%d av=%d owner=%s len=%d kids=%d %s}",
			rank(v.Czxid), rank(v.Mzxid), rank(v.Pzxid), v.Version, v.Cversion, v.Aversion,
			tr.owner(v.EphemeralOwner), v.DataLength, v.NumChildren, times)
	case []string:
		s := slices.Clone(v)
		slices.Sort(s)
		return "[" + strings.Join(s, " ") + "]"
	case string:
		if v == "" {
			return `""`
		}
		return v
	default:
		return fmt.Sprint(v)
	}
}

// owner names an ephemeralOwner: a session of this transcript, or the
// encodings ZooKeeper uses for containers and TTL nodes.
func (tr *transcript) owner(id int64) string {
	const ttlMask = int64(-1) << 56 // 0xFF00000000000000
	switch {
	case id == 0:
		return "0"
	case uint64(id) == 1<<63:
		return "container"
	case id&ttlMask == ttlMask:
		return fmt.Sprintf("ttl(%d)", id&^ttlMask)
	}
	for _, s := range tr.sessions {
		if s.id == id {
			return s.name
		}
	}
	return "unknown-session"
}

var zkErrors = []struct {
	err  error
	name string
}{
	{zk.ErrNoNode, "NoNode"},
	{zk.ErrNodeExists, "NodeExists"},
	{zk.ErrBadVersion, "BadVersion"},
	{zk.ErrNotEmpty, "NotEmpty"},
	{zk.ErrNoChildrenForEphemerals, "NoChildrenForEphemerals"},
	{zk.ErrBadArguments, "BadArguments"},
	{zk.ErrNoAuth, "NoAuth"},
	{zk.ErrInvalidACL, "InvalidACL"},
	{zk.ErrAuthFailed, "AuthFailed"},
	{zk.ErrAPIError, "APIError"},
	{zk.ErrSessionExpired, "SessionExpired"},
	{zk.ErrInvalidPath, "client:InvalidPath"},
	{zk.ErrInvalidFlags, "client:InvalidFlags"},
}

func errName(err error) string {
	for _, e := range zkErrors {
		if errors.Is(err, e.err) {
			return e.name
		}
	}
	return "error(" + err.Error() + ")"
}
