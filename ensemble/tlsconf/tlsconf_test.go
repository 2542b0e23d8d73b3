package tlsconf_test

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/tlsconf"
	"github.com/zookit/zookit/ensemble/tlsconf/tlstest"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

var storeTypes = []tlsconf.StoreType{tlsconf.PEM, tlsconf.PKCS12, tlsconf.JKS}

// handshake runs a TLS handshake between the two configurations over a
// loopback TCP connection and returns the server's view of it, or the
// first error either side saw.
func handshake(t *testing.T, server, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errc := make(chan error, 1)
	go func() {
		b, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			errc <- err
			return
		}
		defer b.Close()
		b.SetDeadline(time.Now().Add(10 * time.Second))
		cli := tls.Client(b, client)
		err = cli.Handshake()
		if err == nil {
			// TLS 1.3 sends the client's certificate verdict after the
			// client thinks it is done; reading the server's byte
			// surfaces it.
			_, err = cli.Read(make([]byte, 1))
		}
		errc <- err
	}()
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.SetDeadline(time.Now().Add(10 * time.Second))
	srv := tls.Server(a, server)
	serr := srv.Handshake()
	if serr != nil {
		a.Close()
	} else {
		srv.Write([]byte{1})
	}
	cerr := <-errc
	if serr != nil {
		return tls.ConnectionState{}, serr
	}
	return srv.ConnectionState(), cerr
}

// Each store type loads, with and without a password, and the settings
// make a server and a client that authenticate each other.
func TestLoadStores(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	srv := ca.Server(t, "server")
	cli := ca.Client(t, pkix.Name{CommonName: "alice", Organization: []string{"Acme, Inc."}})
	for _, kind := range []tlsconf.Kind{tlsconf.Client, tlsconf.Quorum} {
		for _, typ := range storeTypes {
			for _, pw := range []string{"", "s3cret"} {
				t.Run(kind.String()+"/"+string(typ)+"/"+pw, func(t *testing.T) {
					dir := t.TempDir()
					s, err := tlsconf.FromProperties(lookup(srv.Stores(t, kind, typ, dir, pw)), kind)
					if err != nil {
						t.Fatal(err)
					}
					if s.KeyStore.Type != typ || s.TrustStore.Type != typ {
						t.Errorf("types %q/%q, want %q", s.KeyStore.Type, s.TrustStore.Type, typ)
					}
					if len(s.Certificates) != 1 || !s.Certificates[0].Leaf.Equal(srv.Cert) {
						t.Fatalf("certificates %v", s.Certificates)
					}
					if len(s.RootCerts) != 1 || !s.RootCerts[0].Equal(ca.Cert) {
						t.Fatalf("roots %v", s.RootCerts)
					}
					if s.ClientAuth != tlsconf.Need || !s.HostnameVerification || s.MinVersion != tls.VersionTLS12 || s.MaxVersion != tls.VersionTLS12 {
						t.Errorf("defaults: %+v", s)
					}
					sc, err := s.ServerConfig()
					if err != nil {
						t.Fatal(err)
					}
					// A quorum server checks the client's address, which a
					// peer's certificate names.
					peer, wantID := cli, `CN=alice,O=Acme\, Inc.`
					if kind == tlsconf.Quorum {
						peer, wantID = srv, "CN=server,O=zookit"
					}
					cs, err := handshake(t, sc, peer.ClientConfig("127.0.0.1"))
					if err != nil {
						t.Fatal(err)
					}
					if id := tlsconf.ClientID(cs.PeerCertificates[0]); id != wantID {
						t.Errorf("client id %q, want %q", id, wantID)
					}
					// The settings as a client, against a plain Go server.
					cc := s.ClientConfig()
					cc.ServerName = "localhost"
					if _, err := handshake(t, &tls.Config{Certificates: []tls.Certificate{srv.TLS()}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}, cc); err != nil {
						t.Fatal(err)
					}
				})
			}
		}
	}
}

// The type property wins over the extension, in any case; a PKCS12 file
// typed JKS is read, as Java's JKS keystore reads it.
func TestStoreTypeProperty(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	srv := ca.Server(t, "server")
	dir := t.TempDir()
	p12 := srv.WriteKeyStore(t, tlsconf.PKCS12, dir, "key.dat", "pw")
	trust := ca.WriteTrustStore(t, tlsconf.PKCS12, dir, "trust.dat", "pw")
	for _, typ := range []string{"pkcs12", "PKCS12", "Jks"} {
		s, err := tlsconf.FromProperties(lookup(map[string]string{
			"zookeeper.ssl.keyStore.location": p12, "zookeeper.ssl.keyStore.password": "pw", "zookeeper.ssl.keyStore.type": typ,
			"zookeeper.ssl.trustStore.location": trust, "zookeeper.ssl.trustStore.password": "pw", "zookeeper.ssl.trustStore.type": typ,
		}), tlsconf.Client)
		if err != nil {
			t.Fatalf("type %s: %v", typ, err)
		}
		if len(s.Certificates) != 1 || len(s.RootCerts) != 1 {
			t.Fatalf("type %s: %+v", typ, s)
		}
	}
	// The password may come from a file, less its trailing newline.
	pwFile := filepath.Join(dir, "pw.txt")
	os.WriteFile(pwFile, []byte("pw\n"), 0o600)
	if _, err := tlsconf.FromProperties(lookup(map[string]string{
		"zookeeper.ssl.quorum.keyStore.location": p12, "zookeeper.ssl.quorum.keyStore.type": "PKCS12",
		"zookeeper.ssl.quorum.keyStore.password": "wrong", "zookeeper.ssl.quorum.keyStore.passwordPath": pwFile,
	}), tlsconf.Quorum); err != nil {
		t.Fatal(err)
	}
}

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		props   map[string]string
		check   func(*tlsconf.Settings) bool
		wantKey string // "" when no error is expected
		wantErr string
	}{
		{props: map[string]string{"zookeeper.ssl.clientAuth": "want"}, check: func(s *tlsconf.Settings) bool { return s.ClientAuth == tlsconf.Want }},
		{props: map[string]string{"zookeeper.ssl.clientAuth": "NONE"}, check: func(s *tlsconf.Settings) bool { return s.ClientAuth == tlsconf.None }},
		{props: map[string]string{"zookeeper.ssl.clientAuth": ""}, check: func(s *tlsconf.Settings) bool { return s.ClientAuth == tlsconf.Need }},
		{props: map[string]string{"zookeeper.ssl.clientAuth": "maybe"}, wantKey: "zookeeper.ssl.clientAuth", wantErr: "need, want, none"},
		{props: map[string]string{"zookeeper.ssl.hostnameVerification": "false"}, check: func(s *tlsconf.Settings) bool { return !s.HostnameVerification }},
		{props: map[string]string{"zookeeper.ssl.hostnameVerification": "flase"}, wantKey: "zookeeper.ssl.hostnameVerification", wantErr: "not a boolean"},
		{props: map[string]string{"zookeeper.ssl.protocol": "TLSv1.3"}, check: func(s *tlsconf.Settings) bool {
			return s.MinVersion == tls.VersionTLS13 && s.MaxVersion == tls.VersionTLS13
		}},
		{props: map[string]string{"zookeeper.ssl.enabledProtocols": "TLSv1.2, TLSv1.3"}, check: func(s *tlsconf.Settings) bool {
			return s.MinVersion == tls.VersionTLS12 && s.MaxVersion == tls.VersionTLS13
		}},
		{props: map[string]string{"zookeeper.ssl.protocol": "TLSv1.1"}, wantKey: "zookeeper.ssl.protocol", wantErr: "older than TLSv1.2"},
		{props: map[string]string{"zookeeper.ssl.enabledProtocols": "TLSv1.2,TLSv1"}, wantKey: "zookeeper.ssl.enabledProtocols", wantErr: "older than TLSv1.2"},
		{props: map[string]string{"zookeeper.ssl.protocol": "QUIC"}, wantKey: "zookeeper.ssl.protocol", wantErr: "unknown protocol"},
		{props: map[string]string{"zookeeper.ssl.ciphersuites": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256"}, check: func(s *tlsconf.Settings) bool {
			return len(s.CipherSuites) == 1 && s.CipherSuites[0] == tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
		}},
		{props: map[string]string{"zookeeper.ssl.ciphersuites": "TLS_NOPE"}, wantKey: "zookeeper.ssl.ciphersuites", wantErr: `"TLS_NOPE"`},
		{props: map[string]string{"zookeeper.ssl.ciphersuites": "TLS_AES_128_GCM_SHA256"}, wantKey: "zookeeper.ssl.ciphersuites", wantErr: "no TLS 1.2"},
		{props: map[string]string{"zookeeper.ssl.crl": "true"}, wantKey: "zookeeper.ssl.crl", wantErr: "not supported"},
		{props: map[string]string{"zookeeper.ssl.ocsp": "false"}, check: func(*tlsconf.Settings) bool { return true }},
		{props: map[string]string{"zookeeper.ssl.context.supplier.class": "com.example.Ctx"}, wantKey: "zookeeper.ssl.context.supplier.class", wantErr: "SSLContext"},
		{props: map[string]string{"zookeeper.ssl.authProvider": "x509"}, check: func(*tlsconf.Settings) bool { return true }},
		{props: map[string]string{"zookeeper.ssl.authProvider": "myx509"}, wantKey: "zookeeper.ssl.authProvider", wantErr: "built-in x509"},
		{props: map[string]string{"zookeeper.X509AuthenticationProvider.superUser": "CN=root"}, check: func(s *tlsconf.Settings) bool { return s.SuperUser == "CN=root" }},
		{props: map[string]string{"zookeeper.ssl.keyStore.location": "/x/key.bcfks"}, wantKey: "zookeeper.ssl.keyStore.location", wantErr: "BCFKS"},
		{props: map[string]string{"zookeeper.ssl.keyStore.location": "/x/key", "zookeeper.ssl.keyStore.type": "bcfks"}, wantKey: "zookeeper.ssl.keyStore.type", wantErr: "BCFKS"},
		{props: map[string]string{"zookeeper.ssl.keyStore.location": "/x/key.pfx"}, wantKey: "zookeeper.ssl.keyStore.location", wantErr: "set the type"},
		{props: map[string]string{"zookeeper.ssl.trustStore.location": "/x/key.PEM"}, wantKey: "zookeeper.ssl.trustStore.location", wantErr: "set the type"},
		{props: map[string]string{"zookeeper.ssl.trustStore.location": "/x/t", "zookeeper.ssl.trustStore.type": "DER"}, wantKey: "zookeeper.ssl.trustStore.type", wantErr: `"DER"`},
		{props: map[string]string{"zookeeper.ssl.keyStore.location": "/does/not/exist.pem"}, wantKey: "zookeeper.ssl.keyStore.location", wantErr: "no such file"},
		{props: map[string]string{"zookeeper.ssl.trustStore.location": "/does/not/exist.jks"}, wantKey: "zookeeper.ssl.trustStore.location", wantErr: "no such file"},
		{props: map[string]string{"zookeeper.ssl.trustStore.location": "/", "zookeeper.ssl.trustStore.type": "PEM"}, wantKey: "zookeeper.ssl.trustStore.location", wantErr: "not a regular file"},
		{props: map[string]string{"zookeeper.ssl.keyStore.location": "/x.pem", "zookeeper.ssl.keyStore.passwordPath": "/does/not/exist"}, wantKey: "zookeeper.ssl.keyStore.passwordPath", wantErr: "no such file"},
		// The quorum's settings are apart from the client's.
		{props: map[string]string{"zookeeper.ssl.quorum.clientAuth": "bogus"}, check: func(s *tlsconf.Settings) bool { return s.ClientAuth == tlsconf.Need }},
	} {
		s, err := tlsconf.FromProperties(lookup(tc.props), tlsconf.Client)
		if tc.wantKey == "" {
			if err != nil || !tc.check(s) {
				t.Errorf("%v: %+v, %v", tc.props, s, err)
			}
			continue
		}
		var te *tlsconf.Error
		if !errors.As(err, &te) || te.Key != tc.wantKey || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%v: error %v, want one for %s saying %q", tc.props, err, tc.wantKey, tc.wantErr)
		}
	}
	if _, err := tlsconf.FromProperties(lookup(map[string]string{"zookeeper.ssl.quorum.clientAuth": "bogus"}), tlsconf.Quorum); err == nil {
		t.Error("a bad quorum clientAuth was accepted")
	}
}

// Every bad file or password fails with an error naming the property and
// the file, never a panic.
func TestBadStores(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	other := tlstest.NewCA(t, "other")
	srv := ca.Server(t, "server")
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A key that is not the certificate's.
	mismatched := append(other.Server(t, "x").KeyPEM(t, "")[:0:0], other.Server(t, "x").KeyPEM(t, "")...)
	mismatched = append(mismatched[:strings.Index(string(mismatched), "-----BEGIN CERTIFICATE")], srv.KeyPEM(t, "")[strings.Index(string(srv.KeyPEM(t, "")), "-----BEGIN CERTIFICATE"):]...)
	p12 := read(srv.WriteKeyStore(t, tlsconf.PKCS12, dir, "good.p12", "pw"))
	jks := read(srv.WriteKeyStore(t, tlsconf.JKS, dir, "good.jks", "pw"))
	legacy := []byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n")
	for _, tc := range []struct {
		name     string
		key      bool // a key store; else a trust store
		path     string
		password string
		want     string
	}{
		{"empty pem", true, file("empty.pem", nil), "", "private key"},
		{"garbage pem", true, file("garbage.pem", []byte("hello\x00world")), "", "private key"},
		{"pem without key", true, file("cert-only.pem", ca.CertPEM()), "", "does not contain a PEM private key"},
		{"pem without cert", true, file("key-only.pem", srv.KeyPEM(t, "")[:strings.Index(string(srv.KeyPEM(t, "")), "-----BEGIN CERTIFICATE")]), "", "certificate"},
		{"pem key mismatch", true, file("mismatch.pem", mismatched), "", "does not match"},
		{"pem encrypted no password", true, file("enc.pem", srv.KeyPEM(t, "pw")), "", "password is empty"},
		{"pem encrypted wrong password", true, file("enc2.pem", srv.KeyPEM(t, "pw")), "nope", "wrong password"},
		{"pem legacy encryption", true, file("legacy.pem", legacy), "pw", "legacy OpenSSL"},
		{"pem bad key bytes", true, file("badkey.pem", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")), "", "private key"},
		{"pem bad cert bytes", false, file("badcert.pem", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")), "", "certificate 1"},
		{"pem trust empty", false, file("trust-empty.pem", []byte("no certs here")), "", "does not contain any PEM certificate"},
		{"p12 wrong password", true, file("wrong.p12", p12), "nope", "wrong password"},
		{"p12 garbage", true, file("garbage.p12", []byte("garbage")), "pw", "P12"},
		{"p12 truncated", true, file("trunc.p12", p12[:len(p12)/2]), "pw", ""},
		{"p12 trust wrong password", false, ca.WriteTrustStore(t, tlsconf.PKCS12, dir, "trust.p12", "pw"), "nope", "wrong password"},
		{"p12 key store as trust store", false, file("keyastrust.p12", p12), "pw", ""},
		{"jks wrong password", true, file("wrong.jks", jks), "nope", "wrong password"},
		{"jks truncated", true, file("trunc.jks", jks[:len(jks)-30]), "pw", "JKS"},
		{"jks garbage", true, file("garbage.jks", []byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff}), "pw", "JKS"},
		{"jks neither", true, file("neither.jks", []byte("garbage")), "pw", ""},
		{"jks trust wrong password", false, ca.WriteTrustStore(t, tlsconf.JKS, dir, "trust.jks", "pw"), "nope", "wrong password"},
		{"jks trust store as key store", true, ca.WriteTrustStore(t, tlsconf.JKS, dir, "trust2.jks", "pw"), "pw", "no private key"},
	} {
		props := map[string]string{}
		prefix := "zookeeper.ssl.trustStore."
		if tc.key {
			prefix = "zookeeper.ssl.keyStore."
		}
		props[prefix+"location"] = tc.path
		props[prefix+"password"] = tc.password
		_, err := tlsconf.FromProperties(lookup(props), tlsconf.Client)
		var te *tlsconf.Error
		if !errors.As(err, &te) || te.Key != prefix+"location" || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one for %slocation naming the file and saying %q", tc.name, err, prefix, tc.want)
		}
	}
}

// FuzzStores feeds arbitrary bytes to every loader: they fail with an
// error, never panic or hang.
func FuzzStores(f *testing.F) {
	ca := tlstest.NewCA(f, "ca")
	srv := ca.Server(f, "server")
	dir := f.TempDir()
	for _, typ := range storeTypes {
		for _, p := range []string{srv.WriteKeyStore(f, typ, dir, "k"+tlstest.Ext(typ), "pw"), ca.WriteTrustStore(f, typ, dir, "t"+tlstest.Ext(typ), "pw")} {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add(srv.KeyPEM(f, "pw"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "store")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, typ := range storeTypes {
			for _, which := range []string{"keyStore", "trustStore"} {
				tlsconf.FromProperties(lookup(map[string]string{
					"zookeeper.ssl." + which + ".location": p,
					"zookeeper.ssl." + which + ".type":     string(typ),
					"zookeeper.ssl." + which + ".password": "pw",
				}), tlsconf.Client)
			}
		}
	})
}

func TestServerConfigNeedsKeyStore(t *testing.T) {
	s, err := tlsconf.FromProperties(lookup(nil), tlsconf.Client)
	if err != nil {
		t.Fatal(err)
	}
	var te *tlsconf.Error
	if _, err := s.ServerConfig(); !errors.As(err, &te) || te.Key != "zookeeper.ssl.keyStore.location" {
		t.Fatalf("ServerConfig without a key store: %v", err)
	}
}

// clientAuth decides whether a client must, may or need not present a
// certificate, and a certificate from another CA is refused.
func TestClientAuth(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	other := tlstest.NewCA(t, "other")
	srv := ca.Server(t, "server")
	good := ca.Client(t, pkix.Name{CommonName: "good"})
	stranger := other.Client(t, pkix.Name{CommonName: "stranger"})
	anon := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	for _, tc := range []struct {
		auth                string
		good, anon, strange bool
	}{
		{"need", true, false, false},
		{"want", true, true, false},
		{"none", true, true, true},
	} {
		props := srv.Stores(t, tlsconf.Client, tlsconf.PEM, t.TempDir(), "")
		props["zookeeper.ssl.clientAuth"] = tc.auth
		s, err := tlsconf.FromProperties(lookup(props), tlsconf.Client)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := s.ServerConfig()
		if err != nil {
			t.Fatal(err)
		}
		// A Go (or Java) client sends no certificate that the server's
		// CA list does not name; this one insists.
		strangerCfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost",
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				c := stranger.TLS()
				return &c, nil
			}}
		for _, c := range []struct {
			name string
			cfg  *tls.Config
			ok   bool
		}{{"good", good.ClientConfig("localhost"), tc.good}, {"anonymous", anon, tc.anon}, {"stranger", strangerCfg, tc.strange}} {
			cs, err := handshake(t, sc, c.cfg)
			if (err == nil) != c.ok {
				t.Errorf("clientAuth=%s, %s client: %v", tc.auth, c.name, err)
			}
			if err == nil && tc.auth == "none" && len(cs.PeerCertificates) != 0 {
				t.Errorf("clientAuth=none still asked for a certificate")
			}
		}
	}
}

// A client checks the server's name unless hostnameVerification is false,
// and always its chain.
func TestClientHostnameVerification(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	other := tlstest.NewCA(t, "other")
	srv := ca.Server(t, "server")
	server := &tls.Config{Certificates: []tls.Certificate{srv.TLS()}}
	for _, verify := range []string{"true", "false"} {
		props := srv.Stores(t, tlsconf.Client, tlsconf.PEM, t.TempDir(), "")
		props["zookeeper.ssl.hostnameVerification"] = verify
		s, err := tlsconf.FromProperties(lookup(props), tlsconf.Client)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"localhost", "127.0.0.1", "elsewhere.example"} {
			cc := s.ClientConfig()
			cc.ServerName = name
			_, err := handshake(t, server, cc)
			if want := verify == "false" || name != "elsewhere.example"; (err == nil) != want {
				t.Errorf("hostnameVerification=%s, server name %s: %v", verify, name, err)
			}
		}
		// Another CA's server is refused either way.
		cc := s.ClientConfig()
		cc.ServerName = "localhost"
		if _, err := handshake(t, &tls.Config{Certificates: []tls.Certificate{other.Server(t, "x").TLS()}}, cc); err == nil {
			t.Errorf("hostnameVerification=%s: a server of another CA was accepted", verify)
		}
	}
}

func TestVerifyHostname(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	mk := func(cn string, dns []string, ips ...string) *x509.Certificate {
		tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
		for _, ip := range ips {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
		}
		return ca.Issue(t, tmpl).Cert
	}
	sans := mk("ignored.example", []string{"zk1.example", "*.zk.example", "f*o.example"}, "10.0.0.1", "fe80::1")
	cnOnly := mk("*.cn.example", nil)
	for _, tc := range []struct {
		cert *x509.Certificate
		host string
		ok   bool
	}{
		{sans, "zk1.example", true},
		{sans, "ZK1.Example", true},
		{sans, "a.zk.example", true},
		{sans, "a.b.zk.example", false},
		{sans, "zk.example", false},
		{sans, "foo.example", true},
		{sans, "fo.example", true},
		{sans, "f.o.example", false},
		{sans, "ignored.example", false}, // the CN does not count beside SANs
		{sans, "10.0.0.1", true},
		{sans, "10.0.0.2", false},
		{sans, "fe80::1", true},
		{sans, "[fe80:0::1]", true},
		{sans, "fe80::2", false},
		{cnOnly, "x.cn.example", true},
		{cnOnly, "x.y.cn.example", false},
		{mk("", nil), "anything", false},
	} {
		err := tlsconf.VerifyHostname(tc.cert, tc.host)
		if (err == nil) != tc.ok {
			t.Errorf("%v %v / %s: %v", tc.cert.DNSNames, tc.cert.IPAddresses, tc.host, err)
		}
	}
}

// A quorum server with hostnameVerification checks that the client's
// certificate names the address it connects from.
func TestQuorumServerChecksPeerAddress(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	srv := ca.Server(t, "server")
	elsewhere := ca.Issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "elsewhere"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("192.0.2.7")},
	})
	for _, verify := range []string{"true", "false"} {
		props := srv.Stores(t, tlsconf.Quorum, tlsconf.PKCS12, t.TempDir(), "pw")
		props["zookeeper.ssl.quorum.hostnameVerification"] = verify
		s, err := tlsconf.FromProperties(lookup(props), tlsconf.Quorum)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := s.ServerConfig()
		if err != nil {
			t.Fatal(err)
		}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", sc)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.SetDeadline(time.Now().Add(5 * time.Second))
					if c.(*tls.Conn).Handshake() == nil {
						c.Write([]byte("ok"))
					}
				}()
			}
		}()
		for _, peer := range []*tlstest.Cert{srv, elsewhere} {
			c, err := tls.Dial("tcp", ln.Addr().String(), peer.ClientConfig("127.0.0.1"))
			if err == nil {
				c.SetDeadline(time.Now().Add(5 * time.Second))
				_, err = io.ReadFull(c, make([]byte, 2))
				c.Close()
			}
			if want := peer == srv || verify == "false"; (err == nil) != want {
				t.Errorf("hostnameVerification=%s, peer %s: %v", verify, peer.Cert.Subject, err)
			}
		}
		ln.Close()
	}
}

func TestConfigured(t *testing.T) {
	for _, tc := range []struct {
		props          map[string]string
		client, quorum bool
	}{
		{nil, false, false},
		{map[string]string{"zookeeper.ssl.clientAuth": "want"}, true, false},
		{map[string]string{"zookeeper.ssl.quorum.keyStore.location": "/k.p12"}, false, true},
		{map[string]string{"zookeeper.sslQuorum": "true"}, false, false},
	} {
		cfg, err := config.Parse(strings.NewReader("dataDir=/tmp/x\n"), "t.cfg")
		if err != nil {
			t.Fatal(err)
		}
		maps.Copy(cfg.Props, tc.props)
		if got := tlsconf.Configured(cfg, tlsconf.Client); got != tc.client {
			t.Errorf("%v: client %v", tc.props, got)
		}
		if got := tlsconf.Configured(cfg, tlsconf.Quorum); got != tc.quorum {
			t.Errorf("%v: quorum %v", tc.props, got)
		}
	}
}
