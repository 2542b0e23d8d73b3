package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/zookit/zookit/barrier"
	"github.com/zookit/zookit/cmd/internal/demo"
)

func main() { demo.Main("barrierdemo", run) }

type config struct {
	demo.Flags
	path    string
	members int
	workers int
	work    time.Duration
	name    string
}

func parse(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("barrierdemo", flag.ContinueOnError)
	cfg.Register(fs)
	fs.StringVar(&cfg.path, "path", "/zookit/demo/barrier", "the barrier's path")
	fs.IntVar(&cfg.members, "members", 2, "members of the barrier in all processes")
	fs.IntVar(&cfg.workers, "workers", 2, "members in this process, each on its own session")
	fs.DurationVar(&cfg.work, "work", time.Second, "longest time a member works between entering and leaving")
	fs.StringVar(&cfg.name, "name", fmt.Sprintf("p%d", os.Getpid()), "this process's name in the output")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.workers < 1 || cfg.members < cfg.workers || cfg.work < 0 {
		return cfg, errors.New("-workers must be at least 1 and at most -members, -work not negative")
	}
	return cfg, nil
}

func run(ctx context.Context, args []string, log *demo.Log) error {
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	return demo.Each(cfg.workers, cfg.name, "m", func(who string) error { return member(ctx, cfg, who, log) })
}

func member(ctx context.Context, cfg config, who string, log *demo.Log) error {
	c, err := cfg.Connect(ctx, log, who)
	if err != nil {
		return err
	}
	defer c.Close()
	b := barrier.NewDouble(c, cfg.path, cfg.members, barrier.WithData([]byte(who)))
	log.Printf(who, "entering; waiting for all %d members", cfg.members)
	if err := b.Enter(ctx); err != nil {
		return fmt.Errorf("%s: enter: %w", who, err)
	}
	work := rand.N(cfg.work + 1)
	log.Printf(who, "all in; working for %v", work.Round(time.Millisecond))
	select {
	case <-time.After(work):
	case <-ctx.Done():
		return nil
	}
	log.Printf(who, "leaving; waiting for all to leave")
	if err := b.Leave(ctx); err != nil {
		return fmt.Errorf("%s: leave: %w", who, err)
	}
	log.Printf(who, "all out")
	return nil
}
