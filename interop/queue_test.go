package interop

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/queue"
	"github.com/zookit/zookit/queue/queuetest"
)

// TestQueue runs package queue's server-independent tests against zkserver
// and against Apache ZooKeeper.
func TestQueue(t *testing.T) {
	Require(t, ZooKeeper)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			t.Run("InOrder", func(t *testing.T) { queuetest.Exchange(t, addr, "/queues/order", 3, 1, 20) })
			t.Run("Contended", func(t *testing.T) { queuetest.Exchange(t, addr, "/queues/many", 3, 3, 20) })
		})
	}
}

// TestQueueCurator exchanges messages between Go's SimpleQueue and
// Curator 5.4's SimpleDistributedQueue on one path, both ways: every
// message arrives once, in the order it was offered.
func TestQueueCurator(t *testing.T) {
	Require(t, ZooKeeper, Curator)
	compileCtx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cp, err := CompileJava(compileCtx, t.TempDir(), "QueuePeer")
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			t.Run("GoToCurator", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
				defer cancel()
				q := queue.NewSimpleQueue(locktest.Connect(t, addr), "/interop/q1")
				for i := range n {
					if err := q.Offer(ctx, []byte(fmt.Sprintf("go/%04d", i))); err != nil {
						t.Fatal(err)
					}
				}
				out := runQueuePeer(t, ctx, cp, addr, "take", "/interop/q1", n)
				var got []string
				for _, l := range strings.Split(out, "\n") {
					if m, ok := strings.CutPrefix(l, "MSG "); ok {
						got = append(got, m)
					}
				}
				checkInOrder(t, got, "go", n)
			})
			t.Run("CuratorToGo", func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
				defer cancel()
				runQueuePeer(t, ctx, cp, addr, "offer", "/interop/q2", n, "java")
				q := queue.NewSimpleQueue(locktest.Connect(t, addr), "/interop/q2")
				var got []string
				for range n {
					m, err := q.Take(ctx)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, string(m))
				}
				checkInOrder(t, got, "java", n)
				if m, ok, err := q.Poll(ctx); ok || err != nil {
					t.Fatalf("left in the queue: %q, %v", m, err)
				}
			})
		})
	}
}

func runQueuePeer(t *testing.T, ctx context.Context, classpath, addr, mode, path string, n int, extra ...string) string {
	t.Helper()
	args := append([]string{"-cp", classpath, "QueuePeer", addr, mode, path, strconv.Itoa(n)}, extra...)
	cmd := exec.CommandContext(ctx, "java", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.HasSuffix(strings.TrimSpace(stdout.String()), "OK") {
		t.Fatalf("QueuePeer %s: %v\nstdout:\n%s\nstderr:\n%s", mode, err, lastBytes(stdout.String(), 4<<10), lastBytes(stderr.String(), 4<<10))
	}
	return stdout.String()
}

// checkInOrder wants prefix/0000 .. prefix/n-1, each once, in order.
func checkInOrder(t *testing.T, got []string, prefix string, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d messages, want %d: %v", len(got), n, got)
	}
	for i, m := range got {
		if want := fmt.Sprintf("%s/%04d", prefix, i); m != want {
			t.Fatalf("message %d is %q, want %q", i, m, want)
		}
	}
}
