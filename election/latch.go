package election

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.uber.org/zap"

	"github.com/zookit/zookit/internal/contend"
	"github.com/zookit/zookit/internal/fanout"
	"github.com/zookit/zookit/recipes"
)

// CloseMode says whether closing a LeaderLatch tells its Changes readers.
type CloseMode int

const (
	// Silent closes Changes without a last false, as Curator's SILENT.
	Silent CloseMode = iota
	// NotifyLeader sends false on Changes first if the latch was leading,
	// as Curator's NOTIFY_LEADER.
	NotifyLeader
)

// LeaderLatch is Curator's LeaderLatch: every open latch on a path keeps
// one node there, and the first node leads.
type LeaderLatch struct {
	k    contend.Contender
	opts options

	ctx    context.Context // ends when the latch closes
	cancel context.CancelFunc
	done   chan struct{} // the loop has stopped

	mu      sync.Mutex
	node    string
	term    *Leadership
	changed chan struct{} // closed and replaced whenever term changes
	closed  bool
	changes *fanout.Fanout[bool]
	leading bool // the last change published
	mode    CloseMode
}

// NewLeaderLatch starts a latch on path (a Client path) for the
// participant id. It takes part until Close.
func NewLeaderLatch(c *recipes.Client, path, id string, opts ...Option) *LeaderLatch {
	ctx, cancel := context.WithCancel(context.Background())
	l := &LeaderLatch{
		k:       contend.Contender{Client: c, Base: path, Name: latchName, Data: []byte(id), Won: contend.MaxLeases(1)},
		opts:    buildOptions(opts),
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
		changed: make(chan struct{}),
		changes: fanout.New[bool](),
	}
	// A closed Client ends the latch's work; Close still cleans up.
	go func() {
		select {
		case <-c.Closed():
			cancel()
		case <-ctx.Done():
		}
	}()
	go l.run()
	return l
}

// Await waits until the latch leads and returns the term, or ctx ends, or
// the latch is closed (ErrClosed). An ended ctx returns its error even while
// the latch leads, so that a loop around Await stops.
func (l *LeaderLatch) Await(ctx context.Context) (*Leadership, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		l.mu.Lock()
		term, changed, closed := l.term, l.changed, l.closed
		l.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if term != nil {
			select {
			case <-term.Done():
			default:
				return term, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// HasLeadership reports whether the latch leads now.
func (l *LeaderLatch) HasLeadership() bool {
	l.mu.Lock()
	term := l.term
	l.mu.Unlock()
	if term == nil {
		return false
	}
	select {
	case <-term.Done():
		return false
	default:
		return true
	}
}

// Path is the latch's node, "" while it has none.
func (l *LeaderLatch) Path() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.node
}

// Changes delivers true when the latch starts leading and false when it
// stops, in order, like Curator's LeaderLatchListener, from the call on
// until ctx ends or the latch is closed; then it is closed. A slow reader
// delays only itself.
func (l *LeaderLatch) Changes(ctx context.Context) <-chan bool { return l.changes.Subscribe(ctx) }

// Leader returns the current leader; a zero Participant when there is none.
func (l *LeaderLatch) Leader(ctx context.Context) (Participant, error) {
	return leader(ctx, &l.k)
}

// Participants lists every latch on the path in order, the leader first.
func (l *LeaderLatch) Participants(ctx context.Context) ([]Participant, error) {
	return participants(ctx, &l.k, nil)
}

// Observe streams the leader as it changes (see Election.Observe).
func (l *LeaderLatch) Observe(ctx context.Context) <-chan Participant {
	return observe(ctx, &l.k)
}

// Close leaves the election: leadership ends, the node is deleted (in the
// background if the server cannot be reached before ctx ends) and Changes
// is closed, after a last false in NotifyLeader mode. Safe to call twice.
func (l *LeaderLatch) Close(ctx context.Context, mode CloseMode) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mode = mode
	l.mu.Unlock()
	l.cancel()
	<-l.done
	l.mu.Lock()
	node, term := l.node, l.term
	l.node, l.term = "", nil
	l.signalLocked(false)
	l.mu.Unlock()
	l.changes.Close()
	if term != nil {
		return contend.Release(ctx, term.Hold)
	}
	if node != "" {
		return l.k.Client.DeleteGuaranteed(ctx, node)
	}
	return nil
}

// run is the one goroutine that owns the latch's node: it makes the node,
// waits for it to lead, and after a term ends waits for the connection and
// checks again, keeping the node unless it is gone or not the session's.
func (l *LeaderLatch) run() {
	defer close(l.done)
	c := l.k.Client
	// Errors a reconnect does not cure (no permission on the path, say)
	// would otherwise spin; each one in a row waits longer, up to 5 s.
	// Connection errors only wait for the connection.
	pause := backoff.NewExponentialBackOff(backoff.WithMaxInterval(5*time.Second), backoff.WithMaxElapsedTime(0))
	failed := func(err error) {
		c.Logger().Warn("leader latch", zap.String("path", l.k.Base), zap.Error(err))
		l.k.Client.AwaitConnected(l.ctx)
		if recipes.Retryable(err) {
			return
		}
		select {
		case <-time.After(pause.NextBackOff()):
		case <-l.ctx.Done():
		}
	}
	for l.ctx.Err() == nil {
		node := l.Path()
		if node == "" {
			n, err := l.k.Create(l.ctx)
			if err != nil {
				failed(err)
				continue
			}
			if !l.setNode(n) {
				c.DeleteInBackground(n)
				return
			}
			node = n
		}
		err := l.k.Wait(l.ctx, node, false)
		var h *contend.Hold
		if err == nil {
			h, err = contend.Take(l.ctx, c, node, contend.Policy{Tolerance: l.opts.tolerance})
		}
		if errors.Is(err, contend.ErrMissing) {
			// Our node is gone, or belongs to a session that ended while
			// we were away: it must not lead. Start again with a new one.
			c.DeleteInBackground(node)
			l.setNode("")
			continue
		}
		if err != nil {
			failed(err)
			continue
		}
		pause.Reset()
		term := &Leadership{Hold: h, resign: func(ctx context.Context) error { return l.Close(ctx, NotifyLeader) }}
		l.setTerm(term)
		select {
		case <-h.Done():
		case <-l.ctx.Done():
		}
		l.setTerm(nil)
		l.k.Client.AwaitConnected(l.ctx)
	}
}

// setNode records the latch's node; false when the latch closed meanwhile.
func (l *LeaderLatch) setNode(n string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.node = n
	return true
}

func (l *LeaderLatch) setTerm(t *Leadership) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		// Close releases the term it finds; this one came too late.
		if t != nil {
			contend.Release(context.Background(), t.Hold)
		}
		return
	}
	l.term = t
	l.signalLocked(t != nil)
}

// signalLocked wakes Await and, when leadership changed, queues the change
// for Changes; a Silent close queues nothing.
func (l *LeaderLatch) signalLocked(leading bool) {
	close(l.changed)
	l.changed = make(chan struct{})
	if leading == l.leading || (l.closed && l.mode == Silent) {
		return
	}
	l.leading = leading
	l.changes.Publish(leading)
}
