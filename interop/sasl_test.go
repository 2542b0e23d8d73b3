package interop

import (
	"os"
	"path/filepath"
	"testing"
)

// saslServerJAAS is the JAAS file of ZooKeeper's SASL guide.
const saslServerJAAS = `Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="adminsecret"
    user_bob="bobsecret";
};
`

// writeJAAS writes a JAAS file and returns its path.
func writeJAAS(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jaas.conf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// saslOptions configure a server for SASL DIGEST-MD5 as ZooKeeper's guide
// does: the JAAS file by -D flag, the SASL provider in zoo.cfg, super as
// the super user.
func saslOptions(t *testing.T) Options {
	return Options{
		Config: map[string]string{"authProvider.1": "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"},
		JVMFlags: []string{
			"-Djava.security.auth.login.config=" + writeJAAS(t, saslServerJAAS),
			"-Dzookeeper.superUser=super",
		},
	}
}

// saslCli starts zkCli.sh authenticating as user with password through a
// JAAS Client section, as ZooKeeper's Java clients (Kafka's, Curator's)
// are configured.
func saslCli(t *testing.T, addr, user, password string) *Console {
	t.Helper()
	jaas := writeJAAS(t, `Client {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    username="`+user+`"
    password="`+password+`";
};
`)
	return StartConsoleEnv(t, []string{"CLIENT_JVMFLAGS=-Djava.security.auth.login.config=" + jaas}, ZkCliPath(), "-server", addr)
}

// TestZkCliSASL runs Java's zkCli.sh with SASL DIGEST-MD5 against
// zkserver and Apache ZooKeeper side by side: a user authenticates, is
// named by whoami, owns a node through a sasl ACL that others cannot
// read, the super user reads it anyway, and a wrong password fails
// authentication.
func TestZkCliSASL(t *testing.T) {
	Require(t, ZkCli, ZooKeeper)
	whoami := map[string][2]string{}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, saslOptions(t))

			bob := saslCli(t, addr, "bob", "bobsecret")
			bob.Expect(`state:SaslAuthenticated type:None path:null`)
			bob.Run("whoami", `^Auth scheme: User$`)
			ids := `^(sasl: bob|ip: 127\.0\.0\.1)$`
			whoami[srv.name] = [2]string{bob.Expect(ids)[1], bob.Expect(ids)[1]}
			bob.Run("create /bobs secret sasl:bob:cdrwa", `^Created /bobs$`)
			bob.Run("getAcl /bobs", `^'sasl,'bob$`, `^: cdrwa$`)
			bob.Run("get /bobs", `^secret$`)
			bob.Run("create /bobauth x auth::cdrwa", `^Created /bobauth$`)
			bob.Run("getAcl /bobauth", `^'sasl,'bob$`)
			bob.Run("quit")

			anon := StartConsole(t, ZkCliPath(), "-server", addr)
			anon.Expect(`state:SyncConnected type:None path:null`)
			anon.Run("get /bobs", `^Insufficient permission : /bobs$`)
			anon.Run("quit")

			su := saslCli(t, addr, "super", "adminsecret")
			su.Expect(`state:SaslAuthenticated type:None path:null`)
			su.Run("get /bobs", `^secret$`)
			su.Run("quit")

			eve := saslCli(t, addr, "bob", "wrong")
			eve.Expect(`state:AuthFailed type:None path:null`)
		})
	}
	// Both list the identities in the hash order of ZooKeeper's set.
	if a, z := whoami["apache"], whoami["zkserver"]; a != z {
		t.Errorf("whoami: Apache ZooKeeper %q, zkserver %q", a, z)
	}
}
