package interop

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"maps"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/tlsconf"
	"github.com/zookit/zookit/ensemble/tlsconf/tlstest"
	"github.com/zookit/zookit/internal/zkwire"
)

// tlsPassword protects every store the TLS tests write.
const tlsPassword = "zookit-pw"

// secureOptions are Options for a server that also serves TLS clients on a
// free secure port, with cert in a key store and its CA in a trust store
// of type typ, and props on top (ssl.clientAuth, say); it returns the
// secure address. Apache ZooKeeper needs the Netty connection factory for
// TLS and the x509 provider registered; zkserver has both built in and
// ignores the two properties.
func secureOptions(t *testing.T, cert *tlstest.Cert, typ tlsconf.StoreType, props map[string]string) (Options, string) {
	t.Helper()
	port := strconv.Itoa(ensembletest.FreePorts(t, 1)[0])
	all := cert.Stores(t, tlsconf.Client, typ, t.TempDir(), tlsPassword)
	maps.Copy(all, props)
	cfg := map[string]string{"secureClientPort": port, "secureClientPortAddress": "127.0.0.1"}
	for k, v := range all {
		cfg[strings.TrimPrefix(k, "zookeeper.")] = v
	}
	return Options{Config: cfg, JVMFlags: []string{
		"-Dzookeeper.serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
		"-Dzookeeper.authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider",
	}}, net.JoinHostPort("127.0.0.1", port)
}

// secureCli starts zkCli.sh as a TLS client of addr, presenting cert (none
// when nil) from a key store of type typ and trusting ca.
func secureCli(t *testing.T, addr string, ca *tlstest.CA, cert *tlstest.Cert, typ tlsconf.StoreType) *Console {
	t.Helper()
	dir := t.TempDir()
	props := map[string]string{
		"zookeeper.client.secure":           "true",
		"zookeeper.clientCnxnSocket":        "org.apache.zookeeper.ClientCnxnSocketNetty",
		"zookeeper.ssl.trustStore.location": ca.WriteTrustStore(t, typ, dir, "trust"+tlstest.Ext(typ), tlsPassword),
		"zookeeper.ssl.trustStore.password": tlsPassword,
	}
	if cert != nil {
		props["zookeeper.ssl.keyStore.location"] = cert.WriteKeyStore(t, typ, dir, "key"+tlstest.Ext(typ), tlsPassword)
		props["zookeeper.ssl.keyStore.password"] = tlsPassword
	}
	// zkCli.sh's classpath lacks the Netty jars TLS needs; a later -cp
	// wins.
	cp, _ := ZooKeeperClasspath()
	env := []string{"CLIENT_JVMFLAGS=-cp " + cp + " " + strings.Join(tlstest.JVMFlags(props), " ")}
	return StartConsoleEnv(t, env, ZkCliPath(), "-server", addr)
}

// TestZkCliTLS runs Java's zkCli.sh over TLS against the secure port of
// zkserver and of Apache ZooKeeper, side by side, with the stores in each
// format ZooKeeper reads on either end: it connects, creates and reads,
// is named by its certificate (whoami, an x509 ACL, the super user), and
// without a certificate it gets no session where clientAuth is need.
func TestZkCliTLS(t *testing.T) {
	Require(t, ZkCli)
	for _, combo := range []struct{ server, client tlsconf.StoreType }{
		{tlsconf.PEM, tlsconf.PKCS12},
		{tlsconf.JKS, tlsconf.PEM},
		{tlsconf.PKCS12, tlsconf.JKS},
	} {
		for _, srv := range servers {
			t.Run(string(combo.server)+"-"+string(combo.client)+"/"+srv.name, func(t *testing.T) {
				ca := tlstest.NewCA(t, "interop CA")
				alice := ca.Client(t, pkix.Name{CommonName: "alice"})
				root := ca.Client(t, pkix.Name{CommonName: "root", Organization: []string{"ops"}})
				opts, secure := secureOptions(t, ca.Server(t, "zk"), combo.server, map[string]string{
					"zookeeper.X509AuthenticationProvider.superUser": "CN=root,O=ops",
				})
				srv.start(t, opts)

				c := secureCli(t, secure, ca, alice, combo.client)
				c.Expect(`state:SyncConnected type:None path:null`)
				c.Run("create /tls hello", `^Created /tls$`)
				c.Run("get /tls", `^hello$`)
				c.Run("whoami", `^Auth scheme: User$`, `^x509: CN=alice$`, `^ip: 127\.0\.0\.1$`)
				c.Run("create /tls/mine secret x509:CN=alice:cdrwa", `^Created /tls/mine$`)
				c.Run("getAcl /tls/mine", `^'x509,'CN=alice$`, `^: cdrwa$`)
				c.Run("get /tls/mine", `^secret$`)
				c.Run("addauth x509 ignored")
				c.Run("get /tls/mine", `^secret$`)
				c.Run("quit")

				r := secureCli(t, secure, ca, root, combo.client)
				r.Expect(`state:SyncConnected type:None path:null`)
				r.Run("set /tls/mine root-was-here")
				r.Run("get /tls/mine", `^root-was-here$`)
				// In the hash order of ZooKeeper's identity set.
				r.Run("whoami", `^Auth scheme: User$`, `^x509: CN=root,O=ops$`, `^ip: 127\.0\.0\.1$`, `^super: $`)
				r.Run("quit")

				// bob is of the same CA but not named by the ACL.
				b := secureCli(t, secure, ca, ca.Client(t, pkix.Name{CommonName: "bob"}), combo.client)
				b.Expect(`state:SyncConnected type:None path:null`)
				b.Run("get /tls/mine", `^Insufficient permission : /tls/mine$`)
				b.Run("quit")

				// Without a certificate, where clientAuth is need (the
				// default), the handshake fails and the client retries.
				n := secureCli(t, secure, ca, nil, combo.client)
				n.Expect(`Session 0x0 for server .*Closing socket connection`)
				if strings.Contains(n.Output(), "SyncConnected") {
					t.Errorf("a client without a certificate connected:\n%s", n.Output())
				}
			})
		}
	}
}

// TestWhoAmIOrder: zkserver lists a connection's identities in the order
// Apache ZooKeeper does (the hash order of the set it keeps them in), for
// digest identities over plain TCP and the x509 ones over TLS.
func TestWhoAmIOrder(t *testing.T) {
	Require(t, ZooKeeper)
	ca := tlstest.NewCA(t, "interop CA")
	opts, _ := secureOptions(t, ca.Server(t, "zk"), tlsconf.PEM, map[string]string{
		"zookeeper.ssl.clientAuth":                       "want",
		"zookeeper.X509AuthenticationProvider.superUser": "CN=root,O=ops",
	})
	type result struct {
		plain, alice, root []proto.ID
	}
	var results []result
	for _, srv := range servers {
		// Each server needs its own secure port.
		o := opts
		o.Config = maps.Clone(opts.Config)
		o.Config["secureClientPort"] = strconv.Itoa(ensembletest.FreePorts(t, 1)[0])
		secureAddr := net.JoinHostPort("127.0.0.1", o.Config["secureClientPort"])
		addr := srv.start(t, o)
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		whoami := func(addr string, dial func(context.Context, string) (net.Conn, error), creds ...string) []proto.ID {
			c, err := zkwire.New(addr, zkwire.Config{Dial: dial})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for _, cr := range creds {
				if err := c.AddAuth(ctx, "digest", []byte(cr)); err != nil {
					t.Fatalf("%s: addAuth %s: %v", srv.name, cr, err)
				}
			}
			ids, err := c.WhoAmI(ctx)
			if err != nil {
				t.Fatalf("%s: whoAmI: %v", srv.name, err)
			}
			return ids
		}
		tlsDial := func(cert *tlstest.Cert) func(context.Context, string) (net.Conn, error) {
			return func(ctx context.Context, addr string) (net.Conn, error) {
				d := tls.Dialer{Config: cert.ClientConfig("127.0.0.1")}
				return d.DialContext(ctx, "tcp", addr)
			}
		}
		results = append(results, result{
			plain: whoami(addr, nil, "alice:secret", "bob", "carol:x", "dave:y", "erin:z"),
			alice: whoami(secureAddr, tlsDial(ca.Client(t, pkix.Name{CommonName: "alice", Organization: []string{"Acme, Inc."}})), "alice:secret"),
			root:  whoami(secureAddr, tlsDial(ca.Client(t, pkix.Name{CommonName: "root", Organization: []string{"ops"}}))),
		})
	}
	t.Logf("%s: %+v", servers[0].name, results[0])
	if len(results) == 2 && !reflect.DeepEqual(results[0], results[1]) {
		t.Errorf("whoAmI differs:\n%s: %+v\n%s: %+v", servers[0].name, results[0], servers[1].name, results[1])
	}
}
