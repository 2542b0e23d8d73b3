package adversarial

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/proto"
)

// attacks is every attack of issue 10, in its order.
var attacks = []attack{
	{name: "ForgedPeer", ensembleOnly: "a standalone server has no quorum port", configure: quorumTLS, run: forgedPeer},
	{name: "WatchesIgnoringACL", run: watchesIgnoringACL},
	{name: "AddAuthAmplification", run: addAuthAmplification},
	{name: "DiskFull", configure: smallDisk, stopsVictim: true, run: diskFull},
	{name: "OversizeReply", run: oversizeReply},
	{name: "OutstandingFlood", run: outstandingFlood},
	{name: "PeerPort", ensembleOnly: "a standalone server has no quorum port", run: peerPort},
	{name: "SlowReader", run: slowReader},
	{name: "HalfOpenHandshakes", configure: shortHandshake, idle: true, run: halfOpenHandshakes},
	{name: "HandshakeFlood", run: handshakeFlood},
	{name: "WatchFlood", run: watchFlood},
}

// owner is a client on the victim that holds the digest identity
// owner:secret, which alone may read what ownerOnly protects.
func owner(t *testing.T, sc *scene) *zk.Conn {
	t.Helper()
	c := connect(t, sc.victim.Addr())
	t.Cleanup(c.Close)
	if err := c.AddAuth("digest", []byte("owner:secret")); err != nil {
		t.Fatal(err)
	}
	return c
}

// ownerOnly grants everything to owner:secret and nothing to anyone else.
var ownerOnly = func() []zk.ACL {
	sum := sha1.Sum([]byte("owner:secret"))
	return []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: "owner:" + base64.StdEncoding.EncodeToString(sum[:])}}
}()

// watchesIgnoringACL: an anonymous session tries every way of watching a
// node it may not read (addWatch, setWatches, setWatches2), then the owner
// changes the node and creates children under it. The attacker must get
// NOAUTH for addWatch and no event at all about the node, while a
// recursive watch set the same ways on a readable node does deliver, so
// that the check can fail.
func watchesIgnoringACL(t *testing.T, sc *scene) {
	own := owner(t, sc)
	for _, p := range []string{"/secret", "/pub"} {
		acl := zk.WorldACL(zk.PermAll)
		if p == "/secret" {
			acl = ownerOnly
		}
		if _, err := own.Create(p, nil, 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	atk := rawSession(t, sc.victim.Addr())
	for _, mode := range []int32{proto.AddWatchPersistent, proto.AddWatchPersistentRecursive} {
		if _, err := atk.call(proto.OpAddWatch, &proto.PathInt{Path: "/secret", N: mode}, &proto.IntResponse{}); !errors.Is(err, proto.ErrNoAuth) {
			t.Errorf("addWatch(/secret, mode %d) without READ: %v, want NOAUTH", mode, err)
		}
	}
	// A reconnecting client sends setWatches with the xid -8; relative
	// zxid 0 makes the server fire at once every watch whose node has
	// changed since, which would tell of /secret. The exist watch is on a
	// node that does not exist yet, which anyone may watch (exists answers
	// NONODE whatever the ACLs); its creation must not be told.
	secret := []string{"/secret"}
	missing := []string{"/secret/a"}
	for _, sw := range []*proto.SetWatches{
		{Data: secret, Exist: missing, Child: secret},
		{V2: true, Data: secret, Exist: missing, Child: secret, Persistent: secret, PersistentRecursive: []string{"/secret", "/pub"}},
	} {
		op := proto.OpSetWatches
		if sw.V2 {
			op = proto.OpSetWatches2
		}
		b := proto.AppendFrame(nil, &proto.RequestHeader{Xid: proto.XidSetWatches, Type: op}, sw)
		if err := atk.write(b); err != nil {
			t.Fatal(err)
		}
		if evs, err := atk.await(proto.XidSetWatches, nil); err != nil || leaked(evs) != "" {
			t.Fatalf("%v: %v, events %v", op, err, evs)
		}
	}
	for _, p := range []string{"/secret/a", "/secret/b", "/pub/a"} {
		if _, err := own.Create(p, []byte("x"), 0, ownerOnly); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := own.Set("/secret", []byte("changed"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := own.Create("/pub/shown", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	// The owner's writes were answered by the victim, so their events were
	// queued for the attacker before the reply to this later read.
	evs, err := atk.call(proto.OpExists, &proto.PathWatch{Path: "/pub"}, &proto.StatResponse{})
	if err != nil {
		t.Fatal(err)
	}
	if p := leaked(evs); p != "" {
		t.Errorf("the attacker heard of %s, which it may not read; events %v", p, evs)
	}
	if len(evs) != 1 || evs[0].Path != "/pub/shown" || evs[0].Type != proto.EventNodeCreated {
		t.Errorf("events %v, want only NodeCreated /pub/shown (the control)", evs)
	}
}

// leaked is the first event path the attacker may not read, or "".
func leaked(evs []proto.WatcherEvent) string {
	for _, ev := range evs {
		if strings.HasPrefix(ev.Path, "/secret") || ev.Path == "/pub/a" {
			return ev.Path
		}
	}
	return ""
}
