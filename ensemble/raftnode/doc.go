// Package raftnode is the replicated, durable log under the zookit server.
//
// Every state change of the server is an opaque byte slice handed to
// [Node.Propose]. The node persists it in etcd's write-ahead log (one fsync per
// raft Ready batch, so concurrent proposals share a disk flush), lets raft
// commit it, and hands committed entries in log order to a [StateMachine]. The
// raft log index of an entry is the server's zxid, so Apply receives it.
//
// One goroutine drives raft (a RawNode): it steps proposals and peers'
// messages, persists each Ready, sends its messages and applies what it
// commits, so a write crosses no goroutine between proposal and apply.
// What arrives while it persists queues, and the next Ready takes it all
// in. Propose does not wait for raft, so a client connection can pipeline
// its writes.
//
// Snapshots of the state machine are taken every Config.SnapCount applied
// entries, or sooner once the entries applied since the last one hold
// Config.SnapBytes bytes of data, in the file format of etcd's snap
// package. The state machine only freezes its state on the apply
// goroutine ([Frozen]); another goroutine streams it into the file while
// entries go on applying, with no copy of it in memory. A restart reads
// the newest snapshot file in one buffer, opens the WAL at it (a scan of
// the whole WAL is the fallback when the WAL does not vouch for that
// file), and replays the WAL tail. Memory holds
// the log since the last snapshot plus at most Config.CatchUpEntries
// entries (and Config.CatchUpBytes bytes) behind it for slow followers, and
// no snapshot data: a follower that needs a snapshot is sent one read back
// from disk. [Node.Purge] implements ZooKeeper's autopurge;
// [Node.LastSnapshot] reports the newest snapshot on disk, for ZooKeeper's
// last_snapshot command.
//
// Standalone mode is a one-voter raft group that needs no Transport. A
// quorum plugs a [Transport] in for outgoing messages and feeds incoming ones
// to [Node.Step]. [Node.Contact] tells from those messages when a member
// last knew itself part of a working group, so that the server stops
// vouching for its clients' sessions before the leader may expire them.
//
// Membership is bootstrapped from Config.Peers and Learners and from then on
// lives in the log: [Node.ProposeConfChange] changes it on the leader, one
// change at a time (joint consensus for several at once), a StateMachine
// that implements [ConfChanger] hears of each change as it applies, and a
// node started with Config.Join enters a running group through the
// leader's snapshot ([Node.Joined]).
//
// The package must never apply an entry before it is durable in the WAL, and
// never interpret the bytes it replicates: their meaning belongs to the state
// machine.
package raftnode
