package tlsconf

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/zookit/zookit/internal/pkcs8"
)

// StoreType is the format of a key or trust store file.
type StoreType string

// The formats ZooKeeper 3.8 names (KeyStoreFileType); zookit reads all but
// BCFKS.
const (
	PEM    StoreType = "PEM"
	PKCS12 StoreType = "PKCS12"
	JKS    StoreType = "JKS"
	BCFKS  StoreType = "BCFKS"
)

// storeType is KeyStoreFileType.fromPropertyValueOrFileName: the type
// property in any case, or else the file name's extension, exactly.
func storeType(prop, location string) (StoreType, error) {
	if prop != "" {
		switch t := StoreType(strings.ToUpper(prop)); t {
		case PEM, PKCS12, JKS:
			return t, nil
		case BCFKS:
			return "", errors.New("BCFKS (Bouncy Castle FIPS) stores are not supported by zookit; convert the store to PKCS12 or PEM")
		}
		return "", fmt.Errorf("bad store type %q, choose PEM, PKCS12 or JKS", prop)
	}
	if i := strings.LastIndexByte(location, '.'); i >= 0 {
		switch location[i:] {
		case ".pem":
			return PEM, nil
		case ".p12":
			return PKCS12, nil
		case ".jks":
			return JKS, nil
		case ".bcfks":
			return "", errors.New("BCFKS (Bouncy Castle FIPS) stores are not supported by zookit; convert the store to PKCS12 or PEM")
		}
	}
	return "", fmt.Errorf("unable to tell the store type of %s from its name (.pem, .p12, .jks); set the type", location)
}

// loadKeyStore reads a key store into the certificates it holds. Parsers
// of hostile input must fail, not panic; a panic in one is turned into an
// error all the same.
func loadKeyStore(s Store, password string) (certs []tls.Certificate, err error) {
	defer recoverTo(&err)
	data, err := readBounded(s.Location)
	if err != nil {
		return nil, err
	}
	switch s.Type {
	case PEM:
		return pemKeyStore(data, password)
	case PKCS12:
		return pkcs12KeyStore(data, password)
	case JKS:
		return jksKeyStore(data, password)
	}
	return nil, fmt.Errorf("unsupported store type %q", s.Type)
}

// loadTrustStore reads the trusted certificates of a trust store.
func loadTrustStore(s Store, password string) (certs []*x509.Certificate, err error) {
	defer recoverTo(&err)
	data, err := readBounded(s.Location)
	if err != nil {
		return nil, err
	}
	switch s.Type {
	case PEM:
		certs, err = pemCertificates(data)
	case PKCS12:
		certs, err = pkcs12TrustStore(data, password)
	case JKS:
		certs, err = jksTrustStore(data, password)
	default:
		err = fmt.Errorf("unsupported store type %q", s.Type)
	}
	if err == nil && len(certs) == 0 {
		err = errors.New("the trust store holds no certificate")
	}
	return certs, err
}

func recoverTo(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("malformed store: %v", r)
	}
}

// pemCertificates reads every CERTIFICATE block, in order.
func pemCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" && b.Type != "TRUSTED CERTIFICATE" && b.Type != "X509 CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("the file does not contain any PEM certificate")
	}
	return certs, nil
}

// pemKeyStore reads a PEM key store: one private key and the certificate
// chain, leaf first, in one file (PEMFileLoader reads the same file for
// both).
func pemKeyStore(data []byte, password string) ([]tls.Certificate, error) {
	var key crypto.PrivateKey
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		if key != nil {
			return nil, errors.New("the file holds more than one private key")
		}
		k, err := pemPrivateKey(b, password)
		if err != nil {
			return nil, err
		}
		key = k
	}
	if key == nil {
		return nil, errors.New("the file does not contain a PEM private key")
	}
	chain, err := pemCertificates(data)
	if err != nil {
		return nil, err
	}
	c, err := keyPair(key, chain)
	if err != nil {
		return nil, err
	}
	return []tls.Certificate{c}, nil
}

func pemPrivateKey(b *pem.Block, password string) (crypto.PrivateKey, error) {
	if _, ok := b.Headers["DEK-Info"]; ok || b.Headers["Proc-Type"] != "" {
		return nil, fmt.Errorf("the %s is encrypted the legacy OpenSSL way (Proc-Type/DEK-Info), which neither zookit nor ZooKeeper reads; convert it to PKCS#8 (openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES)", b.Type)
	}
	switch b.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		return k, nil
	case "ENCRYPTED PRIVATE KEY":
		if password == "" {
			return nil, errors.New("the private key is encrypted but the key store password is empty")
		}
		der, err := pkcs8.Decrypt(b.Bytes, []byte(password))
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("private key: %w (wrong key store password?)", err)
		}
		return k, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		return k, nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("unsupported PEM block %q", b.Type)
}

// keyPair checks that key belongs to the chain's first certificate.
func keyPair(key crypto.PrivateKey, chain []*x509.Certificate) (tls.Certificate, error) {
	if len(chain) == 0 {
		return tls.Certificate{}, errors.New("no certificate goes with the private key")
	}
	signer, ok := key.(interface{ Public() crypto.PublicKey })
	if !ok {
		return tls.Certificate{}, fmt.Errorf("unsupported private key type %T", key)
	}
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		return tls.Certificate{}, fmt.Errorf("unsupported private key type %T", key)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(chain[0].PublicKey) {
		return tls.Certificate{}, fmt.Errorf("the private key does not match the certificate %q", chain[0].Subject)
	}
	c := tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, x := range chain {
		c.Certificate = append(c.Certificate, x.Raw)
	}
	return c, nil
}

func pkcs12Err(err error) error {
	if errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption) {
		return errors.New("wrong password, or not a PKCS12 file")
	}
	return err
}

func pkcs12KeyStore(data []byte, password string) ([]tls.Certificate, error) {
	key, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return nil, pkcs12Err(err)
	}
	c, err := keyPair(key, append([]*x509.Certificate{leaf}, cas...))
	if err != nil {
		return nil, err
	}
	return []tls.Certificate{c}, nil
}

func pkcs12TrustStore(data []byte, password string) ([]*x509.Certificate, error) {
	certs, err := pkcs12.DecodeTrustStore(data, password)
	if err != nil {
		if strings.Contains(err.Error(), "not marked as trusted") || strings.Contains(err.Error(), "expected only certificate bags") {
			return nil, fmt.Errorf("%w (Java trusts only certificates a PKCS12 store marks as trusted, as keytool -importcert writes them; use a PEM trust store otherwise)", err)
		}
		return nil, pkcs12Err(err)
	}
	return certs, nil
}

// jksMagic starts every JKS file; Java's JKS keystore type also reads
// PKCS12 files, and so does this.
var jksMagic = []byte{0xfe, 0xed, 0xfe, 0xed}

func loadJKS(data []byte, password string) (keystore.KeyStore, error) {
	ks := keystore.New(keystore.WithOrderedAliases())
	if err := checkJKS(data); err != nil {
		return ks, fmt.Errorf("not a valid JKS file: %w", err)
	}
	if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
		if strings.Contains(err.Error(), "invalid digest") {
			return ks, errors.New("wrong password, or the file is corrupt (its integrity check failed)")
		}
		return ks, fmt.Errorf("not a valid JKS file: %w", err)
	}
	return ks, nil
}

func parseJKSChain(chain []keystore.Certificate) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for i, c := range chain {
		if c.Type != "X.509" && c.Type != "X509" {
			return nil, fmt.Errorf("certificate %d has type %q, not X.509", i+1, c.Type)
		}
		x, err := x509.ParseCertificate(c.Content)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i+1, err)
		}
		certs = append(certs, x)
	}
	return certs, nil
}

func jksKeyStore(data []byte, password string) ([]tls.Certificate, error) {
	if !bytes.HasPrefix(data, jksMagic) {
		return pkcs12KeyStore(data, password)
	}
	ks, err := loadJKS(data, password)
	if err != nil {
		return nil, err
	}
	var out []tls.Certificate
	for _, alias := range ks.Aliases() {
		if !ks.IsPrivateKeyEntry(alias) {
			continue
		}
		e, err := ks.GetPrivateKeyEntry(alias, []byte(password))
		if err != nil {
			return nil, fmt.Errorf("key %q: %w (the key password must be the store password)", alias, err)
		}
		key, err := x509.ParsePKCS8PrivateKey(e.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", alias, err)
		}
		chain, err := parseJKSChain(e.CertificateChain)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", alias, err)
		}
		c, err := keyPair(key, chain)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", alias, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("the key store holds no private key entry")
	}
	return out, nil
}

// jksTrustStore is what Java's trust manager trusts in a JKS store: the
// trusted certificate entries and the first certificate of each key entry.
func jksTrustStore(data []byte, password string) ([]*x509.Certificate, error) {
	if !bytes.HasPrefix(data, jksMagic) {
		return pkcs12TrustStore(data, password)
	}
	ks, err := loadJKS(data, password)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, alias := range ks.Aliases() {
		var chain []keystore.Certificate
		if ks.IsTrustedCertificateEntry(alias) {
			e, err := ks.GetTrustedCertificateEntry(alias)
			if err != nil {
				return nil, fmt.Errorf("entry %q: %w", alias, err)
			}
			chain = []keystore.Certificate{e.Certificate}
		} else if ks.IsPrivateKeyEntry(alias) {
			c, err := ks.GetPrivateKeyEntryCertificateChain(alias)
			if err != nil {
				return nil, fmt.Errorf("entry %q: %w", alias, err)
			}
			chain = c[:min(len(c), 1)]
		}
		certs, err := parseJKSChain(chain)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", alias, err)
		}
		for _, c := range certs {
			if !slices.ContainsFunc(out, c.Equal) {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// checkJKS walks the JKS layout and checks that every length and count
// fits in the file, before keystore-go allocates what the file claims.
func checkJKS(data []byte) error {
	r := jksReader{b: data}
	r.u32() // magic
	version := r.u32()
	if version != 1 && version != 2 {
		return fmt.Errorf("unknown version %d", version)
	}
	cert := func() {
		if version == 2 {
			r.skip(int(r.u16()))
		}
		r.skip(int(r.u32()))
	}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		tag := r.u32()
		r.skip(int(r.u16())) // alias
		r.skip(8)            // creation time
		switch tag {
		case 1:
			r.skip(int(r.u32())) // encrypted key
			chain := r.u32()
			if uint64(chain)*4 > uint64(len(r.b)) {
				return errors.New("certificate count larger than the file")
			}
			for ; chain > 0 && r.err == nil; chain-- {
				cert()
			}
		case 2:
			cert()
		default:
			if r.err == nil {
				return fmt.Errorf("unknown entry tag %d", tag)
			}
		}
	}
	r.skip(20) // SHA-1 digest
	if r.err != nil {
		return r.err
	}
	if len(r.b) > 0 {
		return errors.New("trailing data")
	}
	return nil
}

type jksReader struct {
	b   []byte
	err error
}

func (r *jksReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errors.New("truncated, or a length larger than the file")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *jksReader) skip(n int) { r.take(n) }

func (r *jksReader) u16() uint16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return uint16(b[0])<<8 | uint16(b[1])
}

func (r *jksReader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
