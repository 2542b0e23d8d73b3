// Package interop checks zookit against the real thing: Apache ZooKeeper 3.8,
// its Java shell zkCli.sh, its C shell cli_mt and Apache Curator 5.4, all as
// Debian packages lay them out.
//
// The non-test code is a harness other test packages may use: it finds the
// Debian peers (Require), starts Apache ZooKeeper or cmd/zkserver on a free
// 127.0.0.1 port in a temporary directory (StartApacheZooKeeper, StartZookit),
// or as an ensemble of voters and observers (StartApacheEnsemble,
// StartZookitEnsemble, with Kill to SIGKILL one server), compiles the Java
// peers in java/ against Debian's Curator (CompileJava: LockPeer,
// ElectionPeer, BarrierPeer, QueuePeer, CounterPeer, DiscoveryPeer,
// CachePeer, NodePeer, CuratorCheck, FailoverCheck), runs them as
// line-speaking processes (PeerProcess), and drives line-oriented shells
// (Console). The recipe tests run the bodies of lock/locktest,
// election/electiontest, barrier/barriertest, counter/countertest,
// queue/queuetest, cache/cachetest and node/nodetest against both servers,
// and put Go and Curator participants on one path. The AdminServer tests
// compare the JSON of Apache ZooKeeper's AdminServer (which needs Debian's
// libservlet-api-java) with zkserver's, field names and types.
//
// A missing peer skips the test with the name of the Debian package to
// install, unless ZOOKIT_INTEROP=1 is set: then it fails, so that a CI run
// cannot pass by skipping everything. The harness never touches the system
// ZooKeeper's configuration or data and never listens beyond 127.0.0.1.
package interop
