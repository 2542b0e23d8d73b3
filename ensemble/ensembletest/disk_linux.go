package ensembletest

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
)

// SmallDisk mounts a tmpfs of size bytes for the test and unmounts it when
// the test ends, so a test can fill a real file system and see the server
// meet ENOSPC in etcd's own WAL and snapshot code. It skips the test where
// mounting is not allowed (not root, or no mount namespace rights).
func SmallDisk(t testing.TB, size int) *Disk {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("ensembletest: cannot mount a tmpfs to fill (%v)", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("ensembletest: unmount %s: %v", dir, err)
		}
	})
	return &Disk{Dir: dir, t: t}
}

// Fill takes all the free space of the disk.
func (d *Disk) Fill() {
	d.t.Helper()
	f, err := os.Create(d.filler())
	if err != nil {
		d.t.Fatalf("ensembletest: fill disk: %v", err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				d.t.Fatalf("ensembletest: fill disk: %v", err)
			}
			return
		}
	}
}
