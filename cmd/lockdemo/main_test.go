package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/zookit/zookit/cmd/internal/demo"
	"github.com/zookit/zookit/cmd/internal/demotest"
	"github.com/zookit/zookit/ensemble/ensembletest"
)

// Two lockdemo "processes" of two workers each, sharing one lock: the
// output shows every worker's rounds, and between a worker's "acquired"
// and its "releasing" no other worker acquires.
func TestTurns(t *testing.T) {
	srv := ensembletest.Start(t)
	lines := demotest.RunTogether(t, run, []string{"a", "b"}, "-server", srv.Addr(), "-workers", "2", "-rounds", "3", "-work", "20ms")
	holder, turns := "", map[string]int{}
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) < 3 {
			t.Fatalf("line %q", line)
		}
		who, what := f[1], f[2]
		switch what {
		case "acquired,":
			if holder != "" {
				t.Fatalf("%s acquired while %s held the lock:\n%s", who, holder, strings.Join(lines, "\n"))
			}
			holder = who
			turns[who]++
		case "releasing":
			if holder != who {
				t.Fatalf("%s released while %q held the lock:\n%s", who, holder, strings.Join(lines, "\n"))
			}
			holder = ""
		case "LOST":
			t.Fatalf("%s lost the lock:\n%s", who, strings.Join(lines, "\n"))
		}
	}
	for _, who := range []string{"a/w1", "a/w2", "b/w1", "b/w2"} {
		if turns[who] != 3 {
			t.Fatalf("%s held the lock %d times, want 3:\n%s", who, turns[who], strings.Join(lines, "\n"))
		}
	}
}

func TestBadFlags(t *testing.T) {
	if err := run(context.Background(), []string{"-workers", "0"}, demo.NewLog(&bytes.Buffer{})); err == nil {
		t.Fatal("-workers 0 accepted")
	}
}
