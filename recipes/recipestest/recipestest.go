// Package recipestest gives examples and tests a recipes.Client of a server
// of their own, running in the process (see ensembletest), the way
// net/http/httptest gives them an HTTP server.
package recipestest

import (
	"context"
	"fmt"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/recipes"
)

// Connect starts a fresh in-process server and returns a Client of it;
// done closes the Client and then stops the server. In production, give
// recipes.New the ensemble's addresses instead.
func Connect(ctx context.Context, opts ...recipes.Option) (c *recipes.Client, done func(), err error) {
	srv, err := ensembletest.Run()
	if err != nil {
		return nil, nil, fmt.Errorf("recipestest: %w", err)
	}
	c, err = recipes.New(ctx, []string{srv.Addr()}, opts...)
	if err != nil {
		srv.Close()
		return nil, nil, fmt.Errorf("recipestest: %w", err)
	}
	return c, func() { c.Close(); srv.Close() }, nil
}
