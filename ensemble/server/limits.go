package server

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/zookit/zookit/ensemble/config"
)

// Properties of the limits (see the package doc). A zoo.cfg key k is the
// property "zookeeper."+k, so globalOutstandingLimit=500 in zoo.cfg and
// -Dzookeeper.globalOutstandingLimit=500 in SERVER_JVMFLAGS both set it.
const (
	propGlobalOutstanding = "zookeeper.globalOutstandingLimit" // ZooKeeper's
	propConnOutstanding   = "zookeeper.maxOutstandingPerConnection"
	propOutboundBytes     = "zookeeper.maxOutboundBytesPerConnection"
	propAuthCount         = "zookeeper.maxAuthIdentitiesPerConnection"
	propAuthBytes         = "zookeeper.maxAuthBytesPerConnection"
	propWatchCount        = "zookeeper.maxWatchesPerConnection"
	propWatchBytes        = "zookeeper.maxWatchBytesPerConnection"
	propRaftFrame         = "zookeeper.maxRaftFrame"
	propMaxCnxns          = "zookeeper.maxCnxns" // ZooKeeper's
)

// Defaults of the limits.
const (
	DefaultGlobalOutstandingLimit  = 1000 // ZooKeeper's
	DefaultMaxOutstandingPerConn   = 100
	DefaultMaxOutboundBytesPerConn = 64 << 20
	DefaultMaxAuthIdentities       = 32
	DefaultMaxWatchesPerConn       = 100_000
	DefaultMaxWatchBytesPerConn    = 32 << 20
	// FourLetterWordMaxOutput bounds the output of wchc, wchp and dump,
	// and so what they copy under the locks applies need.
	FourLetterWordMaxOutput = 1 << 20
)

// limits are the bounds that keep one client from hurting the others,
// read once from the configuration.
type limits struct {
	globalOutstanding int // writes in flight on this server past which connections with one in flight are not read
	connOutstanding   int // writes in flight on one connection past which it is not read
	maxReply          int // jute.maxbuffer: the largest reply frame a read may get
	outboundPause     int // reply bytes waiting for a connection past which it is not read
	outboundClose     int // bytes waiting for a connection past which it is closed
	authCount         int // identities per connection, its ip included
	authBytes         int // bytes of a connection's identities (scheme and id)
	watchCount        int // watches per connection (tree.WithWatchLimits)
	watchBytes        int // bytes of watched paths per connection
	raftFrame         int // peer.Config.MaxRaftFrame; 0 leaves peer's default
	maxCnxns          int // client connections on all ports; 0 = no bound, as ZooKeeper's default
}

// readLimits reads the limits from cfg's properties. A value that is not a
// positive integer is an error: a limit the server silently ignored would
// leave the operator believing it is in force.
func readLimits(cfg *config.Config) (limits, error) {
	l := limits{maxReply: cfg.JuteMaxBuffer}
	var err error
	get := func(key string, def int) int {
		v, ok := cfg.Property(key)
		if !ok || err != nil {
			return def
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n <= 0 || n > 1<<62 {
			err = fmt.Errorf("server: property %s=%q: want a positive integer", key, v)
			return def
		}
		return int(n)
	}
	l.globalOutstanding = get(propGlobalOutstanding, DefaultGlobalOutstandingLimit)
	if voters, _ := newView(cfg.Servers, 0).members(); !cfg.Standalone() && len(voters) > 2 {
		// ZooKeeper's leader and followers share the limit this way: each
		// server of a larger ensemble takes its part of the writes.
		l.globalOutstanding = max(l.globalOutstanding/(len(voters)-1), 1)
	}
	l.connOutstanding = get(propConnOutstanding, DefaultMaxOutstandingPerConn)
	l.outboundPause = l.maxReply
	l.outboundClose = get(propOutboundBytes, max(DefaultMaxOutboundBytesPerConn, 4*l.maxReply))
	if err == nil && l.outboundClose < 2*l.maxReply {
		err = fmt.Errorf("server: property %s=%d: must be at least twice jute.maxbuffer (%d), or the largest reply would close its connection",
			propOutboundBytes, l.outboundClose, l.maxReply)
	}
	l.authCount = get(propAuthCount, DefaultMaxAuthIdentities)
	l.authBytes = get(propAuthBytes, l.maxReply)
	l.watchCount = get(propWatchCount, DefaultMaxWatchesPerConn)
	l.watchBytes = get(propWatchBytes, DefaultMaxWatchBytesPerConn)
	l.raftFrame = get(propRaftFrame, 0)
	if v, ok := cfg.Property(propMaxCnxns); ok && err == nil {
		// ZooKeeper takes 0 (its default) or less as no bound.
		n, perr := strconv.Atoi(strings.TrimSpace(v))
		if perr != nil {
			err = fmt.Errorf("server: property %s=%q: want an integer", propMaxCnxns, v)
		}
		l.maxCnxns = max(n, 0)
	}
	// A raft message must hold the largest transaction: a request of
	// jute.maxbuffer with its connection's identities.
	if minFrame := l.maxReply + l.authBytes + 64<<10; err == nil && l.raftFrame != 0 && l.raftFrame < minFrame {
		err = fmt.Errorf("server: property %s=%d: must be at least %d (jute.maxbuffer, %s and 64 KiB), or the largest transaction could not be replicated",
			propRaftFrame, l.raftFrame, minFrame, propAuthBytes)
	}
	return l, err
}
