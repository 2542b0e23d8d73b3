// Package server is the ZooKeeper-compatible server: it accepts client
// connections, speaks the wire protocol of package proto, turns every state
// change into a tree.Txn replicated through raftnode, answers reads from the
// local tree, tracks session liveness and serves the monitoring commands:
// as four-letter words on the client port, and as ZooKeeper's AdminServer
// (package admin) over HTTP.
//
// Replies to a session keep its request order: a read waits until the
// session's earlier writes are applied, and watch events queued by an
// applied transaction reach the connection before any later reply. The
// package must never let one client's input affect another: a bad frame
// closes that connection only.
//
// New refuses a configuration that asks for a ZooKeeper feature zookit does
// not have (local sessions, quorum SASL, Kerberos, an HTTPS AdminServer, skipACL=yes,
// an unknown authProvider, …; the list is in settings.go) rather than run
// without it: a setting that is accepted but not honoured would let an
// operator believe in a protection that is not there.
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
//
// # SASL
//
// With -Djava.security.auth.login.config naming a JAAS file (in
// SERVER_JVMFLAGS, as for ZooKeeper), clients authenticate with SASL
// DIGEST-MD5 (package sasl) against the users of its Server section
// (zookeeper.sasl.serverconfig names another). A client that completes the
// exchange holds the identity sasl:<user>, which sasl:<user> ACL entries
// and the auth scheme match; zookeeper.superUser names the SASL user that
// passes every ACL, whose password
// zookeeper.SASLAuthenticationProvider.superPassword may give. A failed
// exchange is answered AUTHFAILED and the connection closed, unless
// zookeeper.allowSaslFailedClients=true. A JAAS file that is unreadable,
// lacks the section or names a login module other than ZooKeeper's
// DigestLoginModule (Kerberos) stops the start. Like x509, the sasl ACL
// scheme is always valid here, where ZooKeeper needs
// authProvider.N=...SASLAuthenticationProvider: validity is decided where
// a transaction applies, on every server, and must not depend on one
// server's settings.
//
// # Limits
//
// What one client may take is bounded. Each bound is a system property: a
// zoo.cfg key k sets zookeeper.k (jute.maxbuffer only as a -D flag, as in
// ZooKeeper), and a value that is not a positive integer stops the server
// at start. globalOutstandingLimit and jute.maxbuffer are ZooKeeper's keys,
// ZooKeeper has none of the others; "mntr" names the zk_ counter that counts
// the bound at work (request_throttle_wait_count and auth_failed_count are
// ZooKeeper's names).
//
//	key                            default            past it
//	globalOutstandingLimit         1000               writes in flight on this server: a connection with one of its
//	                                                  own in flight is not read until it has none (ZooKeeper's
//	                                                  disableRecv; ÷ (voters−1) above two voters, as ZooKeeper);
//	                                                  one with none may always send one. mntr request_throttle_wait_count
//	maxOutstandingPerConnection    100                writes in flight on one connection: it is not read until one
//	                                                  is answered. mntr request_throttle_wait_count
//	jute.maxbuffer                 0xfffff            a request frame: the connection closes, as in ZooKeeper.
//	                                                  A read's reply frame: the read fails with MARSHALLINGERROR,
//	                                                  decided before the reply is built, the connection carries
//	                                                  on (mntr large_responses_rejected). Replies not yet written:
//	                                                  the connection is not read until they are
//	                                                  (request_throttle_wait_count)
//	maxOutboundBytesPerConnection  64 MiB, ≥ 4×jute   bytes queued for a client that does not read (watch events
//	                                                  pile up): the connection closes. mntr outbound_limit_disconnects
//	maxAuthIdentitiesPerConnection 32, ip included    addAuth gets AUTHFAILED and the connection closes, as for
//	maxAuthBytesPerConnection      jute.maxbuffer     any failed authentication. mntr auth_failed_count
//	maxWatchesPerConnection        100,000            the read that would set a watch more fails with
//	maxWatchBytesPerConnection     32 MiB of paths    QUOTAEXCEEDED and sets none (in a multiRead, that op alone;
//	                                                  setWatches sets what fits, then fails). mntr watches_rejected
//	maxCnxns                       0 (no bound)       client connections of all addresses together (ZooKeeper's key;
//	                                                  maxClientCnxns bounds one address): a new one is closed.
//	                                                  mntr connection_rejected, which maxClientCnxns counts too
//	maxRaftFrame                   512 MiB            a raft message between servers is refused, sent or received
//	(wchc, wchp, dump output)      1 MiB, no key      the answer stops, with a line that says so.
//	                                                  mntr four_letter_words_truncated
//
// Back-pressure never refuses a request: a client that pipelines past the
// bounds waits in its socket, and every request is answered once its
// earlier ones are (or once it reads). While the server, not the client,
// holds a connection back, its session is kept alive.
//
// A write's reply is not bounded by jute.maxbuffer: it is a small multiple
// of its request, which was, and refusing it would hide a write that took
// effect.
//
// MARSHALLINGERROR is the closest code ZooKeeper 3.8 has for a reply too
// large to marshal (ZooKeeper itself sends such a reply, and its Java
// client, bound by the same jute.maxbuffer, drops the connection and
// retries for ever); like recipes.ErrReplyTooLarge it fails that request
// alone. QUOTAEXCEEDED is the code of ZooKeeper's own quotas.
//
// A transaction carries the identities of its session only as ACL checks
// need them: as fixed-size SHA-256 sums, unless it stores them in an ACL
// (create or setACL with the "auth" scheme). So a session's names, however
// long, cost the log once per such ACL, not once per write.
//
// maxRaftFrame is a key of its own rather than jute.maxbuffer, which
// ZooKeeper applies (plus jute.maxbuffer.extrasize) to quorum packets: its
// snapshots are streamed, while here a snapshot travels whole in one raft
// message, so the bound is also the largest state that can be sent to a
// follower that fell behind (see peer.Config.MaxRaftFrame). It must hold
// the largest transaction, jute.maxbuffer + maxAuthBytesPerConnection +
// 64 KiB.
//
// wchc, wchp and dump copy at most 1 MiB of output under the locks that
// applies need, format and write it without them, and run one at a time.
//
// # Monitoring commands
//
// Each command (commands.go) makes its data once, typed; the four-letter
// word prints it as ZooKeeper's text, and the AdminServer encodes it as
// ZooKeeper's JSON, so the two never disagree. ServeAdmin serves the
// AdminServer on a listener, as Serve serves clients; ListenAndServe opens
// admin.serverAddress:admin.serverPort only when admin.enableServer=true
// (ZooKeeper's default is true, zookit's false: see package admin); Close
// stops it with the rest. The AdminServer ignores the four-letter word
// whitelist, as ZooKeeper's does.
//
// # Vouching for sessions
//
// The leader expires a session a timeout after it last heard of it, from
// its own clients or from a member's reports (every raft tick). A member
// serves a session only while it is in contact with its group: a
// follower or observer while it hears from its leader, the leader while
// a quorum answers it. Once contact is older than a quarter of a
// session's timeout (or two election timeouts, if less) the member closes
// that session's connection and refuses handshakes. Its client then
// learns of the lost connection, and a lock or leadership that trusted
// it is let go, before the leader can expire the session and hand them to
// someone else. ZooKeeper's followers answer pings until their own socket
// to the leader times out (syncLimit ticks), which with its defaults is
// longer than most session timeouts. The leader's heartbeat goes every
// raft tick (a tenth of tickTime), so a healthy member never comes near
// the limit. One case stays bounded by the election timeout instead: in
// a group of five or more, a follower still in touch with a leader that
// has lost its quorum vouches until that leader steps down.
//
// # Read-only mode
//
// With -Dreadonlymode.enabled=true (the system property ZooKeeper reads;
// its zoo.cfg form, which ZooKeeper ignores, is refused), a member that
// has had no leader for max(2 s, tickTime) serves the clients whose
// handshake says they can be read-only, from its own tree: reads answer,
// writes and sync get NOTREADONLY, isro says "ro" and srvr "Mode:
// read-only". A client resuming a session is served under it, with its
// password; a new one gets a session local to the server and the mode,
// which is what ZooKeeper 3.8 gives only with local sessions enabled
// (without them its ReadOnlyRequestProcessor refuses the createSession and
// answers the handshake with a NOTREADONLY header). When a leader is back
// the read-only connections are closed and their clients reconnect
// read-write.
//
// # Reconfiguration
//
// With reconfigEnabled=true, the reconfig operation (incremental joining
// and leaving, or newMembers; curConfigId -1 or the current version) is
// checked and proposed by the raft leader, to which a follower forwards
// it over the peer transport; reconfig.go says why. A joining participant
// is added as a raft learner first and must catch up within initLimit
// ticks, else the reconfig fails with NEWCONFIGNOQUORUM and the learner is
// removed, so that a reconfig cannot wedge the quorum. Each change applies
// in log order on every member: the membership view, the peer transport's
// addresses and /zookeeper/config (server lines and version=<hex of the
// change's index>) change together. A new server started with an empty
// dataDir and a zoo.cfg listing the servers and itself asks its peers'
// election ports whether a group exists, and joins it without
// bootstrapping. A removed server stops serving; when the leader removes
// itself, the lowest remaining voter stands for election at once.
// dynamicConfigFile is refused with reconfig: the membership lives in the
// log, not in a file zookit would have to rewrite.
//
// # Metrics
//
// The server and its log (raftnode) keep their metrics in one
// metrics.Registry under ZooKeeper 3.8's names and units: the gauges of
// ZooKeeperServer, Leader and QuorumPeer (leader-only ones only while
// leading), then counters and summaries: readlatency and updatelatency
// with percentiles, read_ and write_per_namespace, the node_*_watch_count
// of fired watches, fsynctime, commit_count, proposal_count, the learner
// counts, election_time, looking_count, snapshottime, dbinittime, the
// startup times, and the connection, handshake and byte counts. zookit
// adds its limits' counters and zookit_raft_* gauges (term, commit,
// applied and snapshot index, leader id). mntr prints them all; ZooKeeper's
// keys that have no meaning here are MetricsLeftOut, each with why.
//
// With metricsProvider.className set to ZooKeeper's
// PrometheusMetricsProvider, ListenAndServe also serves them on
// metricsProvider.httpHost:httpPort (0.0.0.0:7000) at any path, as
// ZooKeeper's /metrics servlet does, with the Go runtime's metrics unless
// metricsProvider.exportJvmInfo=false; ServeMetrics serves them on any
// listener. Under that provider mntr prints, after version and
// server_state, every Prometheus sample as ZooKeeper's does:
// name{label="value"} and a float. Any other className is an error.
package server
