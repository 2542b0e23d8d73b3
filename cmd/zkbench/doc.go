// Command zkbench measures a ZooKeeper-compatible server from the outside:
// each of -clients goroutines owns one go-zookeeper/zk session and issues
// synchronous requests for -duration, and the command prints, per operation,
// throughput and p50/p99/max latency.
//
//	zkbench -addr 127.0.0.1:2181 -clients 16 -duration 10s -size 100 -ops create,set,get
//
// Given an ensemble's client addresses, comma-separated, -addr spreads the
// clients round-robin over the servers, each session pinned to its server.
//
// The operations run one after another, so that each figure belongs to one
// kind of request: create makes persistent nodes under a fresh /zkbench-<n>
// root, set and get work on the nodes create made (or on one node per client
// if create is not listed), exists reads their stats, children lists a
// directory of 100 children that each client makes at setup (the same work
// per request on every server), delete removes what create made. It is the
// same binary against Apache ZooKeeper and zkserver, which is how the two
// are compared; it never asserts a speed.
//
// # zkbench scale
//
//	go run ./cmd/zkbench scale [-n 1000000] [-duration 20s] [-clients 16] [-size 100] [-snapcount 50000]
//
// compares zkserver with Debian's Apache ZooKeeper holding many znodes, in
// one run. It starts each server itself, one after the other, standalone on
// 127.0.0.1 in a data directory of its own under -dir (the same disk for
// both), with the same zoo.cfg (snapCount from -snapcount), and on each:
//
//  1. creates /scale and its first 1000 children, and runs the set load
//     (-clients sessions setting -size bytes on a child chosen at random)
//     for -duration: the empty-tree baseline;
//  2. fills /scale with -n empty children in total, in multis of 1000
//     creates, 4 in flight (fill rate), and reads the live heap: for
//     zkserver HeapAlloc after runtime.GC, from its AdminServer's
//     /debug/pprof/heap?gc=1 (admin.pprof=true); for ZooKeeper the total of
//     jcmd GC.class_histogram, which counts live objects after a full GC.
//     Heap per znode is (filled − empty server) / n;
//  3. runs the same set load on the n children while snapshots happen:
//     throughput, p50, p99, p999 and max latency, the max over the
//     empty-tree max, the snapshots taken (mntr zk_cnt_snapshottime), and
//     the server's CPU time (/proc/<pid>/stat) per 1000 requests;
//  4. stops the server with SIGTERM, sizes the newest snapshot file, starts
//     it again and times from the process start until a new session sees
//     all n children of /scale and reads the last one created.
//
// It prints one table, a column per server and the ratio zkserver/ZooKeeper.
// -only zkserver or -only apache runs one side; -zkserver names a binary
// instead of building ./cmd/zkserver, -apache a classpath instead of
// Debian's (package zookeeper; jcmd comes with default-jdk-headless), and
// -jvmflags adds java flags (Debian's zkServer.sh gives none, so the JVM
// sizes its heap itself). -keep keeps the data directories and server logs.
//
// # zkbench throughput
//
//	go run ./cmd/zkbench throughput [-topology standalone|3|both] [-ops create,set,get,exists,children,delete] [-duration 10s] [-clients 16] [-size 100]
//
// compares zkserver with Debian's Apache ZooKeeper on every operation, in
// one run. For each topology, standalone and then a 3-server ensemble on
// 127.0.0.1 (one process per server, each zoo.cfg listing
// server.N=127.0.0.1:<quorum port>:<election port>, myid in each data
// directory), it starts ZooKeeper's servers, runs the load zkbench runs
// (the -ops one after another, -clients sessions spread round-robin over the
// servers, for -duration each), stops them, then does the same with
// zkserver's. Around each operation it reads the CPU time (utime+stime,
// /proc/<pid>/stat) of every server process of the topology, and prints a
// table per topology: per operation and server the requests, ops/s, p50,
// p99 and max latency, errors and server CPU-seconds per 1000 requests, and
// the ratios zkserver/ZooKeeper of ops/s and of CPU per 1000 requests.
// The load generator runs on the same machine, so it takes CPU from the
// servers alike; the JVM starts cold, so its first operation pays its JIT.
//
// -only, -zkserver, -apache, -jvmflags, -dir and -keep are scale's.
package main
