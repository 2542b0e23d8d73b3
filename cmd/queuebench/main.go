package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/zookit/zookit/interop"
	"github.com/zookit/zookit/queue"
	"github.com/zookit/zookit/recipes"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2181", "server address host:port")
	messages := flag.Int("messages", 2000, "messages per run")
	size := flag.Int("size", 100, "message size in bytes")
	workersFlag := flag.String("workers", "1,8", "comma-separated producer/consumer counts, one run each")
	path := flag.String("path", "/queuebench", "queue path; each run uses a child of it")
	curator := flag.Bool("curator", false, "also run Curator's queues (needs java, javac and Debian's Curator jars)")
	kindsFlag := flag.String("queues", "simple,distributed", "comma-separated queue kinds: simple (SimpleQueue), distributed (DistributedQueue)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var workers []int
	for _, s := range strings.Split(*workersFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "queuebench: bad worker count %q\n", s)
			os.Exit(2)
		}
		workers = append(workers, n)
	}
	var kinds []kind
	for _, s := range strings.Split(*kindsFlag, ",") {
		k, ok := kindsByName[strings.TrimSpace(s)]
		if !ok {
			fmt.Fprintf(os.Stderr, "queuebench: unknown queue kind %q\n", s)
			os.Exit(2)
		}
		kinds = append(kinds, k)
	}
	if err := run(ctx, *addr, *path, *messages, *size, workers, kinds, *curator, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "queuebench:", err)
		os.Exit(1)
	}
}

// kind is a queue measured on both sides.
type kind struct {
	name string
	// goBench runs zookit's queue with n producers, then n consumers.
	goBench func(ctx context.Context, c *recipes.Client, path string, messages, size, n int) (result, error)
	// peerMode is QueuePeer's bench mode for Curator's counterpart, named
	// curatorName.
	peerMode, curatorName string
}

var kindsByName = map[string]kind{
	"simple":      {"simple", benchSimple, "bench", "Curator SimpleDistributedQueue"},
	"distributed": {"distributed", benchDistributed, "dbench", "Curator DistributedQueue"},
}

type result struct {
	impl      string
	workers   int
	messages  int
	put, take time.Duration
}

func run(ctx context.Context, addr, path string, messages, size int, workers []int, kinds []kind, curator bool, out io.Writer) error {
	var results []result
	for _, k := range kinds {
		for _, n := range workers {
			r, err := benchGo(ctx, addr, fmt.Sprintf("%s/go-%s-%d", path, k.name, n), messages, size, n, k)
			if err != nil {
				return err
			}
			results = append(results, r)
		}
	}
	if curator {
		dir, err := os.MkdirTemp("", "queuebench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cp, err := interop.CompileJava(ctx, dir, "QueuePeer")
		if err != nil {
			return err
		}
		for _, k := range kinds {
			for _, n := range workers {
				r, err := benchCurator(ctx, cp, addr, fmt.Sprintf("%s/curator-%s-%d", path, k.name, n), messages, n, k)
				if err != nil {
					return err
				}
				results = append(results, r)
			}
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "implementation\tworkers\tmessages\tputs/s\ttakes/s\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.0f\t\n", r.impl, r.workers, r.messages,
			float64(r.messages)/r.put.Seconds(), float64(r.messages)/r.take.Seconds())
	}
	return tw.Flush()
}

// timed runs step messages times over n goroutines.
func timed(messages, n int, step func() error) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(messages) {
				if err := step(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return time.Since(start), <-errs
}

func benchGo(ctx context.Context, addr, path string, messages, size, n int, k kind) (result, error) {
	c, err := recipes.New(ctx, []string{addr})
	if err != nil {
		return result{}, err
	}
	defer c.Close()
	return k.goBench(ctx, c, path, messages, size, n)
}

func benchSimple(ctx context.Context, c *recipes.Client, path string, messages, size, n int) (result, error) {
	q := queue.NewSimpleQueue(c, path)
	msg := make([]byte, size)
	put, err := timed(messages, n, func() error { return q.Offer(ctx, msg) })
	if err != nil {
		return result{}, err
	}
	take, err := timed(messages, n, func() error { _, err := q.Take(ctx); return err })
	if err != nil {
		return result{}, err
	}
	return result{"zookit queue.SimpleQueue", n, messages, put, take}, nil
}

// benchDistributed times n producers putting, then n DistributedQueue
// consumers (each its own Consume, as each Curator consumer is its own
// queue instance) until every message has been handled.
func benchDistributed(ctx context.Context, c *recipes.Client, path string, messages, size, n int) (result, error) {
	q, err := queue.NewDistributedQueue(ctx, c, path)
	if err != nil {
		return result{}, err
	}
	msg := make([]byte, size)
	put, err := timed(messages, n, func() error { return q.Put(ctx, msg) })
	if err != nil {
		return result{}, err
	}
	consumeCtx, stop := context.WithCancel(ctx)
	defer stop()
	var left sync.WaitGroup
	left.Add(messages)
	errs := make(chan error, n)
	start := time.Now()
	for range n {
		go func() {
			errs <- q.Consume(consumeCtx, func(context.Context, []byte) error {
				left.Done()
				return nil
			})
		}()
	}
	consumed := make(chan struct{})
	go func() { left.Wait(); close(consumed) }()
	select {
	case <-consumed:
	case err := <-errs:
		return result{}, err
	}
	take := time.Since(start)
	stop()
	for range n {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			return result{}, err
		}
	}
	return result{"zookit queue.DistributedQueue", n, messages, put, take}, nil
}

func benchCurator(ctx context.Context, classpath, addr, path string, messages, n int, k kind) (result, error) {
	cmd := exec.CommandContext(ctx, "java", "-cp", classpath, "QueuePeer", addr, k.peerMode, path, strconv.Itoa(messages), strconv.Itoa(n))
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return result{}, fmt.Errorf("QueuePeer %s: %w\n%s", k.peerMode, err, ee.Stderr)
		}
		return result{}, fmt.Errorf("QueuePeer %s: %w", k.peerMode, err)
	}
	r := result{impl: k.curatorName, workers: n, messages: messages}
	for _, line := range strings.Split(string(out), "\n") {
		var count int
		var secs float64
		if _, err := fmt.Sscanf(line, "PUT %d %g", &count, &secs); err == nil {
			r.put = time.Duration(secs * float64(time.Second))
		}
		if _, err := fmt.Sscanf(line, "TAKE %d %g", &count, &secs); err == nil {
			r.take = time.Duration(secs * float64(time.Second))
		}
	}
	if r.put == 0 || r.take == 0 {
		return result{}, fmt.Errorf("QueuePeer bench output %q", out)
	}
	return r, nil
}
