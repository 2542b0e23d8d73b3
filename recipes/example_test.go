package recipes_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"path"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/recipes"
	"github.com/zookit/zookit/recipes/recipestest"
)

// Connect, follow the connection state, and make a protected
// ephemeral-sequential node under a namespace. It needs a server on
// 127.0.0.1:2181, so it has no Output line and is only compiled; the
// examples below run against a server of their own (recipestest).
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

// A protected create names the node _c_<uuid>-<name>, so that a create
// whose reply was lost is found again, not made twice; Curator reads the
// same names.
func ExampleClient_CreateProtected() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, done, err := recipestest.Connect(ctx, recipes.WithNamespace("myapp"))
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	p, err := c.CreateProtected(ctx, "/workers/worker-", []byte("host-1"), recipes.EphemeralSequential)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(path.Dir(p), recipes.IsProtected(path.Base(p)), recipes.StripProtected(path.Base(p)))
	fmt.Println(c.FullPath(p) == "/myapp"+p)
	// Output:
	// /workers true worker-0000000000
	// true
}

// A failed multi changes nothing and says which operation failed.
func ExampleOpError() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, done, err := recipestest.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	_, err = c.Multi(ctx,
		&zk.CreateRequest{Path: "/a", Data: []byte("1"), Acl: c.ACL()},
		&zk.SetDataRequest{Path: "/missing", Data: []byte("2"), Version: -1},
	)
	var opErr *recipes.OpError
	if errors.As(err, &opErr) {
		fmt.Println("op", opErr.Index, errors.Is(err, zk.ErrNoNode))
	}
	st, err := c.Exists(ctx, "/a")
	fmt.Println("created /a:", st != nil, err)
	// Output:
	// op 1 true
	// created /a: false <nil>
}

// A reply over the Client's bound fails its own request with
// ErrReplyTooLarge, where a Java client would drop the connection and
// retry for ever; the session carries on.
func ExampleWithMaxReply() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, done, err := recipestest.Connect(ctx, recipes.WithMaxReply(1024))
	if err != nil {
		log.Fatal(err)
	}
	defer done()
	if _, err := c.Create(ctx, "/blob", make([]byte, 4096), recipes.Persistent); err != nil {
		log.Fatal(err)
	}
	_, _, err = c.Get(ctx, "/blob")
	fmt.Println(errors.Is(err, recipes.ErrReplyTooLarge))
	st, err := c.Exists(ctx, "/blob")
	fmt.Println(st.DataLength, err)
	// Output:
	// true
	// 4096 <nil>
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
