package node_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/node"
	"github.com/zookit/zookit/recipes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A Persistent ephemeral node comes back after someone deletes it, after
// its session expires, and across a server restart, with its latest data;
// a sequential one keeps its name; Close deletes it.
func TestPersistentComesBack(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	raw := locktest.Connect(t, srv.Addr())
	n := node.NewPersistent(c, "/svc/worker-", []byte("v1"), recipes.EphemeralSequential, node.WithProtection())
	if err := n.WaitForInitialCreate(ctx); err != nil {
		t.Fatal(err)
	}
	p := n.Path()
	if !strings.HasPrefix(p, "/svc/_c_") || !strings.Contains(p, "-worker-") {
		t.Fatalf("path %s, want a protected sequential name", p)
	}
	expect := func(what, data string) {
		t.Helper()
		var got []byte
		var owner int64
		locktest.Eventually(t, ctx, func() bool {
			d, st, err := raw.Get(ctx, p)
			if err != nil || st == nil {
				return false
			}
			got, owner = d, st.EphemeralOwner
			return string(d) == data && owner == c.SessionID()
		}, func() string {
			return fmt.Sprintf("%s: %s has %q owned by %#x; want %q owned by %#x", what, p, got, owner, data, c.SessionID())
		})
	}
	expect("created", "v1")
	if err := raw.Delete(ctx, p, -1); err != nil {
		t.Fatal(err)
	}
	expect("after a delete", "v1")
	if err := n.SetData(ctx, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if err := srv.ExpireSession(c.SessionID()); err != nil {
		t.Fatal(err)
	}
	expect("after the session expired", "v2")
	srv.Restart()
	expect("after a restart", "v2")
	if n.Path() != p {
		t.Fatalf("path changed from %s to %s", p, n.Path())
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := raw.Exists(ctx, p); st != nil || err != nil {
		t.Fatalf("after Close: %v, %v", st, err)
	}
}

// A node that already exists is adopted and given our data.
func TestPersistentAdopts(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	if _, err := c.CreateWithParents(ctx, "/cfg/flag", []byte("old"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	n := node.NewPersistent(c, "/cfg/flag", []byte("new"), recipes.Persistent)
	defer n.Close(ctx)
	if err := n.WaitForInitialCreate(ctx); err != nil {
		t.Fatal(err)
	}
	if data, _, err := c.Get(ctx, "/cfg/flag"); string(data) != "new" || err != nil {
		t.Fatalf("adopted node: %q, %v", data, err)
	}
}

// Members see each other join and leave, with their payloads.
func TestGroupMembers(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	var members []*node.GroupMember
	for i := range 3 {
		g := node.NewGroupMember(locktest.Connect(t, srv.Addr()), "/group", fmt.Sprintf("m%d", i), []byte(fmt.Sprintf("host-%d", i)))
		defer g.Close(ctx)
		if err := g.WaitForInitialCreate(ctx); err != nil {
			t.Fatal(err)
		}
		members = append(members, g)
	}
	want := map[string][]byte{"m0": []byte("host-0"), "m1": []byte("host-1"), "m2": []byte("host-2")}
	got, err := members[0].Members(ctx)
	if err != nil || !maps.EqualFunc(got, want, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatalf("members %q (%v), want %q", got, err, want)
	}
	if err := members[1].SetPayload(ctx, []byte("moved")); err != nil {
		t.Fatal(err)
	}
	if err := members[2].Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = members[0].Members(ctx)
	if err != nil || len(got) != 2 || string(got["m1"]) != "moved" {
		t.Fatalf("members after a change and a leave: %q (%v)", got, err)
	}
}

// A PersistentTTL node and its touch child exist while kept; once the
// keeper stops touching (its Client closed without Close), both expire.
func TestPersistentTTL(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	raw := locktest.Connect(t, srv.Addr())
	keeperCtx, stop := context.WithTimeout(ctx, locktest.Guard)
	defer stop()
	keeper, err := recipes.New(keeperCtx, []string{srv.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	n := node.NewPersistentTTL(keeper, "/jobs/j1", []byte("running"), 500*time.Millisecond)
	if err := n.WaitForInitialCreate(ctx); err != nil {
		t.Fatal(err)
	}
	// Kept for several TTLs: still there.
	time.Sleep(1500 * time.Millisecond)
	for _, p := range []string{"/jobs/j1", "/jobs/j1/touch"} {
		if st, err := raw.Exists(ctx, p); st == nil || err != nil {
			t.Fatalf("%s while kept: %v, %v", p, st, err)
		}
	}
	keeper.Close() // the process "dies": no Close, no more touches
	n.Close(ctx)
	locktest.Eventually(t, ctx, func() bool {
		st, err := raw.Exists(ctx, "/jobs/j1")
		return err == nil && st == nil
	}, func() string { return "/jobs/j1 never expired" })
}
