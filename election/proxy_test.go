package election_test

import (
	"context"
	"testing"
	"time"

	"github.com/zookit/zookit/election"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock/locktest"
)

// CURATOR-504-style: the latch's create reaches the server but its reply is
// lost with the connection. The latch must adopt the node it made (one node,
// no orphan) and lead on it.
func TestLatchCreateReplyLost(t *testing.T) {
	srv := ensembletest.Start(t)
	proxy := ensembletest.NewRelay(t, srv.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, proxy.Addr())
	proxy.LoseReply("latch-")
	l := election.NewLeaderLatch(c, "/lost", "me", election.WithSuspendTolerance(time.Hour))
	defer l.Close(ctx, election.Silent)
	term, err := l.Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if proxy.Lost() != 1 {
		t.Fatalf("%d replies lost; want the create's", proxy.Lost())
	}
	kids, err := c.Children(ctx, "/lost")
	if err != nil || len(kids) != 1 || "/lost/"+kids[0] != term.Path() {
		t.Fatalf("children %v (%v), term at %s: want the one adopted node", kids, err, term.Path())
	}
}
