// Package admin is ZooKeeper's AdminServer: an HTTP endpoint that lists
// the monitoring commands at admin.commandURL and runs one at
// <commandURL>/<name>, answering with a JSON object that carries the
// command's fields plus "command" (its primary name) and "error" (null, or
// why it failed), as ZooKeeper 3.8's JettyAdminServer does. No command
// takes arguments, so the query string is ignored.
//
// The package knows HTTP and the response envelope only. The commands, and
// the typed data behind them that the four-letter words print as text, are
// the server's (Commands); package server serves this handler on the
// admin listener (server.ServeAdmin, and ListenAndServe when
// admin.enableServer=true) and stops it with the server.
//
// # Settings
//
// The zoo.cfg keys are ZooKeeper's, read as the system properties
// zookeeper.admin.* they become (Read):
//
//	admin.enableServer    false   ZooKeeper's default is true. zookit's is off unless set
//	                              to true, because tests and existing deployments run many
//	                              servers on one machine, and every one would claim port 8080.
//	                              A value other than true or false is an error.
//	admin.serverAddress   0.0.0.0
//	admin.serverPort      8080    0 to 65535, else an error (ZooKeeper falls back to 8080)
//	admin.commandURL      /commands  must start with "/"
//	admin.idleTimeout     30000   ms; bounds reading a request and writing its answer, and
//	                              how long an idle keep-alive connection stays open
//	admin.pprof           false   zookit's own: true serves Go's runtime profiles
//	                              (net/http/pprof) under /debug/pprof/, whatever
//	                              admin.commandURL is; GET /debug/pprof/heap?gc=1&debug=1
//	                              collects garbage first and ends with the heap's figures
//	                              (# HeapAlloc = live bytes), as jcmd GC.class_histogram
//	                              does for ZooKeeper; -Dzookeeper.admin.pprof=true in
//	                              SERVER_JVMFLAGS sets it too. A value other than true
//	                              or false is an error
//
// ZooKeeper's HTTPS settings (admin.forceHttps, admin.portUnification,
// admin.needClientAuth) and admin.httpVersion other than 11 are refused by
// server.New when they ask for something: the AdminServer speaks plain
// HTTP/1.1.
//
// # Commands
//
// Primary names first, then ZooKeeper's aliases; the four-letter word, where
// there is one, prints the same data as text:
//
//	ruok                              {}
//	server_stats, srvr                version, read_only, server_stats{...}, node_count
//	stats, stat                       server_stats' fields, connections, secure_connections (brief)
//	monitor, mntr                     the mntr keys, without zk_; numbers as numbers
//	configuration, conf, config       client_port, data_dir, data_log_dir, tick_time, ...
//	connections, cons                 connections, secure_connections (in full)
//	connection_stat_reset, crst       {}
//	stat_reset, srst                  {}
//	environment, env, envi            zookeeper.version, host.name, go.version, os.*, user.*
//	dirs                              datadir_size, logdir_size
//	watch_summary, wchs               num_connections, num_paths, num_total_watches
//	watches, wchc                     session_id_to_watched_paths
//	watches_by_path, wchp             path_to_session_ids
//	dump                              expiry_time_to_session_ids, session_id_to_ephemeral_paths
//	hash                              digests: the tree digest log, oldest first, one entry for
//	                                  each zxid that is a multiple of 128, the newest 1024:
//	                                  zxid, digest_version (2) and digest, all numbers; the
//	                                  four-letter word prints "<zxid in hex>: <digest>" lines.
//	                                  The digest is computed as ZooKeeper computes it
//	                                  (ensemble/tree), so equal nodes and stats give equal
//	                                  numbers; zookit's zxids are raft indexes, so the same
//	                                  writes reach other zxids and stats than on Apache ZooKeeper
//	leader, lead                      is_leader, leader_id, leader_ip; standalone: error
//	                                  "server is not initialized", as ZooKeeper
//	voting_view                       current_config: the voters by id
//	observers, obsr                   synced_observers, observers (on the leader)
//	is_read_only, isro                read_only: always false
//	system_properties, sysp           the zookeeper.* properties the server was given (zoo.cfg's
//	                                  unknown keys and -D flags); ZooKeeper lists the JVM's
//	initial_configuration, icfg       the configuration the server started with, as zoo.cfg text
//	last_snapshot, lsnp               zxid (hex) and timestamp (s) of raft's last snapshot on disk,
//	                                  or of the one the server started from
//
// The commands that answer "This ZooKeeper instance is not currently
// serving requests" as four-letter words while the server has no leader
// (srvr, stat, mntr, cons, dirs, wchs, wchc, wchp, dump, hash) answer it in
// "error" here.
//
// ZooKeeper's commands that zookit leaves out, because they have no
// meaning here:
//
//	zabstate                        zookit runs raft, not Zab: there is no Zab phase to report
//	get_trace_mask, set_trace_mask  there is no ZooTrace; a mask that changes nothing would be
//	                                a setting accepted and not honoured
//	observer_connection_stat_reset  observers are raft learners with no connection of their own
//	                                and so no statistics to reset
//
// Nor does it have ZooKeeper 3.9's snapshot and restore, which stream out
// and load a snapshot in ZooKeeper's file format: zookit's state is a raft
// snapshot and log of its own format, which neither ZooKeeper nor a
// restore could load, so a backup is a copy of dataDir and dataLogDir
// taken from a stopped server. ZooKeeper 3.9 has no health command; ruok
// is its liveness check, and srvr's "not currently serving" its readiness.
//
// # Differences from ZooKeeper
//
// Fields zookit does not have: the monitor keys of ZooKeeper's request
// pipeline and Zab that have no meaning here (server.MetricsLeftOut says
// which and why); the JVM's entries of environment;
// observers' established, queued_packets, queued_packets_size,
// packets_received, packets_sent and requests (an observer is a raft
// learner, not a connection of its own: it has sid, last_zxid, the last it
// acknowledged, and remote_socket_address, its quorum address). The
// interop tests list every difference and fail when one appears or goes.
//
// Like ZooKeeper's, the AdminServer does not apply the four-letter word
// whitelist (4lw.commands.whitelist) and has no authentication: bind it to
// a trusted address. A request's headers are bounded (8 KiB, Jetty's
// default), and every method other than GET and HEAD gets 405. An answer
// that the server cut at FourLetterWordMaxOutput (watches, watches_by_path,
// dump) keeps the part it has and says so in "error", and counts in mntr's
// four_letter_words_truncated.
//
// The handler must never panic on any input and never hold the server's
// locks while it writes: commands hand it data already copied.
package admin
