// Package counter holds shared counters over ZooKeeper with Apache
// Curator's encodings, so that Go and Java processes count on the same
// node:
//
//	SharedCount        SharedCount                 <path>, 4-byte big-endian int32
//	Atomic[int64]      DistributedAtomicLong       <path>, 8-byte big-endian int64
//	Atomic[int32]      DistributedAtomicInteger    <path>, 4-byte big-endian int32
//
// Every update is a versioned setData (or a create when the node is
// missing), so no update is lost whatever the mix of processes. An Atomic
// first tries optimistically, retrying under its own RetryPolicy; made
// WithPromotion, it then takes a lock.Mutex on a separate path and tries
// again under it, as Curator's PromotedToLock does. As in Curator, an
// attempt that found too much contention is not an error: its Result says
// it did not succeed.
//
// A SharedCount keeps a local copy of the value, updated from a data watch,
// and streams every newer value (by mzxid) to its listeners.
//
// Empty data reads as 0, as Curator's atomic values read it (a SharedCount
// reads it as 0 too, where Curator's throws); data shorter than the
// encoding is an error, never a guess. The package never deletes
// the counter node.
package counter
