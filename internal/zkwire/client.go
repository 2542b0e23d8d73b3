package zkwire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/zookit/zookit/ensemble/proto"
)

// State is the client's connection state, named as Java's ZooKeeper.States
// (zkCli.sh shows it in its prompt).
type State int32

const (
	Connecting State = iota
	Connected
	ConnectedReadOnly
	Closed
	AuthFailed
)

func (s State) String() string {
	return [...]string{"CONNECTING", "CONNECTED", "CONNECTEDREADONLY", "CLOSED", "AUTH_FAILED"}[s]
}

// Alive reports whether the client may still reach its session: it has not
// been closed, expired or refused authentication.
func (s State) Alive() bool { return s != Closed && s != AuthFailed }

// ErrClosed is returned by calls on a client that was closed.
var ErrClosed = errors.New("zkwire: client is closed")

// Config tunes a Client. The zero value is usable.
type Config struct {
	// SessionTimeout is asked of the server, which clamps it; 0 means 30s.
	SessionTimeout time.Duration
	// ReadOnly lets the client use a server that serves reads only.
	ReadOnly bool
	// MaxBuffer bounds the size of a reply frame; 0 means jute.maxbuffer's
	// default, proto.DefaultMaxBuffer.
	MaxBuffer int
	// Dial opens a connection; nil means a TCP dial.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
}

// Client is one ZooKeeper session over a changing connection.
type Client struct {
	cfg     Config
	servers []string
	chroot  string
	events  *eventQueue
	stop    chan struct{}
	stopped chan struct{}

	mu        sync.Mutex
	state     State
	fatal     error // set once the session can no longer be used
	closing   bool
	sessionID int64
	passwd    []byte
	timeout   time.Duration
	lastZxid  int64
	xid       int32
	cur       *conn
	up        chan struct{} // closed when cur is set
	server    string
	auths     []proto.AuthPacket
	watches   watchSet
}

// New starts a client for connect ("host:port,host:port/chroot"). It
// returns at once; the session is established in the background, and calls
// wait for it.
func New(connect string, cfg Config) (*Client, error) {
	servers, chroot, err := ParseConnectString(connect)
	if err != nil {
		return nil, err
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 30 * time.Second
	}
	if cfg.MaxBuffer <= 0 {
		cfg.MaxBuffer = proto.DefaultMaxBuffer
	}
	if cfg.Dial == nil {
		var d net.Dialer
		cfg.Dial = func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		}
	}
	c := &Client{
		cfg:     cfg,
		servers: servers,
		chroot:  chroot,
		events:  newEventQueue(),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
		passwd:  make([]byte, 16),
		timeout: cfg.SessionTimeout,
		up:      make(chan struct{}),
		watches: newWatchSet(),
	}
	go c.run()
	return c, nil
}

// Events delivers session and watch events in the order they happened. It
// is closed after the client is closed or its session ends, once drained;
// a client's owner must keep reading it.
func (c *Client) Events() <-chan Event { return c.events.out }

// EventCount is how many events have been queued for Events so far. An
// event a reply's request caused is queued before the call returns, so a
// consumer that has read this many events has seen all of them.
func (c *Client) EventCount() uint64 { return c.events.count() }

// State is the connection state now.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// SessionID is the session's id, 0 before the first connection.
func (c *Client) SessionID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

// SessionTimeout is the timeout the server granted (or the one asked for,
// before the first connection).
func (c *Client) SessionTimeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timeout
}

// Server is the address of the server the client is connected to, or "".
func (c *Client) Server() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.server
}

// WaitConnected waits until the client has a connection.
func (c *Client) WaitConnected(ctx context.Context) error {
	_, err := c.connection(ctx)
	return err
}

// connection waits for the current connection.
func (c *Client) connection(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		cn, up, fatal, closing := c.cur, c.up, c.fatal, c.closing
		c.mu.Unlock()
		switch {
		case fatal != nil:
			return nil, fatal
		case closing:
			return nil, ErrClosed
		}
		if cn != nil {
			return cn, nil
		}
		select {
		case <-up:
		case <-c.stopped:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a connection: %w", ctx.Err())
		}
	}
}

// Close ends the session (closeSession) and the client. The Events channel
// gets a Closed event and is then closed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		<-c.stopped
		return nil
	}
	c.closing = true
	cn := c.cur
	c.mu.Unlock()
	var err error
	if cn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), min(c.SessionTimeout(), 2*time.Second))
		err = c.roundTrip(ctx, cn, proto.OpCloseSession, "", &proto.Empty{}, &proto.Empty{}, nil)
		cancel()
	}
	close(c.stop)
	<-c.stopped
	c.mu.Lock()
	c.state = Closed
	c.mu.Unlock()
	c.events.push(Event{Type: EventNone, State: StateClosed})
	c.events.close()
	if err != nil && !errors.Is(err, proto.ErrConnectionLoss) {
		return fmt.Errorf("close session: %w", err)
	}
	return nil
}

// errExpired is a handshake that the server answered with no session.
var errExpired = errors.New("session expired")

// run keeps a connection until the client is closed or its session ends.
func (c *Client) run() {
	defer close(c.stopped)
	for i := 0; ; i++ {
		select {
		case <-c.stop:
			return
		default:
		}
		addr := c.servers[i%len(c.servers)]
		cn, err := c.connect(addr)
		switch {
		case errors.Is(err, errExpired):
			c.end(Closed, proto.ErrSessionExpired, StateExpired)
			return
		case errors.Is(err, ErrClosed):
			return
		case err != nil:
			// After a full round of refusals, pause before the next one so
			// a dead ensemble is not hammered.
			if (i+1)%len(c.servers) == 0 && !c.sleep(time.Second) {
				return
			}
			continue
		}
		c.serve(cn)
		c.mu.Lock()
		c.cur, c.server, c.up = nil, "", make(chan struct{})
		if c.state != AuthFailed {
			c.state = Connecting
		}
		closing, fatal := c.closing, c.fatal
		c.mu.Unlock()
		cn.fail(&OpError{Code: proto.ErrConnectionLoss})
		if closing || fatal != nil {
			return
		}
		c.events.push(Event{Type: EventNone, State: StateDisconnected})
	}
}

// end makes the session unusable: the state, the error later calls get,
// and a session event for the stream. An expired session has nothing more
// to report, so its stream closes.
func (c *Client) end(state State, code proto.Code, ks KeeperState) {
	c.mu.Lock()
	c.state, c.fatal = state, &OpError{Code: code}
	c.mu.Unlock()
	c.events.push(Event{Type: EventNone, State: ks})
	if ks == StateExpired {
		c.events.close()
	}
}

func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.stop:
		return false
	}
}

// connect dials addr, runs the handshake and, for an existing session,
// queues the auth and watch replays ahead of any new request.
func (c *Client) connect(addr string) (*conn, error) {
	c.mu.Lock()
	req := &proto.ConnectRequest{
		LastZxidSeen: c.lastZxid,
		Timeout:      int32(c.cfg.SessionTimeout / time.Millisecond),
		SessionID:    c.sessionID,
		Passwd:       append([]byte(nil), c.passwd...),
		ReadOnly:     c.cfg.ReadOnly,
		HasReadOnly:  true,
	}
	// Java gives each server an equal share of the session timeout to
	// answer the handshake.
	wait := max(c.timeout/time.Duration(len(c.servers)), time.Second)
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	nc, err := c.cfg.Dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	deadline, _ := ctx.Deadline()
	nc.SetDeadline(deadline)
	r := bufio.NewReaderSize(nc, 64<<10)
	resp, err := handshake(nc, r, req, c.cfg.MaxBuffer)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake with %s: %w", addr, err)
	}
	nc.SetDeadline(time.Time{})
	if resp.SessionID == 0 || resp.Timeout <= 0 {
		nc.Close()
		return nil, errExpired
	}

	cn := newConn(nc, r)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		nc.Close()
		return nil, ErrClosed
	}
	c.sessionID, c.passwd = resp.SessionID, resp.Passwd
	c.timeout = time.Duration(resp.Timeout) * time.Millisecond
	for _, a := range c.auths {
		cn.enqueueAuth(a, nil)
	}
	for _, sw := range c.watches.setWatches(c.lastZxid) {
		cn.enqueue(&request{xid: proto.XidSetWatches, op: proto.OpSetWatches2, body: sw})
	}
	c.cur, c.server = cn, addr
	c.state = Connected
	ks := StateSyncConnected
	if resp.ReadOnly {
		c.state, ks = ConnectedReadOnly, StateConnectedReadOnly
	}
	c.events.push(Event{Type: EventNone, State: ks})
	close(c.up)
	return cn, nil
}

// handshake sends the ConnectRequest and reads the ConnectResponse.
func handshake(nc net.Conn, r *bufio.Reader, req *proto.ConnectRequest, limit int) (*proto.ConnectResponse, error) {
	if _, err := nc.Write(proto.AppendFrame(nil, req)); err != nil {
		return nil, err
	}
	frame, err := proto.ReadFrame(r, nil, limit)
	if err != nil {
		return nil, err
	}
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(frame, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// serve runs cn's writer and reader until the connection breaks or the
// client stops.
func (c *Client) serve(cn *conn) {
	c.mu.Lock()
	timeout := c.timeout
	c.mu.Unlock()
	wdone, rdone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(wdone)
		cn.writeLoop(timeout/3, c.stop, rdone)
	}()
	go func() {
		select {
		case <-c.stop:
		case <-wdone:
		}
		cn.nc.Close()
	}()
	c.readLoop(cn, timeout*2/3)
	close(rdone)
	cn.nc.Close()
	<-wdone
}

func (c *Client) readLoop(cn *conn, readTimeout time.Duration) error {
	var buf []byte
	for {
		cn.nc.SetReadDeadline(time.Now().Add(readTimeout))
		frame, err := proto.ReadFrame(cn.r, buf, c.cfg.MaxBuffer)
		if err != nil {
			return err
		}
		buf = frame
		if err := c.handleFrame(cn, frame); err != nil {
			return err
		}
	}
}

// handleFrame dispatches one reply or notification. An error means the
// server sent something this client cannot make sense of, and the
// connection is dropped.
func (c *Client) handleFrame(cn *conn, frame []byte) error {
	d := proto.NewDecoder(frame)
	var h proto.ReplyHeader
	h.Decode(d)
	if err := d.Err(); err != nil {
		return fmt.Errorf("reply header: %w", err)
	}
	if h.Zxid > 0 {
		c.mu.Lock()
		c.lastZxid = max(c.lastZxid, h.Zxid)
		c.mu.Unlock()
	}
	switch h.Xid {
	case proto.XidPing, proto.XidSetWatches:
		return nil
	case proto.XidNotification:
		var ev proto.WatcherEvent
		ev.Decode(d)
		if err := d.Err(); err != nil {
			return fmt.Errorf("notification: %w", err)
		}
		c.notify(ev)
		return nil
	case proto.XidAuth:
		waiter, ok := cn.popAuth()
		if !ok {
			return errors.New("auth reply with no auth request")
		}
		if h.Err != proto.OK {
			c.end(AuthFailed, proto.ErrAuthFailed, StateAuthFailed)
		}
		if waiter != nil {
			waiter <- codeErr(h.Err)
		}
		return nil
	}
	rq := cn.take(h.Xid)
	if rq == nil {
		return fmt.Errorf("reply for xid %d, which is not pending", h.Xid)
	}
	var err error
	if h.Err != proto.OK {
		err = h.Err
	} else if rq.resp != nil {
		rq.resp.Decode(d)
		if err = d.Err(); err != nil {
			err = fmt.Errorf("%v reply: %w", rq.op, err)
		}
	}
	if rq.onReply != nil {
		rq.onReply(proto.CodeOf(err))
	}
	rq.done <- err
	return nil
}

func codeErr(code proto.Code) error {
	if code == proto.OK {
		return nil
	}
	return code
}

// notify records what a server event does to the client's watches and
// passes it on with the chroot removed.
func (c *Client) notify(ev proto.WatcherEvent) {
	c.mu.Lock()
	c.watches.fired(ev.Path, EventType(ev.Type))
	c.mu.Unlock()
	c.events.push(Event{Type: EventType(ev.Type), State: KeeperState(ev.State), Path: c.clientPath(ev.Path)})
}

// serverPath prefixes the chroot.
func (c *Client) serverPath(p string) string {
	if c.chroot == "" {
		return p
	}
	if p == "/" {
		return c.chroot
	}
	return c.chroot + p
}

// clientPath strips the chroot from a path the server sent.
func (c *Client) clientPath(p string) string {
	if c.chroot == "" {
		return p
	}
	if p == c.chroot {
		return "/"
	}
	if strings.HasPrefix(p, c.chroot+"/") {
		return p[len(c.chroot):]
	}
	return p
}
