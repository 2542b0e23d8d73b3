package node_test

import (
	"context"
	"fmt"
	"log"
	"path"
	"time"

	"github.com/zookit/zookit/node"
	"github.com/zookit/zookit/recipes"
	"github.com/zookit/zookit/recipes/recipestest"
)

// Keep a registration alive through disconnections, session loss and
// deletion by others: the node comes back with the same name.
func ExamplePersistent() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx) // a server of its own
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	n := node.NewPersistent(c, "/services/api/instance-", []byte("10.0.0.7:8080"),
		recipes.EphemeralSequential, node.WithProtection())
	defer n.Close(ctx)
	if err := n.WaitForInitialCreate(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("registered as", recipes.StripProtected(path.Base(n.Path())))
	if err := c.Delete(ctx, n.Path(), -1); err != nil { // an operator's mistake
		log.Fatal(err)
	}
	for {
		if st, err := c.Exists(ctx, n.Path()); err != nil {
			log.Fatal(err)
		} else if st != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("back as", recipes.StripProtected(path.Base(n.Path())))
	// Output:
	// registered as instance-0000000000
	// back as instance-0000000000
}

// A node that outlives its process by at most a TTL, laid out as Curator's
// PersistentTtlNode: the node and a touch child, both TTL nodes, the child
// touched every TTL/2 while the process runs.
func ExamplePersistentTTL() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	n := node.NewPersistentTTL(c, "/jobs/running/job-17", []byte("host-1"), 10*time.Second)
	defer n.Close(ctx)
	if err := n.WaitForInitialCreate(ctx); err != nil {
		log.Fatal(err)
	}
	data, _, err := c.Get(ctx, "/jobs/running/job-17")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(data))
	// Output: host-1
}

// Join a group and list its members.
func ExampleGroupMember() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	g := node.NewGroupMember(c, "/groups/indexers", "host-1", []byte("shard 3"))
	defer g.Close(ctx)
	if err := g.WaitForInitialCreate(ctx); err != nil {
		log.Fatal(err)
	}
	members, err := g.Members(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for id, payload := range members {
		fmt.Println(id, string(payload))
	}
	// Output: host-1 shard 3
}
