// Command cachebench measures the two ways of keeping a local copy of a
// ZooKeeper subtree, on a subtree of parents × children leaves (10,000 by
// default):
//
//   - onetime: cache.TreeCache, one-time data and child watches on every
//     node through go-zk, which every ZooKeeper version serves;
//   - recursive: one persistent recursive watch on the root (addWatch,
//     ZooKeeper 3.6+), through zookit's own wire client internal/zkwire,
//     since go-zk has no addWatch.
//
// For each it times the initial load, reads the server's watch count (4lw
// wchs), then makes three rounds of changes from another session (setData
// on every leaf, delete every leaf, create every leaf) and times how long
// the copy takes to reflect all of them, and checks it equals the server.
//
//	cachebench -addr 127.0.0.1:2181
//
// The server must allow the wchs four-letter word
// (4lw.commands.whitelist=* on Apache ZooKeeper). The benchmark deletes
// and rebuilds its root path.
package main
