//go:build !linux

package ensembletest

import "testing"

// SmallDisk needs Linux's tmpfs; elsewhere it skips the test.
func SmallDisk(t testing.TB, size int) *Disk {
	t.Skip("ensembletest: SmallDisk needs Linux")
	return nil
}

// Fill is never reached: SmallDisk skips.
func (d *Disk) Fill() {}
