package lock

import (
	"context"
	"path"
	"slices"

	"github.com/zookit/zookit/internal/contend"
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
	turn   *Mutex
	leases contender
}

// NewSemaphore returns a Semaphore on path with maxLeases leases.
func NewSemaphore(c *recipes.Client, p string, maxLeases int, opts ...Option) *Semaphore {
	s := &Semaphore{
		turn:   NewMutex(c, path.Join(p, "locks")),
		leases: newContender(c, path.Join(p, "leases"), leaseName, nil, leasePredicate(maxLeases), buildOptions(opts)),
	}
	s.leases.k.WatchChildren = true
	return s
}

// leasePredicate is the test of Curator's internalAcquire1Lease once the
// lease node exists: a lease is held while there are at most maxLeases.
func leasePredicate(maxLeases int) contend.Predicate {
	return func(children []string, ours string) (bool, string, error) {
		if !slices.Contains(children, ours) {
			return false, "", contend.ErrMissing
		}
		return len(children) <= maxLeases, "", nil
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
	// With ctx: once it has ended, the release goes to the background.
	defer turn.Unlock(ctx)
	return s.leases.acquire(ctx, try)
}

// Participants lists the lease nodes' paths.
func (s *Semaphore) Participants(ctx context.Context) ([]string, error) {
	return s.leases.k.Participants(ctx, nil)
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
