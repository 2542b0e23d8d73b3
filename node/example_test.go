package node_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zookit/zookit/node"
	"github.com/zookit/zookit/recipes"
)

// Keep a registration alive through disconnections and session loss. It
// needs a server on 127.0.0.1:2181, so it has no Output line and is only
// compiled.
func ExamplePersistent() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	n := node.NewPersistent(c, "/services/api/instance-", []byte("10.0.0.7:8080"),
		recipes.EphemeralSequential, node.WithProtection())
	defer n.Close(ctx)
	if err := n.WaitForInitialCreate(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("registered at", n.Path())
}

// Join a group and list its members.
func ExampleGroupMember() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
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
}
