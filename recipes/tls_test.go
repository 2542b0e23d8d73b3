package recipes

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/tlsconf"
	"github.com/zookit/zookit/ensemble/tlsconf/tlstest"
)

// A Client WithTLS talks to the secure port, authenticated by its
// certificate for x509 ACLs, keeps its session across a server restart,
// and still bounds replies (the sniffer reads above TLS); one without a
// certificate gets no session when the server needs one.
func TestTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "recipes CA")
	srv := ensembletest.Start(t, ensembletest.WithTLS(ca.Server(t, "zk"), tlsconf.PKCS12, nil))
	alice := ca.Client(t, pkix.Name{CommonName: "alice"})
	bob := ca.Client(t, pkix.Name{CommonName: "bob"})
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()

	own := []zk.ACL{{Perms: zk.PermAll, Scheme: "x509", ID: alice.ID()}}
	a := connect(t, srv.SecureAddr(), WithTLS(alice.ClientConfig("")), WithACL(own), WithMaxReply(4096))
	b := connect(t, srv.SecureAddr(), WithTLS(bob.ClientConfig("")))
	if _, err := a.CreateWithParents(ctx, "/tls/mine", []byte("secret"), Persistent); err != nil {
		t.Fatal(err)
	}
	if data, _, err := a.Get(ctx, "/tls/mine"); err != nil || string(data) != "secret" {
		t.Fatalf("alice: %q, %v", data, err)
	}
	if _, _, err := b.Get(ctx, "/tls/mine"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("bob: %v, want NOAUTH", err)
	}

	session := a.SessionID()
	srv.Restart()
	if _, err := a.Set(ctx, "/tls/mine", []byte("again"), -1); err != nil {
		t.Fatal(err)
	}
	if a.SessionID() != session {
		t.Errorf("the session changed across the restart")
	}

	big := make([]byte, 8192)
	if _, err := a.Create(ctx, "/tls/big", big, Persistent); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Get(ctx, "/tls/big"); !errors.Is(err, ErrReplyTooLarge) {
		t.Fatalf("8 KiB under a 4 KiB bound: %v, want ErrReplyTooLarge", err)
	}
	if _, _, err := a.Get(ctx, "/tls/mine"); err != nil {
		t.Fatalf("a small read after the refused reply: %v", err)
	}

	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	anon := &tls.Config{RootCAs: ca.Pool()}
	if c, err := New(short, []string{srv.SecureAddr()}, WithTLS(anon)); err == nil {
		c.Close()
		t.Fatal("a client without a certificate got a session")
	}
	// A client that does not trust the server's CA does not connect.
	other := tlstest.NewCA(t, "other")
	short2, cancelShort2 := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort2()
	if c, err := New(short2, []string{srv.SecureAddr()}, WithTLS(other.Client(t, pkix.Name{CommonName: "x"}).ClientConfig(""))); err == nil {
		c.Close()
		t.Fatal("a client connected to a server it does not trust")
	}
}
