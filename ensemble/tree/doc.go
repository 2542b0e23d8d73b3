// Package tree is ZooKeeper's data tree as a deterministic state machine:
// znodes with their Stat and ACL, sessions and their ephemeral nodes, the
// watch manager, and the ACL checks of the client operations.
//
// Every server of an ensemble applies the same transactions (Txn) in the
// same log order and must reach the same state, so Apply may depend only on
// the tree and its arguments: it must never read a clock, draw a random
// number, or let map iteration order leak into a result, an event order or a
// snapshot. The package does no I/O; watch notifications leave through the
// Watcher interface, which must only queue them. A server bounds what one
// client takes with Caller.MaxReply (a read's reply) and WithWatchLimits
// (each Watcher's watches); neither bound applies to Apply, so neither
// can make servers diverge.
//
// # Storage
//
// Nodes live in one B-tree ordered by path (github.com/tidwall/btree), and
// a node in it is never changed in place: a write puts a changed copy in
// its place. The B-tree copies itself lazily (copy-on-write per B-tree
// node), so Freeze captures the whole state in constant time (under a
// microsecond at a million znodes), and Frozen.WriteTo serializes it on
// another goroutine while applies go on, touching only B-tree nodes the
// snapshot still shares. Writes never wait for a snapshot.
//
// ZooKeeper's answer, a fuzzy snapshot serialized while the tree changes
// and made whole by replaying the log from before it began, was the other
// candidate. It would keep a hash map's faster lookups, but the snapshot
// would depend on timing, where here equal states must give equal bytes on
// every member, and replaying txns onto a state that already holds some
// of them is not idempotent for sequential names and cversions. A
// persistent tree costs an allocation per write (the copied node) and a
// B-tree search per lookup, about a microsecond at a million nodes, far
// below a request's round trip; measured in bench_test.go.
//
// Path order puts every parent before its children, which is the order a
// snapshot needs, and makes a node's descendants one range: [p+"/",
// p+"0"). A child listing walks that range and seeks past each child's
// subtree, so it costs the children, not the descendants; each node keeps
// its child count in its Stat. There is no per-node children map.
//
// Memory per empty znode is about 150 B of live heap: its item in the
// B-tree (path and node pointer, which lookups and listings compare
// without touching the node), the path's bytes, and the 80-byte node: a
// compact stat, a pointer to the data with its digest CRC (one shared blob
// for all empty data) and a pointer to its ACL list. ACL lists are shared
// through a reference-counted cache, as in ZooKeeper's
// ReferenceCountedACLCache, since most trees hold a handful of
// distinct lists over millions of nodes.
//
// Semantics follow Apache ZooKeeper 3.8 (DataTree, PrepRequestProcessor,
// FinalRequestProcessor) and its 3.9 watch manager (persistent and
// persistent-recursive watches, checkWatches/removeWatches types 4 and 5).
package tree
