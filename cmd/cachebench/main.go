package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/cache"
	"github.com/zookit/zookit/interop"
	"github.com/zookit/zookit/recipes"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2181", "server address host:port (four-letter words must be allowed)")
	root := flag.String("root", "/cachebench", "subtree root; the benchmark deletes and rebuilds it")
	parents := flag.Int("parents", 100, "children of the root")
	children := flag.Int("children", 100, "children of each parent; the changes touch these leaves")
	writers := flag.Int("writers", 16, "concurrent writers making the changes")
	batch := flag.Int("batch", 1, "changes per request (a multi when above 1), to make changes faster than a follower takes them")
	modes := flag.String("modes", "onetime,recursive", "comma-separated: onetime (cache.TreeCache), recursive (one addWatch PERSISTENT_RECURSIVE)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cachebench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b := &bench{addr: *addr, root: *root, parents: *parents, children: *children, writers: *writers, batch: *batch, out: os.Stdout}
	if err := b.run(ctx, strings.Split(*modes, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "cachebench:", err)
		stop()
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type bench struct {
	addr                       string
	root                       string
	parents, children, writers int
	batch                      int
	out                        io.Writer
	w                          *recipes.Client
}

// follower is one way of keeping a local copy of the subtree.
type follower interface {
	// counts returns how many nodes it has added, updated and removed.
	counts() (added, updated, removed int64)
	// tree is its copy: path to data version.
	tree() map[string]int32
	close()
}

type result struct {
	mode     string
	load     time.Duration
	nodes    int
	watches  string // wchs total (data watches) / mntr zk_watch_count
	phases   []phaseResult
	mismatch []string
}

type phaseResult struct {
	name             string
	writes, converge time.Duration
	changes          int
}

func (b *bench) run(ctx context.Context, modes []string) error {
	w, err := recipes.New(ctx, []string{b.addr}, recipes.WithSessionTimeout(30*time.Second))
	if err != nil {
		return err
	}
	defer w.Close()
	b.w = w
	var results []result
	for _, mode := range modes {
		if err := b.populate(ctx); err != nil {
			return err
		}
		r, err := b.measure(ctx, strings.TrimSpace(mode))
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		results = append(results, r)
	}
	b.report(results)
	return nil
}

// populate makes the subtree afresh: root, parents, and their leaves.
func (b *bench) populate(ctx context.Context) error {
	if err := b.clear(ctx); err != nil {
		return err
	}
	if _, err := b.w.Create(ctx, b.root, nil, recipes.Persistent); err != nil {
		return err
	}
	if err := b.each(ctx, b.parents, func(i int) error {
		_, err := b.w.Create(ctx, b.parent(i), nil, recipes.Persistent)
		return err
	}); err != nil {
		return err
	}
	return b.each(ctx, b.parents*b.children, func(i int) error {
		_, err := b.w.Create(ctx, b.leaf(i), []byte("v0"), recipes.Persistent)
		return err
	})
}

func (b *bench) clear(ctx context.Context) error {
	if st, err := b.w.Exists(ctx, b.root); err != nil || st == nil {
		return err
	}
	if err := b.each(ctx, b.parents*b.children, func(i int) error {
		if err := b.w.Delete(ctx, b.leaf(i), -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	if err := b.each(ctx, b.parents, func(i int) error {
		if err := b.w.Delete(ctx, b.parent(i), -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	return b.w.Delete(ctx, b.root, -1)
}

func (b *bench) parent(i int) string { return fmt.Sprintf("%s/p%03d", b.root, i) }

func (b *bench) leaf(i int) string {
	return fmt.Sprintf("%s/c%03d", b.parent(i/b.children), i%b.children)
}

// each runs f for 0..n-1 on b.writers goroutines (pipelined on the one
// writer session) and returns the first error.
func (b *bench) each(ctx context.Context, n int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range b.writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

func (b *bench) measure(ctx context.Context, mode string) (result, error) {
	r := result{mode: mode}
	start := time.Now()
	var f follower
	var err error
	switch mode {
	case "onetime":
		f, err = startOneTime(ctx, b.addr, b.root)
	case "recursive":
		f, err = startRecursive(ctx, b.addr, b.root)
	default:
		return r, fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		return r, err
	}
	defer f.close()
	r.load = time.Since(start)
	r.nodes = len(f.tree())
	if r.watches, err = watchCount(ctx, b.addr); err != nil {
		return r, err
	}
	leaves := b.parents * b.children
	phases := []struct {
		name  string
		op    func(p string) any
		count func() int64
	}{
		{"setData", func(p string) any { return &zk.SetDataRequest{Path: p, Data: []byte("v1"), Version: -1} },
			func() int64 { _, u, _ := f.counts(); return u }},
		{"delete", func(p string) any { return &zk.DeleteRequest{Path: p, Version: -1} },
			func() int64 { _, _, d := f.counts(); return d }},
		{"create", func(p string) any {
			return &zk.CreateRequest{Path: p, Data: []byte("v2"), Acl: zk.WorldACL(zk.PermAll)}
		},
			func() int64 { a, _, _ := f.counts(); return a }},
	}
	for _, ph := range phases {
		base := ph.count()
		start := time.Now()
		if err := b.each(ctx, (leaves+b.batch-1)/b.batch, func(i int) error { return b.apply(ctx, ph.op, i) }); err != nil {
			return r, fmt.Errorf("%s: %w", ph.name, err)
		}
		writes := time.Since(start)
		for ph.count()-base < int64(leaves) {
			if ctx.Err() != nil || time.Since(start) > 5*time.Minute {
				return r, fmt.Errorf("%s: converged on %d of %d changes", ph.name, ph.count()-base, leaves)
			}
			time.Sleep(time.Millisecond)
		}
		r.phases = append(r.phases, phaseResult{name: ph.name, writes: writes, converge: time.Since(start), changes: leaves})
		if err := b.compare(ctx, f, &r); err != nil {
			return r, err
		}
	}
	return r, nil
}

// apply makes the changes of batch i: one plain request, or a multi.
func (b *bench) apply(ctx context.Context, op func(p string) any, i int) error {
	leaves := b.parents * b.children
	var ops []any
	for j := i * b.batch; j < (i+1)*b.batch && j < leaves; j++ {
		ops = append(ops, op(b.leaf(j)))
	}
	if len(ops) > 1 {
		_, err := b.w.Multi(ctx, ops...)
		return err
	}
	var err error
	switch r := ops[0].(type) {
	case *zk.SetDataRequest:
		_, err = b.w.Set(ctx, r.Path, r.Data, r.Version)
	case *zk.DeleteRequest:
		err = b.w.Delete(ctx, r.Path, r.Version)
	case *zk.CreateRequest:
		_, err = b.w.Create(ctx, r.Path, r.Data, recipes.Persistent)
	}
	return err
}

// compare checks, untimed, that the copy equals the server's subtree.
func (b *bench) compare(ctx context.Context, f follower, r *result) error {
	want := map[string]int32{}
	var walk func(p string) error
	walk = func(p string) error {
		_, st, err := b.w.Get(ctx, p)
		if err != nil {
			return err
		}
		want[p] = st.Version
		kids, err := b.w.Children(ctx, p)
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := walk(p + "/" + k); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(b.root); err != nil {
		return err
	}
	got := f.tree()
	bad := 0
	for p, v := range want {
		if g, ok := got[p]; !ok || g != v {
			bad++
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			bad++
		}
	}
	if bad > 0 {
		r.mismatch = append(r.mismatch, fmt.Sprintf("%d paths differ", bad))
	}
	return nil
}

var (
	totalWatches = regexp.MustCompile(`Total watches:(\d+)`)
	mntrWatches  = regexp.MustCompile(`zk_watch_count\s+(\d+)`)
)

// watchCount asks the server how many watches it holds: wchs's total and
// mntr's zk_watch_count, which Apache ZooKeeper count differently (data
// watches; data and child watches).
func watchCount(ctx context.Context, addr string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var counts []string
	for _, q := range []struct {
		word string
		re   *regexp.Regexp
	}{{"wchs", totalWatches}, {"mntr", mntrWatches}} {
		out, err := interop.FourLetterWord(ctx, addr, q.word)
		if err != nil {
			return "", err
		}
		m := q.re.FindStringSubmatch(out)
		if m == nil {
			return "", fmt.Errorf("%s said %q (is it in 4lw.commands.whitelist?)", q.word, out)
		}
		counts = append(counts, m[1])
	}
	return strings.Join(counts, "/"), nil
}

func (b *bench) report(results []result) {
	fmt.Fprintf(b.out, "server %s, subtree %s: %d parents x %d leaves, %d writers, %d changes a request\n\n", b.addr, b.root, b.parents, b.children, b.writers, b.batch)
	tw := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tload\tnodes\twatches wchs/mntr\tphase\tchanges\twrites done\tconverged\tlag\tevents/s\tcheck\t")
	for _, r := range results {
		check := "equal"
		if len(r.mismatch) > 0 {
			check = strings.Join(r.mismatch, "; ")
		}
		for i, ph := range r.phases {
			head := "\t\t\t\t"
			if i == 0 {
				head = fmt.Sprintf("%s\t%v\t%d\t%s\t", r.mode, r.load.Round(time.Millisecond), r.nodes, r.watches)
			}
			fmt.Fprintf(tw, "%s%s\t%d\t%v\t%v\t%v\t%.0f\t%s\t\n", head, ph.name, ph.changes,
				ph.writes.Round(time.Millisecond), ph.converge.Round(time.Millisecond), (ph.converge - ph.writes).Round(time.Millisecond),
				float64(ph.changes)/ph.converge.Seconds(), check)
		}
	}
	tw.Flush()
}

// oneTime is cache.TreeCache, the library's way.
type oneTime struct {
	c                       *recipes.Client
	tc                      *cache.TreeCache
	cancel                  context.CancelFunc
	done                    chan struct{}
	added, updated, removed atomic.Int64
}

func startOneTime(ctx context.Context, addr, root string) (*oneTime, error) {
	c, err := recipes.New(ctx, []string{addr}, recipes.WithSessionTimeout(30*time.Second))
	if err != nil {
		return nil, err
	}
	f := &oneTime{c: c, tc: cache.NewTreeCache(c, root), done: make(chan struct{})}
	evCtx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	events := f.tc.Events(evCtx)
	if err := f.tc.AwaitInitialized(ctx); err != nil {
		f.close()
		return nil, err
	}
	go func() {
		defer close(f.done)
		for e := range events {
			switch e.Type {
			case cache.Added:
				f.added.Add(1)
			case cache.Updated:
				f.updated.Add(1)
			case cache.Removed:
				f.removed.Add(1)
			}
		}
	}()
	return f, nil
}

func (f *oneTime) counts() (int64, int64, int64) {
	return f.added.Load(), f.updated.Load(), f.removed.Load()
}

func (f *oneTime) tree() map[string]int32 {
	out := map[string]int32{}
	for _, n := range f.tc.Snapshot() {
		out[n.Path] = n.Stat.Version
	}
	return out
}

func (f *oneTime) close() {
	f.cancel()
	f.tc.Close()
	f.c.Close()
}
