// Package contend is the contention engine every sequential-node recipe of
// zookit shares, and the handle of a node that has won.
//
// A Contender is one kind of participant on a path, in Curator's terms a
// LockInternals with a driver: it makes a protected sequential node
// (<path>/_c_<uuid>-<name><seq>), orders the children by Curator's rule,
// asks a Predicate whether the node has won, and otherwise waits on the one
// node the predicate names, so a release wakes one waiter, not all.
// WaitChildren waits on a child count instead (semaphore leases, barriers).
// A node that will not win is handed to the Client's background delete, so a
// caller whose context ends never waits for an unreachable server.
//
// A Hold is a node that won: a lock lease or a leadership. Its Done channel
// closes when the node can no longer be trusted, its Fence is the node's
// czxid, and Guard makes writes conditional on the node still existing,
// failing with ErrNotHeld when it does not.
//
// The package never decides what a recipe means by winning; lock, election
// and barrier do.
package contend
