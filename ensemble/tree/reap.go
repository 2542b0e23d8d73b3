package tree

import "sort"

// reapable is ContainerManager's rule: a childless container that has had a
// child (cversion > 0) or has outlived maxNeverUsed without one, or a
// childless TTL node not modified for longer than its TTL.
func (t *Tree) reapable(n *node, now int64) bool {
	if n.stat.NumChildren > 0 {
		return false
	}
	elapsed := now - n.stat.Mtime
	switch t.kind(n.stat.EphemeralOwner) {
	case ownerContainer:
		return n.stat.Cversion > 0 || t.opts.maxNeverUsed != 0 && elapsed > t.opts.maxNeverUsed
	case ownerTTL:
		ttl := n.stat.EphemeralOwner & ttlValueMask
		return ttl != 0 && elapsed > ttl
	}
	return false
}

// ReapCandidates lists, in path order, at most limit (limit <= 0: all)
// containers and TTL nodes that are due for an OpDeleteContainer at time now.
func (t *Tree) ReapCandidates(now int64, limit int) []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []string
	for _, set := range []map[string]struct{}{t.containers, t.ttls} {
		for p := range set {
			if t.reapable(t.lookup(p), now) {
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}
