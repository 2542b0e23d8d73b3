// Package nodetest holds package node's server-independent test bodies, so
// that they run against the in-process server, zkserver and Apache
// ZooKeeper alike. They need TTL nodes enabled (extendedTypesEnabled) and,
// for TTLExpires, a container reaper that runs often
// (znode.container.checkIntervalMs).
package nodetest
