// Package election elects one leader among processes over ZooKeeper, with
// Apache Curator's znode layouts so that Go and Java processes take part in
// the same election:
//
//	LeaderLatch  LeaderLatch     <path>/_c_<uuid>-latch-<seq>, data = participant id
//	Election     LeaderSelector  <path>/_c_<uuid>-lock-<seq>,  data = participant id
//
// An Election is a lock.Mutex's layout used for leadership: Campaign waits
// until this process leads and returns a *Leadership; Run leads with a
// function and, WithRequeue, campaigns again after each term. A LeaderLatch
// keeps its node for as long as it is open: leadership comes and goes with
// the connection, and Await returns the current term.
//
// A Leadership is a held node: Done closes when leadership can no longer be
// trusted — the connection has been suspended past the tolerance (default:
// at once), the session is lost, the node is gone — which is before the
// server can expire the session and elect another contender. Fence is the
// node's czxid, and Guard runs writes that succeed only while the node
// exists (ErrNotHeld otherwise).
//
// A latch believes it leads only after checking that its node's
// ephemeralOwner is the current session (Curator 5.7's fix for CURATOR-696),
// and it keeps its node across a reconnect instead of recreating it
// (CURATOR-644); one goroutine owns each latch's state, so reconnect handlers
// never interleave (CURATOR-620).
//
// Observe streams who leads; Leader and Participants read the node data as
// Curator's Participant does. The package never deletes nodes it did not
// create.
package election
