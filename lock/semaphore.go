package lock

import (
	"context"
	"errors"
	"path"
	"slices"

	"github.com/zookit/zookit/recipes"
)

// Semaphore hands out up to maxLeases leases at a time, compatible with
// Curator's InterProcessSemaphoreV2 on the same path: acquirers take turns
// through a Mutex on <path>/locks, and each lease is an ephemeral node
// <path>/leases/_c_<uuid>-lease-<seq>. Only the turn holder watches the
// leases, so a release wakes one waiter, not all.
//
// As in Curator, maxLeases is not stored in ZooKeeper: all processes must
// agree on it, and every child of <path>/leases counts as a lease.
type Semaphore struct {
	c         *recipes.Client
	leases    string
	maxLeases int
	turn      *Mutex
	opts      options
}

// NewSemaphore returns a Semaphore on path with maxLeases leases.
func NewSemaphore(c *recipes.Client, p string, maxLeases int, opts ...Option) *Semaphore {
	return &Semaphore{
		c:         c,
		leases:    path.Join(p, "leases"),
		maxLeases: maxLeases,
		turn:      NewMutex(c, path.Join(p, "locks")),
		opts:      buildOptions(opts),
	}
}

// Acquire waits for a lease until ctx ends.
func (s *Semaphore) Acquire(ctx context.Context) (*Lease, error) { return s.acquire(ctx, false) }

// TryAcquire takes a lease only if one is free and no one else is
// acquiring; otherwise it returns ErrLocked.
func (s *Semaphore) TryAcquire(ctx context.Context) (*Lease, error) { return s.acquire(ctx, true) }

func (s *Semaphore) acquire(ctx context.Context, try bool) (*Lease, error) {
	turn, err := s.turn.k.acquire(ctx, try)
	if err != nil {
		return nil, err
	}
	defer turn.Unlock(context.WithoutCancel(ctx))
	for {
		node, err := s.c.CreateProtected(ctx, path.Join(s.leases, leaseName), s.opts.data, true)
		if err != nil {
			return nil, err
		}
		l, err := s.wait(ctx, node, try)
		if err == nil {
			return l, nil
		}
		abandon(s.c, node)
		if !errors.Is(err, errMissing) {
			return nil, err
		}
	}
}

// wait is the body of Curator's internalAcquire1Lease once the lease node
// exists: it holds a lease while there are at most maxLeases of them.
func (s *Semaphore) wait(ctx context.Context, node string, try bool) (*Lease, error) {
	ours := path.Base(node)
	for {
		children, ch, err := s.c.ChildrenW(ctx, s.leases)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(children, ours) {
			return nil, errMissing
		}
		if len(children) <= s.maxLeases {
			return hold(ctx, s.c, node, s.opts)
		}
		if try {
			return nil, ErrLocked
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Participants lists the lease nodes' paths.
func (s *Semaphore) Participants(ctx context.Context) ([]string, error) {
	return participants(ctx, s.c, s.leases, func(n string) string { return recipes.SortKey(n, leaseName) },
		func(string) bool { return true })
}

// SemaphoreMutex is a non-re-entrant mutex made of a one-lease Semaphore,
// compatible with Curator's InterProcessSemaphoreMutex. Its layout differs
// from Mutex's, so the two never exclude each other on the same path.
type SemaphoreMutex struct {
	s *Semaphore
}

// NewSemaphoreMutex returns a SemaphoreMutex on path.
func NewSemaphoreMutex(c *recipes.Client, path string, opts ...Option) *SemaphoreMutex {
	return &SemaphoreMutex{s: NewSemaphore(c, path, 1, opts...)}
}

// Lock waits until the lock is held or ctx ends.
func (m *SemaphoreMutex) Lock(ctx context.Context) (*Lease, error) { return m.s.Acquire(ctx) }

// TryLock takes the lock only if that needs no waiting.
func (m *SemaphoreMutex) TryLock(ctx context.Context) (*Lease, error) { return m.s.TryAcquire(ctx) }
