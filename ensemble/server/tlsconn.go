package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/tlsconf"
)

// DefaultHandshakeTimeout bounds a client's TLS handshake, as Netty's
// SslHandler bounds ZooKeeper's.
const DefaultHandshakeTimeout = 10 * time.Second

// DefaultHandshakeLimit bounds the TLS handshakes in progress at once
// (zookeeper.netty.server.outstandingHandshake.limit, which ZooKeeper
// leaves unbounded): past it a new secure connection is closed at once.
const DefaultHandshakeLimit = 1000

const handshakeLimitProp = "zookeeper.netty.server.outstandingHandshake.limit"

// loadTLS builds the secure client port's configuration from the
// zookeeper.ssl.* settings when secureClientPort is set. A setting that
// cannot be honoured is an error at start (see also settings.go).
func (s *Server) loadTLS() error {
	s.handshakeLimit = DefaultHandshakeLimit
	if v, ok := s.cfg.Property(handshakeLimitProp); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("server: %s: %q is not an integer", handshakeLimitProp, v)
		}
		s.handshakeLimit = n // 0 or less: no bound, as in ZooKeeper
	}
	if _, ok := s.cfg.SecureClientAddr(); !ok {
		// Not an error: JVMFLAGS, which zkCli.sh reads too, may carry a
		// client's settings; but the operator should know.
		for _, k := range []string{tlsconf.KeyStoreLocation, tlsconf.TrustStoreLocation} {
			if v, _ := s.cfg.Property(tlsconf.Client.Prefix() + k); v != "" {
				s.log.Warn("TLS settings without secureClientPort: no client port serves TLS", zap.String(tlsconf.Client.Prefix()+k, v))
			}
		}
		return nil
	}
	if s.tlsConfig != nil {
		return nil
	}
	settings, err := tlsconf.Load(s.cfg, tlsconf.Client)
	if err != nil {
		return fmt.Errorf("server: secureClientPort: %w", err)
	}
	c, err := settings.ServerConfig()
	if err != nil {
		return fmt.Errorf("server: secureClientPort: %w", err)
	}
	s.tlsConfig = c
	s.log.Info("TLS for clients",
		zap.String("keyStore", settings.KeyStore.Location), zap.String("trustStore", settings.TrustStore.Location),
		zap.Stringer("clientAuth", settings.ClientAuth))
	return nil
}

// startTLS runs the TLS handshake of a connection from a secure port, on
// the connection's reader goroutine and within the handshake timeout, and
// gives a client that presented a verified certificate its x509 identity,
// as ZooKeeper's X509AuthenticationProvider does: "x509:<subject>", and
// for the configured super user before it "super:<subject>", which the tree
// does not trust (it knows the super user from its own settings) but which
// whoAmI lists as ZooKeeper does.
func (c *conn) startTLS() error {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	s := c.s
	ctx, cancel := context.WithTimeout(c.ctx, s.handshakeTimeout)
	defer cancel()
	tc.SetDeadline(time.Now().Add(s.handshakeTimeout))
	err := tc.HandshakeContext(ctx)
	s.handshaking.Add(-1)
	if err != nil {
		s.metrics.badHandshakes.Inc()
		s.log.Info("TLS handshake failed; closing the connection", zap.String("remote", c.remote), zap.Error(err))
		return errRefused
	}
	tc.SetDeadline(time.Time{})
	cs := tc.ConnectionState()
	if len(cs.PeerCertificates) == 0 {
		// clientAuth none, or want and no certificate sent: anonymous.
		return nil
	}
	// crypto/tls has verified the chain against the trust store, as the
	// provider's trust manager would.
	// ZooKeeper's Netty connection lists them before the ip identity,
	// which it adds later; whoAmI shows that order.
	id := tlsconf.ClientID(cs.PeerCertificates[0])
	var ids []proto.ID
	if super, _ := s.cfg.Property(tlsconf.SuperUserProperty); super != "" && id == super {
		ids = append(ids, proto.ID{Scheme: "super", ID: id})
		s.log.Info("authenticated a client certificate as super user", zap.String("id", id), zap.String("remote", c.remote))
	}
	ids = append(append(ids, proto.ID{Scheme: "x509", ID: id}), c.auth...)
	c.auth = ids
	c.authNow.Store(&ids)
	s.log.Info("authenticated a client certificate", zap.String("scheme", "x509"), zap.String("id", id), zap.String("remote", c.remote))
	return nil
}

// admitHandshake reserves a place for one more TLS handshake, or reports
// that the limit is reached.
func (s *Server) admitHandshake() bool {
	if n := s.handshaking.Add(1); s.handshakeLimit > 0 && n > int64(s.handshakeLimit) {
		s.handshaking.Add(-1)
		return false
	}
	return true
}

// refuse closes a connection accept turned away, releasing its place
// among the handshakes.
func (s *Server) refuse(nc net.Conn) {
	if _, ok := nc.(*tls.Conn); ok {
		s.handshaking.Add(-1)
	}
	nc.Close()
}

// closeNotifyGrace bounds how long closing a TLS connection may spend
// telling the client (close_notify), which blocks while a client that does
// not read has filled the socket's buffer.
const closeNotifyGrace = 100 * time.Millisecond

// closeConn closes a client connection without blocking: a TLS one says
// close_notify on a goroutine of its own, cut short after closeNotifyGrace
// by closing the socket under it, so that housekeeping and shutdown, which
// close many connections in a row, are never held up by a client.
func (s *Server) closeConn(nc net.Conn) {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		nc.Close()
		return
	}
	raw := tc.NetConn()
	s.closers.Add(1)
	go func() {
		defer s.closers.Done()
		t := time.AfterFunc(closeNotifyGrace, func() { raw.Close() })
		defer t.Stop()
		tc.Close()
	}()
}

// securePort is the port ServeTLS serves, or -1, as conf prints it.
func (s *Server) securePort() int {
	if a, ok := s.SecureAddr().(*net.TCPAddr); ok {
		return a.Port
	}
	return -1
}

// verifiedX509 reports whether the connection's client presented a
// certificate that the handshake verified.
func (c *conn) verifiedX509() bool {
	tc, ok := c.nc.(*tls.Conn)
	return ok && len(tc.ConnectionState().PeerCertificates) > 0
}
