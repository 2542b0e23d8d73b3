package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// opFigures are what one operation's load measured on one topology.
type opFigures struct {
	op         string
	r          result
	cpuPer1000 float64 // CPU-seconds of all the servers per 1000 requests
}

func throughputMain(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("zkbench throughput", flag.ContinueOnError)
	topology := fs.String("topology", "both", "standalone, 3 (a 3-server ensemble on 127.0.0.1) or both")
	ops := fs.String("ops", strings.Join(opNames, ","), "comma-separated operations, run one after another")
	duration := fs.Duration("duration", 10*time.Second, "how long each operation runs")
	clients := fs.Int("clients", 16, "concurrent sessions, spread over the servers round-robin")
	size := fs.Int("size", 100, "payload bytes for create and set")
	var sf serverFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := config{clients: *clients, duration: *duration, size: *size, ops: strings.Split(*ops, ",")}
	if err := cfg.check(); err != nil {
		return err
	}
	sizes, ok := map[string][]int{"standalone": {1}, "3": {3}, "both": {1, 3}}[*topology]
	if !ok {
		return fmt.Errorf("-topology %q: want standalone, 3 or both", *topology)
	}
	targets, cleanup, err := sf.targets(ctx)
	if err != nil {
		return err
	}
	defer cleanup()

	for _, n := range sizes {
		figs := make([][]opFigures, len(targets))
		for i, t := range targets {
			if figs[i], err = measureThroughput(ctx, cfg, sf, t, n); err != nil {
				return fmt.Errorf("%s, %s: %w", t.name, topologyName(n), err)
			}
		}
		if err := printThroughput(out, cfg, n, targets, figs); err != nil {
			return err
		}
	}
	return nil
}

func topologyName(n int) string {
	if n == 1 {
		return "standalone"
	}
	return fmt.Sprintf("%d servers", n)
}

// measureThroughput starts n servers of t, runs cfg's operations one after
// another with the clients spread over them, reading the servers' CPU time
// around each, and stops the servers.
func measureThroughput(ctx context.Context, cfg config, sf serverFlags, t target, n int) (figs []opFigures, err error) {
	dir, done, err := workDir(sf.dir, fmt.Sprintf("zkbench-throughput-%s-%d-", t.name, n), sf.keep)
	if err != nil {
		return nil, err
	}
	defer func() { done(err != nil) }()
	ins, err := newInstances(dir, t, n, nil)
	if err != nil {
		return nil, err
	}
	progress("%s, %s: starting", t.name, topologyName(n))
	c, err := startCluster(ctx, ins)
	if err != nil {
		return nil, err
	}
	defer func() { err = cmpOr(err, c.stop()) }()
	cfg.addrs = c.addrs()
	l, err := startLoad(cfg)
	if err != nil {
		return nil, err
	}
	defer l.close()
	for _, op := range cfg.ops {
		progress("%s, %s: %s for %v", t.name, topologyName(n), op, cfg.duration)
		before, err := c.cpu()
		if err != nil {
			return nil, err
		}
		r := l.measure(ctx, op)
		after, err := c.cpu()
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.firstErr != nil {
			progress("%s, %s: %s: %d errors, the first: %v", t.name, topologyName(n), op, r.errors, r.firstErr)
		}
		figs = append(figs, opFigures{op: op, r: r, cpuPer1000: cpuPer1000(after-before, r)})
	}
	return figs, nil
}

// printThroughput writes one topology's table: a row per operation and
// server, and when both ran a row of zkserver/ZooKeeper ratios.
func printThroughput(out io.Writer, cfg config, n int, targets []target, figs [][]opFigures) error {
	fmt.Fprintf(out, "%s: %d clients round-robin over %d server(s), %v per operation, %d-byte data\n",
		topologyName(n), cfg.clients, n, cfg.duration, cfg.size)
	tw := tabwriter.NewWriter(out, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "op\tserver\tops\tops/s\tp50\tp99\tmax\terrors\tCPU-s/1000 req\t\n")
	for i, op := range cfg.ops {
		for j, t := range targets {
			f := figs[j][i]
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%v\t%v\t%v\t%d\t%s\t\n", op, t.title, len(f.r.lat), opsPerSec(f.r),
				f.r.quantile(0.50), f.r.quantile(0.99), f.r.quantile(1), f.r.errors, format(f.cpuPer1000))
		}
		if len(targets) == 2 {
			a, b := figs[1][i], figs[0][i]
			fmt.Fprintf(tw, "%s\t%s/%s\t\t%s\t\t\t\t\t%s\t\n", op, targets[1].name, targets[0].name,
				ratio(opsPerSec(a.r), opsPerSec(b.r)), ratio(a.cpuPer1000, b.cpuPer1000))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "CPU-s/1000 req: utime+stime of every server process (/proc/<pid>/stat) over the operation, per 1000 requests; the client shares the machine")
	fmt.Fprintln(out)
	return nil
}
