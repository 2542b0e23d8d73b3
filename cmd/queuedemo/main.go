package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/zookit/zookit/cmd/internal/demo"
	"github.com/zookit/zookit/queue"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], demo.NewLog(os.Stdout)); err != nil {
		fmt.Fprintln(os.Stderr, "queuedemo:", err)
		os.Exit(1)
	}
}

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
	var wg sync.WaitGroup
	errs := make([]error, cfg.consumers)
	for i := range cfg.consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = consume(ctx, cfg, fmt.Sprintf("%s/c%d", cfg.name, i+1), log)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func produce(ctx context.Context, cfg config, who string, log *demo.Log) error {
	c, err := cfg.Connect(ctx, log, who)
	if err != nil {
		return err
	}
	defer c.Close()
	q, err := queue.NewDistributedQueue(ctx, c, cfg.path, queue.WithLockPath(cfg.lockPath))
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
	q, err := queue.NewDistributedQueue(ctx, c, cfg.path, queue.WithLockPath(cfg.lockPath))
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
