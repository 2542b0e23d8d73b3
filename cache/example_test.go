package cache_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zookit/zookit/cache"
	"github.com/zookit/zookit/recipes"
)

// Follow a configuration subtree and react to its changes. It needs a
// server on 127.0.0.1:2181, so it has no Output line and is only compiled.
func ExampleTreeCache() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	tc := cache.NewTreeCache(c, "/config", cache.WithMaxDepth(2))
	defer tc.Close()
	for e := range tc.Events(ctx) {
		switch e.Type {
		case cache.Initialized:
			names, _ := tc.Children("/config")
			fmt.Println("loaded; services:", names)
		case cache.Added, cache.Updated:
			fmt.Printf("%s = %s (version %d)\n", e.Node.Path, e.Node.Data, e.Node.Stat.Version)
		case cache.Removed:
			fmt.Println(e.Node.Path, "removed")
		default:
			fmt.Println("connection:", e.Type)
		}
	}
}

// Read a feature flag from memory, whether or not its node exists yet.
func ExampleNodeCache() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	nc := cache.NewNodeCache(c, "/flags/new-ui")
	defer nc.Close()
	if err := nc.AwaitInitialized(ctx); err != nil {
		log.Fatal(err)
	}
	if n, ok := nc.Get(); ok {
		fmt.Printf("new-ui = %s\n", n.Data)
	} else {
		fmt.Println("new-ui is not set")
	}
}

// Print what a cache holds, parents before children.
func ExampleTreeCache_Snapshot() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	tc := cache.NewTreeCache(c, "/services")
	defer tc.Close()
	if err := tc.AwaitInitialized(ctx); err != nil {
		log.Fatal(err)
	}
	for _, n := range tc.Snapshot() {
		fmt.Println(n.Path, len(n.Data))
	}
}
