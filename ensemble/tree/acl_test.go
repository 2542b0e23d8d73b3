package tree

import (
	"testing"

	"github.com/zookit/zookit/ensemble/proto"
)

const superDigest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="

var (
	alice    = proto.ID{Scheme: "digest", ID: "alice:aHash="}
	bob      = proto.ID{Scheme: "digest", ID: "bob:bHash="}
	superID  = proto.ID{Scheme: "digest", ID: superDigest}
	localIP  = proto.ID{Scheme: "ip", ID: "10.1.2.3"}
	remoteIP = proto.ID{Scheme: "ip", ID: "192.168.0.9"}
)

func acl(perms int32, scheme, id string) proto.ACL {
	return proto.ACL{Perms: perms, ID: proto.ID{Scheme: scheme, ID: id}}
}

func TestACLChecks(t *testing.T) {
	h := newHarness(t, WithSuperDigest(superDigest))
	nodeACL := []proto.ACL{
		acl(proto.PermRead|proto.PermAdmin, "digest", alice.ID),
		acl(proto.PermWrite, "ip", "10.0.0.0/8"),
		acl(proto.PermCreate|proto.PermDelete, "ip", "192.168.0.9"),
	}
	if res := h.createReq(proto.OpCreate, 0, &proto.CreateRequest{Path: "/s", ACL: nodeACL}); res.Err != proto.OK {
		t.Fatal(res.Err)
	}
	write := func(auth ...proto.ID) proto.Code {
		return h.apply(&Txn{Op: proto.OpSetData, Auth: auth, Req: &proto.SetDataRequest{Path: "/s", Version: -1}}).Err
	}
	read := func(op proto.Op, auth ...proto.ID) proto.Code {
		var req proto.Record = &proto.PathWatch{Path: "/s"}
		if op == proto.OpGetACL || op == proto.OpGetAllChildrenNumber {
			req = &proto.PathRequest{Path: "/s"}
		}
		_, err := h.tr.Read(Caller{Auth: auth}, op, req)
		return proto.CodeOf(err)
	}
	tests := []struct {
		name string
		got  proto.Code
		want proto.Code
	}{
		{"write, no auth", write(), proto.ErrNoAuth},
		{"write, alice", write(alice), proto.ErrNoAuth},
		{"write, ip in /8", write(localIP), proto.OK},
		{"write, ip outside /8", write(remoteIP), proto.ErrNoAuth},
		{"write, super", write(superID), proto.OK},
		{"write, super scheme is not trusted", write(proto.ID{Scheme: "super"}), proto.ErrNoAuth},
		{"getData, anonymous", read(proto.OpGetData), proto.ErrNoAuth},
		{"getData, alice", read(proto.OpGetData, alice), proto.OK},
		{"getData, bob", read(proto.OpGetData, bob), proto.ErrNoAuth},
		{"getData, super", read(proto.OpGetData, superID), proto.OK},
		{"exists, anonymous", read(proto.OpExists), proto.ErrNoAuth},
		{"getChildren, anonymous", read(proto.OpGetChildren), proto.ErrNoAuth},
		{"getChildren2, anonymous", read(proto.OpGetChildren2), proto.ErrNoAuth},
		{"getAllChildrenNumber, anonymous", read(proto.OpGetAllChildrenNumber), proto.ErrNoAuth},
		{"getACL, anonymous", read(proto.OpGetACL), proto.ErrNoAuth},
		{"getACL, alice", read(proto.OpGetACL, alice), proto.OK},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}

	createAs := func(path string, auth ...proto.ID) proto.Code {
		return h.apply(&Txn{Op: proto.OpCreate, Auth: auth, Req: &proto.CreateRequest{Path: path, ACL: open}}).Err
	}
	deleteAs := func(path string, auth ...proto.ID) proto.Code {
		return h.apply(&Txn{Op: proto.OpDelete, Auth: auth, Req: &proto.PathInt{Path: path, N: -1}}).Err
	}
	eq(t, "create without CREATE on parent", createAs("/s/c", localIP), proto.ErrNoAuth)
	eq(t, "create with CREATE on parent", createAs("/s/c", remoteIP), proto.OK)
	eq(t, "delete without DELETE on parent", deleteAs("/s/c", alice), proto.ErrNoAuth)
	// NoAuth on the parent comes before NoNode of the child.
	eq(t, "delete missing without DELETE", deleteAs("/s/zz", alice), proto.ErrNoAuth)
	eq(t, "delete with DELETE on parent", deleteAs("/s/c", remoteIP), proto.OK)

	// exists on a missing node needs no permission at all.
	_, err := h.tr.Read(Caller{}, proto.OpExists, &proto.PathWatch{Path: "/s/missing"})
	eq(t, "exists missing", err, error(proto.ErrNoNode))
	_, err = h.tr.Read(Caller{}, proto.OpExists, &proto.PathWatch{Path: "/s\x00"})
	eq(t, "exists with NUL", err, error(proto.ErrBadArguments))
}

func TestGetACLMasking(t *testing.T) {
	h := newHarness(t, WithSuperDigest(superDigest))
	nodeACL := []proto.ACL{
		acl(proto.PermRead, "world", "anyone"),
		acl(proto.PermAll, "digest", alice.ID),
		acl(proto.PermRead, "ip", "10.0.0.0/8"),
	}
	h.createReq(proto.OpCreate, 0, &proto.CreateRequest{Path: "/m", ACL: nodeACL})
	get := func(auth ...proto.ID) []proto.ACL {
		r, err := h.tr.Read(Caller{Auth: auth}, proto.OpGetACL, &proto.PathRequest{Path: "/m"})
		if err != nil {
			t.Fatal(err)
		}
		return r.(*proto.GetACLResponse).ACL
	}
	masked := []proto.ACL{nodeACL[0], acl(proto.PermAll, "digest", "alice:x"), nodeACL[2]}
	eq(t, "anonymous sees masked hashes", get(), masked)
	eq(t, "bob sees masked hashes", get(bob), masked)
	eq(t, "alice (ADMIN) sees hashes", get(alice), nodeACL)
	eq(t, "super sees hashes", get(superID), nodeACL)
}

func TestACLFixup(t *testing.T) {
	h := newHarness(t, WithSuperDigest(superDigest))
	create := func(path string, a []proto.ACL, auth ...proto.ID) proto.Code {
		return h.apply(&Txn{Op: proto.OpCreate, Auth: auth, Req: &proto.CreateRequest{Path: path, ACL: a}}).Err
	}
	getACL := func(path string) []proto.ACL {
		r, err := h.tr.Read(Caller{Auth: []proto.ID{superID}}, proto.OpGetACL, &proto.PathRequest{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		return r.(*proto.GetACLResponse).ACL
	}
	// "auth" expands to every digest identity of the caller, ip ones do not count.
	eq(t, "auth", create("/a", []proto.ACL{acl(proto.PermAll, "auth", "")}, alice, localIP, bob), proto.OK)
	eq(t, "auth expanded", getACL("/a"), []proto.ACL{acl(proto.PermAll, "digest", alice.ID), acl(proto.PermAll, "digest", bob.ID)})
	// Duplicates are dropped.
	eq(t, "dups", create("/d", []proto.ACL{open[0], open[0]}), proto.OK)
	eq(t, "dups dropped", getACL("/d"), open)
	valid := []string{"1.2.3.4", "1.2.3.4/0", "1.2.3.4/32", "0.0.0.0/8"}
	for i, ip := range valid {
		eq(t, "ip "+ip, create("/ip"+string(rune('a'+i)), []proto.ACL{acl(31, "ip", ip)}), proto.OK)
	}
	for _, ip := range []string{"1.2.3.256", "1.2.3.4/-1", "1.2.3.4/x", "::1", "1.2.3.4.5", ""} {
		eq(t, "ip "+ip, create("/bad", []proto.ACL{acl(31, "ip", ip)}), proto.ErrInvalidACL)
	}
	for _, id := range []string{"a:b", ":b", "a:b:"} {
		eq(t, "digest "+id, validDigestID(id), true)
	}
	for _, id := range []string{"", "ab", "a:", ":", "a:b:c", "a::b"} {
		eq(t, "digest "+id, validDigestID(id), false)
	}
}

func TestIPMatching(t *testing.T) {
	tests := []struct {
		addr, expr string
		want       bool
	}{
		{"10.1.2.3", "10.1.2.3", true},
		{"10.1.2.4", "10.1.2.3", false},
		{"10.1.2.4", "10.1.2.3/24", true},
		{"10.1.3.4", "10.1.2.3/24", false},
		{"10.1.3.4", "10.1.2.3/22", true},
		{"10.1.3.4", "10.1.2.3/23", true},
		{"10.1.4.4", "10.1.2.3/23", false},
		{"99.1.2.3", "10.1.2.3/0", true},
		{"not-an-ip", "10.1.2.3/0", false},
		{"10.1.2.3", "bad", false},
	}
	for _, tc := range tests {
		eq(t, tc.addr+" in "+tc.expr, ipMatches(tc.addr, tc.expr), tc.want)
	}
}

// x509 ids match exactly; the configured x509 super user passes every
// check; "auth" expands to x509 ids as to digest ones; an x509 ACL must
// name a distinguished name Java can parse.
func TestX509ACL(t *testing.T) {
	const root = "CN=root,O=ops"
	h := newHarness(t, WithX509SuperUser(root))
	alice := proto.ID{Scheme: "x509", ID: `CN=alice,O=Acme\, Inc.`}
	mallory := proto.ID{Scheme: "x509", ID: `CN=alice,O=Acme Inc.`}
	if res := h.createReq(proto.OpCreate, 0, &proto.CreateRequest{Path: "/x", ACL: []proto.ACL{acl(proto.PermAll, "x509", alice.ID)}}); res.Err != proto.OK {
		t.Fatal(res.Err)
	}
	get := func(auth ...proto.ID) proto.Code {
		_, err := h.tr.Read(Caller{Auth: auth}, proto.OpGetData, &proto.PathWatch{Path: "/x"})
		return proto.CodeOf(err)
	}
	eq(t, "alice", get(alice), proto.OK)
	eq(t, "another subject", get(mallory), proto.ErrNoAuth)
	eq(t, "alice's subject as a digest", get(proto.ID{Scheme: "digest", ID: alice.ID}), proto.ErrNoAuth)
	eq(t, "anonymous", get(), proto.ErrNoAuth)
	eq(t, "x509 super user", get(proto.ID{Scheme: "x509", ID: root}), proto.OK)
	eq(t, "super user's name as a digest", get(proto.ID{Scheme: "digest", ID: root}), proto.ErrNoAuth)
	eq(t, "super scheme", get(proto.ID{Scheme: "super", ID: root}), proto.ErrNoAuth)

	create := func(path string, a []proto.ACL, auth ...proto.ID) proto.Code {
		return h.apply(&Txn{Op: proto.OpCreate, Auth: auth, Req: &proto.CreateRequest{Path: path, ACL: a}}).Err
	}
	eq(t, "auth with x509", create("/a", []proto.ACL{acl(proto.PermRead, "auth", "")}, localIP, alice), proto.OK)
	r, err := h.tr.Read(Caller{Auth: []proto.ID{alice}}, proto.OpGetACL, &proto.PathRequest{Path: "/a"})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "auth expanded", r.(*proto.GetACLResponse).ACL, []proto.ACL{{Perms: proto.PermRead, ID: alice}})
	eq(t, "auth with ip alone", create("/b", []proto.ACL{acl(proto.PermRead, "auth", "")}, localIP), proto.ErrInvalidACL)
	for i, dn := range []string{"CN=a", "", "cn=a;o=b", "2.5.4.3=#0c0161", "CN=a+OU=b"} {
		eq(t, "valid x509 "+dn, create("/v"+string(rune('a'+i)), []proto.ACL{acl(proto.PermAll, "x509", dn)}), proto.OK)
	}
	for _, dn := range []string{"alice", "XYZ=a", "CN=a,", "CN=a<b"} {
		eq(t, "invalid x509 "+dn, create("/bad", []proto.ACL{acl(proto.PermAll, "x509", dn)}), proto.ErrInvalidACL)
	}
}
