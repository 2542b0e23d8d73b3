package recipes

import (
	"slices"
	"strings"
)

// SortKey is Curator's sort key for a sequential node name: what follows the
// last occurrence of lockName (the 10-digit sequence number), or the whole
// name when lockName does not occur. Keys compare as byte strings, as Java's
// String.compareTo does for ASCII, so that protected prefixes and foreign
// names order exactly as Curator orders them.
func SortKey(name, lockName string) string {
	if i := strings.LastIndex(name, lockName); i >= 0 {
		return name[i+len(lockName):]
	}
	return name
}

// SortChildren sorts names in place by key, keeping the server's order
// among equal keys as Java's stable sort does.
func SortChildren(names []string, key func(string) string) {
	slices.SortStableFunc(names, func(a, b string) int { return strings.Compare(key(a), key(b)) })
}
