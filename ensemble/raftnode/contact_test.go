package raftnode

import (
	"testing"
	"time"
)

// Contact follows what each member hears: a follower's stops when it is
// cut off from its leader, the leader's keeps up while a quorum answers it
// and stops when none does; a solitary voter's is always now.
func TestContact(t *testing.T) {
	net := newChanNet(1, 2, 3)
	ms, lead := runningThree(t, net)
	var fs []*member
	for _, m := range ms {
		if m != lead {
			fs = append(fs, m)
		}
	}
	// Heartbeats every tick (10 ms) keep every member's contact moving.
	advances := func(m *member) bool {
		t.Helper()
		before := m.n.Contact()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if m.n.Contact().After(before) {
				return true
			}
		}
		return false
	}
	stays := func(m *member) bool {
		t.Helper()
		before := m.n.Contact()
		time.Sleep(200 * time.Millisecond)
		return !m.n.Contact().After(before)
	}
	for _, m := range ms {
		if m.n.Contact().IsZero() || !advances(m) {
			t.Fatalf("node %d: contact %v does not advance in a healthy group", m.cfg.ID, m.n.Contact())
		}
	}

	net.setCut(fs[0].cfg.ID, true)
	if !stays(fs[0]) {
		t.Error("a follower cut off from its leader still reports new contact")
	}
	if !advances(lead) {
		t.Error("the leader's contact stopped while a quorum still answers it")
	}

	net.setCut(fs[1].cfg.ID, true)
	if !stays(lead) {
		t.Error("the leader's contact advances with no quorum answering it")
	}
}

func TestContactSoleVoter(t *testing.T) {
	n := start(t, testConfig(t, t.TempDir()), newTestSM())
	before := time.Now()
	if c := n.Contact(); c.Before(before) {
		t.Errorf("a sole voter's contact %v is older than the call", c)
	}
}
