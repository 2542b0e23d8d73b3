package raftnode

import (
	"slices"
	"sync"
	"time"
)

// contact records when each peer was last heard from.
type contact struct {
	mu    sync.Mutex
	heard map[uint64]time.Time
}

func (c *contact) note(id uint64, at time.Time) {
	c.mu.Lock()
	if c.heard == nil {
		c.heard = make(map[uint64]time.Time)
	}
	c.heard[id] = at
	c.mu.Unlock()
}

// quorum is the latest time by which a majority of voters had been heard
// from, counting self as heard now.
func (c *contact) quorum(self uint64, voters []uint64, now time.Time) time.Time {
	times := make([]time.Time, 0, len(voters))
	c.mu.Lock()
	for _, id := range voters {
		if id == self {
			times = append(times, now)
		} else {
			times = append(times, c.heard[id])
		}
	}
	c.mu.Unlock()
	slices.SortFunc(times, func(a, b time.Time) int { return b.Compare(a) })
	return times[len(times)/2]
}

func (c *contact) of(id uint64) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.heard[id]
}

// Contact is when this node last knew itself part of a working group: on
// the leader, the latest time by which a quorum of voters (itself
// included, both quorums in a joint configuration) had been heard from;
// elsewhere, when it last heard from its leader, the one it last knew if
// it knows none now. The zero time means never.
//
// A server vouches for its clients' sessions only while this is recent.
// The leader expires the sessions it does not hear of, so a member cut off
// from it that kept answering its clients would let a session expire
// while its client still thought itself connected, and a lock or
// leadership be held twice.
func (n *Node) Contact() time.Time {
	now := time.Now()
	cs := n.membership.Load()
	if n.leading.Load() && cs != nil && len(cs.GetVoters()) > 0 {
		t := n.contact.quorum(n.cfg.ID, cs.GetVoters(), now)
		if out := cs.GetVotersOutgoing(); len(out) > 0 {
			if o := n.contact.quorum(n.cfg.ID, out, now); o.Before(t) {
				t = o
			}
		}
		return t
	}
	if n.leading.Load() {
		return now
	}
	return n.contact.of(n.lastLeader.Load())
}
