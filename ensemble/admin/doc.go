// Package admin is ZooKeeper's AdminServer: an HTTP endpoint that lists
// the monitoring commands at admin.commandURL and runs one at
// <commandURL>/<name>, answering with a JSON object that carries the
// command's fields plus "command" (its primary name) and "error" (null, or
// why it failed), as ZooKeeper 3.8's JettyAdminServer does. Keyword
// arguments come from the query string, the first value of each.
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
//
// ZooKeeper's HTTPS settings (admin.forceHttps, admin.portUnification,
// admin.needClientAuth) and admin.httpVersion other than 11 are refused by
// server.New when they ask for something: the AdminServer speaks plain
// HTTP/1.1.
//
// # Differences from ZooKeeper
//
// Like ZooKeeper's, the AdminServer does not apply the four-letter word
// whitelist (4lw.commands.whitelist) and has no authentication: bind it to
// a trusted address. A request's headers are bounded (8 KiB, Jetty's
// default), and every method other than GET and HEAD gets 405. An answer
// that the server cut at FourLetterWordMaxOutput (watches, watches_by_path,
// dump) keeps the part it has and says so in "error".
//
// The handler must never panic on any input and never hold the server's
// locks while it writes: commands hand it data already copied.
package admin
