// Package queue holds distributed queues over ZooKeeper with Apache
// Curator 5.4's layouts, so that Go and Java processes produce and consume
// on the same path:
//
//	type              Curator                   item node under <path>
//	SimpleQueue       SimpleDistributedQueue    qn-<seq>, data = the message
//	DistributedQueue  DistributedQueue          queue-<seq>
//	PriorityQueue     DistributedPriorityQueue  queue-<s><%08X of uint32(p)><seq>, s = 1 if p >= 0, else 0
//	DelayQueue        DistributedDelayQueue     queue-|<%08X of the due Unix ms>|<seq>
//	IDQueue           DistributedIdQueue        queue-|<id, with '/' and '|' as '_'>|<seq>
//
// Items are PERSISTENT_SEQUENTIAL nodes; <seq> is the server's ten-digit
// sequence number. A queue- item holds Curator's ItemSerializer envelope
// (EncodeItem, DecodeItem): int32 0x00010001, then each message as byte
// 0x01, an int32 length and the bytes, then byte 0x02; a
// PutMulti stores several messages in one item, which one consumer takes
// whole. Messages are bytes: marshal them yourself. With WithLockPath, a
// consumer locks an item with the ephemeral node <lockPath>/<item name>.
// The queue path and the lock path are made as persistent nodes, as
// Curator's start makes them, since Curator's puts and locks make no
// parents.
//
// # Order
//
// Consumers skip children that do not start with the layout's prefix
// (qn-, queue-), as Curator's do. DistributedQueue and PriorityQueue take
// items in name order, so by priority, lower values first, then in put
// order. DelayQueue takes an item only once it is due, earliest due first;
// a consumer sleeps until the first item is due and wakes earlier when the
// children change. IDQueue takes items in put order whatever their id (it
// sorts by the name without its |id| part); Remove deletes every item of
// an id. Priority and delay consumers list the queue again after each
// item, so a new item that sorts first is taken next (Curator's
// refreshOnWatch). Consumers wait on a child watch, never poll; a
// lock-path consumer that meets an item locked by another also watches
// that lock node, so the item is taken as soon as the lock goes.
//
// # Delivery
//
// Default mode (Curator's): a consumer reads an item, deletes it if its
// version is unchanged, then delivers it. Whoever deletes it has it, so
// every item is delivered at most once; a consumer that dies between the
// delete and the Handler loses it.
//
// Lock-path mode (WithLockPath, Curator's "safe" mode): lock, read,
// deliver, then delete the item and unlock (a guaranteed delete). An item
// stays in the queue until its Handler has returned, and a consumer whose
// session ends mid-message leaves its lock node to go with the session and
// the item to the next consumer: every item is delivered at least once.
// A failing Handler is dealt with by the ErrorMode: ErrorRequeue (the
// default) deletes the item and puts its data back at the end in one
// transaction, keeping the name prefix, so the priority, due time or id
// (Curator 5.4 keeps only the id); ErrorDelete drops the message. Take,
// which returns messages instead of calling a Handler, removes an item
// before it returns it, so it is at most once in either mode. Mixing
// modes on one queue loses the guarantee: a default-mode consumer ignores
// locks.
//
// WithMaxItems bounds a queue: a put waits on a child watch while the
// queue path has that many children or more.
//
// # Size: jute.maxbuffer
//
// Every consumer lists the whole queue, so ZooKeeper's bound on a reply,
// jute.maxbuffer (1 MiB less one byte by default, on servers and Java
// clients alike), bounds a queue's length: a child list costs about 4 bytes
// plus the name per item, so some 52,000 queue- items, 61,000 qn- items
// or 36,000 priority or delay items reach it (fewer with long ids). Past it a Java consumer cannot read the
// list and reconnects for ever. A Go consumer's Take and Consume fail at
// once with recipes.ErrReplyTooLarge (the Client's bound, WithMaxReply,
// defaults to the same 1 MiB), while puts go on working, so a producer must
// not outrun its consumers for long. To stay clear of it:
//
//   - keep queues short: WithMaxItems makes producers wait once a queue
//     holds that many items (Curator's maxItems);
//   - put many messages per item with PutMulti, so a batch costs one name;
//   - spread load over several queue paths (Curator's QueueSharder idea);
//   - to drain a queue that has grown too long, consume it with a Client
//     made WithMaxReply(n) larger than the list, from servers whose
//     jute.maxbuffer is raised too (a zookit server refuses a reply above
//     its own); Java consumers need -Djute.maxbuffer.
//
// ZooKeeper's own advice (Curator tech note 4) stands: it makes a poor
// queue for high volumes; use it for coordination-sized queues.
//
// # Retries and residual duplicates
//
// A put retried after a lost reply is recognised by the recipes.Client's
// own-write check of sequential creates (recipes/own.go: a node under the
// same name prefix with our data made after the call began), so a retry
// does not enqueue a message twice; this holds for every prefix above,
// which all lie in one path segment. Item names carry no protection
// prefix (_c_<uuid>-), because Curator's consumers skip any child that
// does not start with queue- or qn-. What stays open:
//
//   - A put whose item is taken by a consumer before the retry looks finds
//     nothing and puts it again: a duplicate.
//   - A put whose ctx ends while its create is on the way returns an
//     error; should the create land after all, the Client deletes the item
//     again, but a consumer may have taken it in between. An earlier
//     attempt whose reply was lost is not undone that way.
//   - Two producers putting identical bytes under the same prefix while one
//     of them retries: the retry may take the other's item for its own,
//     and one of the two messages is lost.
//   - Default mode and SimpleQueue: a delete whose reply is lost cannot be
//     told from another consumer's; the Client counts it as ours, so the
//     message may be delivered twice (Curator drops it instead).
//   - Lock-path mode: a consumer whose session ends after its Handler
//     returned but before the item is deleted leaves the item to be
//     delivered again; under ErrorRequeue, the messages of a multi-message
//     item before the failing one are delivered again with it.
//
// Consume returns when ctx ends or an operation fails after the Client's
// retry policy gave up (errors wrap the Client's, so errors.Is sees
// zk.ErrNoNode, recipes.ErrClosed and the like); it never loops on a
// failure that retrying cannot mend. The package never deletes nodes
// other than the items it takes and removes and its own lock nodes.
package queue
