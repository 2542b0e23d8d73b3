package lock

import (
	"context"
	"errors"
	"strings"

	"github.com/zookit/zookit/internal/contend"
	"github.com/zookit/zookit/recipes"
)

// Lock names, byte-exact with Curator.
const (
	mutexName = "lock-"
	readName  = "__READ__"
	writeName = "__WRIT__"
	leaseName = "lease-"
)

func rwKey(n string) string {
	return recipes.SortKey(recipes.SortKey(n, readName), writeName)
}

// contender is one kind of participant on a lock path with the lock's
// options: Curator's LockInternals with a driver.
type contender struct {
	k    contend.Contender
	opts options
}

func newContender(c *recipes.Client, base, name string, key func(string) string, won contend.Predicate, o options) contender {
	return contender{k: contend.Contender{Client: c, Base: base, Name: name, Data: o.data, Key: key, Won: won}, opts: o}
}

// acquire waits until a node of ours holds the lock, or with try returns
// ErrLocked at once when it does not.
func (k *contender) acquire(ctx context.Context, try bool) (*Lease, error) {
	l := &Lease{revoked: make(chan struct{}), count: 1}
	p := contend.Policy{Tolerance: k.opts.tolerance}
	if k.opts.revocable {
		p.OnData = l.onData
	}
	h, err := k.k.Hold(ctx, try, p)
	if errors.Is(err, contend.ErrWouldWait) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, err
	}
	l.Hold = h
	return l, nil
}

// participants lists the nodes of a lock path whose names contain one of
// names, in lock order.
func (k *contender) participants(ctx context.Context, names ...string) ([]string, error) {
	return k.k.Participants(ctx, func(n string) bool {
		for _, name := range names {
			if strings.Contains(n, name) {
				return true
			}
		}
		return false
	})
}
