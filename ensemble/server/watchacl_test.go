package server_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/internal/zkwire"
)

// digestOnly is an ACL granting everything to the digest user whose
// password is pw, and nothing to anyone else.
func digestOnly(user, pw string) []proto.ACL {
	sum := sha1.Sum([]byte(user + ":" + pw))
	id := proto.ID{Scheme: "digest", ID: user + ":" + base64.StdEncoding.EncodeToString(sum[:])}
	return []proto.ACL{{Perms: proto.PermAll, ID: id}}
}

// wireClient connects a zkwire client (go-zk has no addWatch) with the
// given digest credentials, "user:password".
func wireClient(t *testing.T, addr string, creds ...string) *zkwire.Client {
	t.Helper()
	c, err := zkwire.New(addr, zkwire.Config{SessionTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	x := opCtx(t)
	if err := c.WaitConnected(x); err != nil {
		t.Fatal(err)
	}
	for _, cr := range creds {
		if err := c.AddAuth(x, "digest", []byte(cr)); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// nextWatchEvent is the next watch event of c, skipping connection states.
func nextWatchEvent(t *testing.T, c *zkwire.Client) zkwire.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-c.Events():
			if ev.Type != zkwire.EventNone {
				return ev
			}
		case <-timeout:
			t.Fatal("no watch event")
		}
	}
}

// opCtx bounds a test's requests, so that a server that never answers
// fails the test instead of hanging it.
func opCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestWatchesHonourRead: addWatch on a node the session may not read is
// refused, and a recursive watch on a readable node hears only the events
// about nodes the session may read when they happen, with the identities it
// holds then.
func TestWatchesHonourRead(t *testing.T) {
	s := ensembletest.Start(t)
	x := opCtx(t)
	owner := wireClient(t, s.Addr(), "alice:secret")
	if _, _, err := owner.Create(x, "/secret", nil, digestOnly("alice", "secret"), zkwire.Persistent, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := owner.Create(x, "/pub", nil, zkwire.OpenACL, zkwire.Persistent, 0); err != nil {
		t.Fatal(err)
	}
	anon := wireClient(t, s.Addr())
	for _, mode := range []zkwire.AddWatchMode{zkwire.AddWatchPersistent, zkwire.AddWatchPersistentRecursive} {
		if err := anon.AddWatch(x, "/secret", mode); !errors.Is(err, proto.ErrNoAuth) {
			t.Fatalf("addWatch(%d) on /secret without READ: %v, want NOAUTH", mode, err)
		}
	}
	if err := anon.AddWatch(x, "/pub", zkwire.AddWatchPersistentRecursive); err != nil {
		t.Fatal(err)
	}
	create := func(p string, acl []proto.ACL) {
		t.Helper()
		if _, _, err := owner.Create(x, p, nil, acl, zkwire.Persistent, 0); err != nil {
			t.Fatal(err)
		}
	}
	create("/secret/a", zkwire.OpenACL)
	create("/pub/hidden", digestOnly("alice", "secret"))
	create("/pub/shown", zkwire.OpenACL)
	if ev := nextWatchEvent(t, anon); ev.Type != zkwire.EventNodeCreated || ev.Path != "/pub/shown" {
		t.Fatalf("first event without READ on /pub/hidden: %+v, want NodeCreated /pub/shown", ev)
	}
	if err := anon.AddAuth(x, "digest", []byte("alice:secret")); err != nil {
		t.Fatal(err)
	}
	create("/pub/hidden2", digestOnly("alice", "secret"))
	if ev := nextWatchEvent(t, anon); ev.Type != zkwire.EventNodeCreated || ev.Path != "/pub/hidden2" {
		t.Fatalf("event after addAuth: %+v, want NodeCreated /pub/hidden2", ev)
	}
}

// TestSetWatchesSkipsUnreadable: a session whose READ on a watched node was
// taken away while it was disconnected gets that watch no more when its
// client re-sends it with setWatches2 on reconnect.
func TestSetWatchesSkipsUnreadable(t *testing.T) {
	s := ensembletest.Start(t)
	x := opCtx(t)
	owner := wireClient(t, s.Addr(), "alice:secret", "bob:pw")
	if _, _, err := owner.Create(x, "/secret", nil, zkwire.OpenACL, zkwire.Persistent, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := owner.Create(x, "/pub", nil, zkwire.OpenACL, zkwire.Persistent, 0); err != nil {
		t.Fatal(err)
	}
	link := ensembletest.NewRelay(t, s.Addr())
	w := wireClient(t, link.Addr(), "alice:secret")
	for _, p := range []string{"/secret", "/pub"} {
		if err := w.AddWatch(x, p, zkwire.AddWatchPersistentRecursive); err != nil {
			t.Fatal(err)
		}
	}
	link.SetDown(true)
	if _, err := owner.SetACL(x, "/secret", digestOnly("bob", "pw"), -1); err != nil {
		t.Fatal(err)
	}
	link.SetDown(false)
	// A round trip after the reconnect: the setWatches2 queued before it
	// has been served. Calls made before the client noticed the cut fail
	// with connection loss, as ZooKeeper's do; they are tried again.
	for {
		_, err := w.Exists(x, "/pub", false)
		if err == nil {
			break
		}
		if !errors.Is(err, proto.ErrConnectionLoss) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// /secret/a is open, so a watch re-armed on /secret would hear it.
	if _, _, err := owner.Create(x, "/secret/a", nil, zkwire.OpenACL, zkwire.Persistent, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := owner.Create(x, "/pub/a", nil, zkwire.OpenACL, zkwire.Persistent, 0); err != nil {
		t.Fatal(err)
	}
	if ev := nextWatchEvent(t, w); ev.Type != zkwire.EventNodeCreated || ev.Path != "/pub/a" {
		t.Fatalf("first event after reconnect: %+v, want NodeCreated /pub/a", ev)
	}
}
