package server_test

import (
	"crypto/sha1"
	"encoding/base64"
	"slices"
	"testing"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
)

// whoAmI names a digest identity by its user alone, as ZooKeeper's digest
// provider does, and a digest credential without a colon is accepted, the
// whole of it being the user, as ZooKeeper accepts it.
func TestWhoAmIAndDigestWithoutColon(t *testing.T) {
	srv := ensembletest.Start(t)
	x := opCtx(t)
	c := wireClient(t, srv.Addr(), "alice:secret", "bob")
	ids, err := c.WhoAmI(x)
	if err != nil {
		t.Fatal(err)
	}
	want := []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "digest", ID: "alice"}, {Scheme: "digest", ID: "bob"}}
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
