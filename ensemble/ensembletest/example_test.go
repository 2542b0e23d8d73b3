package ensembletest_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/recipes"
)

// Run gives code without a testing.TB, such as this Example, a server of
// its own; a test calls Start instead, which stops the server with the
// test.
func ExampleRun() {
	srv, err := ensembletest.Run()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := recipes.New(ctx, []string{srv.Addr()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateWithParents(ctx, "/app/config", []byte("v1"), recipes.Persistent); err != nil {
		log.Fatal(err)
	}
	data, _, err := c.Get(ctx, "/app/config")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(data))
	// Output: v1
}
