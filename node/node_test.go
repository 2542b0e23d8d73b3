package node_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/node"
	"github.com/zookit/zookit/node/nodetest"
	"github.com/zookit/zookit/recipes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPersistentComesBack(t *testing.T) {
	nodetest.ComesBack(t, ensembletest.Start(t).Addr())
}

// A Persistent ephemeral node is there again after a server restart, with
// its data, in the same session.
func TestPersistentAcrossRestart(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	n := node.NewPersistent(c, "/svc/one", []byte("v1"), recipes.Ephemeral)
	defer n.Close(ctx)
	if err := n.WaitForInitialCreate(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	raw := locktest.Connect(t, srv.Addr())
	locktest.Eventually(t, ctx, func() bool {
		d, st, err := raw.Get(ctx, "/svc/one")
		return err == nil && string(d) == "v1" && st.EphemeralOwner == c.SessionID()
	}, func() string { return "/svc/one is not back with its data and session after the restart" })
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

func TestGroupMembers(t *testing.T) { nodetest.Group(t, ensembletest.Start(t).Addr()) }

func TestPersistentTTL(t *testing.T) { nodetest.TTLExpires(t, ensembletest.Start(t).Addr()) }
