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
// Clients are served on any number of listeners, as net/http serves them:
// Serve for plain ones, ServeTLS for the secure client port, whose
// configuration comes from ZooKeeper's zookeeper.ssl.* settings (package
// tlsconf); ListenAndServe opens clientPort and secureClientPort. A TLS
// handshake runs on its connection's goroutine within a deadline, so one
// that never completes blocks no one else, and at most
// zookeeper.netty.server.outstandingHandshake.limit (default
// DefaultHandshakeLimit) run at once. A client that presents a
// verified certificate is authenticated as x509:<subject>, ZooKeeper's
// X509AuthenticationProvider identity. maxClientCnxns counts an address's
// connections on all ports together, from the moment they are accepted.
package server
