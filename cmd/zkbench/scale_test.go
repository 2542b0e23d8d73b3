package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestHistogramTotal(t *testing.T) {
	// The head and tail of jcmd <pid> GC.class_histogram on OpenJDK 17.
	out := []byte(` num     #instances         #bytes  class name (module)
-------------------------------------------------------
   1:        101234        9718464  org.apache.zookeeper.server.DataNode
   2:         12345         456789  [B (java.base@17.0.15)
Total        523456       38765432
`)
	if n, err := histogramTotal(out); err != nil || n != 38765432 {
		t.Errorf("histogramTotal = %d, %v; want 38765432", n, err)
	}
	if _, err := histogramTotal([]byte("12345:\ncom.sun.tools.attach.AttachNotSupportedException\n")); err == nil {
		t.Error("histogramTotal took an answer with no Total line")
	}
}

func TestStatCPU(t *testing.T) {
	// utime 250 and stime 50 ticks; the command name holds a space and a ')'.
	stat := []byte("4242 (java (x) y) S 1 4242 4242 0 -1 4194304 1000 0 0 0 250 50 0 0 20 0 30 0 100 0 0\n")
	if d, err := statCPU(stat); err != nil || d != 3*time.Second {
		t.Errorf("statCPU = %v, %v; want 3s", d, err)
	}
	if _, err := statCPU([]byte("4242 (java) S 1")); err == nil {
		t.Error("statCPU took a short line")
	}
}

// TestScaleZkserver runs the whole sequence, small, against zkserver built
// from this module, and checks that every figure was measured.
func TestScaleZkserver(t *testing.T) {
	ctx := context.Background()
	tg := zkserverForTest(t)
	cfg := scaleConfig{n: 3000, duration: 500 * time.Millisecond, clients: 4, size: 100, snapCount: 20, dir: t.TempDir()}
	f, err := measureScale(ctx, cfg, tg)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case f.fillRate <= 0:
		t.Errorf("fill rate %v", f.fillRate)
	case f.heapEmpty <= 0 || f.heapFull <= f.heapEmpty:
		t.Errorf("live heap %d empty, %d filled: want 0 < empty < filled", f.heapEmpty, f.heapFull)
	case len(f.empty.lat) == 0 || len(f.full.lat) == 0 || f.empty.errors+f.full.errors > 0:
		t.Errorf("loads: %d and %d sets, %d and %d errors", len(f.empty.lat), len(f.full.lat), f.empty.errors, f.full.errors)
	case f.snapshots < 1:
		t.Errorf("%d snapshots during the load with snapCount=20", f.snapshots)
	case f.cpuPer1000 <= 0:
		t.Errorf("CPU per 1000 requests %v", f.cpuPer1000)
	case f.snapBytes <= 0:
		t.Errorf("snapshot of %d bytes", f.snapBytes)
	case f.restart <= 0 || f.restart > time.Minute:
		t.Errorf("restart took %v", f.restart)
	}

	var out bytes.Buffer
	if err := printScale(&out, cfg, []target{tg}, []figures{f}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "restart to all readable (s)") {
		t.Errorf("table without the restart row:\n%s", out.String())
	}
}

// zkserverForTest builds zkserver from this module for the test, or skips
// it in -short mode.
func zkserverForTest(t *testing.T) target {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs zkserver")
	}
	tg, cleanup, err := zkserverTarget(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return tg
}
