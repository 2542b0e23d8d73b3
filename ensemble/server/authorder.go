package server

import (
	"slices"
	"unicode/utf16"

	"github.com/zookit/zookit/ensemble/proto"
)

// javaSetOrder orders a connection's identities as ZooKeeper's whoAmI
// lists them: ServerCnxn keeps them in a set backed by a ConcurrentHashMap,
// which iterates by hash bucket (of the jute Id's hashCode, spread as the
// map spreads it, over a table of 16 buckets grown by doubling past a
// 0.75 load), and in insertion order within a bucket.
func javaSetOrder(ids []proto.ID) []proto.ID {
	n := 16
	for len(ids) > n*3/4 {
		n *= 2
	}
	type entry struct {
		id        proto.ID
		bin, rank int
	}
	es := make([]entry, len(ids))
	for i, id := range ids {
		h := uint32(idHashCode(id))
		es[i] = entry{id, int((h^h>>16)&0x7fffffff) & (n - 1), i}
	}
	slices.SortStableFunc(es, func(a, b entry) int { return a.bin - b.bin })
	out := make([]proto.ID, len(es))
	for i, e := range es {
		out[i] = e.id
	}
	return out
}

// idHashCode is org.apache.zookeeper.data.Id.hashCode.
func idHashCode(id proto.ID) int32 {
	r := int32(17)
	r = 37*r + javaStringHash(id.Scheme)
	return 37*r + javaStringHash(id.ID)
}

// javaStringHash is String.hashCode, over UTF-16 code units.
func javaStringHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}
