package peer

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"testing"

	"github.com/zookit/zookit/ensemble/tlsconf/tlstest"
)

// testCA is a certificate authority made for one test: what an operator's
// trust store (ssl.quorum.trustStore) holds.
type testCA struct{ *tlstest.CA }

func newCA(t testing.TB, name string) *testCA { return &testCA{tlstest.NewCA(t, name)} }

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
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: l.cn},
		ExtKeyUsage: l.eku,
		DNSNames:    l.dns,
	}
	if tmpl.ExtKeyUsage == nil {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	for _, ip := range l.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	return ca.Issue(t, tmpl).TLS()
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
		pool.AddCert(ca.Cert)
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
