// Package lock provides inter-process locks over ZooKeeper that share their
// znode layout and ordering with Apache Curator's, so that Go and Java
// processes can exclude each other on the same path:
//
//	Mutex           InterProcessMutex          <path>/_c_<uuid>-lock-<seq>
//	RWMutex         InterProcessReadWriteLock  <path>/_c_<uuid>-__WRIT__<seq>, -__READ__<seq>
//	Semaphore       InterProcessSemaphoreV2    <path>/locks (a Mutex), <path>/leases/_c_<uuid>-lease-<seq>
//	SemaphoreMutex  InterProcessSemaphoreMutex a Semaphore with one lease
//	MultiLock       InterProcessMultiLock      several of the above, all or nothing
//
// Contenders wait only on their predecessor (no herd), and nodes are created
// with recipes.Client's protected create, so a lost reply never leaves an
// orphan contender that would block everyone else. The acquire loop is the
// contention engine every sequential-node recipe shares (internal/contend),
// and a Lease is its held-node handle, as an election's Leadership is.
//
// A successful acquisition returns a *Lease. Ownership belongs to the Lease,
// not to a goroutine: any goroutine holding it may Unlock it, and Reenter
// makes it re-entrant explicitly. A Lease's Done channel closes when the lock
// can no longer be trusted (the connection has been suspended for longer than
// WithSuspendTolerance allows, the session is lost, the node was deleted) or
// has been released. ZooKeeper cannot stop another process from taking the
// lock after that moment, so writes made under a lock should be fenced: Guard
// runs a multi that succeeds only while the lock node exists (ErrNotHeld
// otherwise, distinct from the ops' own errors), and Fence gives
// a token (the node's czxid) that grows with every new holder, for resources
// outside ZooKeeper.
//
// Nodes carry empty data unless WithData says otherwise; Curator's default is
// the host's IP address, which no Curator lock reads.
package lock
