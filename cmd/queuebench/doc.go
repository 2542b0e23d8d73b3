// Command queuebench measures distributed queues' throughput against a
// ZooKeeper-compatible server: zookit's queue.SimpleQueue and
// queue.DistributedQueue (default mode) and, with -curator, Apache Curator
// 5.4's SimpleDistributedQueue and DistributedQueue (through interop's
// QueuePeer, compiled with javac against Debian's Curator jars, always
// with 100-byte messages), on the same server, one after the other, on the
// same layouts. -queues picks the kinds.
//
// For each concurrency in -workers, that many producers offer -messages
// messages of -size bytes in all (puts/s), then that many consumers take
// them all (takes/s). Both sides run their workers on one client session,
// as threads (Curator) or goroutines (Go). A DistributedQueue consumer is
// a queue instance with its own consumer loop on either side, and takes
// are timed from the consumers' start until every message was handled.
//
//	queuebench -addr 127.0.0.1:2181 -messages 2000 -workers 1,8 -curator
//
// It only reads and writes under -path; run it against a test server.
package main
