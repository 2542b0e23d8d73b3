// Package peer is the server-to-server transport of a zookit ensemble.
//
// A [Transport] listens on this server's quorum address (the quorumPort of
// ZooKeeper's server.N=host:quorumPort:electionPort line) and carries two
// things between servers: raft messages, which it hands to a [Handler] that
// steps them into the local raft node, and small control messages that are
// not raft (a kind byte and an opaque payload, for example the client
// sessions a server saw activity from, which the leader needs to decide
// session expiry).
//
// zookit elects its leader with raft over the quorum port. The election port
// is still bound, so that port conflicts and firewall rules behave as
// operators of Apache ZooKeeper expect, but it carries only a one-line status
// text (for example "myid=2 leader=1 term=5") written to whoever connects,
// followed by a close.
//
// Each server keeps one outbound TCP connection per peer, dialed lazily and
// re-dialed with exponential backoff, resolving the peer's hostname on every
// dial. A connection starts with a hello (magic, version, sender and
// receiver ids) and then carries frames of [uint32 length][kind][payload];
// kind 0 is a protobuf-encoded raftpb.Message, other kinds are control
// messages. Messages to one peer arrive in the order they were sent, as long
// as the connection holds.
//
// The quorum port is open to the network, so what it accepts is bounded
// (see [Config]): a connection must send its hello within HelloTimeout and
// name a configured server; connections still owing a hello are capped in
// all and per remote address, the oldest refused first; each peer id holds
// one established connection, the newest; a raft frame may not exceed
// MaxRaftFrame nor a control frame MaxControlFrame. A raft message must
// come from the server its connection claimed and be addressed to this
// one. None of this authenticates a peer: the claimed id is taken on
// trust until TLS identities replace it, so the receiving Handler
// (raftnode.Node.Step) validates every message before raft sees it.
//
// The transport must never block raft: Send only queues, and a message it
// cannot deliver (full queue, broken connection, peer down) is dropped and
// reported to raft through [Reporter], which retries on its own. It must
// never interpret control payloads, never panic on what a peer sends, and
// never let one misbehaving peer delay the others: anything malformed
// closes that peer's connection only.
package peer
