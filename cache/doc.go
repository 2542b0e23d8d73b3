// Package cache keeps local copies of ZooKeeper data: NodeCache for one
// node, TreeCache for a subtree (Curator's NodeCache and TreeCache, or
// CuratorCache). Each reports its changes as an ordered stream of Events
// (Added, Updated when the data version changed, Removed, Initialized and
// the connection states) and answers reads from memory.
//
// The caches use one-time watches through go-zk, which every ZooKeeper
// version serves: a data watch on every cached node and a child watch on
// every cached node above the depth limit. One goroutine reads the server,
// one node at a time, so a path's events come in the order of its changes
// and a rebuild never floods the server; a few goroutines wait on all the
// watch channels (none per node).
//
// After a plain reconnect go-zk sets the watches again and the server
// reports what changed meanwhile; reads that failed are retried. After the
// session is lost the cache reads its whole subtree again in the new
// session, emitting the differences and then Initialized.
//
// A cache never creates nodes: a missing root is watched with exists until
// it appears. Close stops every goroutine, but the server keeps the
// pending watches until they fire or the session ends, since go-zk cannot
// remove them.
package cache
