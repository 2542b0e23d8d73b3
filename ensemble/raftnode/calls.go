package raftnode

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// proposal is a MsgProp for the run goroutine to step, local or a peer's
// forwarded one. While no leader is known raft would drop it, so it waits,
// parked, until one is or until it expires, as raft.Node holds a proposal
// back while it knows no leader.
type proposal struct {
	ctx     context.Context
	until   time.Time // when set, the proposal expires then
	m       *raftpb.Message
	dropped func(error) // when set, told why raft refused the proposal
}

// expired says why p may no longer be stepped, if it may not; only a
// peer's proposal, which has until, costs a clock read.
func (p *proposal) expired() error {
	if err := p.ctx.Err(); err != nil {
		return err
	}
	if !p.until.IsZero() && time.Now().After(p.until) {
		return context.DeadlineExceeded
	}
	return nil
}

func (p *proposal) refused(err error) {
	if p.dropped != nil {
		p.dropped(err)
	}
}

// propose steps p into raft, on the run goroutine, or parks it while no
// leader is known.
func (n *Node) propose(p proposal) {
	if err := p.expired(); err != nil {
		p.refused(err)
		return
	}
	p.m.From = new(n.cfg.ID)
	err := n.rn.Step(p.m)
	switch {
	case err == nil:
	case errors.Is(err, raft.ErrProposalDropped) && n.rn.BasicStatus().Lead == raft.None:
		n.parked = append(n.parked, p)
	default:
		p.refused(fmt.Errorf("raftnode: %w", err))
	}
}

// unpark steps the parked proposals once a leader is known.
func (n *Node) unpark() {
	parked := n.parked
	n.parked = nil
	for _, p := range parked {
		n.propose(p)
	}
}

// expireParked drops the parked proposals whose time is up.
func (n *Node) expireParked() {
	kept := n.parked[:0]
	for _, p := range n.parked {
		if err := p.expired(); err != nil {
			p.refused(err)
			continue
		}
		kept = append(kept, p)
	}
	clear(n.parked[len(kept):])
	n.parked = kept
}

// submit hands a proposal to the run goroutine. It waits only while
// maxBatch proposals already wait there.
func (n *Node) submit(ctx context.Context, p proposal) error {
	select {
	case <-n.stopc:
		return ErrStopped
	default:
	}
	p.ctx = ctx
	return handOver(ctx, n, n.propc, p)
}

// call queues f to run with raft on the run goroutine and returns; it
// waits only while maxBatch calls already wait. Peers' messages come this
// way, so a peer's reader goes back to its connection while the run
// goroutine persists, as it did with raft.Node's goroutine.
func (n *Node) call(ctx context.Context, f func(*raft.RawNode)) error {
	return handOver(ctx, n, n.callc, f)
}

// handOver sends v to n's run goroutine on ch, unless ctx ends or n stops
// first.
func handOver[T any](ctx context.Context, n *Node, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.donec:
		return ErrStopped
	}
}

// report queues f, a delivery report for raft, without blocking: the
// Transport reports from within Send, on the run goroutine.
func (n *Node) report(f func(*raft.RawNode)) {
	n.reportMu.Lock()
	n.reports = append(n.reports, f)
	n.reportMu.Unlock()
	select {
	case n.reportc <- struct{}{}:
	default:
	}
}

// takeReports hands the queued delivery reports to raft.
func (n *Node) takeReports() {
	n.reportMu.Lock()
	reports := n.reports
	n.reports = nil
	n.reportMu.Unlock()
	for _, f := range reports {
		f(n.rn)
	}
}
