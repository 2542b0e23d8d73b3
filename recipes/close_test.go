package recipes

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zookit/zookit/ensemble/ensembletest"
)

// The simulated expiry replaces the connection; racing Close, it must
// neither dial after Close began nor leave the replaced connection running.
func TestCloseRacingSimulatedExpiry(t *testing.T) {
	for _, expiryFirst := range []bool{false, true} {
		name := "CloseFirst"
		if expiryFirst {
			name = "ExpiryFirst"
		}
		t.Run(name, func(t *testing.T) {
			srv := ensembletest.Start(t)
			// Goroutines of the test server and of earlier tests are not
			// this test's business; everything the Client starts is.
			ignore := goleak.IgnoreCurrent()
			c := connect(t, srv.Addr(), WithSessionTimeout(time.Minute))
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			ch := c.Listen(ctx)
			expectStates(t, ctx, ch, Connected)
			srv.Stop()
			expectStates(t, ctx, ch, Suspended)
			c.mu.Lock()
			lost := connEvent{gen: c.gen, lostTimer: true}
			c.mu.Unlock()
			// The test stands in for the state machine, which may take the
			// timer's event off the queue just before Close and handle it
			// just after Close has marked the Client closed, or just before.
			if expiryFirst {
				c.handle(lost)
				c.Close()
			} else {
				closed := make(chan struct{})
				go func() {
					c.Close()
					close(closed)
				}()
				<-c.Closed()
				c.handle(lost)
				<-closed
			}
			goleak.VerifyNone(t, ignore)
		})
	}
}
