package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/cmd/internal/demo"
	"github.com/zookit/zookit/election"
	"github.com/zookit/zookit/recipes"
)

func main() { demo.Main("electiondemo", run) }

type config struct {
	demo.Flags
	path       string
	candidates int
	beat       time.Duration
	name       string
}

func parse(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("electiondemo", flag.ContinueOnError)
	cfg.Register(fs)
	fs.StringVar(&cfg.path, "path", "/zookit/demo/leader", "the election's path; the heartbeat node is <path>-heartbeat")
	fs.IntVar(&cfg.candidates, "candidates", 1, "candidates in this process, each on its own session")
	fs.DurationVar(&cfg.beat, "beat", 500*time.Millisecond, "how often the leader writes its heartbeat")
	fs.StringVar(&cfg.name, "name", fmt.Sprintf("p%d", os.Getpid()), "this process's name in the output")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.candidates < 1 || cfg.beat <= 0 {
		return cfg, errors.New("-candidates must be at least 1 and -beat positive")
	}
	return cfg, nil
}

func run(ctx context.Context, args []string, log *demo.Log) error {
	cfg, err := parse(args)
	if err != nil {
		return err
	}
	return demo.Each(cfg.candidates, cfg.name, "c", func(who string) error { return candidate(ctx, cfg, who, log) })
}

func candidate(ctx context.Context, cfg config, who string, log *demo.Log) error {
	c, err := cfg.Connect(ctx, log, who)
	if err != nil {
		return err
	}
	defer c.Close()
	heartbeat := cfg.path + "-heartbeat"
	if _, err := c.CreateWithParents(ctx, heartbeat, nil, recipes.Persistent); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("%s: %w", who, err)
	}
	latch := election.NewLeaderLatch(c, cfg.path, who)
	defer func() {
		// Hand over at once on the way out rather than after a session
		// timeout.
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.SessionTimeout)
		defer cancel()
		latch.Close(closeCtx, election.NotifyLeader)
	}()
	go follow(ctx, latch, who, log)
	for {
		term, err := latch.Await(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%s: %w", who, err)
		}
		if err := lead(ctx, c, term, heartbeat, cfg.beat, who, log); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// lead writes the heartbeat until the term ends. Each write is guarded, so
// it can only succeed while this candidate's latch node exists: a leader
// that lost its session cannot overwrite its successor's beat.
func lead(ctx context.Context, c *recipes.Client, term *election.Leadership, heartbeat string, beat time.Duration, who string, log *demo.Log) error {
	data, st, err := c.Get(ctx, heartbeat)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", who, err)
	case len(data) == 0:
		log.Printf(who, "LEADER (fence %d), the first one", term.Fence())
	default:
		gap := time.Since(time.UnixMilli(st.Mtime)).Round(time.Millisecond)
		log.Printf(who, "LEADER (fence %d), %v after %s's last heartbeat", term.Fence(), gap, data)
	}
	tick := time.NewTicker(beat)
	defer tick.Stop()
	for {
		set := &zk.SetDataRequest{Path: heartbeat, Data: []byte(who), Version: -1}
		if _, err := term.Guard(ctx, set); err != nil && ctx.Err() == nil {
			log.Printf(who, "heartbeat refused: %v", err)
		}
		select {
		case <-term.Done():
			log.Printf(who, "no longer leader: connection suspended or session lost")
			return nil
		case <-ctx.Done():
			log.Printf(who, "stepping down")
			return nil
		case <-tick.C:
		}
	}
}

// follow prints each change of leader as this candidate sees it.
func follow(ctx context.Context, latch *election.LeaderLatch, who string, log *demo.Log) {
	last := ""
	for p := range latch.Observe(ctx) {
		if p.ID == who || p.ID == last {
			last = p.ID
			continue
		}
		last = p.ID
		if p.ID == "" {
			log.Printf(who, "no leader")
		} else {
			log.Printf(who, "following %s", strconv.Quote(p.ID))
		}
	}
}
