package interop

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// TestReadOnlyMode runs Kazoo's read-only scenario with Java's
// zkCli.sh in read-only mode (-r) and with Curator built canBeReadOnly,
// against a three-server zkserver ensemble and an Apache ZooKeeper one side
// by side: with two servers killed, the third serves the clients read-only
// (Curator's state is READ_ONLY; reads answer, writes are refused); once
// the two are back, the clients are connected read-write again and their
// writes succeed. Kazoo (read_only=True) runs the same steps.
//
// Apache ZooKeeper 3.8 opens a new session in read-only mode only with
// local sessions (its ReadOnlyRequestProcessor refuses a global
// createSession, answering the handshake with a NOTREADONLY header that
// clients cannot read), so it runs with localSessionsEnabled=true, as its
// own read-only tests do. zkserver, which has no local sessions, gives a
// read-only client a session local to the server and the mode.
func TestReadOnlyMode(t *testing.T) {
	Require(t, ZkCli, ZooKeeper, Curator, Kazoo)
	script, err := filepath.Abs(filepath.Join("python", "kazoo_readonly.py"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	cp, err := CompileJava(ctx, t.TempDir(), "ReadOnlyPeer")
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		name   string
		start  EnsembleStarter
		config map[string]string
	}{
		{"zkserver", StartZookitEnsemble, nil},
		{"apache", StartApacheEnsemble, map[string]string{"localSessionsEnabled": "true"}},
	} {
		t.Run(e.name, func(t *testing.T) {
			addrs := e.start(t, 3, 0, Options{JVMFlags: []string{"-Dreadonlymode.enabled=true"}, Config: e.config})
			c, _, err := zk.Connect(addrs, 10*time.Second, zk.WithLogger(quietLogger))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Create("/ro", []byte("kept"), 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
			c.Close()

			Kill(t, addrs[1])
			Kill(t, addrs[2])
			waitMode(t, addrs[0], "read-only")
			cli := StartConsole(t, ZkCliPath(), "-r", "-server", addrs[0])
			cli.Expect(`state:ConnectedReadOnly type:None path:null`)
			cli.Run("get /ro", `^kept$`)
			cli.Run("create /w x", `Not a read-only call`)
			cur := StartConsole(t, "java", "-cp", cp, "ReadOnlyPeer", addrs[0])
			cur.Expect(`^STATE READ_ONLY$`)
			cur.Run("get /ro", `^DATA kept$`)
			cur.Run("create /c x", `^ERROR .*NotReadOnlyException`)
			kz := StartConsole(t, KazooPython(), script, addrs[0])
			kz.Expect(`^state CONNECTED_RO$`)
			kz.Expect(`^get /ro kept$`)
			kz.Expect(`^create refused: NotReadOnlyCallError$`)
			kz.Expect(`^waiting for quorum$`)

			Restart(t, addrs[1])
			Restart(t, addrs[2])
			cli.Expect(`state:SyncConnected type:None path:null`)
			cli.Run("create /w x", `^Created /w$`)
			cli.Run("get /w", `^x$`)
			cli.Run("quit")
			cur.Expect(`^STATE (RECONNECTED|CONNECTED)$`)
			cur.Run("create /c x", `^CREATED /c$`)
			cur.Run("exit")
			kz.Send("go")
			kz.Expect(`^state CONNECTED$`)
			kz.Expect(`^created /kazoo$`)
		})
	}
}

// waitMode waits until srvr at addr reports mode.
func waitMode(t *testing.T, addr, mode string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	defer cancel()
	for Mode(ctx, addr) != mode {
		select {
		case <-ctx.Done():
			t.Fatalf("%s never reported Mode: %s", addr, mode)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
