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
// followed by a close. It stays plaintext under TLS: it reads nothing, so
// nothing can be forged through it, and what it tells (id, mode, leader,
// term, last zxid) is what the srvr command on the client port tells
// anyone; encrypting it would only break the plain TCP checks operators
// point at it.
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
// name a current peer (Config.Peers, as changed since by
// [Transport.SetPeer] and [Transport.RemovePeer]; removing or moving a
// peer closes its connections); connections still owing a hello are capped in
// all and per remote address, the oldest refused first; each peer id holds
// one established connection, the newest; a raft frame may not exceed
// MaxRaftFrame nor a control frame MaxControlFrame. A raft message must
// come from the server its connection claimed and be addressed to this
// one. The receiving Handler (raftnode.Node.Step) still validates every
// message before raft sees it.
//
// Without TLS none of this authenticates a peer: the id its hello claims
// is taken on trust, as ZooKeeper's quorum port without quorum
// authentication takes it, and anyone who reaches the port can stop the
// ensemble (a forged, well-formed raft snapshot is enough; the adversarial
// suite replays it). An ensemble on a network that others share needs TLS.
// With [Config].TLS the quorum links use mutual TLS
// (1.2 or later): the acceptor requires a client certificate that chains
// to the trust store, and the dialer verifies the acceptor's certificate
// the same way. The handshake runs on the connection's own goroutine,
// within the HelloTimeout that also bounds the hello, so a handshake that
// never finishes holds up only itself. A certificate must also prove the
// identity at stake: after the hello, the acceptor checks that the
// client's certificate is valid for the host of the server.N the hello
// claims, as currently configured (an IP address must be among
// its IP SANs, a name must match one of its DNS SANs, wildcards included;
// the subject's common name is not consulted), and the dialer checks the
// acceptor's certificate against the host it dialed for that id. This is
// ZooKeeper's ssl.quorum.hostnameVerification, applied to the claimed id
// rather than to the connection's source address. With
// NoHostnameVerification any certificate that chains to the trust store
// speaks for any member, as in ZooKeeper with hostnameVerification=false.
//
// A host binds a certificate to a machine, not to a member: members that
// share a host (as every test ensemble on 127.0.0.1 does) can speak for
// each other, and hostname verification proves only "a member on this
// host". [Config].RequireServerIDName binds a certificate to one member:
// it must then also carry the DNS SAN "server.N" ([ServerIDName]) of the
// id it speaks for, an exact match; issue each member's certificate with
// its own. A CA that signs for several ensembles makes their members
// interchangeable either way: give each ensemble its own trust store.
//
// [Config].PortUnification lets the quorum port accept plaintext peers
// besides TLS ones, told apart by the first byte (0x16 opens a TLS
// handshake), for ZooKeeper's rolling switch to TLS; a plaintext peer's
// id is then taken on trust again. Without it, a TLS port closes
// plaintext connections unread.
//
// The transport must never block raft: Send only queues, and a message it
// cannot deliver (full queue, broken connection, peer down) is dropped and
// reported to raft through [Reporter], which retries on its own. It must
// never interpret control payloads, never panic on what a peer sends, and
// never let one misbehaving peer delay the others: anything malformed
// closes that peer's connection only.
package peer
