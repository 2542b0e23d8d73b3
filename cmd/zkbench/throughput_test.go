package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestThroughputZkserver runs every operation briefly against zkserver
// built from this module, standalone and as 3 servers, and checks that each
// was measured, without errors, with the servers' CPU time read.
func TestThroughputZkserver(t *testing.T) {
	ctx := context.Background()
	tg := zkserverForTest(t)
	cfg := config{clients: 4, duration: 300 * time.Millisecond, size: 100, ops: opNames}
	sf := serverFlags{dir: t.TempDir()}
	for _, n := range []int{1, 3} {
		figs, err := measureThroughput(ctx, cfg, sf, tg, n)
		if err != nil {
			t.Fatalf("%s: %v", topologyName(n), err)
		}
		if len(figs) != len(opNames) {
			t.Fatalf("%s: %d operations measured, want %d", topologyName(n), len(figs), len(opNames))
		}
		var cpu float64
		for i, f := range figs {
			if f.op != opNames[i] || len(f.r.lat) == 0 || opsPerSec(f.r) <= 0 || f.r.errors > 0 || f.cpuPer1000 < 0 {
				t.Errorf("%s: %s: %d requests, %.0f/s, %d errors (first %v), %v CPU-s/1000",
					topologyName(n), f.op, len(f.r.lat), opsPerSec(f.r), f.r.errors, f.r.firstErr, f.cpuPer1000)
			}
			cpu += f.cpuPer1000
		}
		if cpu <= 0 {
			t.Errorf("%s: no server CPU time measured", topologyName(n))
		}

		var out bytes.Buffer
		if err := printThroughput(&out, cfg, n, []target{tg}, [][]opFigures{figs}); err != nil {
			t.Fatal(err)
		}
		for _, op := range opNames {
			if !strings.Contains(out.String(), op+"  zkserver") {
				t.Errorf("%s: no %s row:\n%s", topologyName(n), op, out.String())
			}
		}
	}
	// Every server was stopped and its directory removed.
	if left, _ := filepath.Glob(filepath.Join(sf.dir, "*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestThroughputFlags(t *testing.T) {
	for _, args := range [][]string{{"-topology", "5"}, {"-ops", "create,frob"}, {"-clients", "0"}, {"-only", "etcd"}} {
		var out bytes.Buffer
		if err := throughputMain(context.Background(), append(args, "-zkserver", "/nonexistent"), &out); err == nil {
			t.Errorf("throughput %v: no error", args)
		}
	}
}
