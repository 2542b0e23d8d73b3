package recipes

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zookit/zookit/ensemble/ensembletest"
)

// The simulated expiry replaces the connection; racing Close, it must
// neither dial after Close began nor leave a connection running.
func TestCloseRacingSimulatedExpiry(t *testing.T) {
	for _, order := range []string{"CloseFirst", "ExpiryFirst", "CloseWhileDialing"} {
		t.Run(order, func(t *testing.T) {
			srv := ensembletest.Start(t)
			// Goroutines of the test server and of earlier tests are not
			// this test's business; everything the Client starts is.
			ignore := goleak.IgnoreCurrent()
			var c *Client
			var closeOnDial atomic.Bool
			closed := make(chan struct{})
			closeClient := func() {
				c.Close()
				close(closed)
			}
			c = connect(t, srv.Addr(), WithSessionTimeout(time.Minute), func(o *options) {
				o.wrap = func(conn zkConn) zkConn {
					if closeOnDial.Load() {
						go closeClient()
						<-c.Closed()
					}
					return conn
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			ch := c.Listen(ctx)
			expectStates(t, ctx, ch, Connected)
			srv.Stop()
			expectStates(t, ctx, ch, Suspended)
			c.mu.Lock()
			gen := c.gen
			c.mu.Unlock()
			lost := connEvent{gen: gen, lostTimer: true}
			switch order {
			case "CloseFirst":
				// The state machine may take the timer's event off the
				// queue just before Close and handle it just after Close
				// has marked the Client closed; the test stands in for it.
				go closeClient()
				<-c.Closed()
				c.handle(lost)
			case "ExpiryFirst":
				c.events.push(lost)
				waitFor(t, ctx, func() bool {
					c.mu.Lock()
					defer c.mu.Unlock()
					return c.gen != gen
				})
				go closeClient()
			case "CloseWhileDialing":
				closeOnDial.Store(true)
				c.events.push(lost)
			}
			<-closed
			goleak.VerifyNone(t, ignore)
		})
	}
}
