// Package queue holds distributed queues over ZooKeeper with Apache
// Curator's layouts, so that Go and Java processes produce and consume on
// the same path:
//
//	SimpleQueue  SimpleDistributedQueue  <path>/qn-<seq>, data = the message
//
// A message is a persistent sequential node; consumers take the lowest
// name, and the one whose delete succeeds has it, so each message is taken
// once. Consumers wait on a child watch, never poll. A put retried after a
// lost reply is recognised by the Client (recipes' own-write check), so it
// does not enqueue a message twice. A take whose delete reply is lost with
// the connection cannot tell its own delete from another consumer's; it
// counts the message as taken, so such a message may be delivered twice
// (Curator's take drops it instead). Names are plain qn-<seq>, without
// Curator's protection prefix, because Curator's consumer skips any child
// that does not start with qn-.
//
// Curator's DistributedQueue family (envelopes, lock-path delivery,
// priority, delay and id queues) is not here yet. The package never
// deletes nodes other than the messages it takes.
package queue
