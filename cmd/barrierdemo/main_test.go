package main

import (
	"strings"
	"testing"

	"github.com/zookit/zookit/cmd/internal/demotest"
	"github.com/zookit/zookit/ensemble/ensembletest"
)

// Two barrierdemo "processes" of two members each on one barrier of four:
// no member works before the last one has entered, and none is out before
// the last one has left.
func TestPhases(t *testing.T) {
	srv := ensembletest.Start(t)
	lines := demotest.RunTogether(t, run, []string{"a", "b"}, "-server", srv.Addr(), "-members", "4", "-workers", "2", "-work", "100ms")
	count := map[string]int{}
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) < 3 {
			t.Fatalf("line %q", line)
		}
		phase := strings.TrimSuffix(f[2], ";")
		count[phase]++
		switch {
		case phase == "all" && f[3] == "in;" && count["entering"] != 4,
			phase == "all" && f[3] == "out" && count["leaving"] != 4:
			t.Fatalf("%q before all four got there:\n%s", line, strings.Join(lines, "\n"))
		}
	}
	if count["entering"] != 4 || count["leaving"] != 4 || count["all"] != 8 {
		t.Fatalf("phases %v:\n%s", count, strings.Join(lines, "\n"))
	}
}
