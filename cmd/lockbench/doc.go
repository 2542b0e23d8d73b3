// Command lockbench measures lock acquire/release cycles per second against a
// ZooKeeper-compatible server: zookit's lock.Mutex, and with -curator also
// Apache Curator 5.4's InterProcessMutex (through interop's LockPeer, compiled
// with javac against Debian's Curator jars), on the same server, side by
// side. Each run is uncontended (1 contender) and contended (16 by default),
// all contenders on one session as a Curator process would have them.
//
//	lockbench -addr 127.0.0.1:2181 -duration 10s -contenders 1,16 -curator
//
// It only reads and writes under -path; run it against a test server.
package main
