package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/ensembletest"
)

// TestFullDiskExitsNonZero fills the disk that holds the snapshots (the
// WAL lives in dataLogDir elsewhere) and checks that start-foreground
// exits non-zero with the reason in its log, so a supervisor restarts it,
// and that a restart once space is freed serves again with the data.
func TestFullDiskExitsNonZero(t *testing.T) {
	disk := ensembletest.SmallDisk(t, 1<<20)
	dir := t.TempDir()
	port := freePort(t)
	cfg := filepath.Join(dir, "zoo.cfg")
	text := fmt.Sprintf("tickTime=500\ndataDir=%s\ndataLogDir=%s\nsnapCount=20\nclientPort=%d\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n",
		disk.Dir, filepath.Join(dir, "log"), port)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	srv := startForeground(t, cfg)
	waitServing(t, port)
	c, _, err := zk.Connect([]string{addr}, 5*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Create("/before", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	disk.Fill()
	for i := range 200 {
		if _, err := c.Create(fmt.Sprintf("/n%d", i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			break
		}
	}
	select {
	case <-srv.done:
	case <-time.After(30 * time.Second):
		t.Fatal("start-foreground still running 30s after the disk filled")
	}
	var ee *exec.ExitError
	if !errors.As(srv.err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("start-foreground ended with %v, want a non-zero exit", srv.err)
	}
	if log := srv.logs.String(); !strings.Contains(log, "no space left on device") {
		t.Fatalf("log does not say why:\n%s", log)
	}

	disk.Free()
	startForeground(t, cfg)
	waitServing(t, port)
	c2, _, err := zk.Connect([]string{addr}, 5*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if ok, _, err := c2.Exists("/before"); err != nil || !ok {
		t.Fatalf("/before after the restart: exists %v, %v", ok, err)
	}
}
