// Package demotest runs a demo command's test binary as the demo itself,
// in separate processes a test can kill, and collects their output lines.
package demotest

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zookit/zookit/cmd/internal/demo"
)

// argsEnv carries the demo's arguments to a process started by Start.
const argsEnv = "ZOOKIT_DEMO_ARGS"

// Main runs main instead of the tests in a process started by Start; call
// it from TestMain.
func Main(m *testing.M, main func()) {
	if args, ok := os.LookupEnv(argsEnv); ok {
		os.Args = append(os.Args[:1], strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Start runs the demo with args (no argument may hold a space) as a process
// whose stdout lines go to out. The process is killed when the test ends.
func Start(t *testing.T, out *Lines, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), argsEnv+"="+strings.Join(args, " "))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out.readers.Add(1)
	go func() {
		defer out.readers.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.add(sc.Text())
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// Lines is the output of several processes, line by line as it comes.
type Lines struct {
	readers sync.WaitGroup
	mu      sync.Mutex
	all     []string
	wake    chan struct{}
}

// NewLines returns an empty Lines.
func NewLines() *Lines { return &Lines{wake: make(chan struct{}, 1)} }

func (l *Lines) add(s string) {
	l.mu.Lock()
	l.all = append(l.all, s)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Await returns the index and text of the first line at or after from that
// holds want, waiting up to a minute for it.
func (l *Lines) Await(t *testing.T, from int, want string) (int, string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		l.mu.Lock()
		for i := from; i < len(l.all); i++ {
			if line := l.all[i]; strings.Contains(line, want) {
				l.mu.Unlock()
				return i, line
			}
		}
		l.mu.Unlock()
		select {
		case <-l.wake:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no line with %q after line %d:\n%s", want, from, l)
		}
	}
}

// Wait waits until every process started with l has closed its output.
func (l *Lines) Wait() { l.readers.Wait() }

// All returns the lines so far.
func (l *Lines) All() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.all...)
}

func (l *Lines) String() string { return strings.Join(l.All(), "\n") }

// RunTogether runs a demo's run function once per name, at once, as that
// many processes would run, with "-name <name>" after args, all writing to
// one Log so that their lines keep the order they happened in. It returns
// the lines.
func RunTogether(t *testing.T, run func(context.Context, []string, *demo.Log) error, names []string, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	log := demo.NewLog(&out)
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx, append(slices.Clone(args), "-name", name), log); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}
