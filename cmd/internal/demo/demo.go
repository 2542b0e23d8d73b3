// Package demo holds what zookit's demo commands share: the -server and
// -session-timeout flags, a Client that reports its connection states, and
// a log of timestamped lines that several goroutines write to.
package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zookit/zookit/recipes"
)

// Flags are the connection flags every demo takes.
type Flags struct {
	Server         string
	SessionTimeout time.Duration
}

// Register adds -server and -session-timeout to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Server, "server", "127.0.0.1:2181", "ZooKeeper servers, host:port[,host:port...] (zkserver's default address, or any ZooKeeper)")
	fs.DurationVar(&f.SessionTimeout, "session-timeout", 4*time.Second, "session timeout to ask for: how long the ensemble waits before it gives up on a killed process")
}

// Connect opens a session and prints every later connection state to log.
// The Client's Listen stream ends when ctx does or the Client is closed.
func (f *Flags) Connect(ctx context.Context, log *Log, who string) (*recipes.Client, error) {
	c, err := recipes.New(ctx, strings.Split(f.Server, ","), recipes.WithSessionTimeout(f.SessionTimeout))
	if err != nil {
		return nil, err
	}
	log.Printf(who, "connected to %s, session 0x%x", f.Server, c.SessionID())
	states := c.Listen(ctx)
	go func() {
		first := true
		for s := range states {
			if first && s == recipes.Connected {
				first = false // already said
				continue
			}
			first = false
			log.Printf(who, "connection %v", s)
		}
	}()
	return c, nil
}

// Log writes whole lines, each stamped with the wall time and who wrote
// it; lines from different goroutines never mix.
type Log struct {
	mu  sync.Mutex
	out io.Writer
}

// NewLog returns a Log writing to out.
func NewLog(out io.Writer) *Log { return &Log{out: out} }

// Printf writes one line.
func (l *Log) Printf(who, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	// Stamped under the lock, so that the times of the lines only grow.
	fmt.Fprintf(l.out, "%s %-10s %s\n", time.Now().Format("15:04:05.000"), who, msg)
}

// Main runs a demo's run function on the process's arguments and stdout,
// with a context that ends on SIGINT or SIGTERM, and exits 1 on error.
func Main(name string, run func(ctx context.Context, args []string, log *Log) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], NewLog(os.Stdout)); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		stop()
		os.Exit(1)
	}
}

// Each runs f for n workers at once, named <name>/<kind><i>, and joins
// their errors.
func Each(n int, name, kind string, f func(who string) error) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(fmt.Sprintf("%s/%s%d", name, kind, i+1))
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
