package adversarial

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
)

// walUsed is how many bytes of the member's WAL hold records. etcd
// preallocates each 64 MiB segment, so file sizes do not move; records
// fill a segment from its start and the rest stays zero, so the used part
// ends at the last page that is not all zero, found by bisection (a page of
// zeros inside the records would take 4 KiB of zero payload, which no
// replay writes).
func walUsed(t *testing.T, m member) int64 {
	t.Helper()
	cfg := m.Config()
	dir := filepath.Join(cmp.Or(cfg.DataLogDir, cfg.DataDir), "zookit", "wal")
	files, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil || len(files) == 0 {
		t.Fatalf("WAL of %s: %v (%d files)", m.Addr(), err, len(files))
	}
	var used int64
	for _, name := range files {
		used += usedBytes(t, name)
	}
	return used
}

func usedBytes(t *testing.T, name string) int64 {
	t.Helper()
	const page = 4096
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, page)
	zero := func(p int64) bool {
		n, _ := f.ReadAt(buf, p*page)
		return n == 0 || bytes.Count(buf[:n], []byte{0}) == n
	}
	lo, hi := int64(0), (st.Size()+page-1)/page // pages [lo, hi) hold the end
	for lo < hi {
		mid := (lo + hi) / 2
		if zero(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo * page
}

// walGrowth runs writes and returns how much the WAL of the member that
// grew most grew meanwhile.
func walGrowth(t *testing.T, sc *scene, writes func()) int64 {
	t.Helper()
	before := map[member]int64{}
	for _, m := range sc.members {
		before[m] = walUsed(t, m)
	}
	writes()
	var most int64
	for _, m := range sc.members {
		most = max(most, walUsed(t, m)-before[m])
	}
	return most
}

// addAuthAmplification: issue 10 measured 16 addAuth calls with 256 KiB
// user names followed by 10 two-byte setData calls growing the WAL by 40
// MB, where 10 plain setData calls grew it by 1.4 kB. The identities must
// not reach the log: the WAL grows by what the same writes cost without
// addAuth (plus what the bystander writes meanwhile), and the server
// refuses identities beyond its bound.
func addAuthAmplification(t *testing.T, sc *scene) {
	const slack = 1 << 20 // the bystander's writes during the measurement, and then some
	plain := connect(t, sc.victim.Addr())
	defer plain.Close()
	if _, err := plain.Create("/amp", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	setData := func(set func(int) error) func() {
		return func() {
			for i := range 10 {
				if err := set(i); err != nil {
					t.Logf("setData %d: %v", i, err)
				}
			}
		}
	}
	baseline := walGrowth(t, sc, setData(func(int) error { _, err := plain.Set("/amp", []byte("ab"), -1); return err }))

	atk := attackerClient(t, sc.victim.Addr())
	x := opCtx(t)
	var authErr error
	for i := range 16 {
		user := fmt.Sprintf("%d%s", i, strings.Repeat("u", 256<<10))
		if authErr = atk.AddAuth(x, "digest", []byte(user+":pw")); authErr != nil {
			break
		}
	}
	amplified := walGrowth(t, sc, setData(func(int) error { _, err := atk.Set(x, "/amp", []byte("ab"), -1); return err }))
	t.Logf("WAL growth of 10 setData: %d bytes plain, %d bytes after the addAuth calls (addAuth: %v)", baseline, amplified, authErr)
	if amplified > baseline+slack {
		t.Errorf("10 setData after 16 addAuth of 256 KiB grew the WAL by %d bytes, plain ones by %d", amplified, baseline)
	}
	if authErr == nil {
		t.Errorf("16 addAuth calls of 256 KiB identities were all accepted")
	}
}

// smallDisk keeps the victim's snapshots on a 1 MiB file system of their
// own and snapshots every 20 writes; its WAL stays in the usual place.
// etcd preallocates WAL segments of 64 MiB, so a full disk first shows in
// the snapshot files, as it would in production.
func smallDisk(t *testing.T, sc *scene) []ensembletest.Option {
	sc.disk = ensembletest.SmallDisk(t, 1<<20)
	return []ensembletest.Option{ensembletest.WithConfig(func(cfg *config.Config) {
		if cfg.Standalone() || cfg.MyID == victimID {
			cfg.DataLogDir = cfg.DataDir
			cfg.DataDir = sc.disk.Dir
		}
		cfg.SnapCount = 20
	})}
}

// diskFull: the victim's disk fills while the bystander writes. The victim
// must stop serving and its Serve return the disk's error, the others go
// on acknowledging writes (the bystander moves to them), and the victim,
// restarted once space is freed, recovers every acknowledged write.
func diskFull(t *testing.T, sc *scene) {
	sc.disk.Fill()
	select {
	case <-sc.victim.Exited():
	case <-time.After(waitLimit):
		t.Fatalf("Serve still running %v after the disk filled", waitLimit)
	}
	if err := sc.victim.ServeErr(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Serve returned %v, want ENOSPC", err)
	}
	if got := sc.victim.Server().FourLetterWord("srvr"); !strings.Contains(got, "not currently serving") {
		t.Errorf("srvr of the server whose disk is full: %q", got)
	}
	if sc.kind == ensemble {
		sc.cluster.WaitLeader()
		sc.by.waitAcked(t, sc.by.count()+20)
	}
	sc.disk.Free()
	sc.victim.Restart()
}
