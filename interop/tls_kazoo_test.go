package interop

import (
	"crypto/x509/pkix"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/tlsconf"
	"github.com/zookit/zookit/ensemble/tlsconf/tlstest"
)

// TestKazooTLS runs Kazoo (use_ssl, a PEM client certificate) against the
// secure port of Apache ZooKeeper and of zkserver and requires the same
// transcript, x509 ACLs included.
func TestKazooTLS(t *testing.T) {
	Require(t, ZooKeeper, Kazoo)
	ca := tlstest.NewCA(t, "interop CA")
	client := ca.Client(t, pkix.Name{CommonName: "kazoo", Organization: []string{"zookit"}})
	dir := t.TempDir()
	caPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caPEM, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	// Key and chain in one unencrypted PEM file, as Python's ssl loads it.
	clientPEM := client.WriteKeyStore(t, tlsconf.PEM, dir, "kazoo.pem", "")
	script, err := filepath.Abs(filepath.Join("python", "kazoo_tls.py"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, srv := range servers {
		opts, secure := secureOptions(t, ca.Server(t, "zk"), tlsconf.PKCS12, nil)
		srv.start(t, opts)
		cmd := exec.Command(KazooPython(), script, secure, caPEM, clientPEM, clientPEM, client.ID(), "/kazoo-tls")
		cmd.Dir = t.TempDir()
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kazoo against %s: %v\n%s", srv.name, err, b)
		}
		out[srv.name] = string(b)
	}
	if len(out) == 2 && out[servers[0].name] != out[servers[1].name] {
		t.Errorf("Kazoo over TLS differs:\n%s", unifiedDiff(servers[0].name, servers[1].name,
			strings.Split(out[servers[0].name], "\n"), strings.Split(out[servers[1].name], "\n")))
	}
	for _, want := range []string{"set /kazoo-tls over tls version 1", fmt.Sprintf("acl x509 %s 31", client.ID()), "get /kazoo-tls/x509 mine", "exists after delete False"} {
		for name, got := range out {
			if !strings.Contains(got, want+"\n") {
				t.Errorf("Kazoo against %s: no line %q in\n%s", name, want, got)
			}
		}
	}
}

// TestQuorumTLSEnsemble: the same zoo.cfg keys (sslQuorum with PKCS12
// ssl.quorum.* stores, host names verified) form a three-process ensemble
// of Apache ZooKeeper and of zkserver, and a write on one server is read on
// every other.
func TestQuorumTLSEnsemble(t *testing.T) {
	Require(t, ZooKeeper)
	ca := tlstest.NewCA(t, "quorum CA")
	cfg := map[string]string{"sslQuorum": "true"}
	for k, v := range ca.Server(t, "member").Stores(t, tlsconf.Quorum, tlsconf.PKCS12, t.TempDir(), tlsPassword) {
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
			if _, err := connect(addrs[0]).Create("/quorum-tls", []byte("replicated"), 0, zk.WorldACL(zk.PermAll)); err != nil {
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
