package peer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

func TestCheckIdentity(t *testing.T) {
	ca := newCA(t, "quorum CA")
	parse := func(l leaf) *x509.Certificate { return ca.issue(t, l).Leaf }
	ip := parse(leaf{ips: []string{"127.0.0.1"}})
	ip6 := parse(leaf{ips: []string{"::1"}})
	named := parse(leaf{dns: []string{"zk1.example.com", "localhost"}})
	wildcard := parse(leaf{dns: []string{"*.zk.example.com"}})
	cnOnly := parse(leaf{cn: "127.0.0.1"})
	member2 := parse(leaf{ips: []string{"127.0.0.1"}, dns: []string{"SERVER.2"}})
	member22 := parse(leaf{ips: []string{"127.0.0.1"}, dns: []string{"server.22"}})
	wildID := parse(leaf{dns: []string{"*.2"}})

	for _, c := range []struct {
		name                      string
		cert                      *x509.Certificate
		id                        uint64
		host                      string
		verifyHost, requireIDName bool
		ok                        bool
	}{
		{"IP SAN matches", ip, 2, "127.0.0.1", true, false, true},
		{"IP SAN of another host", ip, 2, "127.0.0.2", true, false, false},
		{"IPv6 SAN matches", ip6, 2, "::1", true, false, true},
		{"IP SAN, host named", ip, 2, "localhost", true, false, false},
		{"DNS SAN matches", named, 2, "zk1.example.com", true, false, true},
		{"DNS SAN matches case-insensitively", named, 2, "ZK1.example.com", true, false, true},
		{"second DNS SAN matches", named, 2, "localhost", true, false, true},
		{"DNS SAN of another host", named, 2, "zk2.example.com", true, false, false},
		{"DNS SAN, host an IP", named, 2, "127.0.0.1", true, false, false},
		{"wildcard matches one label", wildcard, 2, "zk1.zk.example.com", true, false, true},
		{"wildcard matches no more", wildcard, 2, "a.zk1.zk.example.com", true, false, false},
		{"common name is not consulted", cnOnly, 2, "127.0.0.1", true, false, false},
		{"no host configured", ip, 2, "", true, false, false},
		{"no hostname verification: any host", ip, 2, "zk9.example.com", false, false, true},
		{"no hostname verification: no SAN at all", cnOnly, 2, "127.0.0.1", false, false, true},
		{"id name matches", member2, 2, "127.0.0.1", true, true, true},
		{"id name of another member", member2, 3, "127.0.0.1", true, true, false},
		{"id name is not a prefix", member22, 2, "127.0.0.1", true, true, false},
		{"id name has no wildcard", wildID, 2, "127.0.0.1", false, true, false},
		{"id name missing", ip, 2, "127.0.0.1", true, true, false},
		{"id name matches, host does not", member2, 2, "127.0.0.2", true, true, false},
		{"id name alone", member2, 2, "zk9.example.com", false, true, true},
		{"id name not required", member2, 3, "127.0.0.1", true, false, true},
	} {
		err := checkIdentity(c.cert, c.id, c.host, c.verifyHost, c.requireIDName)
		if (err == nil) != c.ok {
			t.Errorf("%s: checkIdentity(%v %v, %d, %q, host %v, id %v) = %v, want ok %v",
				c.name, c.cert.DNSNames, c.cert.IPAddresses, c.id, c.host, c.verifyHost, c.requireIDName, err, c.ok)
		}
	}
}

// Three transports over mutual TLS, with the server id names required,
// exchange raft and control messages as they do in plaintext.
func TestTLSExchange(t *testing.T) {
	ca := newCA(t, "quorum CA")
	nodes, _ := clusterWith(t, 3, withTLS(t, ca, func(c *Config) { c.RequireServerIDName = true }))
	exchangeInOrder(t, nodes)
}

// claim connects to addr over TLS with cert (and version, if not 0), sends
// a hello claiming to be server from to server to, then one raft message
// with the given index. Whether the acceptor refuses the certificate
// during its handshake or after, the connection is returned.
func claim(t *testing.T, addr string, cert tls.Certificate, version uint16, from, to, index uint64) net.Conn {
	t.Helper()
	raw := dial(t, addr)
	tc := tls.Client(raw, &tls.Config{
		// Sends its certificate whatever CAs the acceptor asks for, as an
		// attacker would.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		InsecureSkipVerify:   true, // an attacker does not care who accepts
		MinVersion:           version,
		MaxVersion:           version,
	})
	tc.SetDeadline(time.Now().Add(waitLimit))
	if err := tc.Handshake(); err != nil {
		return raw
	}
	tc.SetDeadline(time.Time{})
	frame := mustMarshal(t, app(from, to, index))
	msg := append(hello{from: from, to: to}.marshal(), frameHeader(KindRaft, len(frame))...)
	tc.Write(append(msg, frame...)) // fails if the acceptor has already refused
	return tc
}

// refused checks that the acceptor a closed conn without delivering the
// message with the given index.
func refused(t *testing.T, a *node, conn net.Conn, index uint64) {
	t.Helper()
	closedByServer(t, conn)
	a.h.lock()
	defer a.h.mu.Unlock()
	if a.h.has(func(e event) bool { return e.index == index }) {
		t.Fatalf("a message on a refused connection was delivered")
	}
}

// accepted waits until a delivers the message with the given index.
func accepted(t *testing.T, a *node, index uint64) {
	t.Helper()
	a.h.await(t, func() bool { return a.h.has(func(e event) bool { return e.index == index }) }, nil)
}

// cutOff checks that neither a nor b can reach the other: each one's
// raft is told its messages go nowhere, and nothing arrives.
func cutOff(t *testing.T, a, b *node, aID, bID uint64) {
	t.Helper()
	for _, d := range []struct {
		src, dst *node
		from, to uint64
	}{{a, b, aID, bID}, {b, a, bID, aID}} {
		d.src.rep.await(t, func() bool { return d.src.rep.count(report{id: d.to}) > 2 }, func() {
			d.src.tr.Send([]*raftpb.Message{app(d.from, d.to, 1)})
		})
	}
	for _, n := range []*node{a, b} {
		n.h.lock()
		if len(n.h.events) != 0 {
			t.Errorf("delivered %v over a link that must be refused", n.h.events)
		}
		n.h.mu.Unlock()
	}
}

// A certificate from a CA outside the trust store is refused, whichever
// end presents it.
func TestTLSUntrustedCA(t *testing.T) {
	ca, rogue := newCA(t, "quorum CA"), newCA(t, "rogue CA")
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
	a := start(t, 1, addrs, func(c *Config) { c.TLS = tlsConfig(ca.member(t, 1), ca) })

	// A client whose certificate names server 2 rightly but comes from
	// the other CA is refused in its handshake, in either version.
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		refused(t, a, claim(t, a.tr.Addr().String(), rogue.member(t, 2), v, 2, 1, 5), 5)
	}

	// A transport with such a certificate, even one that trusts a's CA,
	// cannot send to a, nor can a send to it.
	b := start(t, 2, addrs, func(c *Config) { c.TLS = tlsConfig(rogue.member(t, 2), ca, rogue) })
	cutOff(t, a, b, 1, 2)
}

// A certificate from the trusted CA that is not valid for the host of the
// server it claims is refused, whichever end presents it; without hostname
// verification it is accepted, as ZooKeeper accepts it.
func TestTLSHostBinding(t *testing.T) {
	ca := newCA(t, "quorum CA")
	elsewhere := ca.issue(t, leaf{ips: []string{"127.0.0.2"}, dns: []string{ServerIDName(2)}})

	t.Run("verified", func(t *testing.T) {
		addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
		a := start(t, 1, addrs, func(c *Config) { c.TLS = tlsConfig(ca.member(t, 1), ca) })
		b := start(t, 2, addrs, func(c *Config) { c.TLS = tlsConfig(elsewhere, ca) })
		cutOff(t, a, b, 1, 2)
	})
	t.Run("not verified", func(t *testing.T) {
		nodes, _ := clusterWith(t, 2, func(id uint64, c *Config) {
			cert := ca.member(t, id)
			if id == 2 {
				cert = elsewhere
			}
			c.TLS = tlsConfig(cert, ca)
			c.NoHostnameVerification = true
		})
		exchangeInOrder(t, nodes)
	})
}

// The hello's claimed id must be one the certificate is valid for: with
// hostname verification, one whose configured host the certificate names;
// with the server id name required, that very id.
func TestTLSClaimedID(t *testing.T) {
	ca := newCA(t, "quorum CA")
	cert2 := ca.member(t, 2) // 127.0.0.1 and server.2
	t.Run("host", func(t *testing.T) {
		// Server 3 is configured by name, server 2 by address.
		addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t), 3: "localhost:1"}
		a := start(t, 1, addrs, func(c *Config) { c.TLS = tlsConfig(ca.member(t, 1), ca) })
		refused(t, a, claim(t, a.tr.Addr().String(), cert2, 0, 3, 1, 5), 5)
		claim(t, a.tr.Addr().String(), cert2, 0, 2, 1, 6)
		accepted(t, a, 6)
	})
	t.Run("server id name", func(t *testing.T) {
		// All on one host: the host proves only that the peer is a member.
		addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t), 3: freeAddr(t)}
		loose := start(t, 1, addrs, func(c *Config) { c.TLS = tlsConfig(ca.member(t, 1), ca) })
		claim(t, loose.tr.Addr().String(), cert2, 0, 3, 1, 5)
		accepted(t, loose, 5)

		addrs[1] = freeAddr(t)
		strict := start(t, 1, addrs, func(c *Config) {
			c.TLS = tlsConfig(ca.member(t, 1), ca)
			c.RequireServerIDName = true
		})
		refused(t, strict, claim(t, strict.tr.Addr().String(), cert2, 0, 3, 1, 5), 5)
		claim(t, strict.tr.Addr().String(), cert2, 0, 2, 1, 6)
		accepted(t, strict, 6)
	})
}

// A port that requires TLS closes plaintext connections before their
// hello counts, and plaintext and TLS servers cannot talk.
func TestTLSRefusesPlaintext(t *testing.T) {
	ca := newCA(t, "quorum CA")
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
	a := start(t, 1, addrs, func(c *Config) { c.TLS = tlsConfig(ca.member(t, 1), ca) })
	conn := dial(t, a.tr.Addr().String())
	frame := mustMarshal(t, app(2, 1, 5))
	msg := append(hello{from: 2, to: 1}.marshal(), frameHeader(KindRaft, len(frame))...)
	if _, err := conn.Write(append(msg, frame...)); err != nil {
		t.Fatal(err)
	}
	refused(t, a, conn, 5)

	b := start(t, 2, addrs, nil)
	cutOff(t, a, b, 1, 2)
}

// The three steps of the rolling switch to TLS (see
// Config.PortUnification): at every step, servers restarted and servers
// not yet restarted all reach each other.
func TestRollingSwitchToTLS(t *testing.T) {
	ca := newCA(t, "quorum CA")
	type mode int
	const (
		plaintext mode = iota
		acceptTLS      // TLS, PortUnification, DialPlaintext
		dialTLS        // TLS, PortUnification
		tlsOnly        // TLS
	)
	for _, step := range []struct {
		name  string
		modes [3]mode
	}{
		{"accept TLS", [3]mode{plaintext, acceptTLS, acceptTLS}},
		{"dial TLS", [3]mode{acceptTLS, dialTLS, dialTLS}},
		{"TLS only", [3]mode{dialTLS, tlsOnly, tlsOnly}},
	} {
		t.Run(step.name, func(t *testing.T) {
			nodes, _ := clusterWith(t, 3, func(id uint64, c *Config) {
				m := step.modes[id-1]
				if m == plaintext {
					return
				}
				c.TLS = tlsConfig(ca.member(t, id), ca)
				c.PortUnification = m == acceptTLS || m == dialTLS
				c.DialPlaintext = m == acceptTLS
			})
			exchangeInOrder(t, nodes)
		})
	}

	// Port unification still verifies what comes over TLS, and takes a
	// plaintext peer on trust.
	rogue := newCA(t, "rogue CA")
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
	a := start(t, 1, addrs, func(c *Config) {
		c.TLS = tlsConfig(ca.member(t, 1), ca)
		c.PortUnification = true
	})
	refused(t, a, claim(t, a.tr.Addr().String(), rogue.member(t, 2), 0, 2, 1, 5), 5)
	refused(t, a, claim(t, a.tr.Addr().String(), ca.issue(t, leaf{ips: []string{"127.0.0.2"}}), 0, 2, 1, 6), 6)
	conn := dial(t, a.tr.Addr().String())
	frame := mustMarshal(t, app(2, 1, 7))
	msg := append(hello{from: 2, to: 1}.marshal(), frameHeader(KindRaft, len(frame))...)
	if _, err := conn.Write(append(msg, frame...)); err != nil {
		t.Fatal(err)
	}
	accepted(t, a, 7)
}

// stalledHandshakes opens connections to addr that stop at every step
// before the hello: one silent, one after the TLS record type, one in the
// middle of its ClientHello, one after a complete handshake.
func stalledHandshakes(t *testing.T, addr string, cert tls.Certificate) []net.Conn {
	t.Helper()
	silent := dial(t, addr)
	typ := dial(t, addr)
	half := dial(t, addr)
	for c, b := range map[net.Conn][]byte{
		typ:  {recordTypeHandshake},
		half: {recordTypeHandshake, 3, 1, 2, 0, 1, 0, 1, 0xfc, 3, 3},
	} {
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	raw := dial(t, addr)
	done := tls.Client(raw, &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true})
	done.SetDeadline(time.Now().Add(waitLimit))
	if err := done.Handshake(); err != nil {
		// Closed by a HelloTimeout shorter than the handshake took.
		return []net.Conn{silent, typ, half, raw}
	}
	done.SetDeadline(time.Time{})
	return []net.Conn{silent, typ, half, done}
}

// Handshakes that never finish hold up neither other peers nor the
// accept loop, and are closed once HelloTimeout passes.
func TestTLSStalledHandshake(t *testing.T) {
	ca := newCA(t, "quorum CA")
	addrs := map[uint64]string{1: freeAddr(t), 2: freeAddr(t)}
	a := start(t, 1, addrs, func(c *Config) {
		c.TLS = tlsConfig(ca.member(t, 1), ca)
		c.HelloTimeout = waitLimit // only the test ends them
	})
	stalled := stalledHandshakes(t, a.tr.Addr().String(), ca.member(t, 2))
	b := start(t, 2, addrs, func(c *Config) { c.TLS = tlsConfig(ca.member(t, 2), ca) })
	b.tr.Send([]*raftpb.Message{app(2, 1, 1)})
	accepted(t, a, 1)
	for i, c := range stalled {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		if ne := (net.Error)(nil); !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("stalled connection %d ended early: %v", i, err)
		}
	}

	addrs[1] = freeAddr(t)
	quick := start(t, 1, addrs, func(c *Config) {
		c.TLS = tlsConfig(ca.member(t, 1), ca)
		c.HelloTimeout = 200 * time.Millisecond
	})
	began := time.Now()
	for _, c := range stalledHandshakes(t, quick.tr.Addr().String(), ca.member(t, 2)) {
		closedByServer(t, c)
	}
	if waited := time.Since(began); waited > DefaultHelloTimeout {
		t.Fatalf("closed after %v, want about 200ms", waited)
	}
}

// A peer that accepts the connection but never answers the ClientHello
// costs its own messages only, for HelloTimeout per dial.
func TestTLSDialStalledPeer(t *testing.T) {
	ca := newCA(t, "quorum CA")
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	held := make(chan net.Conn, 64)
	go func() {
		for {
			conn, err := sink.Accept()
			if err != nil {
				return
			}
			held <- conn
		}
	}()
	defer func() {
		sink.Close()
		for {
			select {
			case c := <-held:
				c.Close()
			default:
				return
			}
		}
	}()
	addrs := map[uint64]string{1: freeAddr(t), 2: sink.Addr().String(), 3: freeAddr(t)}
	tweak := func(id uint64) func(*Config) {
		return func(c *Config) {
			c.TLS = tlsConfig(ca.member(t, id), ca)
			c.HelloTimeout = 300 * time.Millisecond
		}
	}
	a := start(t, 1, addrs, tweak(1))
	c := start(t, 3, addrs, tweak(3))
	a.tr.Send([]*raftpb.Message{app(1, 2, 1)})
	a.tr.Send([]*raftpb.Message{app(1, 3, 1)})
	accepted(t, c, 1)
	a.rep.await(t, func() bool { return a.rep.count(report{id: 2}) > 0 }, nil)
	a.rep.lock()
	defer a.rep.mu.Unlock()
	if n := a.rep.count(report{id: 3}); n != 0 {
		t.Fatalf("messages to the healthy peer were reported undelivered %d times", n)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	ca := newCA(t, "quorum CA")
	cert := ca.member(t, 1)
	good := func() *tls.Config { return tlsConfig(cert, ca) }
	for name, tweak := range map[string]func(*Config){
		"port unification without TLS":    func(c *Config) { c.TLS = nil; c.PortUnification = true },
		"id names without TLS":            func(c *Config) { c.TLS = nil; c.RequireServerIDName = true },
		"no hostname check without TLS":   func(c *Config) { c.TLS = nil; c.NoHostnameVerification = true },
		"dial plaintext without TLS":      func(c *Config) { c.TLS = nil; c.DialPlaintext = true },
		"dial plaintext without unifying": func(c *Config) { c.DialPlaintext = true },
		"no trust store":                  func(c *Config) { c.TLS.RootCAs = nil },
		"no certificate":                  func(c *Config) { c.TLS.Certificates = nil },
		"only a server certificate source": func(c *Config) {
			c.TLS.Certificates = nil
			c.TLS.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }
		},
		"InsecureSkipVerify": func(c *Config) { c.TLS.InsecureSkipVerify = true },
		"GetConfigForClient": func(c *Config) {
			c.TLS.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return nil, nil }
		},
		"TLS 1.1 at most": func(c *Config) { c.TLS.MaxVersion = tls.VersionTLS11 },
	} {
		cfg := Config{ID: 1, Listen: "127.0.0.1:0", Peers: map[uint64]string{2: "127.0.0.1:1"}, TLS: good()}
		tweak(&cfg)
		tr, err := New(cfg, &recorder{})
		if err == nil {
			tr.Close()
			t.Errorf("%s: New succeeded", name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "peer: ") {
			t.Errorf("%s: error %q", name, err)
		}
	}
	// The caller's config is left as it was.
	cfg := good()
	cfg.ClientAuth = tls.NoClientCert
	tr, err := New(Config{ID: 1, Listen: "127.0.0.1:0", TLS: cfg}, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if cfg.ClientAuth != tls.NoClientCert || cfg.InsecureSkipVerify || cfg.MinVersion != 0 {
		t.Fatalf("New modified the caller's tls.Config: %+v", cfg)
	}
}

// The identity a peer's certificate must prove is that of its current
// address: once a server is moved to a host its certificate names, it is
// let in; before, it is not.
func TestTLSPeerMoved(t *testing.T) {
	ca := newCA(t, "quorum CA")
	cert2 := ca.member(t, 2) // 127.0.0.1 and server.2
	addrs := map[uint64]string{1: freeAddr(t), 2: "127.0.0.2:1"}
	a := start(t, 1, addrs, func(c *Config) { c.TLS = tlsConfig(ca.member(t, 1), ca) })
	refused(t, a, claim(t, a.tr.Addr().String(), cert2, 0, 2, 1, 5), 5)
	if err := a.tr.SetPeer(2, "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	claim(t, a.tr.Addr().String(), cert2, 0, 2, 1, 6)
	accepted(t, a, 6)
	if err := a.tr.SetPeer(2, "127.0.0.2:1"); err != nil {
		t.Fatal(err)
	}
	refused(t, a, claim(t, a.tr.Addr().String(), cert2, 0, 2, 1, 7), 7)
}
