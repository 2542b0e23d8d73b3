package server_test

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
)

// snapshotsOn keeps the snapshots of server myid (0 for standalone) on
// disk, leaving its WAL in the usual directory, and snapshots every 20
// writes. etcd preallocates WAL segments of 64 MiB, so a full disk first
// shows in the snapshot files, as it would in production.
func snapshotsOn(disk *ensembletest.Disk, myid uint64) ensembletest.Option {
	return ensembletest.WithConfig(func(cfg *config.Config) {
		if cfg.MyID == myid {
			cfg.DataLogDir = cfg.DataDir
			cfg.DataDir = disk.Dir
		}
		cfg.SnapCount = 20
	})
}

// checkNotServing checks that a server whose disk failed answers srvr and
// mntr as a ZooKeeper server that is not serving, mntr with the reason,
// and that its Serve returned the disk's error.
func checkNotServing(t *testing.T, srv interface {
	Exited() <-chan struct{}
	ServeErr() error
}, answer func(string) string) {
	t.Helper()
	select {
	case <-srv.Exited():
	case <-time.After(30 * time.Second):
		t.Fatal("Serve still running 30s after the disk filled")
	}
	if err := srv.ServeErr(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Serve returned %v, want ENOSPC", err)
	}
	const notServing = "This ZooKeeper instance is not currently serving requests\n"
	if got := answer("srvr"); got != notServing {
		t.Errorf("srvr = %q, want %q", got, notServing)
	}
	if got := answer("mntr"); got != notServing+"zk_storage_failed\t1\n" {
		t.Errorf("mntr = %q", got)
	}
}

// A standalone server whose data directory fills up stops serving and
// Serve returns the error; restarted once space is freed, it has every
// acknowledged write.
func TestFullDiskStopsServerAndRestartRecovers(t *testing.T) {
	disk := ensembletest.SmallDisk(t, 1<<20)
	srv := ensembletest.Start(t, snapshotsOn(disk, 0))
	c, _ := connect(t, srv.Addr())
	disk.Fill()
	var acked []string
	for i := 0; ; i++ {
		if i == 200 {
			t.Fatal("200 writes acknowledged with a full disk and snapCount 20")
		}
		p := fmt.Sprintf("/n%d", i)
		if _, err := c.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			break
		}
		acked = append(acked, p)
	}
	checkNotServing(t, srv, srv.Server().FourLetterWord)

	disk.Free()
	srv.Restart()
	c, _ = connect(t, srv.Addr())
	for _, p := range acked {
		if ok, _, err := c.Exists(p); err != nil || !ok {
			t.Fatalf("acknowledged %s lost over the restart (exists %v, %v)", p, ok, err)
		}
	}
	if _, err := c.Create("/after", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("write after the restart: %v", err)
	}
	if got := fourLetter(t, srv.Addr(), "srvr"); !strings.Contains(got, "Mode: standalone") {
		t.Fatalf("srvr after the restart = %q", got)
	}
}

// A follower whose disk fills up stops serving, its clients move on, and
// the others go on acknowledging writes; restarted once space is freed,
// it catches up, and no acknowledged write is lost anywhere.
func TestFollowerWithFullDiskStepsDown(t *testing.T) { fullDiskInCluster(t, false) }

// A leader whose disk fills up stops too, and the others elect a leader
// of their own, with the same guarantees.
func TestLeaderWithFullDiskStepsDown(t *testing.T) { fullDiskInCluster(t, true) }

func fullDiskInCluster(t *testing.T, leads bool) {
	disk := ensembletest.SmallDisk(t, 1<<20)
	cl := ensembletest.StartCluster(t, 3, 0, snapshotsOn(disk, 3))
	failing := cl.Member(3)
	// Stop hands leadership over, to another server or, when a follower
	// is stopped, keeps it; a few tries put server 3 where it should be.
	for try := 0; (cl.Leader() == failing) != leads; try++ {
		if try == 10 {
			t.Fatalf("server 3 leads: %v after 10 tries, want %v", !leads, leads)
		}
		l := cl.Leader()
		if !leads {
			l = failing
		}
		l.Stop()
		l.Restart()
		cl.WaitLeader()
	}
	c, _ := connectAny(t, cl.Addrs())
	if _, err := c.Create("/load", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	w := startWriters(t, cl.Addrs(), 3)
	waitFor(t, "writes before the disk fills", func() bool { return w.count() > 10 })
	disk.Fill()
	checkNotServing(t, failing, failing.Server().FourLetterWord)
	if cl.WaitLeader() == failing {
		t.Fatal("the server whose disk failed still leads")
	}
	before := w.count()
	waitFor(t, "writes after the disk filled", func() bool { return w.count() > before+50 })
	acked := w.finish()

	disk.Free()
	failing.Restart()
	cl.WaitLeader()
	requireAll(t, cl, acked)
}
