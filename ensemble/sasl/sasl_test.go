package sasl

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func users(m map[string]string) func(string) (string, bool) {
	return func(u string) (string, bool) { p, ok := m[u]; return p, ok }
}

// The example exchange of RFC 2831, section 4.
func TestRFC2831Example(t *testing.T) {
	d := newDigestMD5(users(map[string]string{"chris": "secret"}), "imap", "elwood.innosoft.com", "OA6MG9tEQGm2hh")
	ch, err := d.Evaluate(nil)
	if err != nil || !strings.Contains(string(ch), `nonce="OA6MG9tEQGm2hh"`) || !strings.Contains(string(ch), `realm="elwood.innosoft.com"`) {
		t.Fatalf("challenge %q, %v", ch, err)
	}
	resp, err := d.Evaluate([]byte(`charset=utf-8,username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",nc=00000001,cnonce="OA6MHXh6VqTrRk",digest-uri="imap/elwood.innosoft.com",response=d388dad90d4bbd760a152321f2143af7,qop=auth`))
	if err != nil {
		t.Fatal(err)
	}
	if string(resp) != "rspauth=ea40f60335c427b5527b84dbabcdfffd" || !d.Complete() || d.AuthorizationID() != "chris" {
		t.Errorf("%q, complete %v, id %q", resp, d.Complete(), d.AuthorizationID())
	}
}

// clientResponse is ClientResponse to d's challenge, edited.
func clientResponse(d *DigestMD5, user, password, authzid string, edit func(string) string) []byte {
	ch := fmt.Sprintf(`realm="%s",nonce="%s",qop="auth",charset=utf-8,algorithm=md5-sess`, d.server, d.nonce)
	b, err := ClientResponse([]byte(ch), user, password, authzid, "abcDEF123")
	if err != nil {
		panic(err)
	}
	if edit != nil {
		b = []byte(edit(string(b)))
	}
	return b
}

func TestDigestMD5(t *testing.T) {
	pw := users(map[string]string{"bob": "bobsecret", "eve": "evesecret"})
	for _, tc := range []struct {
		name, user, password, authzid string
		edit                          func(string) string
		ok                            bool
		id                            string
	}{
		{"right password", "bob", "bobsecret", "", nil, true, "bob"},
		{"authzid", "bob", "bobsecret", "admin", nil, true, "admin"},
		{"wrong password", "bob", "nope", "", nil, false, ""},
		{"another user's password", "eve", "bobsecret", "", nil, false, ""},
		{"unknown user", "mallory", "x", "", nil, false, ""},
		{"replayed nonce count", "bob", "bobsecret", "", func(s string) string { return strings.Replace(s, "nc=00000001", "nc=00000002", 1) }, false, ""},
		{"other nonce", "bob", "bobsecret", "", func(s string) string { return strings.Replace(s, `nonce="`, `nonce="x`, 1) }, false, ""},
		{"other service", "bob", "bobsecret", "", func(s string) string { return strings.Replace(s, "zookeeper/", "imap/", 1) }, false, ""},
		{"integrity asked", "bob", "bobsecret", "", func(s string) string { return strings.Replace(s, "qop=auth", "qop=auth-int", 1) }, false, ""},
		{"directive twice", "bob", "bobsecret", "", func(s string) string { return s + `,username="eve"` }, false, ""},
		{"garbage", "bob", "bobsecret", "", func(string) string { return "\x00\xff==,,\"" }, false, ""},
	} {
		d := NewDigestMD5(pw)
		if _, err := d.Evaluate(nil); err != nil {
			t.Fatal(err)
		}
		resp, err := d.Evaluate(clientResponse(d, tc.user, tc.password, tc.authzid, tc.edit))
		if tc.ok != (err == nil) || d.Complete() != tc.ok || d.AuthorizationID() != tc.id {
			t.Errorf("%s: %q, %v; complete %v, id %q", tc.name, resp, err, d.Complete(), d.AuthorizationID())
		}
		if err != nil && !errors.Is(err, ErrAuth) {
			t.Errorf("%s: %v does not wrap ErrAuth", tc.name, err)
		}
		if _, err := d.Evaluate([]byte("x")); err == nil {
			t.Errorf("%s: a token after the end was taken", tc.name)
		}
	}
}

func TestParseJAAS(t *testing.T) {
	j, err := ParseJAAS(`
// the server's users
Server {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_super="adminsecret" /* the super user */
       user_bob="bob\"secret";
};
Client { org.apache.zookeeper.server.auth.DigestLoginModule required username=bob password="bobsecret"; };
`)
	if err != nil {
		t.Fatal(err)
	}
	u, err := j.DigestUsers("Server")
	if err != nil || len(u) != 2 || u["super"] != "adminsecret" || u["bob"] != `bob"secret` {
		t.Errorf("%v, %v", u, err)
	}
	if c := j["Client"]; len(c) != 1 || c[0].Options["username"] != "bob" || c[0].Flag != "required" {
		t.Errorf("Client: %+v", c)
	}
	if _, err := j.DigestUsers("Nope"); !errors.Is(err, ErrNoSection) {
		t.Errorf("missing section: %v", err)
	}
	krb, err := ParseJAAS(`Server { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab="/k" principal="zookeeper/h@R"; };`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := krb.DigestUsers("Server"); err == nil || !strings.Contains(err.Error(), "Krb5LoginModule") {
		t.Errorf("Kerberos section: %v", err)
	}
	for _, bad := range []string{
		`Server { x required a="b" };`, `Server { x maybe; };`, `Server { x required a="b"; }`,
		`Server x required; };`, `Server { x required a=; };`, `/* open`, `Server { x required a="b; };`,
		`S { m required; }; S { m required; };`,
	} {
		if _, err := ParseJAAS(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzDigestMD5(f *testing.F) {
	f.Add([]byte(`username="bob",realm="zk-sasl-md5",nonce="n",nc=00000001,cnonce="c",digest-uri="zookeeper/zk-sasl-md5",response=00,qop=auth`))
	f.Fuzz(func(t *testing.T, token []byte) {
		d := NewDigestMD5(users(map[string]string{"bob": "x"}))
		d.Evaluate(nil)
		if _, err := d.Evaluate(token); err == nil {
			t.Fatalf("%q authenticated", token)
		}
	})
}

func FuzzParseJAAS(f *testing.F) {
	f.Add(`Server { a required user_x="y"; };`)
	f.Fuzz(func(t *testing.T, s string) { ParseJAAS(s) })
}
