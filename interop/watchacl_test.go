package interop

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/internal/zkwire"
)

// TestDifferentialWatchACL requires zkserver to filter watch events by READ
// exactly as Apache ZooKeeper does since CVE-2024-23944 (Debian's
// 3.8.0-11+deb12u2 carries the fix): an event reaches a watcher only if its
// identities at delivery may read the node the event is about. Only
// watches both servers accept are set: zkserver also refuses addWatch on an
// unreadable node, which ZooKeeper allows.
func TestDifferentialWatchACL(t *testing.T) {
	compareScripts(t, StartApacheZooKeeper, StartZookit, watchACLScript)
}

// watchACLScript runs the fixed script and returns the events each watcher
// heard, one line each.
func watchACLScript(t *testing.T, addr string) []string {
	x, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dial := func() *zkwire.Client {
		c, err := zkwire.New(addr, zkwire.Config{SessionTimeout: 10 * time.Second})
		if err == nil {
			t.Cleanup(func() { c.Close() })
			err = c.WaitConnected(x)
		}
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	sum := sha1.Sum([]byte("alice:secret"))
	aliceOnly := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "digest", ID: "alice:" + base64.StdEncoding.EncodeToString(sum[:])}}}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	owner := dial()
	must("addAuth", owner.AddAuth(x, "digest", []byte("alice:secret")))
	create := func(p string, acl []proto.ACL) {
		t.Helper()
		_, _, err := owner.Create(x, p, nil, acl, zkwire.Persistent, 0)
		must("create "+p, err)
	}
	create("/wa", zkwire.OpenACL)
	rec, pers := dial(), dial()
	must("addWatch recursive", rec.AddWatch(x, "/wa", zkwire.AddWatchPersistentRecursive))
	must("addWatch persistent", pers.AddWatch(x, "/wa", zkwire.AddWatchPersistent))
	for _, c := range []*zkwire.Client{rec, pers} {
		must("addWatch /wa-end", c.AddWatch(x, "/wa-end", zkwire.AddWatchPersistent))
	}
	if _, err := rec.Exists(x, "/wa/later", true); !errors.Is(err, proto.ErrNoNode) {
		t.Fatalf("exists /wa/later: %v, want NONODE", err)
	}

	create("/wa/open", zkwire.OpenACL)
	create("/wa/hidden", aliceOnly)
	_, err := owner.Set(x, "/wa/open", []byte("1"), -1)
	must("set /wa/open", err)
	_, err = owner.Set(x, "/wa/hidden", []byte("1"), -1)
	must("set /wa/hidden", err)
	// The exists watch is used up by an event it may not hear.
	create("/wa/later", aliceOnly)
	_, err = owner.SetACL(x, "/wa/later", zkwire.OpenACL, -1)
	must("setACL /wa/later", err)
	_, err = owner.Set(x, "/wa/later", []byte("1"), -1)
	must("set /wa/later", err)
	must("delete /wa/hidden", owner.Delete(x, "/wa/hidden", -1))
	// Identities added after the watch was set count.
	must("addAuth", rec.AddAuth(x, "digest", []byte("alice:secret")))
	create("/wa/hidden2", aliceOnly)
	create("/wa-end", zkwire.OpenACL)

	return append(watchEventsUntil(t, "recursive", rec, "/wa-end"), watchEventsUntil(t, "persistent", pers, "/wa-end")...)
}

// watchEventsUntil collects c's watch events up to the creation of end.
func watchEventsUntil(t *testing.T, name string, c *zkwire.Client, end string) []string {
	var lines []string
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-c.Events():
			if ev.Type == zkwire.EventNone {
				continue
			}
			lines = append(lines, fmt.Sprintf("%s: %v %s", name, ev.Type, ev.Path))
			if ev.Type == zkwire.EventNodeCreated && ev.Path == end {
				return lines
			}
		case <-timeout:
			t.Fatalf("%s: no %s event; heard %q", name, end, lines)
		}
	}
}
