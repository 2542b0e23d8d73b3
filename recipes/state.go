package recipes

import (
	"context"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"
)

// State is the connection state of a Client, as Curator defines it.
type State int

const (
	// Connected is reported once, for the Client's first session.
	Connected State = iota + 1
	// Suspended: the connection is gone; the session may still be alive, so
	// nothing the session holds can be trusted until Reconnected.
	Suspended
	// Reconnected follows Suspended or Lost once a session is usable again.
	// After Lost it is a new session.
	Reconnected
	// Lost: the session has expired, or has been disconnected for the whole
	// negotiated session timeout. Its ephemeral nodes are gone or going.
	Lost
	// ReadOnly: connected to a server in read-only mode.
	ReadOnly
)

var stateNames = map[State]string{
	Connected:   "Connected",
	Suspended:   "Suspended",
	Reconnected: "Reconnected",
	Lost:        "Lost",
	ReadOnly:    "ReadOnly",
}

func (s State) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return "State(unknown)"
}

// IsConnected reports whether requests can be served in this state.
func (s State) IsConnected() bool {
	return s == Connected || s == Reconnected || s == ReadOnly
}

// State returns the current connection state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// AwaitConnected waits until the Client is connected (Curator's
// blockUntilConnected); it fails when ctx ends or the Client is closed
// first.
func (c *Client) AwaitConnected(ctx context.Context) error {
	for st := range c.Listen(ctx) {
		if st.IsConnected() {
			return nil
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// Listen returns a channel that first carries the current state and then
// every change, in order and without drops, until ctx is done or the Client
// is closed; then it is closed. A slow reader delays only itself.
func (c *Client) Listen(ctx context.Context) <-chan State {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Under mu, so that no change slips between the state and the
	// subscription.
	return c.states.Subscribe(ctx, c.state)
}

// connEvent is a go-zk session event tagged with the connection it came
// from; sessionID and timeout are set for zk.StateHasSession.
type connEvent struct {
	gen       uint64
	state     zk.State
	sessionID int64
	timeout   time.Duration
	lostTimer bool // the simulated-expiry timer of connection gen fired
}

// eventQueue hands events from go-zk's callback, which must not block, to the
// one goroutine that runs the state machine, so that handlers never
// interleave.
type eventQueue struct {
	mu     sync.Mutex
	items  []connEvent
	wake   chan struct{}
	closed chan struct{}
	once   sync.Once
}

func newEventQueue() *eventQueue {
	return &eventQueue{wake: make(chan struct{}, 1), closed: make(chan struct{})}
}

func (q *eventQueue) push(e connEvent) {
	q.mu.Lock()
	q.items = append(q.items, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop waits for the next events; ok is false once the queue is closed.
func (q *eventQueue) pop() (items []connEvent, ok bool) {
	for {
		q.mu.Lock()
		items, q.items = q.items, nil
		q.mu.Unlock()
		if len(items) > 0 {
			return items, true
		}
		select {
		case <-q.wake:
		case <-q.closed:
			return nil, false
		}
	}
}

func (q *eventQueue) close() { q.once.Do(func() { close(q.closed) }) }

func (c *Client) run() {
	defer c.bg.Done()
	for {
		items, ok := c.events.pop()
		if !ok {
			return
		}
		for _, e := range items {
			c.handle(e)
		}
	}
}

// handle advances the state machine by one go-zk event.
func (c *Client) handle(e connEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.gen != c.gen {
		return
	}
	select {
	case <-c.closed:
		// Close has taken the current connection to close it; a new one
		// would outlive the Client.
		return
	default:
	}
	switch {
	case e.lostTimer:
		if c.state != Suspended {
			return
		}
		c.log.Warn("disconnected for the whole session timeout; treating the session as lost",
			zap.Int64("session", c.sessionID), zap.Duration("timeout", c.timeout))
		c.setLocked(Lost)
		c.replaceLocked()
	case e.state == zk.StateHasSession || e.state == zk.StateConnectedReadOnly:
		c.stopLostTimerLocked()
		if e.timeout > 0 {
			c.timeout = e.timeout
		}
		switch {
		case c.state == 0:
			c.setLocked(Connected)
			close(c.ready)
		case c.state == Suspended && e.sessionID != 0 && c.sessionID != 0 && e.sessionID != c.sessionID:
			// The old session ended while we were away and go-zk went
			// straight to a new one.
			c.setLocked(Lost)
			c.setLocked(Reconnected)
		case c.state == Suspended || c.state == Lost:
			c.setLocked(Reconnected)
		}
		if e.sessionID != 0 {
			c.sessionID = e.sessionID
		}
		if e.state == zk.StateConnectedReadOnly {
			c.setLocked(ReadOnly)
		}
	case e.state == zk.StateDisconnected:
		if !c.state.IsConnected() {
			return
		}
		c.setLocked(Suspended)
		gen := c.gen
		c.lostTimer = time.AfterFunc(c.timeoutLocked(), func() {
			c.events.push(connEvent{gen: gen, lostTimer: true})
		})
	case e.state == zk.StateExpired:
		c.stopLostTimerLocked()
		if c.state != Lost {
			c.setLocked(Lost)
		}
	case e.state == zk.StateAuthFailed:
		c.log.Error("authentication failed")
	}
}

// replaceLocked gives the Client a new connection, and so a new session, as
// after a real expiry: the old connection would resume the old session if
// it came back. It drops mu while dialing, which resolves the servers'
// names, so that calls are not held up meanwhile; only the state machine
// dials or changes the generation, so nothing else can interleave.
func (c *Client) replaceLocked() {
	gen := c.gen + 1
	c.mu.Unlock()
	l, conn, err := c.dial(gen)
	c.mu.Lock()
	if err != nil {
		// Keep the old connection: it recovers once the server is back,
		// through an expiry and a new session if need be.
		c.log.Error("reconnect after simulated expiry", zap.Error(err))
		return
	}
	retire := l
	select {
	case <-c.closed:
		// Close began meanwhile and closes the connection it found.
	default:
		retire = c.link
		c.installLocked(l, conn, gen)
	}
	// Closing can take seconds, so it happens off the state machine,
	// counted in bg so that Close waits for it. bg.Add is safe: run, which
	// calls handle, holds a count of its own.
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		retire.close()
	}()
}

func (c *Client) timeoutLocked() time.Duration {
	if c.timeout > 0 {
		return c.timeout
	}
	return c.opts.sessionTimeout
}

func (c *Client) stopLostTimerLocked() {
	if c.lostTimer != nil {
		c.lostTimer.Stop()
		c.lostTimer = nil
	}
}

func (c *Client) setLocked(s State) {
	c.log.Info("connection state", zap.Stringer("state", s), zap.Int64("session", c.sessionID))
	c.state = s
	c.states.Publish(s)
}

// zkLogger sends go-zk's printf logs to zap at debug level; go-zk logs every
// reconnect attempt, which the state machine already reports.
type zkLogger struct{ l *zap.Logger }

func (z zkLogger) Printf(format string, args ...any) {
	z.l.Sugar().Debugf("zk: "+format, args...)
}
