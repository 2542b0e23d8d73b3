package tree

import (
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/internal/x500"
)

// Schemes understood: ZooKeeper's ProviderRegistry defaults, world, auth
// (expanded on write), digest and ip, and x509, which ZooKeeper has when
// zookeeper.authProvider.x509 names its X509AuthenticationProvider. zookit
// always has it: whether an ACL is valid is decided when the create or
// setACL applies, on every server, so it must not depend on a server's
// TLS settings.
const (
	schemeWorld  = "world"
	schemeAuth   = "auth"
	schemeDigest = "digest"
	schemeIP     = "ip"
	// schemeX509 ids are client certificate subjects as Java's
	// X500Principal.getName() prints them; only the server gives them,
	// to a connection whose client presented a verified certificate.
	schemeX509 = "x509"
	// schemeSASL ids are the authorization ids of SASL exchanges, given
	// by the server; like x509, always a valid scheme here, where
	// ZooKeeper needs its SASLAuthenticationProvider configured.
	schemeSASL = "sasl"
)

// schemeDigestSum is the compact form of a digest identity in a Txn: the
// identity ("user:hash") hashed with SHA-256. fixupACL refuses the scheme,
// so no ACL names it and it matches a digest ACL entry only through
// holdsDigest.
const schemeDigestSum = "digest-sha256"

var (
	openACL = []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: schemeWorld, ID: "anyone"}}}
	readACL = []proto.ACL{{Perms: proto.PermRead, ID: proto.ID{Scheme: schemeWorld, ID: "anyone"}}}
)

// fixupACL validates and expands an ACL list given to create or setACL
// (PrepRequestProcessor.fixupACL): duplicates dropped, "auth" replaced by the
// caller's authenticated ids, every other id checked by its scheme.
func fixupACL(acls []proto.ACL, auth []proto.ID) ([]proto.ACL, error) {
	var uniq []proto.ACL
	for _, a := range acls {
		if !slices.Contains(uniq, a) {
			uniq = append(uniq, a)
		}
	}
	if len(uniq) == 0 {
		return nil, proto.ErrInvalidACL
	}
	out := make([]proto.ACL, 0, len(uniq))
	for _, a := range uniq {
		switch {
		case a.ID.Scheme == schemeWorld && a.ID.ID == "anyone":
			out = append(out, a)
		case a.ID.Scheme == schemeAuth:
			found := false
			for _, id := range auth {
				// digest, x509 and sasl are the authenticated
				// schemes (AuthenticationProvider.isAuthenticated);
				// an ip identity does not count.
				if id.Scheme == schemeDigest || id.Scheme == schemeX509 || id.Scheme == schemeSASL {
					out = append(out, proto.ACL{Perms: a.Perms, ID: id})
					found = true
				}
			}
			if !found {
				return nil, proto.ErrInvalidACL
			}
		case a.ID.Scheme == schemeDigest && validDigestID(a.ID.ID),
			a.ID.Scheme == schemeIP && validIPExpr(a.ID.ID),
			// X509AuthenticationProvider.isValid: a name X500Principal
			// parses.
			a.ID.Scheme == schemeX509 && x500.Valid(a.ID.ID),
			a.ID.Scheme == schemeSASL && validSASLID(a.ID.ID):
			out = append(out, a)
		default:
			return nil, proto.ErrInvalidACL
		}
	}
	return out, nil
}

// validDigestID is DigestAuthenticationProvider.isValid: Java's
// id.split(":") must give two parts, and split drops trailing empty parts.
func validDigestID(id string) bool {
	if !strings.Contains(id, ":") {
		return false
	}
	parts := strings.Split(id, ":")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return len(parts) == 2
}

// validSASLID is SASLAuthenticationProvider.isValid: what Hadoop's
// KerberosName parses, which is any name unless it holds an "@" outside
// the form primary[/instance]@realm.
func validSASLID(id string) bool {
	at := strings.Count(id, "@")
	if at == 0 {
		return true
	}
	name, _, _ := strings.Cut(id, "@")
	return at == 1 && strings.Count(name, "/") <= 1
}

// parseIPv4 is IPAuthenticationProvider.v4addr2Bytes.
func parseIPv4(s string) ([4]byte, bool) {
	var b [4]byte
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return b, false
	}
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 255 {
			return b, false
		}
		b[i] = byte(v)
	}
	return b, true
}

// parseIPExpr reads "a.b.c.d[/bits]".
func parseIPExpr(expr string) (addr [4]byte, bits int, ok bool) {
	a, b, hasBits := strings.Cut(expr, "/")
	addr, ok = parseIPv4(a)
	if !ok {
		return addr, 0, false
	}
	bits = 32
	if hasBits {
		n, err := strconv.Atoi(b)
		if err != nil || n < 0 || n > 32 {
			return addr, 0, false
		}
		bits = n
	}
	return addr, bits, true
}

func validIPExpr(expr string) bool {
	_, _, ok := parseIPExpr(expr)
	return ok
}

func maskIPv4(b [4]byte, bits int) [4]byte {
	for i := range b {
		switch {
		case bits >= 8:
			bits -= 8
		case bits <= 0:
			b[i] = 0
		default:
			b[i] &^= byte(0xff >> bits)
			bits = 0
		}
	}
	return b
}

// ipMatches is IPAuthenticationProvider.matches: addr is the client's
// address, expr the ACL's "a.b.c.d[/bits]".
func ipMatches(addr, expr string) bool {
	acl, bits, ok := parseIPExpr(expr)
	if !ok {
		return false
	}
	remote, ok := parseIPv4(addr)
	return ok && maskIPv4(remote, bits) == maskIPv4(acl, bits)
}

// allowed is ZooKeeperServer.checkACL: does auth hold perm on a node with
// this ACL? An empty ACL allows everything, the super digest passes every
// check.
func (t *Tree) allowed(acl []proto.ACL, perm int32, auth []proto.ID) bool {
	if len(acl) == 0 || t.isSuper(auth) {
		return true
	}
	for _, a := range acl {
		if a.Perms&perm == 0 {
			continue
		}
		switch a.ID.Scheme {
		case schemeWorld:
			if a.ID.ID == "anyone" {
				return true
			}
		case schemeX509, schemeSASL:
			if slices.Contains(auth, a.ID) {
				return true
			}
		case schemeDigest:
			if holdsDigest(auth, a.ID.ID, nil) {
				return true
			}
		case schemeIP:
			for _, id := range auth {
				if id.Scheme == schemeIP && ipMatches(id.ID, a.ID.ID) {
					return true
				}
			}
		}
	}
	return false
}

// isSuper: the super digest, the x509 super user
// (zookeeper.X509AuthenticationProvider.superUser) or the SASL one
// (zookeeper.superUser). ZooKeeper marks both
// with an identity of scheme "super" on the connection; the tree does not
// trust that scheme, which anything could claim in a transaction, and
// checks the identities the server itself gives.
func (t *Tree) isSuper(auth []proto.ID) bool {
	return t.opts.superDigest != "" && holdsDigest(auth, t.opts.superDigest, &t.superSum) ||
		t.opts.x509Super != "" && slices.Contains(auth, proto.ID{Scheme: schemeX509, ID: t.opts.x509Super}) ||
		t.opts.saslSuper != "" && slices.Contains(auth, proto.ID{Scheme: schemeSASL, ID: t.opts.saslSuper})
}

// holdsDigest reports whether auth holds the digest identity id, whole or
// as its sum; sum, when not nil, is id's sum computed beforehand.
func holdsDigest(auth []proto.ID, id string, sum *proto.ID) bool {
	summed := false
	for _, x := range auth {
		switch x.Scheme {
		case schemeDigest:
			if x.ID == id {
				return true
			}
		case schemeDigestSum:
			summed = true
		}
	}
	if !summed {
		return false
	}
	if sum == nil {
		s := digestSum(id)
		sum = &s
	}
	return slices.Contains(auth, *sum)
}

func digestSum(id string) proto.ID {
	sum := sha256.Sum256([]byte(id))
	return proto.ID{Scheme: schemeDigestSum, ID: base64.RawStdEncoding.EncodeToString(sum[:])}
}

// CompactAuth is the form of a connection's identities that a Txn carries
// when it needs them only for ACL checks (see NeedsFullAuth): every digest
// identity becomes its fixed-size SHA-256 sum, so that the size of a
// transaction does not grow with the size of the names a session
// authenticated with. Checks against such a Txn decide as against the whole
// identities. Other identities (ip) are kept as they are.
func CompactAuth(ids []proto.ID) []proto.ID {
	out := make([]proto.ID, len(ids))
	for i, id := range ids {
		if id.Scheme == schemeDigest {
			id = digestSum(id.ID)
		}
		out[i] = id
	}
	return out
}

// NeedsFullAuth reports whether a Txn of this request must carry the whole
// identities of its connection: a create or setACL (alone or in a multi)
// whose ACL names the "auth" scheme, which stores the session's digest
// identities in the node's ACL. Any other Txn may carry CompactAuth.
func NeedsFullAuth(op proto.Op, req proto.Record) bool {
	switch r := req.(type) {
	case *proto.CreateRequest:
		return hasAuthScheme(r.ACL)
	case *proto.SetACLRequest:
		return hasAuthScheme(r.ACL)
	case *proto.MultiRequest:
		for _, sub := range r.Ops {
			if NeedsFullAuth(sub.Op, sub.Req) {
				return true
			}
		}
	}
	return false
}

func hasAuthScheme(acl []proto.ACL) bool {
	for _, a := range acl {
		if a.ID.Scheme == schemeAuth {
			return true
		}
	}
	return false
}

func (t *Tree) checkACL(acl []proto.ACL, perm int32, auth []proto.ID) error {
	if !t.allowed(acl, perm, auth) {
		return proto.ErrNoAuth
	}
	return nil
}

// maskDigests hides digest hashes from a getACL caller without ADMIN, as
// FinalRequestProcessor does ("user:hash" becomes "user:x").
func maskDigests(acl []proto.ACL) []proto.ACL {
	out := make([]proto.ACL, len(acl))
	for i, a := range acl {
		if a.ID.Scheme == schemeDigest {
			if user, _, ok := strings.Cut(a.ID.ID, ":"); ok {
				a.ID.ID = user + ":x"
			}
		}
		out[i] = a
	}
	return out
}
