package peer

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// recordTypeHandshake is the first byte a TLS client sends: the content
// type of the record that carries its ClientHello. A plaintext quorum
// connection starts with the hello magic instead.
const recordTypeHandshake = 0x16

// ServerIDName returns the DNS name, "server.<id>", that a peer's
// certificate must carry to speak for server id when
// Config.RequireServerIDName is set.
func ServerIDName(id uint64) string { return "server." + strconv.FormatUint(id, 10) }

// tlsSetup is what the transport derives from Config.TLS once, in New.
type tlsSetup struct {
	server *tls.Config // for accepted connections
	client *tls.Config // template of each peer's, see clientFor
	roots  *x509.CertPool
	now    func() time.Time

	verifyHost, requireIDName bool
	dialPlaintext             bool

	// The caller's own checks, which outbound links run after the
	// transport's, since the transport verifies there by itself.
	userVerifyPeer func([][]byte, [][]*x509.Certificate) error
	userVerifyConn func(tls.ConnectionState) error
}

// newTLSSetup checks the TLS settings of cfg and derives the server and
// client configs; it returns nil without Config.TLS. A setting the
// transport would not honour is an error, never ignored.
func newTLSSetup(cfg *Config) (*tlsSetup, error) {
	c := cfg.TLS
	if c == nil {
		var set []string
		if cfg.NoHostnameVerification {
			set = append(set, "NoHostnameVerification")
		}
		if cfg.RequireServerIDName {
			set = append(set, "RequireServerIDName")
		}
		if cfg.PortUnification {
			set = append(set, "PortUnification")
		}
		if cfg.DialPlaintext {
			set = append(set, "DialPlaintext")
		}
		if len(set) > 0 {
			return nil, fmt.Errorf("peer: Config.%s needs Config.TLS", strings.Join(set, ", Config."))
		}
		return nil, nil
	}
	switch {
	case cfg.DialPlaintext && !cfg.PortUnification:
		return nil, errors.New("peer: Config.DialPlaintext needs Config.PortUnification: peers dialing in plaintext would be refused")
	case c.InsecureSkipVerify:
		return nil, errors.New("peer: Config.TLS must not set InsecureSkipVerify: quorum links verify both ends")
	case c.GetConfigForClient != nil:
		return nil, errors.New("peer: Config.TLS must not set GetConfigForClient: the transport sets client authentication itself")
	case c.MaxVersion != 0 && c.MaxVersion < tls.VersionTLS12:
		return nil, errors.New("peer: Config.TLS allows no version from TLS 1.2 up")
	case len(c.Certificates) == 0 && (c.GetCertificate == nil || c.GetClientCertificate == nil):
		return nil, errors.New("peer: Config.TLS has no certificate for this server (Certificates, or both GetCertificate and GetClientCertificate)")
	}
	roots := cmp.Or(c.RootCAs, c.ClientCAs)
	if roots == nil {
		return nil, errors.New("peer: Config.TLS has no trust store (RootCAs or ClientCAs)")
	}
	s := &tlsSetup{
		roots:          roots,
		now:            c.Time,
		verifyHost:     !cfg.NoHostnameVerification,
		requireIDName:  cfg.RequireServerIDName,
		dialPlaintext:  cfg.DialPlaintext,
		userVerifyPeer: c.VerifyPeerCertificate,
		userVerifyConn: c.VerifyConnection,
	}

	if s.now == nil {
		s.now = time.Now
	}

	s.server = c.Clone()
	s.server.MinVersion = max(c.MinVersion, tls.VersionTLS12)
	s.server.ClientAuth = tls.RequireAndVerifyClientCert
	s.server.ClientCAs = cmp.Or(c.ClientCAs, roots)
	s.server.SessionTicketsDisabled = true

	s.client = c.Clone()
	s.client.MinVersion = max(c.MinVersion, tls.VersionTLS12)
	s.client.RootCAs = roots
	// The handshake does not verify the acceptor's certificate by itself:
	// verifyServer does, against the trust store and the dialed peer's
	// identity, which the standard check cannot express when hostname
	// verification is off or a server id name is required.
	s.client.InsecureSkipVerify = true
	s.client.VerifyPeerCertificate, s.client.VerifyConnection = nil, nil
	s.client.ClientSessionCache = nil
	return s, nil
}

// clientFor returns the client config for the links to server id at addr
// (host:port), which accepts only a certificate proving that identity.
func (s *tlsSetup) clientFor(id uint64, addr string) *tls.Config {
	host := hostOf(addr)
	c := s.client.Clone()
	c.ServerName = host // for SNI; none is sent for an IP address
	c.VerifyConnection = func(cs tls.ConnectionState) error { return s.verifyServer(cs, id, host) }
	return c
}

// verifyServer checks, on an outbound link, that the acceptor's
// certificate chains to the trust store and proves it is server id at
// host, then runs the caller's own checks.
func (s *tlsSetup) verifyServer(cs tls.ConnectionState, id uint64, host string) error {
	certs := cs.PeerCertificates
	if len(certs) == 0 {
		return fmt.Errorf("%s presented no certificate", ServerIDName(id))
	}
	opts := x509.VerifyOptions{
		Roots:         s.roots,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   s.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	chains, err := certs[0].Verify(opts)
	if err != nil {
		return fmt.Errorf("certificate of %s: %w", ServerIDName(id), err)
	}
	if err := checkIdentity(certs[0], id, host, s.verifyHost, s.requireIDName); err != nil {
		return err
	}
	cs.VerifiedChains = chains
	if s.userVerifyPeer != nil {
		raw := make([][]byte, len(certs))
		for i, c := range certs {
			raw[i] = c.Raw
		}
		if err := s.userVerifyPeer(raw, chains); err != nil {
			return err
		}
	}
	if s.userVerifyConn != nil {
		return s.userVerifyConn(cs)
	}
	return nil
}

// checkIdentity reports whether cert, which already chains to the trust
// store, proves that its holder is server id, configured at host:
//
//   - with verifyHost, cert must be valid for host, as a TLS client checks
//     a server (ZooKeeper's ssl.quorum.hostnameVerification): an IP
//     address must be one of its IP SANs, a name must match one of its DNS
//     SANs, wildcards included; the subject's common name is not consulted;
//   - with requireIDName, cert must carry the DNS SAN ServerIDName(id)
//     exactly, without wildcard.
//
// With neither, any certificate passes: the trust store alone decides.
func checkIdentity(cert *x509.Certificate, id uint64, host string, verifyHost, requireIDName bool) error {
	if verifyHost {
		if host == "" {
			return fmt.Errorf("no host is configured for %s", ServerIDName(id))
		}
		if err := cert.VerifyHostname(host); err != nil {
			return fmt.Errorf("certificate is not valid for %s, the host of %s: %w", host, ServerIDName(id), err)
		}
	}
	if requireIDName {
		want := ServerIDName(id)
		found := false
		for _, n := range cert.DNSNames {
			if strings.EqualFold(n, want) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("certificate does not carry the name %s (it has %q)", want, cert.DNSNames)
		}
	}
	return nil
}

// hostOf returns the host of a host:port address, or the address itself
// if it has no port.
func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// errPlaintext refuses a plaintext connection to a port that requires TLS.
var errPlaintext = errors.New("plaintext connection to a quorum port that requires TLS")

// secure starts an accepted quorum connection: without TLS it is used as
// is; with TLS its first byte tells a TLS client (whose handshake is run
// here, bounded by the deadline already set on conn) from a plaintext one,
// which only PortUnification admits. It returns the connection to read
// from and, for TLS, the tls.Conn whose certificate checkPeer checks.
func (t *Transport) secure(conn net.Conn) (net.Conn, *tls.Conn, error) {
	if t.tls == nil {
		return conn, nil, nil
	}
	var first [1]byte
	if _, err := io.ReadFull(conn, first[:]); err != nil {
		return nil, nil, fmt.Errorf("read first byte: %w", err)
	}
	pc := &prefixConn{Conn: conn, prefix: first[:]}
	if first[0] != recordTypeHandshake {
		if !t.cfg.PortUnification {
			return nil, nil, errPlaintext
		}
		return pc, nil, nil
	}
	tc := tls.Server(pc, t.tls.server)
	if err := tc.HandshakeContext(t.ctx); err != nil {
		return nil, nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, tc, nil
}

// checkPeer checks that the certificate of an accepted TLS connection
// proves it comes from server id, the one its hello claimed.
func (t *Transport) checkPeer(tc *tls.Conn, id uint64) error {
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 { // RequireAndVerifyClientCert makes this impossible
		return fmt.Errorf("%s presented no certificate", ServerIDName(id))
	}
	// The address as it is now: a peer moved by SetPeer proves the new host.
	p := t.peer(id)
	if p == nil {
		return fmt.Errorf("%s is no longer a peer", ServerIDName(id))
	}
	if err := checkIdentity(certs[0], id, hostOf(p.addr), t.tls.verifyHost, t.tls.requireIDName); err != nil {
		return fmt.Errorf("hello claims %s: %w", ServerIDName(id), err)
	}
	return nil
}

// dialTLS runs the client handshake on a dialed connection to peer p,
// bounded by HelloTimeout, the time its acceptor gives us.
func (p *peer) dialTLS(conn net.Conn) (net.Conn, error) {
	tc := tls.Client(conn, p.tlsConfig)
	ctx, cancel := context.WithTimeout(p.ctx, p.t.cfg.HelloTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}

// prefixConn is a connection whose first bytes were already read.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
