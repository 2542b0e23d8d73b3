package sasl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// The names ZooKeeper's server and clients give the DIGEST-MD5 exchange.
const (
	Protocol   = "zookeeper"
	ServerName = "zk-sasl-md5"
)

// ErrAuth is the error of a failed authentication; the message after it
// says why, for the server's log, never for the client.
var ErrAuth = errors.New("sasl: authentication failed")

// maxToken bounds a client's response: RFC 2831 caps it at 4096 bytes.
const maxToken = 4096

// DigestMD5 is the server side of one DIGEST-MD5 exchange (RFC 2831,
// authentication only): Evaluate the client's empty first token to get the
// challenge, then the client's response to get rspauth, after which
// Complete is true and AuthorizationID names the client.
type DigestMD5 struct {
	users    func(user string) (password string, ok bool)
	protocol string
	server   string // host part of digest-uri, and the realm
	nonce    string

	step    int // 0: challenge not sent; 1: awaiting response; 2: complete; 3: failed
	authzID string
}

// NewDigestMD5 starts an exchange for the users password looks up, with
// ZooKeeper's protocol and server name.
func NewDigestMD5(password func(user string) (string, bool)) *DigestMD5 {
	return newDigestMD5(password, Protocol, ServerName, "")
}

// newDigestMD5 takes the names, and a nonce ("" for a random one), so that
// the RFC's own example can be replayed.
func newDigestMD5(password func(string) (string, bool), protocol, server, nonce string) *DigestMD5 {
	if nonce == "" {
		b := make([]byte, 24)
		rand.Read(b)
		nonce = base64.StdEncoding.EncodeToString(b)
	}
	return &DigestMD5{users: password, protocol: protocol, server: server, nonce: nonce}
}

// Complete reports whether the client authenticated.
func (d *DigestMD5) Complete() bool { return d.step == 2 }

// AuthorizationID is the identity the client authenticated as: its authzid
// if it sent one, else its user name.
func (d *DigestMD5) AuthorizationID() string { return d.authzID }

// Evaluate takes the client's next token and returns the server's. An
// error fails the exchange for good and wraps ErrAuth.
func (d *DigestMD5) Evaluate(token []byte) ([]byte, error) {
	switch d.step {
	case 0:
		// ZooKeeper's clients open with an empty token; the challenge
		// answers whatever they sent, as Java's server does.
		d.step = 1
		return fmt.Appendf(nil, `realm="%s",nonce="%s",qop="auth",charset=utf-8,algorithm=md5-sess`, d.server, d.nonce), nil
	case 1:
		resp, err := d.verify(token)
		if err != nil {
			d.step = 3
			return nil, fmt.Errorf("%w: %v", ErrAuth, err)
		}
		d.step = 2
		return resp, nil
	}
	return nil, fmt.Errorf("%w: the exchange is over", ErrAuth)
}

// verify checks the client's digest-response and returns rspauth.
func (d *DigestMD5) verify(token []byte) ([]byte, error) {
	if len(token) > maxToken {
		return nil, fmt.Errorf("response of %d bytes", len(token))
	}
	f, err := parseDirectives(string(token))
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"username", "nonce", "cnonce", "nc", "digest-uri", "response"} {
		if _, ok := f[k]; !ok {
			return nil, fmt.Errorf("no %s", k)
		}
	}
	switch {
	case f["nonce"] != d.nonce:
		return nil, errors.New("nonce is not the one sent")
	case f["nc"] != "00000001":
		return nil, fmt.Errorf("nonce count %q", f["nc"])
	case f["qop"] != "" && f["qop"] != "auth":
		return nil, fmt.Errorf("qop %q not offered", f["qop"])
	case f["realm"] != "" && f["realm"] != d.server:
		return nil, fmt.Errorf("realm %q", f["realm"])
	case f["charset"] != "" && !strings.EqualFold(f["charset"], "utf-8"):
		return nil, fmt.Errorf("charset %q", f["charset"])
	}
	if serv, host, _ := strings.Cut(f["digest-uri"], "/"); !strings.EqualFold(serv, d.protocol) || !strings.EqualFold(host, d.server) {
		return nil, fmt.Errorf("digest-uri %q", f["digest-uri"])
	}
	user := f["username"]
	password, ok := d.users(user)
	if !ok {
		return nil, fmt.Errorf("unknown user %q", user)
	}
	qop := "auth"
	ha1 := d.ha1(user, f["realm"], password, f["cnonce"], f["authzid"])
	want := kd(ha1, f["nonce"], f["nc"], f["cnonce"], qop, "AUTHENTICATE:"+f["digest-uri"])
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(f["response"]))) != 1 {
		return nil, fmt.Errorf("wrong password for %q", user)
	}
	d.authzID = user
	if a := f["authzid"]; a != "" {
		d.authzID = a
	}
	return []byte("rspauth=" + kd(ha1, f["nonce"], f["nc"], f["cnonce"], qop, ":"+f["digest-uri"])), nil
}

// ClientResponse is a client's answer to a DIGEST-MD5 challenge from a
// ZooKeeper server, computed as ZooKeeper's clients compute it, with the
// client nonce cnonce; authzid may be "". The server's tests authenticate
// with it.
func ClientResponse(challenge []byte, user, password, authzid, cnonce string) ([]byte, error) {
	f, err := parseDirectives(string(challenge))
	if err != nil {
		return nil, err
	}
	realm, nonce := f["realm"], f["nonce"]
	if nonce == "" {
		return nil, errors.New("sasl: challenge without nonce")
	}
	const nc = "00000001"
	uri := Protocol + "/" + ServerName
	d := &DigestMD5{nonce: nonce}
	ha1 := d.ha1(user, realm, password, cnonce, authzid)
	s := fmt.Sprintf(`username="%s",realm="%s",nonce="%s",nc=%s,cnonce="%s",digest-uri="%s",maxbuf=65536,response=%s,qop=auth,charset=utf-8`,
		user, realm, nonce, nc, cnonce, uri, kd(ha1, nonce, nc, cnonce, "auth", "AUTHENTICATE:"+uri))
	if authzid != "" {
		s += `,authzid="` + authzid + `"`
	}
	return []byte(s), nil
}

// ha1 is HEX(H(A1)) for md5-sess: A1 = H(user:realm:password):nonce:cnonce[:authzid].
func (d *DigestMD5) ha1(user, realm, password, cnonce, authzid string) string {
	inner := md5.Sum([]byte(user + ":" + realm + ":" + password))
	a1 := append(inner[:], ":"+d.nonce+":"+cnonce...)
	if authzid != "" {
		a1 = append(a1, ":"+authzid...)
	}
	return hexMD5(a1)
}

// kd is the response value: HEX(KD(ha1, nonce:nc:cnonce:qop:HEX(H(a2)))).
func kd(ha1, nonce, nc, cnonce, qop, a2 string) string {
	return hexMD5([]byte(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + hexMD5([]byte(a2))))
}

func hexMD5(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// parseDirectives parses RFC 2831's comma-separated name=value list, with
// quoted-string values; a repeated directive is an error.
func parseDirectives(s string) (map[string]string, error) {
	f := map[string]string{}
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ',' || s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			break
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq <= 0 {
			return nil, fmt.Errorf("directive without a value at %d", i)
		}
		name := strings.ToLower(strings.TrimSpace(s[i : i+eq]))
		i += eq + 1
		var v strings.Builder
		if i < len(s) && s[i] == '"' {
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				v.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("%s: quoted value not closed", name)
			}
			i++
		} else {
			end := strings.IndexByte(s[i:], ',')
			if end < 0 {
				end = len(s) - i
			}
			v.WriteString(strings.TrimSpace(s[i : i+end]))
			i += end
		}
		if _, dup := f[name]; dup {
			return nil, fmt.Errorf("%s given twice", name)
		}
		f[name] = v.String()
	}
	return f, nil
}
