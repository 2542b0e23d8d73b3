package zkwire

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
)

// open starts a client on connect and closes it, draining its events, when
// the test ends.
// hasDigest reports whether ids hold the digest user; Apache names it
// without the hash, zkserver with it.
func hasDigest(ids []proto.ID, user string) bool {
	return slices.ContainsFunc(ids, func(id proto.ID) bool {
		return id.Scheme == "digest" && (id.ID == user || strings.HasPrefix(id.ID, user+":"))
	})
}

func open(t *testing.T, connect string) (*Client, <-chan Event) {
	t.Helper()
	c, err := New(connect, Config{SessionTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	evs := make(chan Event, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(evs)
		for ev := range c.Events() {
			evs <- ev
		}
	}()
	t.Cleanup(func() {
		c.Close()
		<-done
	})
	if err := c.WaitConnected(ctx(t)); err != nil {
		t.Fatal(err)
	}
	return c, evs
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// next returns the next event that is not a session event.
func next(t *testing.T, evs <-chan Event) Event {
	t.Helper()
	for {
		select {
		case ev := <-evs:
			if ev.Type != EventNone {
				return ev
			}
		case <-ctx(t).Done():
			t.Fatal("no event")
		}
	}
}

// session waits for the next session event with state s.
func session(t *testing.T, evs <-chan Event, s KeeperState) {
	t.Helper()
	for {
		select {
		case ev := <-evs:
			if ev.Type == EventNone && ev.State == s {
				return
			}
		case <-ctx(t).Done():
			t.Fatalf("no %v event", s)
		}
	}
}

func TestOperations(t *testing.T) {
	srv := ensembletest.Start(t)
	c, evs := open(t, srv.Addr())
	session(t, evs, StateSyncConnected)
	x := ctx(t)

	p, st, err := c.Create(x, "/a", []byte("hi"), OpenACL, Persistent, 0)
	if err != nil || p != "/a" || st.DataLength != 2 {
		t.Fatalf("create: %q %+v %v", p, st, err)
	}
	if _, _, err := c.Create(x, "/a", nil, OpenACL, Persistent, 0); !errors.Is(err, proto.ErrNodeExists) {
		t.Fatalf("second create: %v", err)
	}
	if p, _, err = c.Create(x, "/a/s-", nil, OpenACL, EphemeralSequential, 0); err != nil || p != "/a/s-0000000000" {
		t.Fatalf("sequential: %q %v", p, err)
	}
	if _, _, err := c.Create(x, "/c", nil, OpenACL, Container, 0); err != nil {
		t.Fatalf("container: %v", err)
	}
	if _, _, err := c.Create(x, "/t", nil, OpenACL, PersistentWithTTL, 60000); err != nil {
		t.Fatalf("ttl: %v", err)
	}
	data, st, err := c.Get(x, "/a", false)
	if err != nil || string(data) != "hi" || st.NumChildren != 1 {
		t.Fatalf("get: %q %+v %v", data, st, err)
	}
	if _, err := c.Set(x, "/a", []byte("x"), 5); !errors.Is(err, proto.ErrBadVersion) {
		t.Fatalf("set stale: %v", err)
	}
	if st, err = c.Set(x, "/a", []byte("x"), 0); err != nil || st.Version != 1 {
		t.Fatalf("set: %+v %v", st, err)
	}
	kids, _, err := c.Children(x, "/", false)
	slices.Sort(kids)
	if err != nil || !slices.Equal(kids, []string{"a", "c", "t", "zookeeper"}) {
		t.Fatalf("children: %v %v", kids, err)
	}
	if _, err := c.Exists(x, "/nope", false); !errors.Is(err, proto.ErrNoNode) {
		t.Fatalf("exists: %v", err)
	}
	eph, err := c.Ephemerals(x, "/")
	if err != nil || !slices.Equal(eph, []string{"/a/s-0000000000"}) {
		t.Fatalf("ephemerals: %v %v", eph, err)
	}
	if n, err := c.AllChildrenNumber(x, "/a"); err != nil || n != 1 {
		t.Fatalf("all children: %d %v", n, err)
	}
	if err := c.Sync(x, "/a"); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if err := c.AddAuth(x, "digest", []byte("u:p")); err != nil {
		t.Fatalf("addauth: %v", err)
	}
	ids, err := c.WhoAmI(x)
	if err != nil || !hasDigest(ids, "u") {
		t.Fatalf("whoami: %v %v", ids, err)
	}
	acl := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "auth"}}}
	if _, err := c.SetACL(x, "/a", acl, -1); err != nil {
		t.Fatalf("setacl: %v", err)
	}
	got, _, err := c.GetACL(x, "/a")
	if err != nil || len(got) != 1 || got[0].ID.Scheme != "digest" {
		t.Fatalf("getacl: %v %v", got, err)
	}
	if _, _, err := c.Config(x, false); err != nil {
		t.Fatalf("config: %v", err)
	}
	if err := c.Delete(x, "/a", -1); !errors.Is(err, proto.ErrNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	if err := c.Delete(x, "relative", -1); err == nil || err.Error() != "Path must start with / character" {
		t.Fatalf("relative path: %v", err)
	}
}

func TestWatches(t *testing.T) {
	srv := ensembletest.Start(t)
	c, evs := open(t, srv.Addr())
	x := ctx(t)
	if _, err := c.Exists(x, "/w", true); !errors.Is(err, proto.ErrNoNode) {
		t.Fatal(err)
	}
	c.Create(x, "/w", nil, OpenACL, Persistent, 0)
	if ev := next(t, evs); ev != (Event{EventNodeCreated, StateSyncConnected, "/w"}) {
		t.Fatalf("exists watch: %+v", ev)
	}
	c.Children(x, "/w", true)
	c.Get(x, "/w", true)
	c.Set(x, "/w", []byte("1"), -1)
	if ev := next(t, evs); ev.Type != EventNodeDataChanged {
		t.Fatalf("data watch: %+v", ev)
	}
	if err := c.RemoveWatches(x, "/w", WatchAny, false); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, evs); ev != (Event{EventChildWatchRemoved, StateSyncConnected, "/w"}) {
		t.Fatalf("removal: %+v", ev)
	}
	if err := c.RemoveWatches(x, "/w", WatchAny, false); !errors.Is(err, proto.ErrNoWatcher) {
		t.Fatalf("second removal: %v", err)
	}
	if err := c.AddWatch(x, "/w", AddWatchPersistentRecursive); err != nil {
		t.Fatal(err)
	}
	c.Create(x, "/w/k", nil, OpenACL, Persistent, 0)
	c.Set(x, "/w/k", nil, -1)
	for _, want := range []Event{{EventNodeCreated, StateSyncConnected, "/w/k"}, {EventNodeDataChanged, StateSyncConnected, "/w/k"}} {
		if ev := next(t, evs); ev != want {
			t.Fatalf("recursive watch: %+v, want %+v", ev, want)
		}
	}
	if err := c.CheckWatches(x, "/w", WatchAny); err != nil {
		t.Fatalf("check: %v", err)
	}
}

// TestReconnect restarts the server under a client: the session, its auth
// and its watches (one-shot and persistent) survive, and the client says
// it was disconnected.
func TestReconnect(t *testing.T) {
	srv := ensembletest.Start(t)
	c, evs := open(t, srv.Addr())
	x := ctx(t)
	c.Create(x, "/r", nil, OpenACL, Persistent, 0)
	c.Get(x, "/r", true)
	c.AddWatch(x, "/r", AddWatchPersistent)
	if err := c.AddAuth(x, "digest", []byte("u:p")); err != nil {
		t.Fatal(err)
	}
	id := c.SessionID()
	srv.Restart()
	session(t, evs, StateDisconnected)
	session(t, evs, StateSyncConnected)
	if c.SessionID() != id {
		t.Fatalf("session %x became %x", id, c.SessionID())
	}
	ids, err := c.WhoAmI(x)
	if err != nil || !hasDigest(ids, "u") {
		t.Fatalf("auth not replayed: %v %v", ids, err)
	}
	if err := c.CheckWatches(x, "/r", WatchData); err != nil {
		t.Fatalf("data watch not re-registered: %v", err)
	}
	if err := c.CheckWatches(x, "/r", WatchPersistent); err != nil {
		t.Fatalf("persistent watch not re-registered: %v", err)
	}
	c.Set(x, "/r", []byte("1"), -1)
	if ev := next(t, evs); ev != (Event{EventNodeDataChanged, StateSyncConnected, "/r"}) {
		t.Fatalf("after reconnect: %+v", ev)
	}
}

// TestFailover lists a dead address first: the client moves on to the
// live server.
func TestFailover(t *testing.T) {
	srv := ensembletest.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	c, _ := open(t, dead+","+srv.Addr())
	if c.Server() != srv.Addr() {
		t.Fatalf("connected to %q", c.Server())
	}
}

func TestChroot(t *testing.T) {
	srv := ensembletest.Start(t)
	root, _ := open(t, srv.Addr())
	x := ctx(t)
	root.Create(x, "/app", nil, OpenACL, Persistent, 0)
	c, evs := open(t, srv.Addr()+"/app")
	if p, _, err := c.Create(x, "/n", nil, OpenACL, Persistent, 0); err != nil || p != "/n" {
		t.Fatalf("create under chroot: %q %v", p, err)
	}
	if _, err := root.Exists(x, "/app/n", false); err != nil {
		t.Fatal(err)
	}
	c.Get(x, "/n", true)
	root.Set(x, "/app/n", nil, -1)
	if ev := next(t, evs); ev.Path != "/n" {
		t.Fatalf("event path %q", ev.Path)
	}
	kids, _, err := c.Children(x, "/", false)
	if err != nil || !slices.Equal(kids, []string{"n"}) {
		t.Fatalf("children of chroot: %v %v", kids, err)
	}
}

func TestExpiry(t *testing.T) {
	srv := ensembletest.Start(t)
	c, evs := open(t, srv.Addr())
	if err := srv.ExpireSession(c.SessionID()); err != nil {
		t.Fatal(err)
	}
	session(t, evs, StateExpired)
	if _, err := c.Exists(ctx(t), "/", false); !errors.Is(err, proto.ErrSessionExpired) {
		t.Fatalf("after expiry: %v", err)
	}
	if c.State().Alive() {
		t.Fatalf("state %v after expiry", c.State())
	}
}

func TestParseConnectString(t *testing.T) {
	for _, tc := range []struct {
		in      string
		servers []string
		chroot  string
	}{
		{"localhost:2181", []string{"localhost:2181"}, ""},
		{"a:1,b/x/y", []string{"a:1", "b:2181"}, "/x/y"},
		{"[::1]:3/", []string{"[::1]:3"}, ""},
	} {
		s, r, err := ParseConnectString(tc.in)
		if err != nil || !slices.Equal(s, tc.servers) || r != tc.chroot {
			t.Errorf("%q: %v %q %v", tc.in, s, r, err)
		}
	}
	if _, _, err := ParseConnectString("a:1/x/"); err == nil {
		t.Error("bad chroot accepted")
	}
}

// TestAuthFailed offers an unknown scheme: the server refuses it and drops
// the connection, and the session is over for the client.
func TestAuthFailed(t *testing.T) {
	srv := ensembletest.Start(t)
	c, evs := open(t, srv.Addr())
	if err := c.AddAuth(ctx(t), "nosuchscheme", []byte("x")); !errors.Is(err, proto.ErrAuthFailed) {
		t.Fatalf("addauth: %v", err)
	}
	session(t, evs, StateAuthFailed)
	if c.State() != AuthFailed || c.State().Alive() {
		t.Fatalf("state %v", c.State())
	}
	if _, err := c.Exists(ctx(t), "/", false); !errors.Is(err, proto.ErrAuthFailed) {
		t.Fatalf("after auth failure: %v", err)
	}
}

// TestClusterFailover kills the server a client is connected to: the client
// moves to another member with the same session, replays its auth and
// re-registers its watches there.
func TestClusterFailover(t *testing.T) {
	cl := ensembletest.StartCluster(t, 3, 0)
	c, evs := open(t, strings.Join(cl.Addrs(), ","))
	x := ctx(t)
	if _, _, err := c.Create(x, "/f", nil, OpenACL, Persistent, 0); err != nil {
		t.Fatal(err)
	}
	c.Get(x, "/f", true)
	c.AddWatch(x, "/f", AddWatchPersistentRecursive)
	if err := c.AddAuth(x, "digest", []byte("u:p")); err != nil {
		t.Fatal(err)
	}
	id, first := c.SessionID(), c.Server()
	for _, m := range cl.Members() {
		if m.Addr() == first {
			m.Kill()
		}
	}
	session(t, evs, StateDisconnected)
	session(t, evs, StateSyncConnected)
	if c.SessionID() != id || c.Server() == first {
		t.Fatalf("session %x on %s, was %x on %s", c.SessionID(), c.Server(), id, first)
	}
	ids, err := c.WhoAmI(x)
	if err != nil || !hasDigest(ids, "u") {
		t.Fatalf("auth not replayed: %v %v", ids, err)
	}
	other, _ := open(t, c.Server())
	other.Set(x, "/f", []byte("1"), -1)
	other.Create(x, "/f/k", nil, OpenACL, Persistent, 0)
	// One event for the data change (the one-shot and the recursive watch
	// are one notification), then the recursive watch sees the child.
	for _, want := range []Event{{EventNodeDataChanged, StateSyncConnected, "/f"}, {EventNodeCreated, StateSyncConnected, "/f/k"}} {
		if ev := next(t, evs); ev != want {
			t.Fatalf("after failover: %+v, want %+v", ev, want)
		}
	}
}

func TestClosed(t *testing.T) {
	srv := ensembletest.Start(t)
	c, evs := open(t, srv.Addr())
	c.Close()
	session(t, evs, StateClosed)
	if _, err := c.Exists(ctx(t), "/", false); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	// A client that never reached a server closes too.
	never, err := New("127.0.0.1:1,127.0.0.1:2", Config{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range never.Events() {
		}
	}()
	if err := never.Close(); err != nil {
		t.Fatal(err)
	}
}
