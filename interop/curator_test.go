package interop

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// TestCurator runs java/CuratorCheck.java, compiled here against Debian's
// Curator 5.4, then checks from Go what Curator left on the server.
func TestCurator(t *testing.T) {
	Require(t, Curator)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			// A short reaper interval lets the test see containers go.
			addr := srv.start(t, Options{JVMFlags: []string{"-Dznode.container.checkIntervalMs=100"}})
			stdout := runCuratorCheck(t, addr)
			for _, want := range []string{
				"OK connected",
				"OK created /a/b/c",
				"OK removed data watcher",
				"OK second removal: NoWatcher",
				"OK removed all child watchers",
			} {
				if !strings.Contains(stdout, want+"\n") {
					t.Errorf("CuratorCheck did not print %q; stdout:\n%s", want, stdout)
				}
			}
			if t.Failed() {
				return
			}

			conn, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(quietLogger))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(conn.Close)
			// Apache ZooKeeper reports ephemeralOwner 0 for container and TTL
			// nodes (DataNode.copyStat hides the 0x8000000000000000 it stores),
			// so only reaping tells a container from a persistent parent.
			var gone []<-chan zk.Event
			for _, p := range []string{"/a", "/a/b", "/a/b/c"} {
				ok, st, ch, err := conn.ExistsW(p)
				if err != nil || !ok {
					t.Fatalf("exists %s: %v, %v", p, ok, err)
				}
				if st.EphemeralOwner != 0 {
					t.Errorf("%s: ephemeralOwner %#x, want 0 as Apache ZooKeeper reports", p, st.EphemeralOwner)
				}
				if p != "/a/b/c" {
					gone = append(gone, ch)
				}
			}
			if err := conn.Delete("/a/b/c", -1); err != nil {
				t.Fatal(err)
			}
			guard := time.NewTimer(hangGuard)
			defer guard.Stop()
			for i, ch := range gone {
				select {
				case ev := <-ch:
					if ev.Type != zk.EventNodeDeleted {
						t.Fatalf("watch on container %d: got %v, want NodeDeleted", i, ev)
					}
				case <-guard.C:
					t.Fatalf("emptied containers /a/b and /a not reaped within %v (the server must honour -Dznode.container.checkIntervalMs)", hangGuard)
				}
			}
		})
	}
}

// runCuratorCheck compiles CuratorCheck.java into a temp dir and runs it
// against addr, returning its stdout; a non-zero exit fails the test.
func runCuratorCheck(t *testing.T, addr string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cp, err := CompileJava(ctx, t.TempDir(), "CuratorCheck")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "java", "-cp", cp, "CuratorCheck", addr)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("CuratorCheck: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), lastBytes(stderr.String(), 2<<10))
	}
	return stdout.String()
}
