package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zookit/zookit/cmd/internal/demo"
	"github.com/zookit/zookit/ensemble/ensembletest"
)

// Two barrierdemo "processes" of two members each on one barrier of four:
// no member works before the last one has entered, and none is out before
// the last one has left.
func TestPhases(t *testing.T) {
	srv := ensembletest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	log := demo.NewLog(&out)
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"-server", srv.Addr(), "-members", "4", "-workers", "2", "-work", "100ms", "-name", name}
			if err := run(ctx, args, log); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			t.Fatalf("line %q", line)
		}
		phase := strings.TrimSuffix(f[2], ";")
		count[phase]++
		switch {
		case phase == "all" && f[3] == "in;" && count["entering"] != 4,
			phase == "all" && f[3] == "out" && count["leaving"] != 4:
			t.Fatalf("%q before all four got there:\n%s", line, out.String())
		}
	}
	if count["entering"] != 4 || count["leaving"] != 4 || count["all"] != 8 {
		t.Fatalf("phases %v:\n%s", count, out.String())
	}
}
