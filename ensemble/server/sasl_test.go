package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/sasl"
	"github.com/zookit/zookit/ensemble/server"
)

const jaasServer = `Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="adminsecret"
    user_bob="bobsecret";
};
`

// withJAAS starts a server with ZooKeeper's SASL settings: the JAAS file,
// the SASL provider, and extra properties.
func withJAAS(t *testing.T, jaas string, props ...string) ensembletest.Option {
	path := filepath.Join(t.TempDir(), "jaas.conf")
	if err := os.WriteFile(path, []byte(jaas), 0o600); err != nil {
		t.Fatal(err)
	}
	return ensembletest.WithConfig(func(c *config.Config) {
		c.Props["java.security.auth.login.config"] = path
		c.Props["zookeeper.authProvider.1"] = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
		for i := 0; i < len(props); i += 2 {
			c.Props[props[i]] = props[i+1]
		}
	})
}

// saslLogin runs a DIGEST-MD5 exchange on c as ZooKeeper's clients do and
// returns the code of its last reply; an OK exchange must end in rspauth.
func saslLogin(t *testing.T, c *rawClient, user, password string) proto.Code {
	t.Helper()
	code, fin := saslExchange(t, c, user, password)
	if code == proto.OK && !strings.HasPrefix(string(fin), "rspauth=") {
		t.Fatalf("final token %q", fin)
	}
	return code
}

// saslExchange is saslLogin's exchange, returning the server's last token.
func saslExchange(t *testing.T, c *rawClient, user, password string) (proto.Code, []byte) {
	t.Helper()
	h, body := c.call(proto.OpSASL, &proto.SASLToken{Token: []byte{}})
	if h.Err != proto.OK || h.Zxid != 0 {
		return h.Err, nil
	}
	var ch proto.SASLToken
	if err := proto.Unmarshal(body, &ch); err != nil {
		t.Fatal(err)
	}
	resp, err := sasl.ClientResponse(ch.Token, user, password, "", "cnonce42")
	if err != nil {
		t.Fatalf("challenge %q: %v", ch.Token, err)
	}
	h, body = c.call(proto.OpSASL, &proto.SASLToken{Token: resp})
	var fin proto.SASLToken
	if err := proto.Unmarshal(body, &fin); err != nil {
		t.Fatalf("final token: %v", err)
	}
	return h.Err, fin.Token
}

func whoAmIOf(t *testing.T, c *rawClient) []proto.ID {
	t.Helper()
	h, body := c.call(proto.OpWhoAmI, nil)
	var r proto.WhoAmIResponse
	if err := proto.Unmarshal(body, &r); h.Err != proto.OK || err != nil {
		t.Fatalf("whoAmI: %v %v", h.Err, err)
	}
	return r.ClientInfo
}

// TestSASLDigest authenticates with the JAAS file's users, checks the
// sasl identity against sasl ACLs, and refuses a wrong password by closing
// the connection, as ZooKeeper does.
func TestSASLDigest(t *testing.T) {
	srv := ensembletest.Start(t, withJAAS(t, jaasServer))
	bob := dialRaw(t, srv.Addr(), 0)
	if code := saslLogin(t, bob, "bob", "bobsecret"); code != proto.OK {
		t.Fatalf("bob: %v", code)
	}
	if ids := whoAmIOf(t, bob); !containsID(ids, proto.ID{Scheme: "sasl", ID: "bob"}) {
		t.Errorf("whoAmI %v", ids)
	}
	acl := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "sasl", ID: "bob"}}}
	if h, _ := bob.call(proto.OpCreate, &proto.CreateRequest{Path: "/bobs", Data: []byte("x"), ACL: acl}); h.Err != proto.OK {
		t.Fatalf("create with a sasl ACL: %v", h.Err)
	}
	if h, _ := bob.call(proto.OpGetData, &proto.PathWatch{Path: "/bobs"}); h.Err != proto.OK {
		t.Errorf("bob reads his node: %v", h.Err)
	}
	// "auth" expands to the sasl identity.
	authACL := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "auth"}}}
	if h, _ := bob.call(proto.OpCreate, &proto.CreateRequest{Path: "/bobauth", ACL: authACL}); h.Err != proto.OK {
		t.Errorf("create with the auth scheme: %v", h.Err)
	}
	anon := dialRaw(t, srv.Addr(), 0)
	for _, p := range []string{"/bobs", "/bobauth"} {
		if h, _ := anon.call(proto.OpGetData, &proto.PathWatch{Path: p}); h.Err != proto.ErrNoAuth {
			t.Errorf("anonymous read of %s: %v, want NOAUTH", p, h.Err)
		}
	}
	bad := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "sasl", ID: "a@b@c"}}}
	if h, _ := bob.call(proto.OpCreate, &proto.CreateRequest{Path: "/bad", ACL: bad}); h.Err != proto.ErrInvalidACL {
		t.Errorf("a malformed sasl id: %v, want INVALIDACL", h.Err)
	}

	eve := dialRaw(t, srv.Addr(), 0)
	if code := saslLogin(t, eve, "bob", "wrong"); code != proto.ErrAuthFailed {
		t.Errorf("wrong password: %v, want AUTHFAILED", code)
	}
	if !eve.closed(5 * time.Second) {
		t.Error("the connection stays after a failed SASL exchange")
	}
	if h, _ := bob.call(proto.OpExists, &proto.PathWatch{Path: "/"}); h.Err != proto.OK {
		t.Errorf("another client after the failure: %v", h.Err)
	}
}

// The super user (zookeeper.superUser) passes every ACL, and its password
// may come from zookeeper.SASLAuthenticationProvider.superPassword.
func TestSASLSuperUser(t *testing.T) {
	srv := ensembletest.Start(t, withJAAS(t, jaasServer,
		"zookeeper.superUser", "super", "zookeeper.SASLAuthenticationProvider.superPassword", "fromproperty"))
	bob := dialRaw(t, srv.Addr(), 0)
	saslLogin(t, bob, "bob", "bobsecret")
	acl := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "sasl", ID: "bob"}}}
	if h, _ := bob.call(proto.OpCreate, &proto.CreateRequest{Path: "/bobs", ACL: acl}); h.Err != proto.OK {
		t.Fatal(h.Err)
	}
	old := dialRaw(t, srv.Addr(), 0)
	if code := saslLogin(t, old, "super", "adminsecret"); code != proto.ErrAuthFailed {
		t.Errorf("the JAAS password of super with superPassword set: %v", code)
	}
	su := dialRaw(t, srv.Addr(), 0)
	if code := saslLogin(t, su, "super", "fromproperty"); code != proto.OK {
		t.Fatalf("super: %v", code)
	}
	if h, _ := su.call(proto.OpGetData, &proto.PathWatch{Path: "/bobs"}); h.Err != proto.OK {
		t.Errorf("super reads bob's node: %v", h.Err)
	}
	if ids := whoAmIOf(t, su); !containsID(ids, proto.ID{Scheme: "super"}) {
		t.Errorf("whoAmI %v lacks super", ids)
	}
}

// allowSaslFailedClients keeps a connection whose exchange failed, without
// the identity.
func TestSASLAllowFailed(t *testing.T) {
	srv := ensembletest.Start(t, withJAAS(t, jaasServer, "zookeeper.allowSaslFailedClients", "true"))
	c := dialRaw(t, srv.Addr(), 0)
	if code, fin := saslExchange(t, c, "bob", "wrong"); code != proto.OK || fin != nil {
		t.Fatalf("%v %q, want OK and no token", code, fin)
	}
	if ids := whoAmIOf(t, c); containsID(ids, proto.ID{Scheme: "sasl", ID: "bob"}) {
		t.Errorf("whoAmI %v after a failed exchange", ids)
	}
}

// A JAAS configuration zookit cannot honour stops the start.
func TestSASLBadConfiguration(t *testing.T) {
	for name, jaas := range map[string]string{
		"no Server section": `Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="a" password="b"; };`,
		"Kerberos":          `Server { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true; };`,
		"syntax":            `Server { org.apache.zookeeper.server.auth.DigestLoginModule required user_a="b" };`,
	} {
		path := filepath.Join(t.TempDir(), "jaas.conf")
		os.WriteFile(path, []byte(jaas), 0o600)
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.Props["java.security.auth.login.config"] = path
		if s, err := server.New(cfg); err == nil {
			s.Close()
			t.Errorf("%s: the server started", name)
		}
	}
}

func containsID(ids []proto.ID, id proto.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
