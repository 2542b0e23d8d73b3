// Package tlstest makes certificates for tests, in Go and in a test's
// temporary directory: a CA, server certificates valid for 127.0.0.1, ::1
// and localhost, client certificates with a chosen subject, and the key and
// trust stores ZooKeeper reads (PEM, PKCS12, JKS), with the properties that
// point at them.
package tlstest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"maps"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/zookit/zookit/ensemble/tlsconf"
	"github.com/zookit/zookit/internal/pkcs8"
)

// CA is a self-signed certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Cert is a certificate its CA issued, with its key.
type Cert struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	CA   *CA
}

func newKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// NewCA makes a CA whose subject is CN=name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: c, Key: key}
}

// Issue signs tmpl (its serial, validity and key usage are filled in when
// unset) for a new key.
func (ca *CA) Issue(t testing.TB, tmpl *x509.Certificate) *Cert {
	t.Helper()
	key := newKey(t)
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = serial(t)
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if tmpl.KeyUsage == 0 {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Cert{Cert: c, Key: key, CA: ca}
}

// Server issues a certificate for a server named cn, valid as a TLS server
// and client (quorum peers are both) for 127.0.0.1, ::1, localhost and any
// extra hosts (IP addresses or DNS names).
func (ca *CA) Server(t testing.TB, cn string, hosts ...string) *Cert {
	t.Helper()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{"zookit"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:    []string{"localhost"},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.Issue(t, tmpl)
}

// Client issues a client certificate with the given subject.
func (ca *CA) Client(t testing.TB, subject pkix.Name) *Cert {
	t.Helper()
	return ca.Issue(t, &x509.Certificate{
		Subject:     subject,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// CertPEM is the CA certificate in PEM.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Pool is a pool holding the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// TLS is the certificate as crypto/tls uses it.
func (c *Cert) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}
}

// ClientConfig is a client configuration that trusts c's CA and presents
// c, for a server at serverName.
func (c *Cert) ClientConfig(serverName string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{c.TLS()},
		RootCAs:      c.CA.Pool(),
		ServerName:   serverName,
		MinVersion:   tls.VersionTLS12,
	}
}

// ID is the identity the x509 ACL scheme gives c.
func (c *Cert) ID() string { return tlsconf.ClientID(c.Cert) }

func marshalKey(t testing.TB, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func write(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// KeyPEM is a PEM key store: the private key as PKCS#8, encrypted as
// EncryptPKCS8 does when password is not empty, then the certificate.
func (c *Cert) KeyPEM(t testing.TB, password string) []byte {
	t.Helper()
	var b bytes.Buffer
	der := marshalKey(t, c.Key)
	if password == "" {
		pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
	} else {
		pem.Encode(&b, &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: EncryptPKCS8(t, der, password)})
	}
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
	return b.Bytes()
}

// WriteKeyStore writes c as a key store of the given type to dir/name.
func (c *Cert) WriteKeyStore(t testing.TB, typ tlsconf.StoreType, dir, name, password string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	switch typ {
	case tlsconf.PEM:
		return write(t, path, c.KeyPEM(t, password))
	case tlsconf.PKCS12:
		enc := pkcs12.Modern
		if password == "" {
			enc = pkcs12.Passwordless
		}
		data, err := enc.Encode(c.Key, c.Cert, nil, password)
		if err != nil {
			t.Fatal(err)
		}
		return write(t, path, data)
	case tlsconf.JKS:
		ks := keystore.New()
		err := ks.SetPrivateKeyEntry("key", keystore.PrivateKeyEntry{
			CreationTime:     time.Now(),
			PrivateKey:       marshalKey(t, c.Key),
			CertificateChain: []keystore.Certificate{{Type: "X.509", Content: c.Cert.Raw}},
		}, []byte(password))
		if err != nil {
			t.Fatal(err)
		}
		return writeJKS(t, path, ks, password)
	}
	t.Fatalf("tlstest: store type %q", typ)
	return ""
}

// WriteTrustStore writes the CA as a trust store of the given type to
// dir/name.
func (ca *CA) WriteTrustStore(t testing.TB, typ tlsconf.StoreType, dir, name, password string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	switch typ {
	case tlsconf.PEM:
		return write(t, path, ca.CertPEM())
	case tlsconf.PKCS12:
		enc := pkcs12.Modern
		if password == "" {
			enc = pkcs12.Passwordless
		}
		data, err := enc.EncodeTrustStore([]*x509.Certificate{ca.Cert}, password)
		if err != nil {
			t.Fatal(err)
		}
		return write(t, path, data)
	case tlsconf.JKS:
		ks := keystore.New()
		err := ks.SetTrustedCertificateEntry("ca", keystore.TrustedCertificateEntry{
			CreationTime: time.Now(),
			Certificate:  keystore.Certificate{Type: "X.509", Content: ca.Cert.Raw},
		})
		if err != nil {
			t.Fatal(err)
		}
		return writeJKS(t, path, ks, password)
	}
	t.Fatalf("tlstest: store type %q", typ)
	return ""
}

// writeJKS stores ks, protected by password, at path.
func writeJKS(t testing.TB, path string, ks keystore.KeyStore, password string) string {
	t.Helper()
	var b bytes.Buffer
	if err := ks.Store(&b, []byte(password)); err != nil {
		t.Fatal(err)
	}
	return write(t, path, b.Bytes())
}

// Ext is the file extension KeyStoreFileType knows for a store type.
func Ext(typ tlsconf.StoreType) string {
	switch typ {
	case tlsconf.PKCS12:
		return ".p12"
	case tlsconf.JKS:
		return ".jks"
	}
	return ".pem"
}

// Stores writes c as a key store and its CA as a trust store, both of the
// given type and protected by password, into dir, and returns the system
// properties of kind that name them (zookeeper.ssl.keyStore.location and
// so on). The type is left to be told from the file extension.
func (c *Cert) Stores(t testing.TB, kind tlsconf.Kind, typ tlsconf.StoreType, dir, password string) map[string]string {
	t.Helper()
	p := kind.Prefix()
	base := strings.TrimSuffix(p, ".")
	base = base[strings.LastIndexByte(base, '.')+1:]
	return map[string]string{
		p + tlsconf.KeyStoreLocation:   c.WriteKeyStore(t, typ, dir, base+"-key"+Ext(typ), password),
		p + tlsconf.KeyStorePassword:   password,
		p + tlsconf.TrustStoreLocation: c.CA.WriteTrustStore(t, typ, dir, base+"-trust"+Ext(typ), password),
		p + tlsconf.TrustStorePassword: password,
	}
}

// ZooCfg renders system properties zookeeper.* as zoo.cfg lines (the file
// turns key k into property zookeeper.k), in order of their keys.
func ZooCfg(props map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(props)) {
		b.WriteString(strings.TrimPrefix(k, "zookeeper."))
		b.WriteByte('=')
		// A properties file reads a backslash as an escape.
		b.WriteString(strings.ReplaceAll(props[k], `\`, `\\`))
		b.WriteByte('\n')
	}
	return b.String()
}

// JVMFlags renders properties as -D flags for a java command line, in
// order of their keys.
func JVMFlags(props map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(props)) {
		out = append(out, "-D"+k+"="+props[k])
	}
	return out
}

// EncryptPKCS8 encrypts a PKCS#8 key with the PKCS#12 scheme
// pbeWithSHAAnd3-KeyTripleDES-CBC ("openssl pkcs8 -topk8 -v1
// PBE-SHA1-3DES"), which Java's ZooKeeper reads as well as zookit.
func EncryptPKCS8(t testing.TB, der []byte, password string) []byte {
	t.Helper()
	out, err := pkcs8.Encrypt(der, []byte(password), pkcs8.PKCS12TripleDES, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
