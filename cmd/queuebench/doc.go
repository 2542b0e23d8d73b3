// Command queuebench measures a distributed queue's throughput against a
// ZooKeeper-compatible server: zookit's queue.SimpleQueue and, with
// -curator, Apache Curator 5.4's SimpleDistributedQueue (through interop's
// QueuePeer, compiled with javac against Debian's Curator jars), on the
// same server, one after the other, on the same layout.
//
// For each concurrency in -workers, that many producers offer -messages
// messages of -size bytes in all (puts/s), then that many consumers take
// them all (takes/s). Both sides run their workers on one client session,
// as threads (Curator) or goroutines (Go).
//
//	queuebench -addr 127.0.0.1:2181 -messages 2000 -workers 1,8 -curator
//
// It only reads and writes under -path; run it against a test server.
package main
