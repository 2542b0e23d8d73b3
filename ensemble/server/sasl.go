package server

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/sasl"
)

// The properties of ZooKeeper's server-side SASL, set with -D flags
// (java.security.auth.login.config has no zookeeper. prefix, so zoo.cfg
// cannot set it) or, for the zookeeper.* ones, zoo.cfg keys.
const (
	propJAAS            = "java.security.auth.login.config"
	propSASLSection     = "zookeeper.sasl.serverconfig"
	propSASLSuperUser   = "zookeeper.superUser"
	propSuperPassword   = "zookeeper.SASLAuthenticationProvider.superPassword"
	propAllowSASLFailed = "zookeeper.allowSaslFailedClients"
)

// saslSettings are the server's SASL users and rules; users is nil when
// no JAAS configuration is given, and clients cannot authenticate by SASL.
type saslSettings struct {
	users         map[string]string
	superUser     string // authenticates as super (zookeeper.superUser)
	superPassword string // the super user's password, over the JAAS file's
	allowFailed   bool   // keep a connection whose SASL failed
}

// readSASL loads the JAAS file's Server section, as ZooKeeper's
// ServerCnxnFactory.configureSaslLogin does: a file named but unreadable,
// or without the section, stops the start.
func readSASL(cfg *config.Config) (saslSettings, error) {
	var st saslSettings
	st.superUser, _ = cfg.Property(propSASLSuperUser)
	st.superPassword, _ = cfg.Property(propSuperPassword)
	if v, ok := cfg.Property(propAllowSASLFailed); ok {
		st.allowFailed = isTrue(v)
	}
	path, ok := cfg.Property(propJAAS)
	if !ok {
		if _, named := cfg.Property(propSASLSection); named {
			return st, fmt.Errorf("server: %s is set but %s is not", propSASLSection, propJAAS)
		}
		return st, nil
	}
	section := "Server"
	if v, ok := cfg.Property(propSASLSection); ok {
		section = v
	}
	j, err := sasl.LoadJAAS(path)
	if err != nil {
		return st, fmt.Errorf("server: %w", err)
	}
	if st.users, err = j.DigestUsers(section); err != nil {
		if errors.Is(err, sasl.ErrNoSection) {
			return st, fmt.Errorf("server: no JAAS configuration section named %q in %s", section, path)
		}
		return st, fmt.Errorf("server: %w", err)
	}
	return st, nil
}

// password is the DigestMD5 lookup: the JAAS file's user_<name>, and for
// "super" the superPassword property when set, as ZooKeeper's
// SaslServerCallbackHandler does.
func (st *saslSettings) password(user string) (string, bool) {
	if user == "super" && st.superPassword != "" {
		return st.superPassword, true
	}
	p, ok := st.users[user]
	return p, ok
}

// sasl answers one SASL token (ZooKeeperServer.processSasl). On success
// the connection gains the identity sasl:<authorization id>, and the super
// user also super, which whoAmI lists. A failed exchange is answered
// AUTHFAILED and the connection closed, unless allowSaslFailedClients.
// Every reply carries zxid 0, as ZooKeeper's.
func (c *conn) sasl(xid int32, req *proto.SASLToken) {
	s := c.s
	if s.sasl.users == nil {
		// ZooKeeper without a JAAS Server section has no SASL server and
		// answers OK with no token.
		c.send(&proto.ReplyHeader{Xid: xid}, &proto.SASLToken{})
		return
	}
	if c.saslServer == nil {
		c.saslServer = sasl.NewDigestMD5(s.sasl.password)
	}
	resp, err := c.saslServer.Evaluate(req.Token)
	if err == nil && c.saslServer.Complete() {
		id := c.saslServer.AuthorizationID()
		s.log.Info("SASL authenticated", zap.String("id", id), zap.String("remote", c.remote))
		ok := c.addIdentity(proto.ID{Scheme: "sasl", ID: id})
		if ok && s.sasl.superUser != "" && id == s.sasl.superUser {
			ok = c.addIdentity(proto.ID{Scheme: "super", ID: ""})
		}
		if !ok {
			err = errors.New("the connection holds too many identities")
		}
	}
	if err != nil {
		s.log.Warn("SASL authentication failed", zap.String("remote", c.remote), zap.Error(err))
		if !s.sasl.allowFailed {
			s.stats.authFailed.Add(1)
			c.send(&proto.ReplyHeader{Xid: xid, Err: proto.ErrAuthFailed}, &proto.SASLToken{})
			c.closeAfterFlush()
			return
		}
		resp = nil
	}
	c.send(&proto.ReplyHeader{Xid: xid}, &proto.SASLToken{Token: resp})
}
