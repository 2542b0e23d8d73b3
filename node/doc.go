// Package node keeps nodes alive across connection trouble, as Apache
// Curator's nodes recipes do, and builds group membership on them:
//
//	Persistent   PersistentNode     <path> (or its protected, sequential form), any mode
//	PersistentTTL PersistentTtlNode <path> and <path>/touch, both PERSISTENT_WITH_TTL
//	GroupMember  GroupMember        <path>/<id>, EPHEMERAL, data = payload
//
// A Persistent node is made in the background and made again whenever it
// goes: deleted by someone, or taken by the end of its session. After the
// first create, a sequential node keeps the name it got, as Curator's does,
// so watchers of that name see it come back. A node that already exists is
// adopted and given our data, as Curator adopts it.
//
// A PersistentTTL node outlives its process by about its TTL: its touch
// child is written every TTL/2, so when the writes stop the child expires,
// then the childless parent. The package deletes only the nodes it keeps,
// and only on Close.
package node
