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
	"github.com/zookit/zookit/lock"
	"github.com/zookit/zookit/recipes"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2181", "server address host:port")
	duration := flag.Duration("duration", 10*time.Second, "how long each run lasts")
	contenders := flag.String("contenders", "1,16", "comma-separated contender counts, one run each")
	path := flag.String("path", "/lockbench", "lock path; each run uses a child of it")
	curator := flag.Bool("curator", false, "also run Curator's InterProcessMutex (needs java, javac and Debian's Curator jars)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var counts []int
	for _, s := range strings.Split(*contenders, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "lockbench: bad contender count %q\n", s)
			os.Exit(2)
		}
		counts = append(counts, n)
	}
	if err := run(ctx, *addr, *path, *duration, counts, *curator, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lockbench:", err)
		os.Exit(1)
	}
}

type result struct {
	impl       string
	contenders int
	cycles     int64
	elapsed    time.Duration
}

func run(ctx context.Context, addr, path string, d time.Duration, counts []int, curator bool, out io.Writer) error {
	var results []result
	for _, n := range counts {
		r, err := benchGo(ctx, addr, fmt.Sprintf("%s/go-%d", path, n), n, d)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	if curator {
		dir, err := os.MkdirTemp("", "lockbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		peer, err := interop.CompileLockPeer(ctx, dir)
		if err != nil {
			return err
		}
		for _, n := range counts {
			r, err := benchCurator(ctx, peer, addr, fmt.Sprintf("%s/curator-%d", path, n), n, d)
			if err != nil {
				return err
			}
			results = append(results, r)
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "implementation\tcontenders\tcycles\tseconds\tcycles/s\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.0f\t\n", r.impl, r.contenders, r.cycles, r.elapsed.Seconds(), float64(r.cycles)/r.elapsed.Seconds())
	}
	return tw.Flush()
}

// benchGo runs n goroutines on one Client, each locking and unlocking its
// own Mutex on path until d has passed.
func benchGo(ctx context.Context, addr, path string, n int, d time.Duration) (result, error) {
	c, err := recipes.New(ctx, []string{addr})
	if err != nil {
		return result{}, err
	}
	defer c.Close()
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var cycles atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		m := lock.NewMutex(c, path)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				l, err := m.Lock(runCtx)
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						errs <- err
					}
					return
				}
				if err := l.Unlock(ctx); err != nil {
					errs <- err
					return
				}
				cycles.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return result{}, err
	}
	return result{"zookit lock.Mutex", n, cycles.Load(), elapsed}, nil
}

// benchCurator runs LockPeer's bench mode: n threads on one Curator client.
func benchCurator(ctx context.Context, peer *interop.LockPeer, addr, path string, n int, d time.Duration) (result, error) {
	out, err := peer.Command(ctx, addr, "bench", path, strconv.Itoa(n), strconv.FormatInt(d.Milliseconds(), 10)).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return result{}, fmt.Errorf("LockPeer bench: %w\n%s", err, ee.Stderr)
		}
		return result{}, fmt.Errorf("LockPeer bench: %w", err)
	}
	var cycles int64
	var secs float64
	if _, err := fmt.Sscanf(strings.TrimSpace(lastLine(string(out))), "CYCLES %d %g", &cycles, &secs); err != nil {
		return result{}, fmt.Errorf("LockPeer bench output %q: %w", out, err)
	}
	return result{"Curator InterProcessMutex", n, cycles, time.Duration(secs * float64(time.Second))}, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
