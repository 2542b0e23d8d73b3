package nodetest

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/node"
	"github.com/zookit/zookit/recipes"
)

// ComesBack checks that a protected ephemeral-sequential Persistent comes
// back under the same name with its latest data after another client
// deletes it and after its session is lost (the link cut for longer than
// the session timeout, so the server expires it), and that Close removes
// it.
func ComesBack(t *testing.T, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	link := ensembletest.NewRelay(t, addr)
	c := locktest.Connect(t, link.Addr(), recipes.WithSessionTimeout(time.Second))
	raw := locktest.Connect(t, addr)
	n := node.NewPersistent(c, "/nodes/svc/worker-", []byte("v1"), recipes.EphemeralSequential, node.WithProtection())
	if err := n.WaitForInitialCreate(ctx); err != nil {
		t.Fatal(err)
	}
	p := n.Path()
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
	old := c.SessionID()
	link.SetDown(true)
	// The server expires the session once the timeout passes unheard.
	locktest.Eventually(t, ctx, func() bool {
		st, err := raw.Exists(ctx, p)
		return err == nil && st == nil
	}, func() string { return p + " outlived its cut-off session" })
	link.SetDown(false)
	locktest.Eventually(t, ctx, func() bool { return c.SessionID() != old && c.State().IsConnected() },
		func() string { return "no new session after the old one expired" })
	expect("after the session was lost", "v2")
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

// Group checks that GroupMembers see each other join, change their
// payload and leave.
func Group(t *testing.T, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	var members []*node.GroupMember
	for i := range 3 {
		g := node.NewGroupMember(locktest.Connect(t, addr), "/nodes/group", fmt.Sprintf("m%d", i), []byte(fmt.Sprintf("host-%d", i)))
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

// TTLExpires checks that a PersistentTTL node and its touch child exist
// for several TTLs while kept, and that both expire once the keeper stops
// touching without a Close, as when its process dies.
func TTLExpires(t *testing.T, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	raw := locktest.Connect(t, addr)
	keeper, err := recipes.New(ctx, []string{addr})
	if err != nil {
		t.Fatal(err)
	}
	// A touch every half TTL leaves a late touch half a TTL of slack: 1 s
	// keeps that above a loaded machine's pauses.
	n := node.NewPersistentTTL(keeper, "/nodes/jobs/j1", []byte("running"), time.Second)
	if err := n.WaitForInitialCreate(ctx); err != nil {
		keeper.Close()
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // two and a half TTLs
	for _, p := range []string{"/nodes/jobs/j1", "/nodes/jobs/j1/touch"} {
		if st, err := raw.Exists(ctx, p); st == nil || err != nil {
			keeper.Close()
			t.Fatalf("%s while kept: %v, %v", p, st, err)
		}
	}
	keeper.Close() // the process "dies": no Close, no more touches
	n.Close(ctx)
	locktest.Eventually(t, ctx, func() bool {
		st, err := raw.Exists(ctx, "/nodes/jobs/j1")
		return err == nil && st == nil
	}, func() string { return "/nodes/jobs/j1 never expired" })
}
