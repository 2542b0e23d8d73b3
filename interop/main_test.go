package interop

import "testing"

func TestMain(m *testing.M) { Main(m) }

// servers lists the servers the client interop tests run against: zkserver,
// and Apache ZooKeeper as the control that shows the expectations are right.
// Tests call Require before the loop, so that a missing peer skips the whole
// test rather than leaving a passing parent over skipped subtests.
var servers = []struct {
	name  string
	start Starter
}{
	{"zkserver", StartZookit},
	{"apache", StartApacheZooKeeper},
}
