package interop

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/zookit/zookit/lock/locktest"
)

func init() { locktest.HoldIfAsked() }

// TestLock runs package lock's server-independent tests against zkserver
// and against Apache ZooKeeper.
func TestLock(t *testing.T) {
	Require(t, ZooKeeper)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			t.Run("Contention", func(t *testing.T) { locktest.Contention(t, addr, "/locks/contention", 3, 4, 5) })
			t.Run("Fencing", func(t *testing.T) { locktest.Fencing(t, addr, "/locks/fence") })
			t.Run("KilledHolder", func(t *testing.T) { locktest.KilledHolder(t, addr, "/locks/killed") })
		})
	}
}

// TestLockCurator has Go locks and Curator 5.4's contend on the same paths,
// each side checking the other through the marker nodes of locktest.Check:
// Mutex with InterProcessMutex, RWMutex with InterProcessReadWriteLock,
// Semaphore with InterProcessSemaphoreV2.
func TestLockCurator(t *testing.T) {
	Require(t, ZooKeeper, Curator)
	compileCtx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	peer, err := CompileLockPeer(compileCtx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const rounds = 15
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			for _, tc := range []struct {
				name      string
				path      string
				kinds     []string
				maxLeases int
			}{
				{"Mutex", "/interop/mutex", []string{locktest.KindMutex}, 1},
				{"RWMutex", "/interop/rw", []string{locktest.KindWrite, locktest.KindRead}, 1},
				{"Semaphore", "/interop/sem", []string{locktest.KindSemaphore}, 2},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
					defer cancel()
					c := locktest.Connect(t, addr)
					var wg sync.WaitGroup
					for _, kind := range tc.kinds {
						// The Go workers go on until Curator's side is done,
						// so the two surely contend, however slowly the
						// JVM starts.
						javaDone := make(chan struct{})
						wg.Add(2)
						go func() {
							defer wg.Done()
							defer close(javaDone)
							runLockPeer(t, ctx, peer, addr, kind, tc.path, 3, rounds, tc.maxLeases)
						}()
						go func() {
							defer wg.Done()
							n := locktest.Workers(t, ctx, c, kind, tc.path, 3, rounds, tc.maxLeases, javaDone)
							t.Logf("%s: %d Go acquisitions", kind, n)
						}()
					}
					wg.Wait()
				})
			}
		})
	}
}

// runLockPeer runs Curator's side and checks it finished every round.
func runLockPeer(t *testing.T, ctx context.Context, peer *LockPeer, addr, kind, path string, threads, rounds, maxLeases int) {
	cmd := peer.Command(ctx, addr, kind, path, strconv.Itoa(threads), strconv.Itoa(rounds), strconv.Itoa(maxLeases))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	want := "OK " + strconv.Itoa(threads*rounds)
	if err != nil || strings.TrimSpace(stdout.String()) != want {
		t.Errorf("LockPeer %s: %v; stdout %q, want %q\nstderr:\n%s", kind, err, stdout.String(), want, lastBytes(stderr.String(), 4<<10))
	}
}
