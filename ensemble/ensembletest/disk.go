package ensembletest

import (
	"os"
	"path/filepath"
	"testing"
)

// Disk is a small file system of a test's own, to fill up.
type Disk struct {
	Dir string // where it is mounted
	t   testing.TB
}

// Free gives back the space Fill took, as an operator who has cleaned up
// a full disk would.
func (d *Disk) Free() {
	d.t.Helper()
	if err := os.Remove(d.filler()); err != nil && !os.IsNotExist(err) {
		d.t.Fatalf("ensembletest: free disk: %v", err)
	}
}

func (d *Disk) filler() string { return filepath.Join(d.Dir, "filler") }
