package cachetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/cache"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/recipes"
)

// State is what a test compares of a node: its data and the identity of
// its current version.
type State struct {
	Data    string
	Version int32
	Czxid   int64
}

func stateOf(n cache.Node) State {
	return State{Data: string(n.Data), Version: n.Stat.Version, Czxid: n.Stat.Czxid}
}

// ServerTree reads the subtree at root from the server, down to maxDepth
// levels below it (negative: all). A missing root gives an empty map.
func ServerTree(ctx context.Context, c *recipes.Client, root string, maxDepth int) (map[string]State, error) {
	out := map[string]State{}
	var walk func(p string, depth int) error
	walk = func(p string, depth int) error {
		data, st, err := c.Get(ctx, p)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		out[p] = State{string(data), st.Version, st.Czxid}
		if maxDepth >= 0 && depth >= maxDepth {
			return nil
		}
		kids, err := c.Children(ctx, p)
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := walk(join(p, k), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(root, 0)
}

// CacheTree is the cache's content in ServerTree's form.
func CacheTree(tc *cache.TreeCache) map[string]State {
	out := map[string]State{}
	for _, n := range tc.Snapshot() {
		out[n.Path] = stateOf(n)
	}
	return out
}

// AwaitEqual waits until the cache holds what the server holds.
func AwaitEqual(t testing.TB, ctx context.Context, tc *cache.TreeCache, c *recipes.Client, root string, maxDepth int) {
	t.Helper()
	var want, got map[string]State
	locktest.Eventually(t, ctx, func() bool {
		var err error
		if want, err = ServerTree(ctx, c, root, maxDepth); err != nil {
			return false
		}
		got = CacheTree(tc)
		return equal(want, got)
	}, func() string { return "cache differs from server: " + diff(want, got) })
}

func equal(a, b map[string]State) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func diff(want, got map[string]State) string {
	var out []string
	for k, v := range want {
		if w, ok := got[k]; !ok || w != v {
			out = append(out, fmt.Sprintf("%s: server %+v, cache %+v (cached %v)", k, v, w, ok))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("%s: only in cache %+v", k, v))
		}
	}
	slices.Sort(out)
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("... %d more", len(out)-20))
	}
	return fmt.Sprint(out)
}

// Follower applies a cache's events to a map, checking that each path's
// events make sense in order: Added only for an absent path, Updated and
// Removed only for a present one, and versions that only grow.
type Follower struct {
	mu     sync.Mutex
	nodes  map[string]State
	counts map[cache.EventType]int
	errs   []string
	done   chan struct{}
}

// Follow starts a Follower on events; it stops when the channel closes.
func Follow(events <-chan cache.Event) *Follower {
	f := &Follower{nodes: map[string]State{}, counts: map[cache.EventType]int{}, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for e := range events {
			f.apply(e)
		}
	}()
	return f
}

func (f *Follower) apply(e cache.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[e.Type]++
	p := e.Node.Path
	old, ok := f.nodes[p]
	switch e.Type {
	case cache.Added:
		if ok {
			f.errs = append(f.errs, "Added for a present "+p)
		}
		f.nodes[p] = stateOf(e.Node)
	case cache.Updated:
		if !ok || old.Czxid != e.Node.Stat.Czxid || old.Version >= e.Node.Stat.Version {
			f.errs = append(f.errs, fmt.Sprintf("Updated %s to %+v after %+v (present %v)", p, stateOf(e.Node), old, ok))
		}
		f.nodes[p] = stateOf(e.Node)
	case cache.Removed:
		if !ok {
			f.errs = append(f.errs, "Removed for an absent "+p)
		}
		for q := range f.nodes {
			if len(q) > len(p) && q[:len(p)] == p && q[len(p)] == '/' {
				f.errs = append(f.errs, fmt.Sprintf("Removed %s before its child %s", p, q))
			}
		}
		delete(f.nodes, p)
	}
}

// Count is how many events of type the Follower has seen.
func (f *Follower) Count(typ cache.EventType) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[typ]
}

// Check fails the test if the events broke an order rule or do not add up
// to the cache's content.
func (f *Follower) Check(t testing.TB, ctx context.Context, tc *cache.TreeCache) {
	t.Helper()
	var got, want map[string]State
	locktest.Eventually(t, ctx, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		got, want = maps(f.nodes), CacheTree(tc)
		return equal(want, got)
	}, func() string { return "events do not add up to the cache: " + diff(want, got) })
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) > 0 {
		t.Fatalf("event order: %v", f.errs)
	}
}

func maps(m map[string]State) map[string]State {
	out := make(map[string]State, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func join(p, name string) string {
	if p == "/" {
		return "/" + name
	}
	return p + "/" + name
}

// RandomChanges has writers Clients make random creates, sets and deletes
// at depths 1 to 3 below root while a TreeCache follows, and checks that
// the cache ends equal to the server and that its events add up to it.
func RandomChanges(t *testing.T, addr, root string, writers, ops int) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, addr)
	if _, err := c.CreateWithParents(ctx, root, []byte("root"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	tc := cache.NewTreeCache(c, root)
	defer tc.Close()
	f := Follow(tc.Events(ctx))
	if err := tc.AwaitInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wc := locktest.Connect(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range ops {
				p := root
				for range 1 + rng.IntN(3) {
					p = join(p, string(rune('a'+rng.IntN(3))))
				}
				data := []byte(fmt.Sprintf("w%d-%d", w, i))
				var err error
				switch rng.IntN(3) {
				case 0:
					_, err = wc.Create(ctx, p, data, recipes.Persistent)
				case 1:
					_, err = wc.Set(ctx, p, data, -1)
				default:
					err = wc.Delete(ctx, p, -1)
				}
				if err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrNodeExists) && !errors.Is(err, zk.ErrNotEmpty) {
					t.Errorf("%s: %v", p, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	AwaitEqual(t, ctx, tc, c, root, -1)
	f.Check(t, ctx, tc)
	if f.Count(cache.Updated) == 0 || f.Count(cache.Removed) == 0 {
		t.Fatalf("no Updated or Removed events: %v", f.counts)
	}
}

// MissingRoot starts a TreeCache on a root that does not exist, which it
// must not create, then makes and deletes the root with children.
func MissingRoot(t *testing.T, addr, root string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, addr)
	tc := cache.NewTreeCache(c, root)
	defer tc.Close()
	f := Follow(tc.Events(ctx))
	if err := tc.AwaitInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Exists(ctx, root); err != nil || st != nil {
		t.Fatalf("the cache made its root: %v, %v", st, err)
	}
	if len(tc.Snapshot()) != 0 {
		t.Fatalf("cache of a missing root holds %v", tc.Snapshot())
	}
	w := locktest.Connect(t, addr)
	if _, err := w.CreateWithParents(ctx, root+"/x/y", []byte("y"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	AwaitEqual(t, ctx, tc, c, root, -1)
	if _, ok := tc.Get(root + "/x/y"); !ok {
		t.Fatal("the new root's grandchild is missing")
	}
	for _, p := range []string{root + "/x/y", root + "/x", root} {
		if err := w.Delete(ctx, p, -1); err != nil {
			t.Fatal(err)
		}
	}
	locktest.Eventually(t, ctx, func() bool { return len(tc.Snapshot()) == 0 },
		func() string { return fmt.Sprint("still cached after the delete: ", tc.Snapshot()) })
	if _, err := w.Create(ctx, root, []byte("again"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	AwaitEqual(t, ctx, tc, c, root, -1)
	f.Check(t, ctx, tc)
}

// Depth checks that WithMaxDepth(1) caches the root and its children and
// nothing deeper, and Children.
func Depth(t *testing.T, addr, root string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, addr)
	for _, p := range []string{root + "/a/deep", root + "/b"} {
		if _, err := c.CreateWithParents(ctx, p, []byte(p), recipes.Persistent); err != nil {
			t.Fatal(err)
		}
	}
	tc := cache.NewTreeCache(c, root, cache.WithMaxDepth(1))
	defer tc.Close()
	if err := tc.AwaitInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, root+"/c", []byte("c"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, root+"/b/deep", []byte("d"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	AwaitEqual(t, ctx, tc, c, root, 1)
	if names, ok := tc.Children(root); !ok || !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("children of the root: %v, %v", names, ok)
	}
	if names, ok := tc.Children(root + "/a"); !ok || len(names) != 0 {
		t.Fatalf("children below the depth: %v, %v", names, ok)
	}
}

// NodeLifecycle follows one node through create, two sets (one with the
// same data, which still changes the version), delete and re-create.
func NodeLifecycle(t *testing.T, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, addr)
	nc := cache.NewNodeCache(c, path)
	defer nc.Close()
	events := nc.Events(ctx)
	next := func(want cache.EventType, data string) {
		t.Helper()
		for {
			select {
			case e := <-events:
				if e.Type != want {
					t.Fatalf("event %v %q, want %v %q", e.Type, e.Node.Data, want, data)
				}
				if want != cache.Initialized && want != cache.Removed && !bytes.Equal(e.Node.Data, []byte(data)) {
					t.Fatalf("%v with %q, want %q", want, e.Node.Data, data)
				}
				return
			case <-ctx.Done():
				t.Fatalf("no %v event", want)
			}
		}
	}
	next(cache.Initialized, "")
	if _, ok := nc.Get(); ok {
		t.Fatal("a missing node is cached")
	}
	w := locktest.Connect(t, addr)
	if _, err := w.CreateWithParents(ctx, path, []byte("one"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	next(cache.Added, "one")
	for _, d := range []string{"two", "two"} {
		if _, err := w.Set(ctx, path, []byte(d), -1); err != nil {
			t.Fatal(err)
		}
		next(cache.Updated, d)
	}
	if n, ok := nc.Get(); !ok || string(n.Data) != "two" || n.Stat.Version != 2 {
		t.Fatalf("Get: %+v, %v", n, ok)
	}
	if err := w.Delete(ctx, path, -1); err != nil {
		t.Fatal(err)
	}
	next(cache.Removed, "")
	if _, err := w.Create(ctx, path, []byte("three"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	next(cache.Added, "three")
}

// Unreadable checks that a node the cache may not read (NOAUTH) is left
// out, and does not hold back Initialized or the rest of the subtree.
func Unreadable(t *testing.T, addr, root string) {
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, addr)
	if _, err := c.CreateWithParents(ctx, root+"/open", []byte("o"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	conn, err := c.Conn()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Create(c.FullPath(root+"/secret"), []byte("s"), 0, zk.DigestACL(zk.PermAll, "someone", "else")); err != nil {
		t.Fatal(err)
	}
	tc := cache.NewTreeCache(c, root)
	defer tc.Close()
	if err := tc.AwaitInitialized(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, root+"/later", []byte("l"), recipes.Persistent); err != nil {
		t.Fatal(err)
	}
	locktest.Eventually(t, ctx, func() bool { _, ok := tc.Get(root + "/later"); return ok },
		func() string { return fmt.Sprint("no later node: ", tc.Snapshot()) })
	names, _ := tc.Children(root)
	if !slices.Equal(names, []string{"later", "open"}) {
		t.Fatalf("children %v, want [later open]", names)
	}
}
