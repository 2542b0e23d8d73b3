// Command electiondemo shows leader election and failover: -candidates
// goroutines, each on its own session, run a LeaderLatch at -path. The
// leader proves it still leads by a guarded write of a heartbeat node
// every -beat; a new leader prints how long after the last heartbeat it
// took over, which is the handover the rest of the system saw.
//
//	electiondemo -server 127.0.0.1:2181
//
// Run it in three terminals and kill the leader's process (Ctrl-C hands
// over at once; kill -9 leaves the ensemble to end its session after
// -session-timeout). Against a three-server ensemble, kill the ZooKeeper
// server a leader is connected to: the Client moves to another server,
// and the leader either keeps its term or, if the move takes longer than
// its suspend tolerance, steps down and the election runs again.
package main
