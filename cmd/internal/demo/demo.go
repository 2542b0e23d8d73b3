// Package demo holds what zookit's demo commands share: the -server and
// -session-timeout flags, a Client that reports its connection states, and
// a log of timestamped lines that several goroutines write to.
package demo

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
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
