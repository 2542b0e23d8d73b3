package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/go-zookeeper/zk"
)

// scaleConfig is what `zkbench scale` measures with.
type scaleConfig struct {
	n         int           // znodes to fill
	duration  time.Duration // of each set load
	clients   int
	size      int
	snapCount int
	dir       string // where the servers' data directories go
	keep      bool   // keep the data directories
}

// Scale figures: the fill goes in multis of batch creates, inFlight at a
// time, and the empty-tree load works on the first batch's znodes.
const (
	parent   = "/scale"
	batch    = 1000
	inFlight = 4
)

func nodePath(i int) string { return fmt.Sprintf("%s/n%07d", parent, i) }

func scaleMain(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("zkbench scale", flag.ContinueOnError)
	n := fs.Int("n", 1000000, "znodes to fill, empty, under "+parent)
	duration := fs.Duration("duration", 20*time.Second, "how long each set load runs")
	clients := fs.Int("clients", 16, "concurrent sessions of the set load")
	size := fs.Int("size", 100, "payload bytes of each set")
	snapCount := fs.Int("snapcount", 50000, "snapCount both servers get; half ZooKeeper's default, so that a 20s load sees several snapshots (ZooKeeper snapshots after a random count between snapCount/2 and snapCount)")
	var sf serverFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := scaleConfig{n: *n, duration: *duration, clients: *clients, size: *size, snapCount: *snapCount, dir: sf.dir, keep: sf.keep}
	if cfg.n < batch || cfg.clients < 1 || cfg.duration <= 0 || cfg.size < 0 || cfg.snapCount < 2 {
		return fmt.Errorf("-n must be ≥%d, -clients ≥1, -duration > 0, -size ≥ 0 and -snapcount ≥ 2", batch)
	}
	targets, cleanup, err := sf.targets(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	figs := make([]figures, len(targets))
	for i, t := range targets {
		f, err := measureScale(ctx, cfg, t)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		figs[i] = f
	}
	return printScale(out, cfg, targets, figs)
}

// figures are what one server's run measured.
type figures struct {
	fillRate            float64 // znodes/s
	heapEmpty, heapFull int64   // live heap bytes before and after the fill
	empty, full         result  // the set load on batch znodes and on n
	snapshots           int     // taken during the full load; -1 if unknown
	cpuPer1000          float64 // server CPU-seconds per 1000 requests of the full load
	snapBytes           int64   // the newest snapshot file after the run
	restart             time.Duration
}

// measureScale runs the whole sequence on one server in a data directory
// of its own: start, fill, both loads, stop, restart.
func measureScale(ctx context.Context, cfg scaleConfig, t target) (f figures, err error) {
	dir, done, err := workDir(cfg.dir, "zkbench-scale-"+t.name+"-", cfg.keep)
	if err != nil {
		return f, err
	}
	defer func() { done(err != nil) }()
	ins, err := newInstances(dir, t, 1, map[string]string{"snapCount": strconv.Itoa(cfg.snapCount)})
	if err != nil {
		return f, err
	}
	srv := ins[0]
	p, err := srv.start(ctx)
	if err != nil {
		return f, err
	}
	defer p.stop()
	if err := p.awaitReadable(ctx, srv.addr, func(*zk.Conn) (bool, error) { return true, nil }); err != nil {
		return f, err
	}
	if f.heapEmpty, err = srv.liveHeap(ctx, srv, p); err != nil {
		return f, fmt.Errorf("live heap: %w", err)
	}

	cs, err := dialAll(srv.addr, max(cfg.clients, inFlight))
	if err != nil {
		return f, err
	}
	closeAll := func() {
		for _, c := range cs {
			c.conn.Close()
		}
		cs = nil
	}
	defer func() { closeAll() }()
	if _, err := cs[0].conn.Create(parent, nil, zk.FlagPersistent, zk.WorldACL(zk.PermAll)); err != nil {
		return f, fmt.Errorf("create %s: %w", parent, err)
	}
	payload := make([]byte, cfg.size)
	load := func(what string, n int) (result, error) {
		progress("%s: set load on %d znodes for %v", t.name, n, cfg.duration)
		r := measure(ctx, cs[:cfg.clients], cfg.duration, func(c *client, _ int) error {
			_, err := c.conn.Set(nodePath(rand.IntN(n)), payload, -1)
			return err
		})
		if r.firstErr != nil {
			progress("%s: %s load: %d errors, the first: %v", t.name, what, r.errors, r.firstErr)
		}
		return r, ctx.Err()
	}

	// The empty tree: the parent and one batch of children to set.
	if err := fill(ctx, cs[:inFlight], 0, batch); err != nil {
		return f, err
	}
	if f.empty, err = load("empty-tree", batch); err != nil {
		return f, err
	}

	progress("%s: filling %d znodes", t.name, cfg.n)
	start := time.Now()
	if err := fill(ctx, cs[:inFlight], batch, cfg.n); err != nil {
		return f, err
	}
	f.fillRate = float64(cfg.n-batch) / time.Since(start).Seconds()
	if f.heapFull, err = srv.liveHeap(ctx, srv, p); err != nil {
		return f, fmt.Errorf("live heap: %w", err)
	}

	snapsBefore := snapshotCount(ctx, srv.addr)
	cpuBefore, err := p.cpu()
	if err != nil {
		return f, err
	}
	if f.full, err = load("full-tree", cfg.n); err != nil {
		return f, err
	}
	cpuAfter, err := p.cpu()
	if err != nil {
		return f, err
	}
	f.cpuPer1000 = cpuPer1000(cpuAfter-cpuBefore, f.full)
	f.snapshots = -1
	if snapsBefore >= 0 {
		if after := snapshotCount(ctx, srv.addr); after >= 0 {
			f.snapshots = after - snapsBefore
		}
	}

	progress("%s: stopping, then restarting", t.name)
	// Sessions left open would reconnect to the restarted server, and
	// burden the start being timed.
	closeAll()
	// A snapshot still being written would be stopped half done and
	// measured so; ZooKeeper writes its file in place.
	if f.snapBytes, err = settledSnapshot(ctx, dir); err != nil {
		return f, err
	}
	if err := p.stop(); err != nil {
		return f, err
	}
	// All readable: a new session sees every child of the parent and reads
	// the last one created.
	last := nodePath(cfg.n - 1)
	allThere := func(conn *zk.Conn) (bool, error) {
		ok, st, err := conn.Exists(parent)
		if err != nil || !ok || int(st.NumChildren) != cfg.n {
			return false, err
		}
		_, _, err = conn.Get(last)
		return err == nil, nil
	}
	if p, err = srv.start(ctx); err != nil {
		return f, err
	}
	defer p.stop()
	if err := p.awaitReadable(ctx, srv.addr, allThere); err != nil {
		return f, err
	}
	f.restart = p.readyAt.Sub(p.started)
	return f, p.stop()
}

// dialAll opens n sessions to addr.
func dialAll(addr string, n int) ([]*client, error) {
	quiet := zk.WithLogger(log.New(io.Discard, "", 0))
	cs := make([]*client, n)
	for i := range cs {
		conn, _, err := zk.Connect([]string{addr}, 30*time.Second, quiet)
		if err != nil {
			for _, c := range cs[:i] {
				c.conn.Close()
			}
			return nil, fmt.Errorf("connect %s: %w", addr, err)
		}
		cs[i] = &client{conn: conn}
	}
	return cs, nil
}

// fill creates the empty znodes [from, to) in multis of batch creates, one
// multi in flight per client.
func fill(ctx context.Context, cs []*client, from, to int) error {
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	next.Store(int64(from))
	acl := zk.WorldACL(zk.PermAll)
	for _, c := range cs {
		wg.Go(func() {
			for ctx.Err() == nil {
				lo := int(next.Add(batch)) - batch
				if lo >= to {
					return
				}
				ops := make([]any, 0, batch)
				for i := lo; i < min(lo+batch, to); i++ {
					ops = append(ops, &zk.CreateRequest{Path: nodePath(i), Acl: acl})
				}
				res, err := c.conn.Multi(ops...)
				for _, r := range res {
					err = cmpOr(err, r.Error)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("fill %s...: %w", nodePath(lo), err) })
					return
				}
			}
		})
	}
	wg.Wait()
	return cmpOr(firstErr, ctx.Err())
}

// cmpOr is cmp.Or for errors, which are not comparable in general.
func cmpOr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// printScale writes the side-by-side table, with zkserver/ZooKeeper ratios
// when both ran.
func printScale(out io.Writer, cfg scaleConfig, targets []target, figs []figures) error {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	n := float64(cfg.n)
	rows := []struct {
		label string
		get   func(f figures) float64
	}{
		{"fill, multis of 1000 creates (znodes/s)", func(f figures) float64 { return f.fillRate }},
		{"live heap, empty server (MB)", func(f figures) float64 { return float64(f.heapEmpty) / 1e6 }},
		{"live heap, filled (MB)", func(f figures) float64 { return float64(f.heapFull) / 1e6 }},
		{"heap per znode, (filled-empty)/n (B)", func(f figures) float64 { return float64(f.heapFull-f.heapEmpty) / n }},
		{"empty tree: set ops/s", func(f figures) float64 { return opsPerSec(f.empty) }},
		{"empty tree: set max (ms)", func(f figures) float64 { return ms(f.empty.quantile(1)) }},
		{"filled: set ops/s", func(f figures) float64 { return opsPerSec(f.full) }},
		{"filled: set p50 (ms)", func(f figures) float64 { return ms(f.full.quantile(0.5)) }},
		{"filled: set p99 (ms)", func(f figures) float64 { return ms(f.full.quantile(0.99)) }},
		{"filled: set p999 (ms)", func(f figures) float64 { return ms(f.full.quantile(0.999)) }},
		{"filled: set max (ms)", func(f figures) float64 { return ms(f.full.quantile(1)) }},
		{"max latency, filled / empty tree", func(f figures) float64 { return ms(f.full.quantile(1)) / ms(f.empty.quantile(1)) }},
		{"filled: errors", func(f figures) float64 { return float64(f.full.errors) }},
		{"snapshots during the filled load", func(f figures) float64 { return float64(f.snapshots) }},
		{"server CPU-s per 1000 sets", func(f figures) float64 { return f.cpuPer1000 }},
		{"newest snapshot (MB)", func(f figures) float64 { return float64(f.snapBytes) / 1e6 }},
		{"snapshot per znode (B)", func(f figures) float64 { return float64(f.snapBytes) / n }},
		{"restart to all readable (s)", func(f figures) float64 { return f.restart.Seconds() }},
	}

	fmt.Fprintf(out, "zkbench scale: %d empty znodes; set load %d clients × %v, %d-byte data; snapCount=%d\n",
		cfg.n, cfg.clients, cfg.duration, cfg.size, cfg.snapCount)
	tw := tabwriter.NewWriter(out, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "figure\t")
	for _, t := range targets {
		fmt.Fprintf(tw, "%s\t", t.title)
	}
	both := len(targets) == 2
	if both {
		fmt.Fprintf(tw, "ratio %s/%s\t", targets[1].name, targets[0].name)
	}
	fmt.Fprintln(tw)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t", r.label)
		for _, f := range figs {
			fmt.Fprintf(tw, "%s\t", format(r.get(f)))
		}
		if both {
			fmt.Fprintf(tw, "%s\t", ratio(r.get(figs[1]), r.get(figs[0])))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "live heap: the JVM's live objects (jcmd GC.class_histogram, after a full GC); Go's HeapAlloc after runtime.GC (/debug/pprof/heap?gc=1)")
	fmt.Fprintln(out, "empty tree: the parent and its first 1000 children; snapshots: mntr zk_cnt_snapshottime before and after the load")
	fmt.Fprintln(out, "restart: from starting the process until a new session sees all n children and reads the last one created")
	return nil
}

// ratio is a/b to two decimals, or "-" when b is not a positive figure.
func ratio(a, b float64) string {
	if !(b > 0) || a < 0 {
		return "-"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64)
}

func opsPerSec(r result) float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

// cpuPer1000 is the CPU-seconds used per 1000 requests of r, failed ones
// included, as they cost the server too.
func cpuPer1000(used time.Duration, r result) float64 {
	return used.Seconds() / float64(len(r.lat)+r.errors) * 1000
}

// format prints a figure with three significant digits or as an integer,
// whichever is longer.
func format(v float64) string {
	if v >= 1000 || v <= -1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "zkbench: "+format+"\n", args...)
}
