// Package cache keeps local copies of ZooKeeper data: NodeCache for one
// node, TreeCache for a subtree (Curator's NodeCache and TreeCache, or
// CuratorCache). Each reports its changes as an ordered stream of Events
// (Added, Updated when the data version changed, Removed, Initialized and
// the connection states) and answers reads from memory.
//
// # Watches
//
// The caches use one-time watches through go-zk: a data watch on every
// cached node and a child watch on every cached node above the depth
// limit. The alternative, one persistent recursive watch (addWatch, as
// CuratorCache uses), was measured with cmd/cachebench on a subtree of
// 10,000 leaves under 100 parents, against zkserver and Apache ZooKeeper
// 3.8 on one loaded two-core machine. One-time watches cost the server
// 20,202 watches against 1, load the subtree in 2–9 s against 1–8 s,
// and follow 10,000 changes at about 1,000–7,000 events/s against
// 1,400–14,000 (deletes need no read with a recursive watch, so those
// are nearly free there); either way the copy equalled the server within
// seconds of the last write. That is workable, and one-time watches
// work with every ZooKeeper version and with go-zk as it is, which sets
// them again on a reconnect (setWatches); a persistent watch would need
// a second wire client that does its own reconnects and setWatches2.
//
// One goroutine reads the server, one node at a time, so a path's events
// come in the order of its changes and a rebuild never floods the server.
// A few goroutines wait on all the watch channels, each on up to 64 with
// reflect.Select, rather than one per watch.
//
// # Connection loss
//
// After a plain reconnect go-zk sets the watches again and the server
// reports what changed meanwhile; reads that failed are retried. After the
// session is lost the cache reads its whole subtree again in the new
// session, after a short random delay, emitting the differences and then
// Initialized.
//
// A cache never creates nodes: a missing root is watched with exists until
// it appears. Close stops every goroutine, but the server keeps the
// pending watches until they fire or the session ends, since go-zk cannot
// remove them (no removeWatches).
package cache
