package interop

import (
	"crypto/x509/pkix"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/tlsconf"
	"github.com/zookit/zookit/ensemble/tlsconf/tlstest"
)

// tlsFixture is one CA, a server certificate for 127.0.0.1 in PKCS12
// stores, and a client certificate in PEM, as operators hand them out.
type tlsFixture struct {
	ca        *tlstest.CA
	client    *tlstest.Cert
	serverCfg map[string]string // zoo.cfg keys of the secure client port's stores
	caPEM     string            // the CA certificate
	clientPEM string            // the client's key and chain, unencrypted
	clientP12 map[string]string // the client's stores as zookeeper.ssl.* properties
}

func newTLSFixture(t *testing.T) *tlsFixture {
	dir := t.TempDir()
	f := &tlsFixture{ca: tlstest.NewCA(t, "interop-ca"), serverCfg: map[string]string{}}
	f.client = f.ca.Client(t, pkix.Name{CommonName: "interop-client", Organization: []string{"zookit"}})
	for k, v := range f.ca.Server(t, "zk").Stores(t, tlsconf.Client, tlsconf.PKCS12, dir, "secret") {
		f.serverCfg[strings.TrimPrefix(k, "zookeeper.")] = v
	}
	f.caPEM = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(f.caPEM, f.ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	f.clientPEM = f.client.WriteKeyStore(t, tlsconf.PEM, dir, "client.pem", "")
	f.clientP12 = f.client.Stores(t, tlsconf.Client, tlsconf.PKCS12, t.TempDir(), "secret")
	return f
}

// secureOptions configures a server with a plain and a secure client port
// (Netty, as Apache ZooKeeper needs for TLS) that requires client
// certificates and knows the x509 scheme; it returns the secure address.
func (f *tlsFixture) secureOptions(t *testing.T) (Options, string) {
	port := strconv.Itoa(ensembletest.FreePorts(t, 1)[0])
	cfg := map[string]string{
		"secureClientPort":        port,
		"secureClientPortAddress": "127.0.0.1",
		"serverCnxnFactory":       "org.apache.zookeeper.server.NettyServerCnxnFactory",
		"authProvider.x509":       "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
	}
	maps.Copy(cfg, f.serverCfg)
	return Options{Config: cfg}, "127.0.0.1:" + port
}

// Kazoo (use_ssl) and the Java zkCli.sh (Netty with zookeeper.client.secure)
// work over TLS against zkserver's secureClientPort exactly as against Apache
// ZooKeeper's, x509 ACLs included.
func TestTLSClients(t *testing.T) {
	Require(t, ZooKeeper, ZkCli, Kazoo)
	f := newTLSFixture(t)
	servers := map[string]string{}
	for name, start := range map[string]Starter{"zookeeper": StartApacheZooKeeper, "zkserver": StartZookit} {
		opts, secure := f.secureOptions(t)
		start(t, opts)
		servers[name] = secure
	}
	script, err := filepath.Abs(filepath.Join("python", "kazoo_tls.py"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(name string, cmd *exec.Cmd) string {
		t.Helper()
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		return string(out)
	}
	kazoo := map[string]string{}
	for name, addr := range servers {
		kazoo[name] = run("kazoo against "+name, exec.Command(KazooPython(), script, addr, f.caPEM, f.clientPEM, f.clientPEM, f.client.ID(), "/kazoo-tls"))
	}
	if kazoo["zkserver"] != kazoo["zookeeper"] {
		t.Errorf("Kazoo over TLS differs:\n%s", unifiedDiff("zookeeper", "zkserver", strings.Split(kazoo["zookeeper"], "\n"), strings.Split(kazoo["zkserver"], "\n")))
	}
	for _, want := range []string{"set /kazoo-tls over tls version 1", fmt.Sprintf("acl x509 %s 31", f.client.ID()), "get /kazoo-tls/x509 mine", "exists after delete False"} {
		if !strings.Contains(kazoo["zkserver"], want+"\n") {
			t.Errorf("Kazoo against zkserver: no line %q in\n%s", want, kazoo["zkserver"])
		}
	}

	// zkCli.sh's own classpath is Debian's zookeeper.jar alone, whose
	// manifest leaves out netty-codec; a later -cp wins over it.
	cp, _ := ZooKeeperClasspath()
	flags := []string{"-cp", cp, "-Dzookeeper.client.secure=true", "-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty"}
	for k, v := range f.clientP12 {
		flags = append(flags, "-D"+k+"="+v)
	}
	cli := map[string][]string{}
	for name, addr := range servers {
		for _, args := range [][]string{
			{"create", "/cli-tls", "hello"},
			{"get", "/cli-tls"},
			{"setAcl", "/cli-tls", "x509:" + f.client.ID() + ":cdrwa"},
			{"getAcl", "/cli-tls"},
			{"whoami"},
			{"delete", "/cli-tls"},
			{"get", "/cli-tls"},
		} {
			cmd := exec.Command(ZkCliPath(), append([]string{"-server", addr, "-waitforconnection"}, args...)...)
			cmd.Env = append(os.Environ(), "CLIENT_JVMFLAGS="+strings.Join(flags, " "))
			out, _ := cmd.CombinedOutput()
			cli[name] = append(cli[name], cliResult(string(out))...)
		}
	}
	if d := unifiedDiff("zookeeper", "zkserver", cli["zookeeper"], cli["zkserver"]); d != "" {
		t.Errorf("zkCli.sh over TLS differs:\n%s", d)
	}
	if !strings.Contains(strings.Join(cli["zkserver"], "\n"), "\nhello\n") {
		t.Errorf("zkCli.sh over TLS did not read the node back from zkserver:\n%s", strings.Join(cli["zkserver"], "\n"))
	}
}

// cliResult keeps what zkCli.sh prints for its command: not the client's
// log lines, which name ports and session ids, nor its connection banner.
func cliResult(out string) []string {
	var kept []string
	for _, l := range normalizeCli(strings.Split(strings.TrimRight(out, "\n"), "\n")) {
		if !strings.HasPrefix(l, "[") && !strings.HasPrefix(l, "Connecting to ") && l != "" {
			kept = append(kept, l)
		}
	}
	return kept
}

// The same zoo.cfg keys (sslQuorum with PKCS12 ssl.quorum.* stores, host
// names verified) form a three-process ensemble of zkserver and of Apache
// ZooKeeper, and a write on one server is read on every other.
func TestQuorumTLSEnsemble(t *testing.T) {
	Require(t, ZooKeeper)
	f := newTLSFixture(t)
	cfg := map[string]string{"sslQuorum": "true"}
	for k, v := range f.ca.Server(t, "member").Stores(t, tlsconf.Quorum, tlsconf.PKCS12, t.TempDir(), "secret") {
		cfg[strings.TrimPrefix(k, "zookeeper.")] = v
	}
	for name, start := range map[string]EnsembleStarter{"zookeeper": StartApacheEnsemble, "zkserver": StartZookitEnsemble} {
		t.Run(name, func(t *testing.T) {
			addrs := start(t, 3, 0, Options{Config: cfg})
			connect := func(addr string) *zk.Conn {
				c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(quietLogger))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(c.Close)
				return c
			}
			leader := connect(addrs[0])
			if _, err := leader.Create("/quorum-tls", []byte("replicated"), 0, zk.WorldACL(zk.PermAll)); err != nil {
				t.Fatal(err)
			}
			for _, addr := range addrs[1:] {
				c := connect(addr)
				if _, err := c.Sync("/quorum-tls"); err != nil {
					t.Fatal(err)
				}
				if data, _, err := c.Get("/quorum-tls"); err != nil || string(data) != "replicated" {
					t.Errorf("%s: got %q, %v", addr, data, err)
				}
			}
		})
	}
}
