package interop

import (
	"slices"
	"testing"
)

// TestCliMt drives Debian's C client shell cli_mt (libzookeeper-mt).
func TestCliMt(t *testing.T) {
	Require(t, CliMt)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			c := StartConsole(t, CliMtPath(), "-h", addr)
			c.Expect(`^Got a new session id: 0x[0-9a-f]+$`)

			// cli_mt always stores the data "new" on create.
			c.Run("create /cm", `^\[/cm\]: rc = 0$`, `^\s+name = /cm$`)
			c.Run("create /cm", `^\[/cm\]: rc = -110$`)
			c.Run("create +e /cm/e", `^\[/cm/e\]: rc = 0$`, `^\s+name = /cm/e$`)
			c.Run("create +s /cm/s", `^\[/cm/s\]: rc = 0$`, `^\s+name = /cm/s0000000001$`)
			c.Run("ls /cm", `^/cm: rc = 0$`)
			kids := []string{c.Expect(`^\t(\S+)$`)[1], c.Expect(`^\t(\S+)$`)[1]}
			slices.Sort(kids)
			if want := []string{"e", "s0000000001"}; !slices.Equal(kids, want) {
				t.Fatalf("ls /cm listed %v, want %v\n%s", kids, want, c.Output())
			}
			c.Run("get /cm", `^/cm: rc = 0$`, `^ value_len = 3$`, `^new$`, `^\s+version=0\s+aversion=0$`)
			c.Run("set /cm world", `^/cm: rc = 0 Stat:$`, `^\s+version=1\s+aversion=0$`)
			c.Run("get /cm", `^/cm: rc = 0$`, `^ value_len = 5$`, `^world$`)
			c.Run("get /cm/nope", `^/cm/nope: rc = -101$`)
			c.Run("delete /cm", `^/cm: rc = -111$`)
			c.Run("delete /cm/s0000000001", `^/cm/s0000000001: rc = 0$`)
			c.Run("delete /cm/e", `^/cm/e: rc = 0$`)
			c.Run("delete /cm", `^/cm: rc = 0$`)
			c.Run("exists /cm", `^Error -101 for /cm$`)
			c.Run("quit", `^Quitting\.\.\.$`)
		})
	}
}
