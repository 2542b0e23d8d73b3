package election

import (
	"context"
	"errors"
	"path"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/internal/contend"
	"github.com/zookit/zookit/recipes"
)

// Node names, byte-exact with Curator.
const (
	selectorName = "lock-"
	latchName    = "latch-"
)

var (
	// ErrNotHeld is the error of a guarded write made when leadership was
	// no longer held (see Leadership.Guard).
	ErrNotHeld = contend.ErrNotHeld
	// ErrClosed is returned by a closed LeaderLatch.
	ErrClosed = errors.New("election: latch closed")
)

// Option configures an Election or a LeaderLatch.
type Option func(*options)

type options struct {
	tolerance time.Duration
	requeue   bool
}

// WithSuspendTolerance lets a Leadership stay trusted while the connection
// is suspended for up to d, capped at a quarter of the session timeout so that
// Done closes before the server can expire the session and elect another.
// The default, 0, ends leadership on the first Suspended, as Curator's
// standard error policy does.
func WithSuspendTolerance(d time.Duration) Option {
	return func(o *options) { o.tolerance = d }
}

// WithRequeue makes Run campaign again after each term, as Curator's
// LeaderSelector.autoRequeue does.
func WithRequeue() Option {
	return func(o *options) { o.requeue = true }
}

func buildOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Participant is one contender, as Curator's Participant describes it.
type Participant struct {
	// ID is the participant id, the node's data.
	ID string
	// Path is the contender's node.
	Path string
	// IsLeader is set for the first contender.
	IsLeader bool
}

// Leadership is a term of leadership. Path, Fence, Done and Guard are those
// of the leader's node.
type Leadership struct {
	*contend.Hold
	resign func(ctx context.Context) error
}

// Resign ends the term: the node is deleted (in the background if it
// cannot be now) and Done closes. For a LeaderLatch's term it closes the
// latch. Safe to call more than once.
func (l *Leadership) Resign(ctx context.Context) error { return l.resign(ctx) }

// Election is leader selection on Curator's LeaderSelector layout, which
// is InterProcessMutex's: Go and Java contenders on one path exclude each
// other.
type Election struct {
	k    contend.Contender
	opts options
}

// New returns an Election on path (a Client path) for the participant id,
// which is what Leader and Participants report for this process.
func New(c *recipes.Client, path, id string, opts ...Option) *Election {
	return &Election{
		k:    contend.Contender{Client: c, Base: path, Name: selectorName, Data: []byte(id), Won: contend.MaxLeases(1)},
		opts: buildOptions(opts),
	}
}

// Campaign waits until this process leads, or ctx ends.
func (e *Election) Campaign(ctx context.Context) (*Leadership, error) {
	h, err := e.k.Hold(ctx, false, contend.Policy{Tolerance: e.opts.tolerance})
	if err != nil {
		return nil, err
	}
	return &Leadership{Hold: h, resign: func(ctx context.Context) error { return contend.Release(ctx, h) }}, nil
}

// Run campaigns and calls lead with the Leadership and a context that ends
// when the term does (its Done closes, or ctx ends); the term ends when lead
// returns. WithRequeue, it then campaigns again until ctx ends; otherwise
// it returns lead's error. This is Curator's LeaderSelector with
// takeLeadership, where a connection problem cancels the leader.
func (e *Election) Run(ctx context.Context, lead func(ctx context.Context, l *Leadership) error) error {
	for {
		l, err := e.Campaign(ctx)
		if err != nil {
			return err
		}
		termCtx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-l.Done():
				cancel()
			case <-termCtx.Done():
			}
		}()
		err = lead(termCtx, l)
		cancel()
		l.Resign(context.WithoutCancel(ctx))
		if !e.opts.requeue || ctx.Err() != nil {
			return err
		}
	}
}

// Leader returns the current leader; a zero Participant when there is none.
func (e *Election) Leader(ctx context.Context) (Participant, error) {
	return leader(ctx, &e.k)
}

// Participants lists every contender in order, the leader first.
func (e *Election) Participants(ctx context.Context) ([]Participant, error) {
	return participants(ctx, &e.k, nil)
}

// Observe streams the leader as it changes (a zero Participant while there
// is none), starting with the current one, until ctx ends; then the channel
// is closed. Errors reading the election end the stream.
func (e *Election) Observe(ctx context.Context) <-chan Participant {
	return observe(ctx, &e.k)
}

// participants reads the id of every contender in k's order. A node that
// goes away while it is read is left out, as Curator's getParticipants does.
func participants(ctx context.Context, k *contend.Contender, sorted []string) ([]Participant, error) {
	if sorted == nil {
		var err error
		if sorted, err = k.Sorted(ctx); err != nil {
			return nil, err
		}
	}
	var out []Participant
	for _, n := range sorted {
		p := path.Join(k.Base, n)
		data, _, err := k.Client.Get(ctx, p)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Participant{ID: string(data), Path: p, IsLeader: len(out) == 0})
	}
	return out, nil
}

func leader(ctx context.Context, k *contend.Contender) (Participant, error) {
	for {
		sorted, err := k.Sorted(ctx)
		if err != nil || len(sorted) == 0 {
			return Participant{}, err
		}
		p := path.Join(k.Base, sorted[0])
		data, _, err := k.Client.Get(ctx, p)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return Participant{}, err
		}
		return Participant{ID: string(data), Path: p, IsLeader: true}, nil
	}
}

// observe watches k's children and reports the first one whenever it
// changes.
func observe(ctx context.Context, k *contend.Contender) <-chan Participant {
	out := make(chan Participant)
	go func() {
		defer close(out)
		var last Participant
		first := true
		for {
			var cur Participant
			err := contend.WaitChildren(ctx, k.Client, k.Base, func([]string) (bool, error) {
				var err error
				cur, err = leader(ctx, k)
				return err != nil || first || cur != last, err
			})
			if err != nil {
				return
			}
			first, last = false, cur
			select {
			case out <- cur:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
