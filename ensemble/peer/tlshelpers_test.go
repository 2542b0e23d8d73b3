package peer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test: what an operator's
// trust store (ssl.quorum.trustStore) holds.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

var serial atomic.Int64

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func newCA(t testing.TB, name string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// leaf describes a certificate to issue: its subject alternative names.
type leaf struct {
	cn  string
	dns []string
	ips []string
	// eku defaults to server and client authentication, which a quorum
	// certificate needs, since a server both dials and accepts.
	eku []x509.ExtKeyUsage
}

// issue signs a certificate for l with a fresh key (what an operator's
// keystore, ssl.quorum.keyStore, holds).
func (ca *testCA) issue(t testing.TB, l leaf) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: l.cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  l.eku,
		DNSNames:     l.dns,
	}
	if tmpl.ExtKeyUsage == nil {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	for _, ip := range l.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}
}

// member issues the certificate of server id on 127.0.0.1, which carries
// its server id name too.
func (ca *testCA) member(t testing.TB, id uint64) tls.Certificate {
	return ca.issue(t, leaf{cn: ServerIDName(id), ips: []string{"127.0.0.1"}, dns: []string{ServerIDName(id)}})
}

// tlsConfig is what ensemble/tlsconf builds from a keystore holding cert
// and a trust store holding the CAs.
func tlsConfig(cert tls.Certificate, trust ...*testCA) *tls.Config {
	pool := x509.NewCertPool()
	for _, ca := range trust {
		pool.AddCert(ca.cert)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}
}

// withTLS is a tweak for clusterWith: every server gets its member
// certificate from ca.
func withTLS(t testing.TB, ca *testCA, more func(*Config)) func(uint64, *Config) {
	return func(id uint64, c *Config) {
		c.TLS = tlsConfig(ca.member(t, id), ca)
		if more != nil {
			more(c)
		}
	}
}
