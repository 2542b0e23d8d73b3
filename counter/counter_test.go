package counter_test

import (
	"context"
	"fmt"
	"testing"

	"go.uber.org/goleak"

	"github.com/zookit/zookit/counter"
	"github.com/zookit/zookit/counter/countertest"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock/locktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestIncrements(t *testing.T) {
	srv := ensembletest.Start(t)
	countertest.Increments(t, srv.Addr(), "/counters/long", 3, 3, 20, false)
}

func TestIncrementsPromoted(t *testing.T) {
	srv := ensembletest.Start(t)
	countertest.Increments(t, srv.Addr(), "/counters/promoted", 3, 3, 10, true)
}

func TestEncoding(t *testing.T) {
	srv := ensembletest.Start(t)
	countertest.Encoding(t, srv.Addr(), "/counters/enc")
}

func TestSharedCounts(t *testing.T) {
	srv := ensembletest.Start(t)
	countertest.SharedCounts(t, srv.Addr(), "/counters/shared", 3, 15)
}

// A SharedCount follows the value across a server restart, an expiry of
// its session (which drops its watch), and the node's deletion and return.
func TestSharedCountFollows(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, srv.Addr())
	s, err := counter.NewSharedCount(ctx, c, "/follow", 7)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other := counter.NewAtomicInt(locktest.Connect(t, srv.Addr()), "/follow")
	expect := func(want int32) {
		t.Helper()
		locktest.Eventually(t, ctx, func() bool { return s.Count() == want },
			func() string { return fmt.Sprintf("count %d, want %d", s.Count(), want) })
	}
	expect(7)
	step := func(v int32) {
		t.Helper()
		if err := other.ForceSet(ctx, v); err != nil {
			t.Fatal(err)
		}
		expect(v)
	}
	step(8)
	srv.Restart()
	step(9)
	if err := srv.ExpireSession(c.SessionID()); err != nil {
		t.Fatal(err)
	}
	step(10)
	raw := locktest.Connect(t, srv.Addr())
	if err := raw.Delete(ctx, "/follow", -1); err != nil {
		t.Fatal(err)
	}
	step(11) // ForceSet creates it again
}
