package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/server"
	"github.com/zookit/zookit/ensemble/tlsconf"
	"github.com/zookit/zookit/ensemble/tlsconf/tlstest"
	"github.com/zookit/zookit/internal/zkwire"
)

// tlsFixture is a CA, a server of it serving TLS on its secure port, and
// client certificates.
type tlsFixture struct {
	ca    *tlstest.CA
	srv   *ensembletest.Server
	alice *tlstest.Cert
	bob   *tlstest.Cert
}

func startTLS(t *testing.T, typ tlsconf.StoreType, props map[string]string, opts ...ensembletest.Option) *tlsFixture {
	t.Helper()
	ca := tlstest.NewCA(t, "zookit test CA")
	f := &tlsFixture{
		ca:    ca,
		alice: ca.Client(t, pkix.Name{CommonName: "alice", Organization: []string{"Acme, Inc."}}),
		bob:   ca.Client(t, pkix.Name{CommonName: "bob"}),
	}
	f.srv = ensembletest.Start(t, append(opts, ensembletest.WithTLS(ca.Server(t, "zk"), typ, props))...)
	return f
}

// anonymous is a TLS client that trusts the server and presents nothing.
func (f *tlsFixture) anonymous() *tls.Config {
	return &tls.Config{RootCAs: f.ca.Pool(), ServerName: "127.0.0.1"}
}

// tlsClient is a zkwire session over TLS with cfg.
func tlsClient(t *testing.T, addr string, cfg *tls.Config) *zkwire.Client {
	t.Helper()
	c, err := zkwire.New(addr, zkwire.Config{Dial: func(ctx context.Context, addr string) (net.Conn, error) {
		d := tls.Dialer{Config: cfg}
		return d.DialContext(ctx, "tcp", addr)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// tlsRefused reports whether the server closes a TLS connection made with
// cfg without serving a session: the handshake fails, or the connection is
// closed before the connect response.
func tlsRefused(t *testing.T, addr string, cfg *tls.Config) bool {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := tls.Client(nc, cfg)
	if err := c.Handshake(); err != nil {
		return true
	}
	if _, err := c.Write(frame(proto.Marshal(&proto.ConnectRequest{Timeout: 4000, Passwd: make([]byte, 16)}))); err != nil {
		return true
	}
	_, err = proto.ReadFrame(c, nil, proto.DefaultMaxBuffer)
	return err != nil
}

func frame(b []byte) []byte {
	return append([]byte{byte(len(b) >> 24), byte(len(b) >> 16), byte(len(b) >> 8), byte(len(b))}, b...)
}

// closedSoon reports whether the server closes nc within d without
// sending anything.
func closedSoon(nc net.Conn, d time.Duration) bool {
	nc.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return len(b) == 0 && (err == nil || errors.Is(err, syscall.ECONNRESET))
}

// The secure port serves with clientAuth need, want and none; the x509
// identity is given to a client that presented a certificate; the plain
// port goes on serving beside it.
func TestTLSClientAuth(t *testing.T) {
	for _, tc := range []struct {
		auth     string
		typ      tlsconf.StoreType
		anonOK   bool
		identity bool
	}{
		{"need", tlsconf.PEM, false, true},
		{"want", tlsconf.PKCS12, true, true},
		{"none", tlsconf.JKS, true, false},
	} {
		t.Run(tc.auth, func(t *testing.T) {
			f := startTLS(t, tc.typ, map[string]string{"zookeeper.ssl.clientAuth": tc.auth})
			x := opCtx(t)
			alice := tlsClient(t, f.srv.SecureAddr(), f.alice.ClientConfig("127.0.0.1"))
			if _, _, err := alice.Create(x, "/n", []byte("over tls"), []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}, 0, 0); err != nil {
				t.Fatal(err)
			}
			ids, err := alice.WhoAmI(x)
			if err != nil {
				t.Fatal(err)
			}
			// Apache ZooKeeper lists the certificate's identity before
			// the address's (interop.TestTLSClients).
			want := []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}}
			if tc.identity {
				want = append([]proto.ID{{Scheme: "x509", ID: `CN=alice,O=Acme\, Inc.`}}, want...)
			}
			if !slices.Equal(ids, want) {
				t.Errorf("whoAmI %v, want %v", ids, want)
			}
			if got := tlsRefused(t, f.srv.SecureAddr(), f.anonymous()); got == tc.anonOK {
				t.Errorf("client without a certificate refused: %v, want %v", got, !tc.anonOK)
			}
			if tc.anonOK {
				anon := tlsClient(t, f.srv.SecureAddr(), f.anonymous())
				if ids, err := anon.WhoAmI(x); err != nil || len(ids) != 1 {
					t.Errorf("anonymous whoAmI %v, %v", ids, err)
				}
			}
			plain, _ := connect(t, f.srv.Addr())
			if data, _, err := plain.Get("/n"); err != nil || string(data) != "over tls" {
				t.Errorf("plain client: %q, %v", data, err)
			}
			if out := fourLetter(t, f.srv.Addr(), "conf"); !strings.Contains(out, "secureClientPort="+f.srv.SecureAddr()[strings.LastIndexByte(f.srv.SecureAddr(), ':')+1:]) {
				t.Errorf("conf does not show the secure port:\n%s", out)
			}
		})
	}
}

// ACLs of scheme x509 admit the certificate subject they name, and the
// configured super user everywhere; addAuth x509 succeeds only with a
// verified certificate, as in ZooKeeper.
func TestX509ACL(t *testing.T) {
	f := startTLS(t, tlsconf.PEM, map[string]string{
		"zookeeper.ssl.clientAuth":                       "want",
		"zookeeper.X509AuthenticationProvider.superUser": "CN=root,OU=ops",
	})
	root := f.ca.Client(t, pkix.Name{CommonName: "root", OrganizationalUnit: []string{"ops"}})
	x := opCtx(t)
	alice := tlsClient(t, f.srv.SecureAddr(), f.alice.ClientConfig("127.0.0.1"))
	bob := tlsClient(t, f.srv.SecureAddr(), f.bob.ClientConfig("127.0.0.1"))
	anon := tlsClient(t, f.srv.SecureAddr(), f.anonymous())
	super := tlsClient(t, f.srv.SecureAddr(), root.ClientConfig("localhost"))
	aliceACL := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "x509", ID: f.alice.ID()}}}
	if _, _, err := alice.Create(x, "/alice", []byte("a"), aliceACL, 0, 0); err != nil {
		t.Fatal(err)
	}
	if data, _, err := alice.Get(x, "/alice", false); err != nil || string(data) != "a" {
		t.Errorf("alice reading her node: %q, %v", data, err)
	}
	for name, c := range map[string]*zkwire.Client{"bob": bob, "anonymous": anon} {
		if _, _, err := c.Get(x, "/alice", false); !errors.Is(err, proto.ErrNoAuth) {
			t.Errorf("%s reading alice's node: %v, want NOAUTH", name, err)
		}
		if _, err := c.Set(x, "/alice", []byte("b"), -1); !errors.Is(err, proto.ErrNoAuth) {
			t.Errorf("%s writing alice's node: %v, want NOAUTH", name, err)
		}
	}
	plain, _ := connect(t, f.srv.Addr())
	if _, _, err := plain.Get("/alice"); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("plain client reading alice's node: %v", err)
	}
	if _, err := super.Set(x, "/alice", []byte("root was here"), -1); err != nil {
		t.Errorf("super user writing alice's node: %v", err)
	}
	ids, err := super.WhoAmI(x)
	if err != nil {
		t.Fatal(err)
	}
	if want := []proto.ID{{Scheme: "super"}, {Scheme: "x509", ID: "CN=root,OU=ops"}, {Scheme: "ip", ID: "127.0.0.1"}}; !slices.Equal(ids, want) {
		t.Errorf("super user's whoAmI %v, want %v", ids, want)
	}
	// "auth" stands for the caller's x509 identity.
	if _, _, err := bob.Create(x, "/bob", nil, []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "auth"}}}, 0, 0); err != nil {
		t.Fatal(err)
	}
	acl, _, err := bob.GetACL(x, "/bob")
	if err != nil || len(acl) != 1 || acl[0].ID != (proto.ID{Scheme: "x509", ID: "CN=bob"}) {
		t.Errorf("auth ACL of bob: %v, %v", acl, err)
	}
	if _, _, err := alice.Create(x, "/bad", nil, []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "x509", ID: "not a name"}}}, 0, 0); !errors.Is(err, proto.ErrInvalidACL) {
		t.Errorf("x509 ACL with an invalid name: %v", err)
	}
	// addAuth x509: a no-op with a certificate, AUTHFAILED and the
	// connection closed without.
	if err := alice.AddAuth(x, "x509", []byte("anything")); err != nil {
		t.Errorf("addAuth x509 with a certificate: %v", err)
	}
	if ids, _ := alice.WhoAmI(x); len(ids) != 2 {
		t.Errorf("whoAmI after addAuth x509: %v", ids)
	}
	if err := anon.AddAuth(x, "x509", nil); !errors.Is(err, proto.ErrAuthFailed) {
		t.Errorf("addAuth x509 without a certificate: %v, want AUTHFAILED", err)
	}
	if err := plain.AddAuth("x509", []byte("CN=alice")); err == nil {
		t.Errorf("addAuth x509 on the plain port succeeded")
	}
}

// A client that never completes its TLS handshake holds up no one and is
// closed at the handshake timeout; plain text sent to the secure port,
// and a certificate from another CA, close that connection only; the
// per-address connection limit counts both ports.
func TestTLSHostileClients(t *testing.T) {
	f := startTLS(t, tlsconf.PKCS12, nil,
		ensembletest.WithServerOptions(server.WithHandshakeTimeout(time.Second)),
		ensembletest.WithConfig(func(c *config.Config) { c.MaxClientCnxns = 8 }))
	x := opCtx(t)

	// Half-open: TCP only, and a ClientHello cut short.
	silent, err := net.Dial("tcp", f.srv.SecureAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	partial, err := net.Dial("tcp", f.srv.SecureAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer partial.Close()
	partial.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01})
	start := time.Now()
	alice := tlsClient(t, f.srv.SecureAddr(), f.alice.ClientConfig("127.0.0.1"))
	if _, _, err := alice.Create(x, "/ok", nil, []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}, 0, 0); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("a client waited %v behind half-open handshakes", d)
	}
	for name, nc := range map[string]net.Conn{"silent": silent, "partial": partial} {
		if !closedSoon(nc, 5*time.Second) {
			t.Errorf("%s handshake was not closed at the timeout", name)
		}
	}

	// Plain text: a connect request, and a four-letter word.
	for _, payload := range [][]byte{frame(proto.Marshal(&proto.ConnectRequest{Timeout: 4000, Passwd: make([]byte, 16)})), []byte("ruok")} {
		nc, err := net.Dial("tcp", f.srv.SecureAddr())
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(payload)
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(nc)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || strings.Contains(string(b), "imok") {
			t.Errorf("plain text %q to the secure port: %q, %v", payload, b, err)
		}
		nc.Close()
	}

	// A four-letter word over TLS is answered.
	c, err := tls.Dial("tcp", f.srv.SecureAddr(), f.alice.ClientConfig("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "ruok")
	if b, _ := io.ReadAll(c); string(b) != "imok" {
		t.Errorf("ruok over TLS: %q", b)
	}
	c.Close()

	// Another CA: its client certificate is refused, and a client that
	// trusts only it refuses the server.
	other := tlstest.NewCA(t, "other CA")
	stranger := other.Client(t, pkix.Name{CommonName: "alice", Organization: []string{"Acme, Inc."}})
	insist := &tls.Config{RootCAs: f.ca.Pool(), ServerName: "127.0.0.1", GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		c := stranger.TLS()
		return &c, nil
	}}
	if !tlsRefused(t, f.srv.SecureAddr(), insist) {
		t.Error("a client certificate of another CA was accepted")
	}
	if !tlsRefused(t, f.srv.SecureAddr(), stranger.ClientConfig("127.0.0.1")) {
		t.Error("a client that does not trust the server's CA connected")
	}

	// Nothing above disturbed the session.
	if _, _, err := alice.Get(x, "/ok", false); err != nil {
		t.Fatal(err)
	}

	// The limit of 8 per address counts both ports: alice holds one, so
	// a pending handshake and 6 plain connections fill it. (More pending
	// handshakes would meet their 1 s timeout on a slow machine before the
	// ninth connection is tried.) The server closes the refused
	// connections above on its own time: wait until only alice's (and
	// srvr's own) remain.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(fourLetter(t, f.srv.Addr(), "srvr"), "Connections: 2\n"); {
		if time.Now().After(deadline) {
			t.Fatal("the refused connections were not closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range 7 {
		addr := f.srv.Addr()
		if i == 0 {
			addr = f.srv.SecureAddr()
		}
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, nc)
	}
	// Each port's listener counts its own accepts: wait until both have.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(f.srv.Server().FourLetterWord("srvr"), "Connections: 8\n"); {
		if time.Now().After(deadline) {
			t.Fatalf("the held connections were not all counted: %s", f.srv.Server().FourLetterWord("srvr"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, addr := range []string{f.srv.Addr(), f.srv.SecureAddr()} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if !closedSoon(nc, 2*time.Second) {
			t.Errorf("a ninth connection from one address to %s was kept", addr)
		}
		nc.Close()
	}
}

// A setting that cannot be honoured stops the server at start, naming the
// property.
func TestTLSConfigErrors(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	dir := t.TempDir()
	props := ca.Server(t, "zk").Stores(t, tlsconf.Client, tlsconf.JKS, dir, "pw")
	garbage := filepath.Join(dir, "garbage.p12")
	os.WriteFile(garbage, []byte("garbage"), 0o600)
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"zookeeper.ssl.keyStore.password": "wrong"}, "zookeeper.ssl.keyStore.location"},
		{map[string]string{"zookeeper.ssl.trustStore.location": garbage}, "zookeeper.ssl.trustStore.location"},
		{map[string]string{"zookeeper.ssl.keyStore.location": ""}, "zookeeper.ssl.keyStore.location: not set"},
		{map[string]string{"zookeeper.ssl.clientAuth": "sometimes"}, "zookeeper.ssl.clientAuth"},
		{map[string]string{"zookeeper.ssl.ocsp": "true"}, "zookeeper.ssl.ocsp"},
		{map[string]string{"zookeeper.ssl.protocol": "TLSv1"}, "zookeeper.ssl.protocol"},
		{map[string]string{"zookeeper.client.portUnification": "true"}, "zookeeper.client.portUnification"},
		{map[string]string{"zookeeper.netty.server.outstandingHandshake.limit": "many"}, "outstandingHandshake.limit"},
		{map[string]string{"zookeeper.authProvider.ldap": "com.example.LdapAuthenticationProvider"}, "zookeeper.authProvider.ldap"},
	} {
		cfg, err := config.Parse(strings.NewReader("dataDir="+t.TempDir()+"\nclientPort=0\nsecureClientPort=2281\n"), "test.cfg")
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range props {
			cfg.Props[k] = v
		}
		for k, v := range tc.set {
			cfg.Props[k] = v
		}
		srv, err := server.New(cfg)
		if err == nil {
			srv.Close()
			t.Errorf("%v: the server started", tc.set)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error about %s", tc.set, err, tc.want)
		}
	}
}

// zookeeper.netty.server.outstandingHandshake.limit bounds the handshakes
// in progress: past it a new secure connection is closed at once, and a
// place frees when a handshake ends.
func TestTLSHandshakeLimit(t *testing.T) {
	f := startTLS(t, tlsconf.PEM, map[string]string{"zookeeper.netty.server.outstandingHandshake.limit": "2"},
		ensembletest.WithServerOptions(server.WithHandshakeTimeout(time.Second)))
	var silent []net.Conn
	for range 2 {
		nc, err := net.Dial("tcp", f.srv.SecureAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		silent = append(silent, nc)
	}
	time.Sleep(100 * time.Millisecond)
	if !tlsRefused(t, f.srv.SecureAddr(), f.alice.ClientConfig("127.0.0.1")) {
		t.Fatal("a third handshake was served beside two in progress")
	}
	for _, nc := range silent {
		if !closedSoon(nc, 5*time.Second) {
			t.Fatal("a silent handshake outlived its timeout")
		}
	}
	c := tlsClient(t, f.srv.SecureAddr(), f.alice.ClientConfig("127.0.0.1"))
	if _, err := c.WhoAmI(opCtx(t)); err != nil {
		t.Fatalf("after the silent handshakes ended: %v", err)
	}
}

// ListenAndServe serves both ports; a secure port alone will do.
func TestListenAndServeBothPorts(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	cert := ca.Server(t, "zk")
	client := ca.Client(t, pkix.Name{CommonName: "c"})
	ports := ensembletest.FreePorts(t, 2)
	for _, plain := range []int{ports[0], 0} {
		text := "dataDir=" + t.TempDir() + "\nclientPortAddress=127.0.0.1\nsecureClientPortAddress=127.0.0.1\n" +
			"secureClientPort=" + itoa(ports[1]) + "\n" + tlstest.ZooCfg(cert.Stores(t, tlsconf.Client, tlsconf.PEM, t.TempDir(), ""))
		if plain != 0 {
			text += "clientPort=" + itoa(plain) + "\n"
		} else {
			text = strings.Replace(text, "clientPortAddress=127.0.0.1\n", "", 1)
		}
		cfg, err := config.Parse(strings.NewReader(text), "test.cfg")
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- srv.ListenAndServe() }()
		deadline := time.Now().Add(10 * time.Second)
		for (srv.SecureAddr() == nil || plain != 0 && srv.Addr() == nil) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if plain == 0 && srv.Addr() != nil {
			t.Errorf("a plain port was opened without clientPort")
		}
		c := tlsClient(t, srv.SecureAddr().String(), client.ClientConfig("127.0.0.1"))
		if _, err := c.WhoAmI(opCtx(t)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if plain != 0 {
			if out := fourLetter(t, srv.Addr().String(), "srvr"); !strings.Contains(out, "Mode: standalone") {
				t.Errorf("plain srvr: %q", out)
			}
		}
		srv.Close()
		if err := <-errc; !errors.Is(err, server.ErrClosed) {
			t.Errorf("ListenAndServe: %v", err)
		}
	}
}

func itoa(n int) string {
	b := []byte{}
	for n > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// go-zookeeper over TLS: create, get and an x509 ACL; a client without a
// certificate is refused when clientAuth is need.
func TestGoZookeeperTLS(t *testing.T) {
	f := startTLS(t, tlsconf.JKS, nil)
	dial := func(cfg *tls.Config) zk.Dialer {
		return func(network, addr string, timeout time.Duration) (net.Conn, error) {
			d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: cfg}
			return d.Dial(network, addr)
		}
	}
	c, ev, err := zk.Connect([]string{f.srv.SecureAddr()}, 4*time.Second, zk.WithLogger(nopLogger{}), zk.WithDialer(dial(f.alice.ClientConfig("127.0.0.1"))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitState(t, ev, zk.StateHasSession)
	acl := []zk.ACL{{Perms: zk.PermAll, Scheme: "x509", ID: f.alice.ID()}}
	if _, err := c.Create("/gozk", []byte("tls"), 0, acl); err != nil {
		t.Fatal(err)
	}
	if data, _, err := c.Get("/gozk"); err != nil || string(data) != "tls" {
		t.Fatalf("get: %q, %v", data, err)
	}
	if got, _, err := c.GetACL("/gozk"); err != nil || !slices.Equal(got, acl) {
		t.Fatalf("getACL: %v, %v", got, err)
	}
	// bob's certificate does not pass alice's ACL.
	b, bev, err := zk.Connect([]string{f.srv.SecureAddr()}, 4*time.Second, zk.WithLogger(nopLogger{}), zk.WithDialer(dial(f.bob.ClientConfig("127.0.0.1"))))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	waitState(t, bev, zk.StateHasSession)
	if _, _, err := b.Get("/gozk"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("bob: %v, want NOAUTH", err)
	}
	// Without a certificate go-zk never gets a session.
	a, aev, err := zk.Connect([]string{f.srv.SecureAddr()}, 4*time.Second, zk.WithLogger(nopLogger{}), zk.WithDialer(dial(f.anonymous())))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	timeout := time.After(3 * time.Second)
	for {
		select {
		case e := <-aev:
			if e.State == zk.StateHasSession {
				t.Fatal("a client without a certificate got a session")
			}
			continue
		case <-timeout:
		}
		break
	}
}

// Clients over TLS that stop reading while replies pile up do not hold up
// the server's shutdown: closing a TLS connection never waits on its
// client.
func TestTLSNonReadersDoNotHoldShutdown(t *testing.T) {
	f := startTLS(t, tlsconf.PEM, nil)
	x := opCtx(t)
	alice := tlsClient(t, f.srv.SecureAddr(), f.alice.ClientConfig("127.0.0.1"))
	if _, _, err := alice.Create(x, "/big", make([]byte, 256<<10), []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}, 0, 0); err != nil {
		t.Fatal(err)
	}
	req := func(xid int32) []byte {
		return proto.AppendFrame(nil, &proto.RequestHeader{Xid: xid, Type: proto.OpGetData}, &proto.PathWatch{Path: "/big"})
	}
	for range 4 {
		c, err := tls.Dial("tcp", f.srv.SecureAddr(), f.alice.ClientConfig("127.0.0.1"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(frame(proto.Marshal(&proto.ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16)})))
		if _, err := proto.ReadFrame(c, nil, proto.DefaultMaxBuffer); err != nil {
			t.Fatal(err)
		}
		// 64 MiB of replies asked for, none read.
		go func() {
			for i := range 256 {
				if _, err := c.Write(req(int32(i + 1))); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(time.Second)
	start := time.Now()
	f.srv.Stop()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %v with clients that do not read", d)
	}
}
