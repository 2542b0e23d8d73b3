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
// Semantics follow Apache ZooKeeper 3.8 (DataTree, PrepRequestProcessor,
// FinalRequestProcessor) and its 3.9 watch manager (persistent and
// persistent-recursive watches, checkWatches/removeWatches types 4 and 5).
package tree
