package interop

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zookit/zookit/ensemble/ensembletest"
)

// reconfigOptions enable dynamic reconfiguration, as Kazoo's and
// Curator's test clusters do.
var reconfigOptions = Options{Config: map[string]string{"reconfigEnabled": "true"}}

// TestKazooReconfig runs Kazoo's TestReconfig steps against a three-server
// zkserver ensemble and an Apache ZooKeeper one, and compares what Kazoo
// sees: a client without super gets NoAuth, super adds an observer (its
// spec comes back in the config) and removes it, a config version from the
// future is BadVersion, and a malformed spec is BadArguments.
func TestKazooReconfig(t *testing.T) {
	Require(t, ZooKeeper, Kazoo)
	script, err := filepath.Abs(filepath.Join("python", "kazoo_reconfig.py"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"no super: NoAuthError",
		"added observer: True",
		"removed observer: True",
		"last line: version",
		"future version: BadVersionError",
		"bad input: BadArgumentsError",
	}, "\n") + "\n"
	for _, e := range []struct {
		name  string
		start EnsembleStarter
	}{{"zkserver", StartZookitEnsemble}, {"apache", StartApacheEnsemble}} {
		t.Run(e.name, func(t *testing.T) {
			addrs := e.start(t, 3, 0, reconfigOptions)
			// Ports nothing listens on: the observer is never started,
			// as in Kazoo's test.
			p := ensembletest.FreePorts(t, 3)
			joining := fmt.Sprintf("server.100=0.0.0.0:%d:%d:observer;0.0.0.0:%d", p[0], p[1], p[2])
			out, err := exec.Command(KazooPython(), script, strings.Join(addrs, ","), joining).CombinedOutput()
			if err != nil || string(out) != want {
				t.Errorf("%s: %v\n%s\nwant:\n%s", e.name, err, out, want)
			}
		})
	}
}
