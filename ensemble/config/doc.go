// Package config reads ZooKeeper's zoo.cfg the way Apache ZooKeeper 3.8's
// QuorumPeerConfig does and turns it into a typed Config for the zookit
// server: standalone and quorum mode, server.N lines, the myid file, and the
// system properties that zkServer.sh passes as -D flags in SERVER_JVMFLAGS
// and JVMFLAGS.
//
// Keys ZooKeeper knows map to fields; every other key k becomes the system
// property "zookeeper."+k in Config.Props, exactly as ZooKeeper does, and the
// settings ZooKeeper reads from system properties (4lw whitelist, snapCount,
// extended types, super digest, jute.maxbuffer, container reaping) are
// derived from Props once the file and the flags are merged.
//
// The package only reads: it never writes files, never resolves host names,
// and reports every problem as an error naming the file, line and key; it
// must never panic or exit.
package config
