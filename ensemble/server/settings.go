package server

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/zookit/zookit/ensemble/config"
)

// unhonoured lists the ZooKeeper settings zookit does not implement, each
// with a test of whether a value asks for more than what zookit does anyway,
// read as ZooKeeper reads that key. A zoo.cfg key k is looked up as written
// when config.Config.Other holds it, else as the system property zookeeper.k.
//
// New refuses a value that asks: an operator must never believe a setting
// protects or changes something when it does not. The tuning knobs of
// ZooKeeper's Java internals (thread pools, buffers, caches, JMX) are not
// here: like any unknown property they are ignored, as ZooKeeper itself
// ignores a property nothing reads.
var unhonoured = []struct {
	key  string
	asks func(v string) bool
	why  string
}{
	{"localSessionsEnabled", isTrue, "local sessions are not implemented"},
	{"observerMasterPort", always, "observers replicate from the raft leader; there is no observer master"},
	{"clientPortListenBacklog", unless("-1"), "the listen backlog is the operating system's"},
	{"connectToLearnerMasterLimit", always, "learners do not connect to a learner master"},
	{"syncEnabled", unless("true"), "observers always write their log to disk"},
	{"zookeeper.observer.syncEnabled", unless("true"), "observers always write their log to disk"},
	{"sslQuorumReloadCertFiles", isTrue, "certificates are read once, at start"},
	{"quorum.auth.enableSasl", isTrue, "quorum SASL is not implemented"},
	{"jvm.pause.monitor", isTrue, "there is no JVM to watch for pauses"},
	{"multiAddress.enabled", isTrue, "a server has one quorum address"},
	{"zookeeper.multiAddress.enabled", isTrue, "a server has one quorum address"},
	{"oraclePath", always, "the two-server oracle is not implemented"},
	{"zookeeper.readonlymode.enabled", always, "ZooKeeper reads read-only mode from the system property readonlymode.enabled (-Dreadonlymode.enabled=true in SERVER_JVMFLAGS) and ignores this zoo.cfg key; zookit refuses it rather than ignore it too"},
	{"zookeeper.skipACL", only("yes"), "ACLs are always checked"},
	{"zookeeper.enforce.auth.enabled", isTrue, "enforced client authentication is not implemented"},
	{"zookeeper.sessionRequireClientSASLAuth", isTrue, "requiring SASL of every session is not implemented"},
	{"zookeeper.digest.enabled", unless("true"), "the tree digest (the hash command) is always kept"},
	{"zookeeper.letAnySaslUserDoX", always, "an ACL that lets any SASL user in is not implemented"},
	{"zookeeper.DigestAuthenticationProvider.enabled", unless("true"), "the digest scheme is always on"},
	{"zookeeper.DigestAuthenticationProvider.digestAlg", unless("SHA1"), "digests are SHA1, as ZooKeeper's default"},
	{"zookeeper.admin.forceHttps", isTrue, "the AdminServer speaks plain HTTP only"},
	{"zookeeper.admin.portUnification", isTrue, "the AdminServer speaks plain HTTP only"},
	{"zookeeper.admin.needClientAuth", isTrue, "the AdminServer speaks plain HTTP only"},
	{"zookeeper.admin.httpVersion", unless("11"), "the AdminServer speaks HTTP/1.1"},
	{"zookeeper.audit.enable", isTrue, "audit logging is not implemented"},
	{"zookeeper.enforceQuota", isTrue, "quotas are not enforced"},
	{"zookeeper.request_throttle_max_requests", unless("0"), "the request throttler is not implemented"},
	{"zookeeper.leaderServes", only("no"), "every server serves clients"},
	{"zookeeper.testingonly.initialZxid", always, "zxids come from raft"},
	{"zookeeper.emulate353TTLNodes", isTrue, "TTL nodes use the 3.5.4+ encoding"},
	{"zookeeper.client.portUnification", isTrue, "TLS and plain clients on one port are not supported; use secureClientPort beside clientPort"},
}

// authProviders are the authProvider.N classes whose schemes zookit has
// built in; naming one is harmless, naming any other is refused.
var authProviders = []string{
	"org.apache.zookeeper.server.auth.DigestAuthenticationProvider",
	"org.apache.zookeeper.server.auth.IPAuthenticationProvider",
	"org.apache.zookeeper.server.auth.X509AuthenticationProvider",
	"org.apache.zookeeper.server.auth.SASLAuthenticationProvider",
}

const authProviderProp = "zookeeper.authProvider."

// checkSettings refuses a configuration that sets what zookit does not do.
func checkSettings(cfg *config.Config) error {
	for _, u := range unhonoured {
		v, set := setting(cfg, u.key)
		if !set || !u.asks(v) {
			continue
		}
		return fmt.Errorf("server: %s=%s is not supported: %s", u.key, v, u.why)
	}
	if cfg.ReconfigEnabled && cfg.DynamicConfigFile != "" {
		// ZooKeeper rewrites the file (as <file>.dynamic.<version>) at
		// each reconfig; zookit keeps the membership in its log and
		// /zookeeper/config only, and a file left stale would misinform
		// whoever reads it, or restarts from it.
		return fmt.Errorf("server: reconfigEnabled=true with dynamicConfigFile=%s is not supported: zookit does not rewrite the dynamic config file at a reconfig; list the servers in zoo.cfg", cfg.DynamicConfigFile)
	}
	for k, v := range cfg.Props {
		if strings.HasPrefix(k, authProviderProp) && !slices.Contains(authProviders, strings.TrimSpace(v)) {
			return fmt.Errorf("server: %s=%s is not supported: the built-in schemes are world, auth, digest, ip and x509", k, v)
		}
	}
	return nil
}

// setting finds a key where the config package put it.
func setting(cfg *config.Config, key string) (string, bool) {
	if v, ok := cfg.Other[key]; ok {
		return v, true
	}
	return cfg.Property(key)
}

func always(string) bool { return true }

// isTrue is Java's Boolean.parseBoolean: any other value is false.
func isTrue(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "true") }

// unless asks for every value but the inert one, compared as ZooKeeper
// parses booleans (any case) and numbers (any spelling).
func unless(inert string) func(string) bool {
	return func(v string) bool {
		v = strings.TrimSpace(v)
		if strings.EqualFold(v, inert) {
			return false
		}
		g, err1 := strconv.ParseInt(v, 10, 64)
		w, err2 := strconv.ParseInt(inert, 10, 64)
		return err1 != nil || err2 != nil || g != w
	}
}

// only asks for exactly one value, for the keys ZooKeeper compares with
// String.equals, where every other value is its default.
func only(asking string) func(string) bool {
	return func(v string) bool { return v == asking }
}
