package interop

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/node"
	"github.com/zookit/zookit/node/nodetest"
)

// nodeOptions give both servers TTL nodes (in serverJVMFlags) and a
// container reaper that runs every 100 ms, so that TTL nodes expire within
// a test, and short ticks, so that a 1 s session is not stretched to 4 s.
var nodeOptions = Options{TickTime: 200, JVMFlags: []string{"-Dznode.container.checkIntervalMs=100"}}

// TestNode runs package node's server-independent tests against zkserver
// and against Apache ZooKeeper.
func TestNode(t *testing.T) {
	Require(t, ZooKeeper)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, nodeOptions)
			t.Run("ComesBack", func(t *testing.T) { nodetest.ComesBack(t, addr) })
			t.Run("Group", func(t *testing.T) { nodetest.Group(t, addr) })
			t.Run("TTLExpires", func(t *testing.T) { nodetest.TTLExpires(t, addr) })
		})
	}
}

// TestNodeCurator puts Go and Curator 5.4 on the same paths: a Go
// GroupMember and a Curator one see each other and see the Curator one
// leave; a Go PersistentTTL and Curator's PersistentTtlNode lay out the
// same nodes (a TTL node with a TTL touch child) with the same data, but
// for the touch child's (see node.PersistentTTL).
func TestNodeCurator(t *testing.T) {
	Require(t, ZooKeeper, Curator)
	compileCtx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cp, err := CompileJava(compileCtx, t.TempDir(), "NodePeer")
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, nodeOptions)
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			peer, err := StartPeer(exec.CommandContext(ctx, "java", "-cp", cp, "NodePeer", addr))
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Kill()
			c := locktest.Connect(t, addr)

			const group = "/interop/group"
			g := node.NewGroupMember(c, group, "go-1", []byte("g"))
			defer g.Close(ctx)
			if err := g.WaitForInitialCreate(ctx); err != nil {
				t.Fatal(err)
			}
			await(t, ctx, peer, "JOINED", "member", group, "java-1", "j")
			want := "MEMBERS go-1=g java-1=j"
			var got string
			locktest.Eventually(t, ctx, func() bool {
				l := await(t, ctx, peer, "MEMBERS", "members")
				got = strings.Join(l.Fields, " ")
				return got == want
			}, func() string { return fmt.Sprintf("Curator sees %q, want %q", got, want) })
			members, err := g.Members(ctx)
			if err != nil || len(members) != 2 || string(members["java-1"]) != "j" || string(members["go-1"]) != "g" {
				t.Fatalf("Go sees members %q (%v), want go-1=g java-1=j", members, err)
			}

			const ttl = 10 * time.Second
			await(t, ctx, peer, "TTL", "ttl", "/interop/ttl-java", fmt.Sprint(ttl.Milliseconds()), "payload")
			n := node.NewPersistentTTL(c, "/interop/ttl-go", []byte("payload"), ttl)
			defer n.Close(ctx)
			if err := n.WaitForInitialCreate(ctx); err != nil {
				t.Fatal(err)
			}
			layout := func(root string) string {
				var b strings.Builder
				locktest.Eventually(t, ctx, func() bool {
					b.Reset()
					kids, err := c.Children(ctx, root)
					if err != nil || !slices.Equal(kids, []string{"touch"}) {
						return false
					}
					for _, p := range []string{root, root + "/touch"} {
						data, st, err := c.Get(ctx, p)
						if err != nil {
							return false
						}
						// Curator creates and touches the child with its
						// client's default data, the local IP address;
						// Go writes none. Nothing reads it.
						if p != root {
							data = nil
						}
						fmt.Fprintf(&b, "%s data %q owner %#x\n", strings.TrimPrefix(p, root), data, st.EphemeralOwner)
					}
					return true
				}, func() string { return root + " has no touch child" })
				return b.String()
			}
			if j, g := layout("/interop/ttl-java"), layout("/interop/ttl-go"); j != g {
				t.Fatalf("TTL node layouts differ:\nCurator:\n%sGo:\n%s", j, g)
			}

			if err := peer.Exit(ctx); err != nil {
				t.Fatal(err)
			}
			locktest.Eventually(t, ctx, func() bool {
				members, err := g.Members(ctx)
				return err == nil && len(members) == 1 && members["go-1"] != nil
			}, func() string { return "Go still sees the Curator member after it left" })
		})
	}
}

// await sends a command to the peer and returns its answer line.
func await(t *testing.T, ctx context.Context, peer *PeerProcess, answer string, command ...string) PeerLine {
	t.Helper()
	if err := peer.Send("%s", strings.Join(command, " ")); err != nil {
		t.Fatal(err)
	}
	l, err := peer.Await(ctx, answer)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
