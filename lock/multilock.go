package lock

import (
	"context"
	"errors"
)

// Locker is a lock MultiLock can combine: Mutex, RWMutex (its write lock),
// SemaphoreMutex or another MultiLock.
type Locker interface {
	Lock(ctx context.Context) (*Lease, error)
	TryLock(ctx context.Context) (*Lease, error)
}

// MultiLock takes several locks as one, like Curator's
// InterProcessMultiLock: in the order given, all or nothing. Unlike
// Curator's, the context is one deadline for the whole acquisition, not a
// fresh timeout per lock.
type MultiLock struct {
	locks []Locker
}

// NewMultiLock combines locks; they are taken in this order and released in
// reverse.
func NewMultiLock(locks ...Locker) *MultiLock { return &MultiLock{locks: locks} }

// Lock takes every lock, or none if ctx ends first or one fails. The
// Lease's Done closes when any part's does.
func (m *MultiLock) Lock(ctx context.Context) (*Lease, error) { return m.acquire(ctx, Locker.Lock) }

// TryLock takes every lock if none needs waiting, else none (ErrLocked).
func (m *MultiLock) TryLock(ctx context.Context) (*Lease, error) {
	return m.acquire(ctx, Locker.TryLock)
}

func (m *MultiLock) acquire(ctx context.Context, take func(Locker, context.Context) (*Lease, error)) (*Lease, error) {
	if len(m.locks) == 0 {
		return nil, errors.New("lock: empty MultiLock")
	}
	parts := make([]*Lease, 0, len(m.locks))
	for _, lk := range m.locks {
		l, err := take(lk, ctx)
		if err != nil {
			if rerr := releaseAll(context.WithoutCancel(ctx), parts); rerr != nil {
				err = errors.Join(err, rerr)
			}
			return nil, err
		}
		parts = append(parts, l)
	}
	return combine(parts), nil
}
