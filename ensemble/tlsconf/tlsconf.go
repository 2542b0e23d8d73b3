package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/internal/x500"
)

// Kind says which of ZooKeeper's two TLS configurations to read.
type Kind int

const (
	// Client is the secure client port: properties zookeeper.ssl.*.
	Client Kind = iota
	// Quorum is the links between servers: properties zookeeper.ssl.quorum.*.
	Quorum
)

// Prefix is the system-property prefix of the kind's settings.
func (k Kind) Prefix() string {
	if k == Quorum {
		return "zookeeper.ssl.quorum."
	}
	return "zookeeper.ssl."
}

func (k Kind) String() string {
	if k == Quorum {
		return "quorum"
	}
	return "client"
}

// The settings' names, after the kind's prefix.
const (
	KeyStoreLocation     = "keyStore.location"
	KeyStorePassword     = "keyStore.password"
	KeyStorePasswordPath = "keyStore.passwordPath"
	KeyStoreType         = "keyStore.type"
	TrustStoreLocation   = "trustStore.location"
	TrustStorePassword   = "trustStore.password"
	TrustStorePassPath   = "trustStore.passwordPath"
	TrustStoreType       = "trustStore.type"
	HostnameVerification = "hostnameVerification"
	ClientAuthSetting    = "clientAuth"
	Protocol             = "protocol"
	EnabledProtocols     = "enabledProtocols"
	CipherSuites         = "ciphersuites"
	Crl                  = "crl"
	Ocsp                 = "ocsp"
	ContextSupplierClass = "context.supplier.class"
	// AuthProvider (clients only) names the provider that authenticates
	// client certificates; only ZooKeeper's default, x509, is known.
	AuthProvider = "authProvider"
)

// SuperUserProperty makes the client certificate whose subject is its value
// a super user (X509AuthenticationProvider).
const SuperUserProperty = "zookeeper.X509AuthenticationProvider.superUser"

// ClientAuth is whether a server asks clients for a certificate.
type ClientAuth int

const (
	// Need refuses a client without a valid certificate; ZooKeeper's
	// default.
	Need ClientAuth = iota
	// Want asks for a certificate and checks it if one is sent.
	Want
	// None does not ask.
	None
)

func (a ClientAuth) String() string {
	switch a {
	case Want:
		return "want"
	case None:
		return "none"
	}
	return "need"
}

// Store names a key or trust store file.
type Store struct {
	Location string    // "" when not configured
	Type     StoreType // as configured or detected; "" when Location is ""
}

// Settings are one kind's TLS settings with its stores loaded.
type Settings struct {
	Kind       Kind
	KeyStore   Store
	TrustStore Store
	// Certificates are the key store's key and chain; empty when no key
	// store is configured.
	Certificates []tls.Certificate
	// Roots are the trust store's certificates; nil when no trust store is
	// configured, which means the system's roots, as Java falls back to
	// its default trust store.
	Roots *x509.CertPool
	// RootCerts lists what Roots holds.
	RootCerts            []*x509.Certificate
	HostnameVerification bool
	ClientAuth           ClientAuth
	MinVersion           uint16
	MaxVersion           uint16
	// CipherSuites are the TLS 1.2 suites; nil means Go's defaults. Go
	// does not let TLS 1.3 suites be chosen: all three are always on.
	CipherSuites []uint16
	// SuperUser is the subject (as ClientID names it) that is a super
	// user; "" for none. Read for the Client kind only.
	SuperUser string
}

// Error is a setting that cannot be honoured; Key is the system property.
type Error struct {
	Key string
	Err error
}

func (e *Error) Error() string { return e.Key + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Load reads kind's settings from the configuration's system properties
// and loads the stores they name. Every problem is an *Error naming the
// property.
func Load(cfg *config.Config, kind Kind) (*Settings, error) {
	return FromProperties(cfg.Property, kind)
}

// Configured reports whether any of kind's settings is present (a quorum
// server may want to refuse zookeeper.ssl.quorum.* without sslQuorum).
func Configured(cfg *config.Config, kind Kind) bool {
	for k := range cfg.Props {
		if strings.HasPrefix(k, kind.Prefix()) && (kind == Quorum || !strings.HasPrefix(k, Quorum.Prefix())) {
			return true
		}
	}
	return false
}

// FromProperties is Load with the properties given by a lookup function.
func FromProperties(prop func(string) (string, bool), kind Kind) (*Settings, error) {
	r := reader{prop: prop, prefix: kind.Prefix()}
	s := &Settings{Kind: kind}
	var err error
	if s.HostnameVerification, err = r.bool(HostnameVerification, true); err != nil {
		return nil, err
	}
	for _, k := range []string{Crl, Ocsp} {
		on, err := r.bool(k, false)
		if err != nil {
			return nil, err
		}
		if on {
			return nil, r.errf(k, "certificate revocation checking is not supported by zookit")
		}
	}
	if v, ok := r.get(ContextSupplierClass); ok && v != "" {
		return nil, r.errf(ContextSupplierClass, "a Java SSLContext supplier cannot be used by zookit; configure the key and trust stores instead")
	}
	if kind == Client {
		if v, ok := r.get(AuthProvider); ok && v != "" && v != "x509" {
			return nil, r.errf(AuthProvider, "%q: zookit authenticates client certificates only with the built-in x509 provider", v)
		}
		s.SuperUser, _ = prop(SuperUserProperty)
	}
	if s.ClientAuth, err = r.clientAuth(); err != nil {
		return nil, err
	}
	if s.MinVersion, s.MaxVersion, err = r.versions(); err != nil {
		return nil, err
	}
	if s.CipherSuites, err = r.cipherSuites(s.MinVersion); err != nil {
		return nil, err
	}
	if s.KeyStore, err = r.store(KeyStoreLocation, KeyStoreType); err != nil {
		return nil, err
	}
	if s.KeyStore.Location != "" {
		pw, err := r.password(KeyStorePassword, KeyStorePasswordPath)
		if err != nil {
			return nil, err
		}
		if s.Certificates, err = loadKeyStore(s.KeyStore, pw); err != nil {
			return nil, r.wrap(KeyStoreLocation, s.KeyStore, err)
		}
	}
	if s.TrustStore, err = r.store(TrustStoreLocation, TrustStoreType); err != nil {
		return nil, err
	}
	if s.TrustStore.Location != "" {
		pw, err := r.password(TrustStorePassword, TrustStorePassPath)
		if err != nil {
			return nil, err
		}
		if s.RootCerts, err = loadTrustStore(s.TrustStore, pw); err != nil {
			return nil, r.wrap(TrustStoreLocation, s.TrustStore, err)
		}
		s.Roots = x509.NewCertPool()
		for _, c := range s.RootCerts {
			s.Roots.AddCert(c)
		}
	}
	return s, nil
}

// reader reads one kind's properties.
type reader struct {
	prop   func(string) (string, bool)
	prefix string
}

func (r reader) get(name string) (string, bool) { return r.prop(r.prefix + name) }

func (r reader) errf(name, format string, args ...any) error {
	return &Error{Key: r.prefix + name, Err: fmt.Errorf(format, args...)}
}

func (r reader) wrap(name string, s Store, err error) error {
	return &Error{Key: r.prefix + name, Err: fmt.Errorf("%s (%s): %w", s.Location, s.Type, err)}
}

// bool reads a boolean; ZooKeeper's getBoolean reads every word but "true"
// as false, which would turn a typo into a silently weaker setting.
func (r reader) bool(name string, def bool) (bool, error) {
	v, ok := r.get(name)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, r.errf(name, "%q is not a boolean, choose true or false", v)
}

func (r reader) clientAuth() (ClientAuth, error) {
	v, _ := r.get(ClientAuthSetting)
	switch strings.ToUpper(v) {
	case "", "NEED":
		return Need, nil
	case "WANT":
		return Want, nil
	case "NONE":
		return None, nil
	}
	return 0, r.errf(ClientAuthSetting, "%q is not one of need, want, none", v)
}

// protocolVersion maps a Java protocol name to a TLS version range.
func protocolVersion(name string) (lo, hi uint16, err error) {
	switch name {
	case "TLSv1.2":
		return tls.VersionTLS12, tls.VersionTLS12, nil
	case "TLSv1.3":
		return tls.VersionTLS13, tls.VersionTLS13, nil
	case "TLS":
		return tls.VersionTLS12, tls.VersionTLS13, nil
	case "TLSv1", "TLSv1.1", "SSLv3", "SSLv2Hello", "SSL":
		return 0, 0, fmt.Errorf("%s is older than TLSv1.2, which zookit requires at least", name)
	}
	return 0, 0, fmt.Errorf("unknown protocol %q, choose TLSv1.2 or TLSv1.3", name)
}

// versions follows SSLContextAndOptions: enabledProtocols when set, else
// the protocol alone (default TLSv1.2).
func (r reader) versions() (lo, hi uint16, err error) {
	proto, ok := r.get(Protocol)
	if !ok || proto == "" {
		proto = "TLSv1.2"
	}
	if _, _, err := protocolVersion(proto); err != nil {
		return 0, 0, r.errf(Protocol, "%v", err)
	}
	list, ok := r.get(EnabledProtocols)
	if !ok || strings.TrimSpace(list) == "" {
		lo, hi, _ := protocolVersion(proto)
		return lo, hi, nil
	}
	var versions []uint16
	for _, name := range strings.Split(list, ",") {
		a, b, err := protocolVersion(strings.TrimSpace(name))
		if err != nil {
			return 0, 0, r.errf(EnabledProtocols, "%v", err)
		}
		versions = append(versions, a, b)
	}
	return slices.Min(versions), slices.Max(versions), nil
}

// tls13Suites are the TLS 1.3 suites' Java names; Go always enables all
// of them, so naming them changes nothing.
var tls13Suites = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}

func (r reader) cipherSuites(minVersion uint16) ([]uint16, error) {
	list, ok := r.get(CipherSuites)
	if !ok || strings.TrimSpace(list) == "" {
		return nil, nil
	}
	byName := map[string]uint16{}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		byName[cs.Name] = cs.ID
	}
	var ids []uint16
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "" || name == "TLS_EMPTY_RENEGOTIATION_INFO_SCSV" || slices.Contains(tls13Suites, name):
		case byName[name] != 0:
			ids = append(ids, byName[name])
		default:
			return nil, r.errf(CipherSuites, "unknown or unsupported cipher suite %q", name)
		}
	}
	if len(ids) == 0 && minVersion < tls.VersionTLS13 {
		return nil, r.errf(CipherSuites, "names no TLS 1.2 cipher suite, yet TLSv1.2 is enabled")
	}
	return ids, nil
}

func (r reader) store(locName, typeName string) (Store, error) {
	loc, _ := r.get(locName)
	if loc == "" {
		return Store{}, nil
	}
	typ, _ := r.get(typeName)
	st, err := storeType(typ, loc)
	if err != nil {
		key := typeName
		if typ == "" {
			key = locName
		}
		return Store{}, r.errf(key, "%v", err)
	}
	return Store{Location: loc, Type: st}, nil
}

// password is getPasswordFromConfigPropertyOrFile: the file named by the
// path property wins, less one trailing line separator (SecretUtils).
func (r reader) password(name, pathName string) (string, error) {
	pw, _ := r.get(name)
	path, _ := r.get(pathName)
	if path == "" {
		return pw, nil
	}
	b, err := readBounded(path)
	if err != nil {
		return "", r.errf(pathName, "%v", err)
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// maxStoreSize bounds what is read from a store or password file.
const maxStoreSize = 16 << 20

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Size() > maxStoreSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxStoreSize)
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, err
	}
	return b, nil
}

// ServerConfig is the configuration of a TLS server: the key store's
// certificate, client certificates asked for per clientAuth and checked
// against the trust store. For the Quorum kind with hostnameVerification,
// a client's certificate must also be valid for the address it connects
// from (its IP, or a name that address resolves back to), as
// QuorumX509Util checks the peer's host.
func (s *Settings) ServerConfig() (*tls.Config, error) {
	if len(s.Certificates) == 0 {
		return nil, &Error{Key: s.Kind.Prefix() + KeyStoreLocation, Err: errors.New("not set: a TLS server needs a key store with its certificate")}
	}
	c := &tls.Config{
		Certificates: s.Certificates,
		ClientCAs:    s.Roots,
		MinVersion:   s.MinVersion,
		MaxVersion:   s.MaxVersion,
		CipherSuites: s.CipherSuites,
	}
	switch s.ClientAuth {
	case Need:
		c.ClientAuth = tls.RequireAndVerifyClientCert
	case Want:
		c.ClientAuth = tls.VerifyClientCertIfGiven
	default:
		c.ClientAuth = tls.NoClientCert
	}
	if s.Kind == Quorum && s.HostnameVerification && s.ClientAuth != None {
		base := c.Clone()
		c.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			pc := base.Clone()
			remote := hello.Conn.RemoteAddr()
			pc.VerifyConnection = func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return nil // want, and none was sent
				}
				return VerifyAddr(cs.PeerCertificates[0], remote)
			}
			return pc, nil
		}
	}
	return c, nil
}

// ClientConfig is the configuration of a TLS client: the key store's
// certificate, if any, offered to the server, the server's chain checked
// against the trust store, and its name against the ServerName the caller
// sets (a host name or an IP address, as Go checks them) unless
// hostnameVerification is false.
func (s *Settings) ClientConfig() *tls.Config {
	c := &tls.Config{
		Certificates: s.Certificates,
		RootCAs:      s.Roots,
		MinVersion:   s.MinVersion,
		MaxVersion:   s.MaxVersion,
		CipherSuites: s.CipherSuites,
	}
	if !s.HostnameVerification {
		// Go checks the chain and the name together; without the name
		// the chain is checked here.
		roots := s.Roots
		c.InsecureSkipVerify = true
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyChain(cs.PeerCertificates, roots, x509.ExtKeyUsageServerAuth)
		}
	}
	return c
}

func verifyChain(certs []*x509.Certificate, roots *x509.CertPool, usage x509.ExtKeyUsage) error {
	if len(certs) == 0 {
		return errors.New("tlsconf: the peer sent no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), KeyUsages: []x509.ExtKeyUsage{usage}}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := certs[0].Verify(opts)
	return err
}

// ClientID is the identity the x509 ACL scheme gives a client certificate:
// its subject as Java's X500Principal.getName() prints it (RFC 2253).
func ClientID(cert *x509.Certificate) string {
	name, err := x500.Name(cert.RawSubject)
	if err != nil {
		// A certificate crypto/x509 parsed has a well-formed subject.
		return cert.Subject.String()
	}
	return name
}

// VerifyAddr checks cert against the host a connection comes from, as
// ZKTrustManager.performHostVerification does: its IP address first, then
// the names that address resolves back to.
func VerifyAddr(cert *x509.Certificate, addr net.Addr) error {
	host := addr.String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	err := VerifyHostname(cert, host)
	if err == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	names, _ := net.DefaultResolver.LookupAddr(ctx, host)
	for _, n := range names {
		if VerifyHostname(cert, strings.TrimSuffix(n, ".")) == nil {
			return nil
		}
	}
	return err
}
