package server

import (
	"crypto/tls"
	"fmt"
	"strconv"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/peer"
	"github.com/zookit/zookit/ensemble/tlsconf"
)

// RequireServerIDNameProperty is zookit's own quorum TLS setting (zoo.cfg key
// ssl.quorum.requireServerIdName): each member's certificate must also
// carry the DNS name server.<id>, so that members sharing a host cannot
// speak for one another.
const RequireServerIDNameProperty = "zookeeper.ssl.quorum.requireServerIdName"

// quorumTLS sets the TLS fields of the peer transport's configuration from
// sslQuorum, portUnification and the zookeeper.ssl.quorum.* stores, as
// ZooKeeper reads them: sslQuorum dials and accepts TLS; portUnification
// also accepts plaintext, and without sslQuorum still dials in plaintext,
// which is the middle step of a rolling switch to TLS.
func quorumTLS(cfg *config.Config, pc *peer.Config) error {
	on, unify := isTrue(cfg.Other["sslQuorum"]), isTrue(cfg.Other["portUnification"])
	idName, idNameSet := cfg.Property(RequireServerIDNameProperty)
	requireIDName, err := strconv.ParseBool(idName)
	switch {
	case idNameSet && err != nil:
		return fmt.Errorf("server: %s=%q is not a boolean", RequireServerIDNameProperty, idName)
	case !on && !unify:
		if idNameSet && requireIDName {
			return fmt.Errorf("server: %s needs sslQuorum=true or portUnification=true", RequireServerIDNameProperty)
		}
		return nil
	}
	st, err := tlsconf.Load(cfg, tlsconf.Quorum)
	if err != nil {
		return fmt.Errorf("server: quorum TLS: %w", err)
	}
	if st.ClientAuth != tlsconf.Need {
		return fmt.Errorf("server: %s%s=%s is not supported: quorum links always authenticate both ends", tlsconf.Quorum.Prefix(), tlsconf.ClientAuthSetting, st.ClientAuth)
	}
	if len(st.Certificates) == 0 || st.Roots == nil {
		return fmt.Errorf("server: quorum TLS needs %s%s and %s%s", tlsconf.Quorum.Prefix(), tlsconf.KeyStoreLocation, tlsconf.Quorum.Prefix(), tlsconf.TrustStoreLocation)
	}
	pc.TLS = &tls.Config{
		Certificates: st.Certificates,
		RootCAs:      st.Roots,
		ClientCAs:    st.Roots,
		MinVersion:   st.MinVersion,
		MaxVersion:   st.MaxVersion,
		CipherSuites: st.CipherSuites,
	}
	pc.NoHostnameVerification = !st.HostnameVerification
	pc.RequireServerIDName = requireIDName
	pc.PortUnification = unify
	pc.DialPlaintext = !on
	return nil
}
