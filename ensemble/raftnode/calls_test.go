package raftnode

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
)

// A proposal made while no leader is known waits for one, as raft.Node
// held it back, instead of being dropped by raft; one whose context ends
// meanwhile is refused with the context's error.
func TestProposalWaitsForLeader(t *testing.T) {
	net := newChanNet(1, 2, 3)
	ms := threeMembers(t, net)
	startMember(t, net, ms[0])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if err := ms[0].n.Propose(ctx, []byte("early"), func(err error) { t.Errorf("early proposal refused: %v", err) }); err != nil {
		t.Fatal(err)
	}
	gone, give := context.WithCancel(ctx)
	if err := refusal(t, ctx, ms[0].n, gone, "given up", give); !errors.Is(err, context.Canceled) {
		t.Fatalf("the given-up proposal was refused with %v, want context.Canceled", err)
	}

	startMember(t, net, ms[1])
	startMember(t, net, ms[2])
	for _, m := range ms {
		if !m.sm.waitEntry(ctx, "early") {
			t.Fatalf("node %d never applied the proposal made before there was a leader", m.cfg.ID)
		}
	}
	if ms[0].sm.waitEntry(shortly(t), "given up") {
		t.Fatal("the given-up proposal applied")
	}
}

// A proposal raft refuses outright, here on a leader handing over to a
// member that cannot answer, reaches its dropped callback.
func TestProposalRefusedDuringTransfer(t *testing.T) {
	net := newChanNet(1, 2, 3)
	// A transfer to a member that does not answer is abandoned after an
	// election timeout, which testConfig makes long enough to keep it
	// pending for the test.
	ms, lead := runningThree(t, net)
	var target *member
	for _, m := range ms {
		if m != lead {
			target = m
		}
	}
	net.setCut(target.cfg.ID, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lead.n.TransferLeadership(ctx, target.cfg.ID)
	// Status is answered after the transfer request is stepped.
	if st := lead.n.Status(); st.LeadTransferee != target.cfg.ID {
		t.Fatalf("leader %d is handing over to %d, want %d", lead.cfg.ID, st.LeadTransferee, target.cfg.ID)
	}
	if err := refusal(t, ctx, lead.n, ctx, "during transfer", func() {}); !errors.Is(err, raft.ErrProposalDropped) {
		t.Fatalf("refused with %v, want raft.ErrProposalDropped", err)
	}
}

// refusal proposes data on n with propCtx, calls then, and returns why
// the proposal was refused; the test fails if it is not refused before ctx
// ends.
func refusal(t *testing.T, ctx context.Context, n *Node, propCtx context.Context, data string, then func()) error {
	t.Helper()
	refused := make(chan error, 1)
	if err := n.Propose(propCtx, []byte(data), func(err error) { refused <- err }); err != nil {
		t.Fatalf("proposal %q not taken: %v", data, err)
	}
	then()
	select {
	case err := <-refused:
		return err
	case <-ctx.Done():
		t.Fatalf("proposal %q was never refused", data)
		return nil
	}
}

// shortly is a context that ends soon, for checking that something does
// not happen.
func shortly(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}
