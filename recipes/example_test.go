package recipes_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zookit/zookit/recipes"
)

// Connect, follow the connection state, and make a protected
// ephemeral-sequential node under a namespace. It needs a server on
// 127.0.0.1:2181, so it has no Output line and is only compiled.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := recipes.New(ctx, []string{"127.0.0.1:2181"},
		recipes.WithNamespace("myapp"),
		recipes.WithSessionTimeout(10*time.Second),
		recipes.WithRetry(recipes.ExponentialBackoff(100*time.Millisecond, 5)),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	go func() {
		for s := range c.Listen(ctx) {
			log.Println("connection:", s)
		}
	}()

	node, err := c.CreateProtected(ctx, "/workers/worker-", []byte("host-1"), recipes.EphemeralSequential)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(node) // /workers/_c_<uuid>-worker-0000000000
}

// Curator orders contenders by what follows the lock name, so a protected
// prefix does not disturb the order, and names without the lock name sort
// as themselves.
func ExampleSortChildren() {
	names := []string{
		"_c_a1b2c3d4-0000-4000-8000-000000000000-lock-0000000007",
		"_c_ffffffff-0000-4000-8000-000000000000-lock-0000000003",
		"other",
	}
	recipes.SortChildren(names, func(n string) string { return recipes.SortKey(n, "lock-") })
	for _, n := range names {
		fmt.Println(recipes.StripProtected(n))
	}
	// Output:
	// lock-0000000003
	// lock-0000000007
	// other
}
