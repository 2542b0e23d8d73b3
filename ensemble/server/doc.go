// Package server is the ZooKeeper-compatible server: it accepts client
// connections, speaks the wire protocol of package proto, turns every state
// change into a tree.Txn replicated through raftnode, answers reads from the
// local tree, tracks session liveness and serves the four-letter words.
//
// Replies to a session keep its request order: a read waits until the
// session's earlier writes are applied, and watch events queued by an
// applied transaction reach the connection before any later reply. The
// package must never let one client's input affect another: a bad frame
// closes that connection only.
//
// New refuses a configuration that asks for a ZooKeeper feature zookit does
// not have (local sessions, quorum SASL, the AdminServer, skipACL=yes, an
// unknown authProvider, …; the list is in settings.go) rather than run
// without it: a setting that is accepted but not honoured would let an
// operator believe in a protection that is not there.
package server
