package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/zookit/zookit/cmd/internal/demo"
	"github.com/zookit/zookit/lock"
)

func main() { demo.Main("lockdemo", run) }

type config struct {
	demo.Flags
	path    string
	workers int
	rounds  int
	work    time.Duration
	name    string
}

func parse(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("lockdemo", flag.ContinueOnError)
	cfg.Register(fs)
	fs.StringVar(&cfg.path, "path", "/zookit/demo/lock", "the lock's path")
	fs.IntVar(&cfg.workers, "workers", 2, "workers in this process, each on its own session")
	fs.IntVar(&cfg.rounds, "rounds", 3, "times each worker takes the lock (0: until interrupted)")
	fs.DurationVar(&cfg.work, "work", time.Second, "how long a worker holds the lock")
	fs.StringVar(&cfg.name, "name", fmt.Sprintf("p%d", os.Getpid()), "this process's name in the output")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.workers < 1 || cfg.rounds < 0 {
		return cfg, errors.New("-workers must be at least 1 and -rounds at least 0")
	}
	return cfg, nil
}

func run(ctx context.Context, args []string, log *demo.Log) error {
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	return demo.Each(cfg.workers, cfg.name, "w", func(who string) error { return worker(ctx, cfg, who, log) })
}

func worker(ctx context.Context, cfg config, who string, log *demo.Log) error {
	c, err := cfg.Connect(ctx, log, who)
	if err != nil {
		return err
	}
	defer c.Close()
	m := lock.NewMutex(c, cfg.path)
	for round := 1; cfg.rounds == 0 || round <= cfg.rounds; round++ {
		log.Printf(who, "waiting for %s", cfg.path)
		l, err := m.Lock(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%s: %w", who, err)
		}
		log.Printf(who, "acquired, fence %d (round %d)", l.Fence(), round)
		if lost := hold(ctx, l.Done(), cfg.work); lost {
			// The lock may already be someone else's: stop at once,
			// without claiming to release it.
			log.Printf(who, "LOST the lock (connection suspended or session gone); stopping work")
		} else {
			log.Printf(who, "releasing")
		}
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.SessionTimeout)
		err = l.Unlock(unlockCtx)
		cancel()
		if err != nil && !errors.Is(err, lock.ErrNotHeld) {
			log.Printf(who, "unlock: %v", err)
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

// hold works for d, reporting whether the lock was lost meanwhile; an
// interrupt cuts the work short.
func hold(ctx context.Context, lost <-chan struct{}, d time.Duration) bool {
	select {
	case <-lost:
		return true
	case <-time.After(d):
	case <-ctx.Done():
	}
	return false
}
