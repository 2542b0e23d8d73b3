// Package barrier provides distributed barriers over ZooKeeper that share
// their znode layout with Apache Curator's, so that Go and Java processes can
// meet at the same barrier:
//
//	Barrier        DistributedBarrier        <path> (PERSISTENT, container parents)
//	DoubleBarrier  DistributedDoubleBarrier  <path>/<uuid> (EPHEMERAL, one per member),
//	                                         <path>/ready (PERSISTENT)
//
// A Barrier is up while its node exists: Set raises it, Remove lowers it,
// and Wait blocks until it is down. A DoubleBarrier gathers a number of
// members: Enter returns once that many have entered, and Leave once every
// member that entered has left.
//
// The package must never let a wait end early. Curator's DoubleBarrier up to
// 5.9 returned from enter after any wake-up of its watcher, even one caused
// by a reconnect (GH-1290); here every wake-up is followed by a fresh look at
// the tree, and only the ready node's existence ends Enter, only the
// departure of every member ends Leave. Every wait is bounded by its
// context, and a member whose Enter fails gives up its node, so that a
// half-entered member is never counted.
//
// Where Curator counts every child of the path, DoubleBarrier counts only
// members' nodes (named by a UUID, Curator's or Kazoo's form), so that a
// stray node can neither let a Go member through early nor hold one in
// Leave forever. Nodes carry empty data unless WithData says otherwise;
// Curator's default is the host's IP address, which no Curator barrier reads.
package barrier
