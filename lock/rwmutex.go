package lock

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/zookit/zookit/internal/contend"
	"github.com/zookit/zookit/recipes"
)

// RWMutex is a readers-writer lock compatible with Curator's
// InterProcessReadWriteLock on the same path. Writers and readers share one
// directory (_c_<uuid>-__WRIT__<seq>, _c_<uuid>-__READ__<seq>), ordered by
// sequence number. A writer waits for everyone before it; a reader waits
// only for the first writer before it, so readers never wait on later
// writers. There is no read-to-write upgrade; Downgrade goes the other way.
type RWMutex struct {
	write, read contender
}

// NewRWMutex returns an RWMutex on path (a Client path).
func NewRWMutex(c *recipes.Client, path string, opts ...Option) *RWMutex {
	o := buildOptions(opts)
	return &RWMutex{
		write: newContender(c, path, writeName, rwKey, contend.MaxLeases(1), o),
		read:  newContender(c, path, readName, rwKey, readPredicate, o),
	}
}

// readPredicate is Curator's read-lock driver: held iff no writer comes
// before us; otherwise wait for the first writer.
func readPredicate(children []string, ours string) (bool, string, error) {
	firstWrite := -1
	for i, n := range children {
		if strings.Contains(n, writeName) {
			if firstWrite < 0 {
				firstWrite = i
			}
			continue
		}
		if strings.HasPrefix(n, ours) {
			if firstWrite < 0 {
				return true, "", nil
			}
			return false, children[firstWrite], nil
		}
	}
	return false, "", contend.ErrMissing
}

// Lock takes the write lock, waiting until it is held or ctx ends.
func (rw *RWMutex) Lock(ctx context.Context) (*Lease, error) { return rw.write.acquire(ctx, false) }

// TryLock takes the write lock only if that needs no waiting.
func (rw *RWMutex) TryLock(ctx context.Context) (*Lease, error) { return rw.write.acquire(ctx, true) }

// RLock takes a read lock, waiting until it is held or ctx ends.
func (rw *RWMutex) RLock(ctx context.Context) (*Lease, error) { return rw.read.acquire(ctx, false) }

// TryRLock takes a read lock only if that needs no waiting.
func (rw *RWMutex) TryRLock(ctx context.Context) (*Lease, error) { return rw.read.acquire(ctx, true) }

// Downgrade takes a read lock for the holder of the write lease w. The read
// node is a plain ephemeral named with the writer's sequence number, so it
// sorts at the writer's place (Curator 5.5's fix, CURATOR-621): once w is
// unlocked, writers queued behind still wait for this reader. It is held at
// once.
func (rw *RWMutex) Downgrade(ctx context.Context, w *Lease) (*Lease, error) {
	if path.Dir(w.Path()) != rw.write.k.Base || !strings.Contains(path.Base(w.Path()), writeName) {
		return nil, fmt.Errorf("lock: downgrade: %s is not a write lease of %s", w.Path(), rw.write.k.Base)
	}
	select {
	case <-w.Done():
		return nil, fmt.Errorf("lock: downgrade: %w", ErrReleased)
	default:
	}
	k := rw.read
	k.k.Fixed = recipes.SortKey(path.Base(w.Path()), writeName)
	k.k.Won = func([]string, string) (bool, string, error) { return true, "", nil }
	return k.acquire(ctx, false)
}

// Participants lists the read and write contenders' node paths in lock
// order.
func (rw *RWMutex) Participants(ctx context.Context) ([]string, error) {
	return rw.write.participants(ctx, readName, writeName)
}
