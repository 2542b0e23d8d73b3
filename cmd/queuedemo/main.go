package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/zookit/zookit/cmd/internal/demo"
	"github.com/zookit/zookit/queue"
	"github.com/zookit/zookit/recipes"
)

func main() { demo.Main("queuedemo", run) }

type config struct {
	demo.Flags
	path      string
	lockPath  string
	put       int
	consumers int
	work      time.Duration
	name      string
}

func parse(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("queuedemo", flag.ContinueOnError)
	cfg.Register(fs)
	fs.StringVar(&cfg.path, "path", "/zookit/demo/queue", "the queue's path")
	fs.StringVar(&cfg.lockPath, "lock-path", "/zookit/demo/queue-locks", "where consumers mark the messages they handle")
	fs.IntVar(&cfg.put, "put", 0, "messages to put before consuming (0: none)")
	fs.IntVar(&cfg.consumers, "consumers", 0, "consumers in this process, each on its own session (0: put and exit)")
	fs.DurationVar(&cfg.work, "work", 500*time.Millisecond, "how long handling a message takes")
	fs.StringVar(&cfg.name, "name", fmt.Sprintf("p%d", os.Getpid()), "this process's name in the output and the messages")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.put < 0 || cfg.consumers < 0 || cfg.put+cfg.consumers == 0 {
		return cfg, errors.New("give -put, -consumers or both, not negative")
	}
	return cfg, nil
}

func run(ctx context.Context, args []string, log *demo.Log) error {
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	if cfg.put > 0 {
		if err := produce(ctx, cfg, cfg.name+"/put", log); err != nil {
			return err
		}
	}
	return demo.Each(cfg.consumers, cfg.name, "c", func(who string) error { return consume(ctx, cfg, who, log) })
}

func produce(ctx context.Context, cfg config, who string, log *demo.Log) error {
	c, err := cfg.Connect(ctx, log, who)
	if err != nil {
		return err
	}
	defer c.Close()
	q, err := open(ctx, c, cfg)
	if err != nil {
		return err
	}
	for i := 1; i <= cfg.put; i++ {
		msg := fmt.Sprintf("%s-%d", cfg.name, i)
		if err := q.Put(ctx, []byte(msg)); err != nil {
			return fmt.Errorf("%s: %w", who, err)
		}
		log.Printf(who, "put %s", msg)
	}
	return nil
}

func consume(ctx context.Context, cfg config, who string, log *demo.Log) error {
	c, err := cfg.Connect(ctx, log, who)
	if err != nil {
		return err
	}
	defer c.Close()
	q, err := open(ctx, c, cfg)
	if err != nil {
		return err
	}
	err = q.Consume(ctx, func(ctx context.Context, msg []byte) error {
		log.Printf(who, "handling %s", msg)
		select {
		case <-time.After(cfg.work):
		case <-ctx.Done():
			// Left in the queue for another consumer.
			log.Printf(who, "interrupted handling %s", msg)
			return ctx.Err()
		}
		log.Printf(who, "done %s", msg)
		return nil
	})
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("%s: %w", who, err)
}

// open is the queue as producers and consumers both see it.
func open(ctx context.Context, c *recipes.Client, cfg config) (*queue.DistributedQueue, error) {
	return queue.NewDistributedQueue(ctx, c, cfg.path, queue.WithLockPath(cfg.lockPath))
}
