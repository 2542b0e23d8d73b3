package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/barrier/barriertest"
)

// TestBarrier runs package barrier's server-independent tests against
// zkserver and against Apache ZooKeeper.
func TestBarrier(t *testing.T) {
	Require(t, ZooKeeper)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			t.Run("Simple", func(t *testing.T) { barriertest.Simple(t, addr, "/barriers/simple") })
			t.Run("Double", func(t *testing.T) { barriertest.Double(t, addr, "/barriers/double", 4) })
			t.Run("EnterTimeout", func(t *testing.T) { barriertest.EnterTimeout(t, addr, "/barriers/timeout") })
			t.Run("Spurious", func(t *testing.T) {
				barriertest.Spurious(t, addr, "/barriers/spurious", barriertest.ForeignChild)
			})
		})
	}
}

// TestBarrierCurator has Go members and Curator 5.4's
// DistributedDoubleBarrier members meet on one path. Every member, of
// either language, counts the registrations each makes before entering
// and before leaving (see barriertest.Member): none may pass Enter before
// every member has arrived, nor Leave before every member has begun to
// leave. The last member to arrive, which opens the barrier for the
// others, is a Go one in GoLast and a Java one in CuratorLast.
func TestBarrierCurator(t *testing.T) {
	Require(t, ZooKeeper, Curator)
	compileCtx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cp, err := CompileJava(compileCtx, t.TempDir(), "BarrierPeer")
	if err != nil {
		t.Fatal(err)
	}
	const goMembers, javaMembers = 3, 3
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			t.Run("GoLast", func(t *testing.T) {
				doubleWithCurator(t, cp, addr, "/interop/barrier-go-last", goMembers, javaMembers, true)
			})
			t.Run("CuratorLast", func(t *testing.T) {
				doubleWithCurator(t, cp, addr, "/interop/barrier-curator-last", goMembers, javaMembers, false)
			})
		})
	}
}

// doubleWithCurator runs goMembers Go members and a BarrierPeer with
// javaMembers threads on path. With goLast, one Go member arrives only once
// every other member's node exists; otherwise the JVM starts only once the
// Go members' nodes exist.
func doubleWithCurator(t *testing.T, classpath, addr, path string, goMembers, javaMembers int, goLast bool) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	total := goMembers + javaMembers
	obs := barriertest.Connect(t, addr)
	goDone := make(chan error, goMembers)
	startGo := func(i int) {
		c := barriertest.Connect(t, addr)
		go func() {
			r, err := barriertest.Member(ctx, c, path, total, nil)
			if err == nil && (r.Entered != total || r.Left != total || r.Remaining != 0) {
				err = fmt.Errorf("passed Enter with %d and Leave with %d of %d members registered, leaving %d nodes behind", r.Entered, r.Left, total, r.Remaining)
			}
			if err != nil {
				err = fmt.Errorf("Go member %d: %w", i, err)
			}
			goDone <- err
		}()
	}
	javaDone := make(chan error, 1)
	startJava := func() {
		go func() { javaDone <- runBarrierPeer(ctx, classpath, addr, path, javaMembers, total) }()
	}
	early := goMembers
	if goLast {
		early--
		startJava()
	}
	for i := range early {
		startGo(i)
	}
	waitFor := early
	if goLast {
		waitFor += javaMembers
	}
	if err := barriertest.WaitCount(ctx, obs, path, func(n int) bool { return n >= waitFor }); err != nil {
		t.Errorf("%d members' nodes never appeared: %v", waitFor, err)
	}
	if goLast {
		startGo(early)
	} else {
		startJava()
	}
	for range goMembers {
		if err := <-goDone; err != nil {
			t.Error(err)
		}
	}
	if err := <-javaDone; err != nil {
		t.Error(err)
	}
	kids, err := obs.Children(ctx, path)
	if (err != nil && !errors.Is(err, zk.ErrNoNode)) || len(kids) > 0 {
		t.Errorf("children of %s at the end: %v, %v; want none", path, kids, err)
	}
}

// runBarrierPeer runs Curator's members and checks that each passed Enter
// and Leave only with every member registered, and Leave only once at most
// the lowest member's node was left.
func runBarrierPeer(ctx context.Context, classpath, addr, path string, threads, members int) error {
	seconds := int(hangGuard.Seconds()) - 10
	cmd := exec.CommandContext(ctx, "java", "-cp", classpath, "BarrierPeer",
		addr, path, strconv.Itoa(threads), strconv.Itoa(members), strconv.Itoa(seconds))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	want := map[string]int{
		"ENTERED " + strconv.Itoa(members): threads,
		"LEFT " + strconv.Itoa(members):    threads,
		"OK " + strconv.Itoa(threads):      1,
	}
	got := map[string]int{}
	for line := range strings.Lines(stdout.String()) {
		line = strings.TrimSpace(line)
		// Curator's leave returns to a member that is not the lowest once
		// its own node is gone and only the lowest member's is left, which
		// that member deletes as it leaves: one node may still be there.
		if left, ok := strings.CutPrefix(line, "LEFT "); ok {
			if registered, nodes, _ := strings.Cut(left, " "); nodes == "0" || nodes == "1" {
				line = "LEFT " + registered
			}
		}
		got[line]++
	}
	if err != nil || !maps.Equal(got, want) {
		return fmt.Errorf("BarrierPeer: %v; stdout %q, want the lines %v\nstderr:\n%s", err, stdout.String(), want, lastBytes(stderr.String(), 4<<10))
	}
	return nil
}
