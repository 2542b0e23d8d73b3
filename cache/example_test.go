package cache_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zookit/zookit/cache"
	"github.com/zookit/zookit/recipes"
	"github.com/zookit/zookit/recipes/recipestest"
)

// Follow a configuration subtree: a subscriber after the first load gets
// the content as Added events, then Initialized, then every change.
func ExampleTreeCache() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	for _, p := range []string{"/config/db", "/config/web"} {
		if _, err := c.CreateWithParents(ctx, p, []byte("v1"), recipes.Persistent); err != nil {
			log.Fatal(err)
		}
	}
	tc := cache.NewTreeCache(c, "/config", cache.WithMaxDepth(1))
	defer tc.Close()
	if err := tc.AwaitInitialized(ctx); err != nil {
		log.Fatal(err)
	}
	for e := range tc.Events(ctx) {
		switch e.Type {
		case cache.Added:
			fmt.Println("added", e.Node.Path)
		case cache.Initialized:
			fmt.Println("initialized")
			if _, err := c.Set(ctx, "/config/db", []byte("v2"), -1); err != nil {
				log.Fatal(err)
			}
		case cache.Updated:
			fmt.Printf("updated %s to %s (version %d)\n", e.Node.Path, e.Node.Data, e.Node.Stat.Version)
			return
		}
	}
	// Output:
	// added /config
	// added /config/db
	// added /config/web
	// initialized
	// updated /config/db to v2 (version 1)
}

// Read a feature flag from memory, whether or not its node exists yet.
func ExampleNodeCache() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	nc := cache.NewNodeCache(c, "/flags/new-ui")
	defer nc.Close()
	if err := nc.AwaitInitialized(ctx); err != nil {
		log.Fatal(err)
	}
	if _, ok := nc.Get(); !ok {
		fmt.Println("new-ui is not set")
	}
	events := nc.Events(ctx)
	if _, err := c.CreateWithParents(ctx, "/flags/new-ui", []byte("on"), recipes.Persistent); err != nil {
		log.Fatal(err)
	}
	for e := range events {
		if e.Type == cache.Added {
			break
		}
	}
	n, _ := nc.Get()
	fmt.Printf("new-ui = %s\n", n.Data)
	// Output:
	// new-ui is not set
	// new-ui = on
}

// List what a cache holds, parents before children.
func ExampleTreeCache_Snapshot() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, done, err := recipestest.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	for _, p := range []string{"/services/api/i-2", "/services/api/i-1", "/services/web"} {
		if _, err := c.CreateWithParents(ctx, p, []byte("up"), recipes.Persistent); err != nil {
			log.Fatal(err)
		}
	}
	tc := cache.NewTreeCache(c, "/services")
	defer tc.Close()
	if err := tc.AwaitInitialized(ctx); err != nil {
		log.Fatal(err)
	}
	for _, n := range tc.Snapshot() {
		fmt.Println(n.Path)
	}
	// Output:
	// /services
	// /services/api
	// /services/api/i-1
	// /services/api/i-2
	// /services/web
}
