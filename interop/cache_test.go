package interop

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/zookit/zookit/cache"
	"github.com/zookit/zookit/cache/cachetest"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/recipes"
)

// TestCache runs package cache's server-independent tests against zkserver
// and against Apache ZooKeeper.
func TestCache(t *testing.T) {
	Require(t, ZooKeeper)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			t.Run("RandomChanges", func(t *testing.T) { cachetest.RandomChanges(t, addr, "/caches/random", 3, 150) })
			t.Run("MissingRoot", func(t *testing.T) { cachetest.MissingRoot(t, addr, "/caches/later") })
			t.Run("Depth", func(t *testing.T) { cachetest.Depth(t, addr, "/caches/shallow") })
			t.Run("NodeLifecycle", func(t *testing.T) { cachetest.NodeLifecycle(t, addr, "/caches/node") })
			t.Run("Unreadable", func(t *testing.T) { cachetest.Unreadable(t, addr, "/caches/acl") })
		})
	}
}

// TestCacheCurator has Curator 5.4 make random changes to a subtree while
// its CuratorCache (a persistent recursive watch) and a Go TreeCache (one-time
// watches) both follow it: the Go cache ends equal to the server and to
// what the CuratorCache holds, path, version and data, and its events add
// up to its content.
func TestCacheCurator(t *testing.T) {
	Require(t, ZooKeeper, Curator)
	compileCtx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cp, err := CompileJava(compileCtx, t.TempDir(), "CachePeer")
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			addr := srv.start(t, Options{})
			const root = "/interop/cache"
			c := locktest.Connect(t, addr)
			if _, err := c.CreateWithParents(ctx, root, []byte("root"), recipes.Persistent); err != nil {
				t.Fatal(err)
			}
			tc := cache.NewTreeCache(c, root)
			defer tc.Close()
			f := cachetest.Follow(tc.Events(ctx))
			if err := tc.AwaitInitialized(ctx); err != nil {
				t.Fatal(err)
			}
			curator := runCachePeer(t, ctx, cp, addr, root, 300, 42)
			cachetest.AwaitEqual(t, ctx, tc, c, root, -1)
			f.Check(t, ctx, tc)
			got := map[string]string{}
			for _, n := range tc.Snapshot() {
				got[n.Path] = fmt.Sprintf("%d %s", n.Stat.Version, n.Data)
			}
			if len(got) != len(curator) {
				t.Errorf("Go caches %d nodes, Curator %d", len(got), len(curator))
			}
			for p, want := range curator {
				if got[p] != want {
					t.Errorf("%s: Go has %q, Curator %q", p, got[p], want)
				}
			}
			t.Logf("%d nodes; Go events: Added %d, Updated %d, Removed %d", len(got),
				f.Count(cache.Added), f.Count(cache.Updated), f.Count(cache.Removed))
			if f.Count(cache.Updated) == 0 || f.Count(cache.Removed) == 0 {
				t.Fatalf("Curator's changes made no Updated or Removed events (Added %d)", f.Count(cache.Added))
			}
		})
	}
}

// runCachePeer runs CachePeer and returns its CuratorCache's final content.
func runCachePeer(t *testing.T, ctx context.Context, classpath, addr, root string, n int, seed int64) map[string]string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "java", "-cp", classpath, "CachePeer", addr, root, strconv.Itoa(n), strconv.FormatInt(seed, 10))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.HasSuffix(strings.TrimSpace(stdout.String()), "OK") {
		t.Fatalf("CachePeer: %v\nstdout:\n%s\nstderr:\n%s", err, lastBytes(stdout.String(), 4<<10), lastBytes(stderr.String(), 4<<10))
	}
	out := map[string]string{}
	for _, l := range strings.Split(stdout.String(), "\n") {
		if rest, ok := strings.CutPrefix(l, "NODE "); ok {
			p, state, _ := strings.Cut(rest, " ")
			out[p] = state
		}
	}
	return out
}
