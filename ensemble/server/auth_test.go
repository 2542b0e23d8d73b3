package server_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/internal/zkwire"
)

// whoAmI names a digest identity by its user alone, as ZooKeeper's digest
// provider does, and a digest credential without a colon is accepted, the
// whole of it being the user, as ZooKeeper accepts it.
func TestWhoAmIAndDigestWithoutColon(t *testing.T) {
	srv := ensembletest.Start(t)
	x, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := zkwire.New(srv.Addr(), zkwire.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, cred := range []string{"alice:secret", "bob"} {
		if err := c.AddAuth(x, "digest", []byte(cred)); err != nil {
			t.Fatalf("addAuth %q: %v", cred, err)
		}
	}
	ids, err := c.WhoAmI(x)
	if err != nil {
		t.Fatal(err)
	}
	// In ZooKeeper's order, that of the hash set it keeps them in (the
	// interop suite compares it with Apache ZooKeeper's).
	want := []proto.ID{{Scheme: "digest", ID: "alice"}, {Scheme: "digest", ID: "bob"}, {Scheme: "ip", ID: "127.0.0.1"}}
	if !slices.Equal(ids, want) {
		t.Fatalf("whoAmI %v, want %v", ids, want)
	}
	// bob's identity is bob:<sha1("bob")>: a node only it may read.
	sum := sha1.Sum([]byte("bob"))
	acl := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "digest", ID: "bob:" + base64.StdEncoding.EncodeToString(sum[:])}}}
	if _, _, err := c.Create(x, "/bob", []byte("x"), acl, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get(x, "/bob", false); err != nil {
		t.Fatalf("bob reading its own node: %v", err)
	}
}
