// Command electionbench measures leader failover against a
// ZooKeeper-compatible server: the time from a leader going to the next
// candidate's first guarded write as leader. It runs zookit's
// election.LeaderLatch, and with -curator also Apache Curator 5.4's
// LeaderLatch (through interop's ElectionPeer, compiled with javac against
// Debian's Curator jars), on the same server, one after the other, with the
// same session timeout.
//
// Each candidate is a process of its own with its own session: the Go ones
// are this binary re-run as "electionbench candidate ..." (an internal
// mode that speaks ElectionPeer's line protocol). A round has a leader and
// a candidate joined behind it, and the leader goes in one of two ways:
//
//   - close: it closes its latch, which deletes its node: the recipes' own
//     latency (a watch, a read or two, the guarded write). The two
//     processes take turns, the one that closed joining again behind the
//     other, so after -warmup unmeasured rounds the figures are those of
//     warm processes, JVM included.
//   - kill: it is SIGKILLed, so its node stays until the server expires its
//     session: dominated by the session timeout and by how the server
//     times expiry (ZooKeeper checks every tickTime, so between the
//     timeout and the timeout plus a tick). A fresh process joins for the
//     next round. Each kill waits a random time up to -jitter first: a
//     round begins right after an expiry, so without it every kill would
//     fall at the same phase of the server's ticks, one fixed by how fast
//     a candidate process starts, and the two sides would differ by that
//     alone.
//
// The clock starts when the leader is told to close or is signalled, and
// stops when the new leader's announcement is read from its stdout; the
// same pipes serve both implementations. Each leader proves itself every
// 10 ms while it leads (a marker created in a transaction that checks its
// node, then deleted), so two leaders at once would fail the run. It prints
// min, median, p90 (nearest rank) and max over -rounds failovers.
//
//	electionbench -addr 127.0.0.1:2181 -rounds 20 -session 4s -curator
//
// It only reads and writes under -path; run it against a test server.
package main
