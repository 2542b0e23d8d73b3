package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EnvBench names the environment variable that enables
// TestEnsembleBenchmark; it takes minutes and measures, so it stays out of
// the normal suite.
const EnvBench = "ZOOKIT_BENCH"

// TestEnsembleBenchmark runs cmd/zkbench against a three-voter zkserver
// ensemble and a three-voter Apache ZooKeeper ensemble, each with 0, 1 and 2
// observers, one ensemble at a time on this machine, and logs zkbench's
// table for each. It asserts nothing about speed (see DESIGN.md); it fails
// only when zkbench cannot run or reports errors.
//
//	ZOOKIT_BENCH=1 go test ./interop -run TestEnsembleBenchmark -v -timeout 30m
func TestEnsembleBenchmark(t *testing.T) {
	if os.Getenv(EnvBench) != "1" {
		t.Skipf("benchmark; set %s=1 to run it", EnvBench)
	}
	Require(t, ZooKeeper)
	bench := filepath.Join(t.TempDir(), "zkbench")
	if out, err := exec.Command("go", "build", "-o", bench, "github.com/zookit/zookit/cmd/zkbench").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/zkbench: %v\n%s", err, out)
	}
	const (
		clients  = 16
		duration = 8 * time.Second
	)
	// The systems alternate so that a change in the machine's load over the
	// run shows in both rather than in one.
	for observers := range 3 {
		for _, e := range ensembles {
			t.Run(fmt.Sprintf("observers=%d/%s", observers, e.name), func(t *testing.T) {
				// The default tickTime of 2000 ms, as a deployment would run.
				addrs := e.start(t, 3, observers, Options{})
				var modes []string
				for _, a := range addrs {
					modes = append(modes, Mode(t.Context(), a))
				}
				ctx, cancel := context.WithTimeout(t.Context(), 3*4*duration+hangGuard)
				defer cancel()
				cmd := exec.CommandContext(ctx, bench, "-addr", strings.Join(addrs, ","),
					"-clients", fmt.Sprint(clients), "-duration", duration.String(), "-ops", "create,set,get")
				var stderr strings.Builder
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil || stderr.Len() > 0 {
					t.Fatalf("zkbench: %v\n%s%s", err, out, stderr.String())
				}
				t.Logf("%s, 3 voters + %d observers (%s), %d clients round-robin over all servers, %v per op:\n%s",
					e.name, observers, strings.Join(modes, ","), clients, duration, out)
			})
		}
	}
}
