package server_test

import (
	"crypto/tls"
	"fmt"
	"maps"
	"net"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/server"
	"github.com/zookit/zookit/ensemble/tlsconf"
	"github.com/zookit/zookit/ensemble/tlsconf/tlstest"
)

// With sslQuorum=true and each member's own PKCS12 stores, a three-server
// ensemble forms and replicates over mutual TLS, and the quorum port refuses
// a stranger: one whose certificate another CA issued, and one that speaks
// plaintext.
func TestQuorumTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "quorum-ca")
	stores := map[uint64]map[string]string{}
	for id := uint64(1); id <= 3; id++ {
		name := fmt.Sprintf("server.%d", id)
		stores[id] = ca.Server(t, name, name).Stores(t, tlsconf.Quorum, tlsconf.PKCS12, t.TempDir(), "secret")
	}
	c := ensembletest.StartCluster(t, 3, 0, ensembletest.WithConfig(func(cfg *config.Config) {
		cfg.Other["sslQuorum"] = "true"
		maps.Copy(cfg.Props, stores[cfg.MyID])
		cfg.Props[server.RequireServerIDNameProperty] = "true"
	}))
	leader := c.WaitLeader()

	conn, _, err := zk.Connect([]string{leader.Addr()}, 4*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Create("/over-tls", []byte("v"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Members() {
		follower, _, err := zk.Connect([]string{m.Addr()}, 4*time.Second, zk.WithLogger(nopLogger{}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := follower.Sync("/over-tls"); err != nil {
			t.Fatal(err)
		}
		if data, _, err := follower.Get("/over-tls"); err != nil || string(data) != "v" {
			t.Errorf("server %d: got %q, %v", m.ID, data, err)
		}
		follower.Close()
	}

	self, _ := leader.Config().Self()
	quorum := self.QuorumAddr()
	// The port speaks TLS, with a certificate of the ensemble's CA.
	member, err := tls.Dial("tcp", quorum, ca.Server(t, "server.9", "server.9").ClientConfig("127.0.0.1"))
	if err != nil {
		t.Fatalf("TLS handshake with the quorum port: %v", err)
	}
	member.Close()
	stranger := tlstest.NewCA(t, "stranger-ca").Server(t, "server.2", "server.2")
	nc, err := net.Dial("tcp", quorum)
	if err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(nc, stranger.ClientConfig("127.0.0.1"))
	if err := tc.Handshake(); err == nil && !closedSoon(tc, 5*time.Second) {
		t.Error("the quorum port kept a peer whose certificate another CA issued")
	}
	tc.Close()
	plain, err := net.Dial("tcp", quorum)
	if err != nil {
		t.Fatal(err)
	}
	plain.Write([]byte("not a TLS record, the plaintext hello of an old peer"))
	if !closedSoon(plain, 5*time.Second) {
		t.Error("the TLS-only quorum port kept a plaintext connection")
	}
	plain.Close()

	// The refusals cost the ensemble nothing.
	if _, err := conn.Set("/over-tls", []byte("w"), -1); err != nil {
		t.Fatal(err)
	}
	if l := c.WaitLeader(); l.ID != leader.ID {
		t.Errorf("leadership moved from %d to %d", leader.ID, l.ID)
	}
}

// A quorum TLS setting that cannot be honoured stops the server at start.
func TestQuorumTLSConfigErrors(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	stores := ca.Server(t, "server.1").Stores(t, tlsconf.Quorum, tlsconf.PEM, t.TempDir(), "")
	for name, set := range map[string]map[string]string{
		"sslQuorum without stores":          {"sslQuorum": "true"},
		"one-way quorum TLS":                {"sslQuorum": "true", "zookeeper.ssl.quorum.clientAuth": "none"},
		"requireServerIdName without TLS":   {server.RequireServerIDNameProperty: "true"},
		"requireServerIdName not a boolean": {"sslQuorum": "true", server.RequireServerIDNameProperty: "yes please"},
	} {
		t.Run(name, func(t *testing.T) {
			ports := ensembletest.FreePorts(t, 6)
			cfg := &config.Config{
				DataDir: t.TempDir(), TickTime: 200 * time.Millisecond, InitLimit: 10, SyncLimit: 5,
				MyID: 1, Other: map[string]string{}, Props: map[string]string{},
				Servers: []config.Server{
					{ID: 1, Host: "127.0.0.1", QuorumPort: ports[0], ElectionPort: ports[1]},
					{ID: 2, Host: "127.0.0.1", QuorumPort: ports[2], ElectionPort: ports[3]},
					{ID: 3, Host: "127.0.0.1", QuorumPort: ports[4], ElectionPort: ports[5]},
				},
			}
			if name != "sslQuorum without stores" && name != "requireServerIdName without TLS" {
				maps.Copy(cfg.Props, stores)
			}
			for k, v := range set {
				if k == "sslQuorum" {
					cfg.Other[k] = v
				} else {
					cfg.Props[k] = v
				}
			}
			if s, err := server.New(cfg); err == nil {
				s.Close()
				t.Fatal("New accepted it")
			} else {
				t.Log(err)
			}
		})
	}
}
