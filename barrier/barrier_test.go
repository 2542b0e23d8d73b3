package barrier_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zookit/zookit/barrier"
	"github.com/zookit/zookit/barrier/barriertest"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/internal/contend"
	"github.com/zookit/zookit/recipes"
)

// Every Client a test makes is closed by the test and every server stopped
// by t.Cleanup, so nothing a barrier started may outlive the tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBarrier(t *testing.T) {
	srv := ensembletest.Start(t)
	barriertest.Simple(t, srv.Addr(), "/barriers/simple")
}

func TestDouble(t *testing.T) {
	srv := ensembletest.Start(t)
	barriertest.Double(t, srv.Addr(), "/barriers/double", 4)
}

func TestDoubleEnterTimeout(t *testing.T) {
	srv := ensembletest.Start(t)
	barriertest.EnterTimeout(t, srv.Addr(), "/barriers/timeout")
}

func TestDoubleSpuriousWakeUp(t *testing.T) {
	srv := ensembletest.Start(t)
	barriertest.Spurious(t, srv.Addr(), "/barriers/spurious", barriertest.ForeignChild)
}

// A restart drops every connection while two members wait (GH-1290's
// reconnect case): they must neither pass on reconnecting nor miss the
// third member's arrival, which their watches, set again on reconnect,
// report.
func TestDoubleServerRestart(t *testing.T) {
	srv := ensembletest.Start(t)
	barriertest.Spurious(t, srv.Addr(), "/barriers/restart", func(context.Context, *recipes.Client, string) error {
		srv.Restart()
		return nil
	})
}

var memberName = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// The nodes are laid out as Curator lays them out: an ephemeral member node
// named by a UUID with the member's data, a persistent ready node, container
// parents that the server reaps once the members have left.
func TestDoubleLayout(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), barriertest.Guard)
	defer cancel()
	c := barriertest.Connect(t, srv.Addr(), recipes.WithNamespace("app"))
	d := barrier.NewDouble(c, "/a/b", 1, barrier.WithData([]byte("me")))
	if err := d.Enter(ctx); err != nil {
		t.Fatal(err)
	}
	raw := barriertest.Connect(t, srv.Addr())
	kids, err := raw.Children(ctx, "/app/a/b")
	if err != nil || len(kids) != 2 {
		t.Fatalf("children of /app/a/b: %v, %v; want a member node and ready", kids, err)
	}
	for _, k := range kids {
		data, st, err := raw.Get(ctx, "/app/a/b/"+k)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case k == "ready":
			if st.EphemeralOwner != 0 || len(data) != 0 {
				t.Errorf("ready: owner 0x%x data %q; want a persistent empty node", st.EphemeralOwner, data)
			}
		case memberName.MatchString(k):
			if st.EphemeralOwner != c.SessionID() || string(data) != "me" {
				t.Errorf("member node %s: owner 0x%x data %q; want ours (0x%x) with %q", k, st.EphemeralOwner, data, c.SessionID(), "me")
			}
		default:
			t.Errorf("unexpected child %q", k)
		}
	}
	if err := d.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if err := contend.WaitChildren(ctx, raw, "/", func(kids []string) (bool, error) {
		return !slices.Contains(kids, "app"), nil
	}); err != nil {
		t.Fatalf("container parents never reaped: %v", err)
	}
}

// Children that are not members' nodes neither count towards the
// threshold nor hold anyone in Leave.
func TestDoubleForeignChild(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), barriertest.Guard)
	defer cancel()
	c := barriertest.Connect(t, srv.Addr())
	if _, err := c.CreateWithParents(ctx, "/barriers/foreign/other", nil, recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	a := barrier.NewDouble(c, "/barriers/foreign", 2)
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if err := a.Enter(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Enter with one member and a foreign child: %v, want DeadlineExceeded", err)
	}
	b := barrier.NewDouble(barriertest.Connect(t, srv.Addr()), "/barriers/foreign", 2)
	errs := make(chan error, 1)
	go func() { errs <- a.Enter(ctx) }()
	if err := b.Enter(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	go func() { errs <- a.Leave(ctx) }()
	if err := b.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	kids, err := c.Children(ctx, "/barriers/foreign")
	if err != nil || len(kids) != 1 || kids[0] != "other" {
		t.Fatalf("children after Leave: %v, %v; want only the foreign one", kids, err)
	}
}

// A member whose session ends while it waits is no longer counted; Enter
// says so instead of waiting for a barrier it is no member of.
func TestDoubleSessionLost(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), barriertest.Guard)
	defer cancel()
	c := barriertest.Connect(t, srv.Addr())
	obs := barriertest.Connect(t, srv.Addr())
	errs := make(chan error, 1)
	go func() { errs <- barrier.NewDouble(c, "/barriers/lost", 2).Enter(ctx) }()
	if err := barriertest.WaitCount(ctx, obs, "/barriers/lost", func(n int) bool { return n == 1 }); err != nil {
		t.Fatal(err)
	}
	if err := srv.ExpireSession(c.SessionID()); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; !errors.Is(err, barrier.ErrNodeLost) {
		t.Fatalf("Enter after its session expired: %v, want ErrNodeLost", err)
	}
	if n, err := barriertest.Count(ctx, obs, "/barriers/lost"); err != nil || n != 0 {
		t.Fatalf("%d nodes left (%v)", n, err)
	}
}

func TestDoubleMisuse(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), barriertest.Guard)
	defer cancel()
	c := barriertest.Connect(t, srv.Addr())
	if err := barrier.NewDouble(c, "/barriers/misuse", 0).Enter(ctx); err == nil {
		t.Error("Enter with 0 members succeeded")
	}
	d := barrier.NewDouble(c, "/barriers/misuse", 1)
	if err := d.Leave(ctx); !errors.Is(err, barrier.ErrNotEntered) {
		t.Errorf("Leave before Enter: %v, want ErrNotEntered", err)
	}
	if err := d.Enter(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Enter(ctx); !errors.Is(err, barrier.ErrEntered) {
		t.Errorf("second Enter: %v, want ErrEntered", err)
	}
	if err := d.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Leave(ctx); !errors.Is(err, barrier.ErrNotEntered) {
		t.Errorf("second Leave: %v, want ErrNotEntered", err)
	}
	// A member that has left may enter again.
	if err := d.Enter(ctx); err != nil {
		t.Fatalf("Enter after Leave: %v", err)
	}
	if err := d.Leave(ctx); err != nil {
		t.Fatal(err)
	}
}
