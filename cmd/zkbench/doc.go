// Command zkbench measures a ZooKeeper-compatible server from the outside:
// each of -clients goroutines owns one go-zookeeper/zk session and issues
// synchronous requests for -duration, and the command prints, per operation,
// throughput and p50/p99/max latency.
//
//	zkbench -addr 127.0.0.1:2181 -clients 16 -duration 10s -size 100 -ops create,set,get
//
// Given an ensemble's client addresses, comma-separated, -addr spreads the
// clients round-robin over the servers, each session pinned to its server.
//
// The operations run one after another, so that each figure belongs to one
// kind of request: create makes persistent nodes under a fresh /zkbench-<n>
// root, set and get work on the nodes create made (or on one node per client
// if create is not listed), delete removes them. It is the same binary against
// Apache ZooKeeper and zkserver, which is how the two are compared; it never
// asserts a speed.
package main
