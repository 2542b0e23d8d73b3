package recipes

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/zookit/zookit/internal/fanout"
)

// ErrClosed is returned by every operation on a closed Client.
var ErrClosed = errors.New("recipes: client closed")

// ErrReplyTooLarge fails a request whose reply is larger than the Client's
// bound (WithMaxReply), as a Java client's jute.maxbuffer would refuse it,
// or than the server's jute.maxbuffer, which a zookit server answers with
// MARSHALLINGERROR. It is not retried: the same request would get the same
// reply.
var ErrReplyTooLarge = errors.New("recipes: reply larger than the client's jute.maxbuffer bound (WithMaxReply)")

// Option configures a Client.
type Option func(*options)

type options struct {
	sessionTimeout time.Duration
	namespace      string
	log            *zap.Logger
	retry          RetryPolicy
	acl            []zk.ACL
	maxReply       int
	tls            *tls.Config
	// wrap lets this package's tests put a fault injector between the Client
	// and go-zk.
	wrap func(zkConn) zkConn
}

// WithSessionTimeout sets the session timeout the client asks for; the
// server may clamp it. The default is 10 seconds.
func WithSessionTimeout(d time.Duration) Option {
	return func(o *options) { o.sessionTimeout = d }
}

// WithNamespace roots every path the Client is given at /ns, like a chroot.
// The namespace node is created as a container when a recipe first needs it.
func WithNamespace(ns string) Option {
	return func(o *options) { o.namespace = strings.Trim(ns, "/") }
}

// WithLogger sends the Client's logs, including go-zk's, to l.
func WithLogger(l *zap.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithRetry sets the policy for retrying operations that failed with
// connection loss. The default is BoundedExponentialBackoff(100ms, 2s, 10).
func WithRetry(p RetryPolicy) Option {
	return func(o *options) { o.retry = p }
}

// WithACL sets the ACL of every node the Client creates; the default is
// zk.WorldACL(zk.PermAll).
func WithACL(acl []zk.ACL) Option {
	return func(o *options) { o.acl = acl }
}

// DefaultMaxReply is the default bound of WithMaxReply: jute.maxbuffer's
// default, 0xfffff, which ZooKeeper's Java client applies to what it reads.
const DefaultMaxReply = 0xfffff

// WithMaxReply bounds the size in bytes of a reply the Client accepts, as
// jute.maxbuffer does in ZooKeeper's Java client: a longer reply (a
// getChildren of a very large directory, say) fails its request with
// ErrReplyTooLarge, and the connection and other requests carry on. n <= 0
// accepts replies of any size. The default is DefaultMaxReply.
func WithMaxReply(n int) Option {
	return func(o *options) { o.maxReply = n }
}

// WithTLS connects over TLS with cfg, as to a server's secureClientPort.
// When cfg.ServerName is empty each connection sets it to the host it
// dials, so the server's certificate is checked against that name or
// address. tlsconf.Settings.ClientConfig builds cfg from ZooKeeper's
// zookeeper.ssl.* settings; its certificate, if any, authenticates the
// client for the x509 ACL scheme.
func WithTLS(cfg *tls.Config) Option {
	return func(o *options) { o.tls = cfg }
}

// Client is a ZooKeeper session manager for recipes. It is safe for
// concurrent use.
type Client struct {
	opts    options
	servers []string
	log     *zap.Logger
	events  *eventQueue
	closed  chan struct{}
	// bg counts the state machine, background deletes and the closing of
	// replaced connections: everything Close must wait for.
	bg sync.WaitGroup
	// states delivers state changes to Listen; Close stops it and waits
	// for its goroutines.
	states *fanout.Fanout[State]

	closeOnce sync.Once
	zxid      zxidSeen
	claims    claims
	taps      createTaps

	mu        sync.Mutex
	link      *link  // the current connection
	conn      zkConn // link.raw, or a test's wrapper around it
	gen       uint64 // counts connections; events of older ones are ignored
	state     State
	sessionID int64
	timeout   time.Duration // negotiated session timeout
	lostTimer *time.Timer
	ready     chan struct{} // closed at the first Connected
}

// New connects to servers and waits, bounded by ctx, for the first session.
func New(ctx context.Context, servers []string, opts ...Option) (*Client, error) {
	o := options{
		sessionTimeout: 10 * time.Second,
		log:            zap.NewNop(),
		retry:          BoundedExponentialBackoff(100*time.Millisecond, 2*time.Second, 10),
		acl:            zk.WorldACL(zk.PermAll),
		maxReply:       DefaultMaxReply,
	}
	for _, f := range opts {
		f(&o)
	}
	c := &Client{
		opts:    o,
		servers: servers,
		log:     o.log,
		events:  newEventQueue(),
		closed:  make(chan struct{}),
		states:  fanout.New[State](),
		ready:   make(chan struct{}),
	}
	l, conn, err := c.dial(1)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.installLocked(l, conn, 1)
	c.mu.Unlock()
	c.bg.Add(1)
	go c.run()
	select {
	case <-c.ready:
		return c, nil
	case <-ctx.Done():
		c.Close()
		return nil, fmt.Errorf("recipes: connect to %v: %w", servers, ctx.Err())
	}
}

// dial starts a go-zk connection, which gets a new session, whose events
// count for generation gen. It resolves the servers' names, which can take
// long, so it runs without mu.
func (c *Client) dial(gen uint64) (*link, zkConn, error) {
	w := newWire(&c.zxid, c.opts.maxReply)
	w.tls = c.opts.tls
	w.taps = &c.taps
	raw, events, err := zk.Connect(c.servers, c.opts.sessionTimeout,
		zk.WithLogger(zkLogger{c.log}),
		zk.WithLogInfo(false),
		zk.WithDialer(w.dial),
		zk.WithEventCallback(func(ev zk.Event) {
			if ev.Type != zk.EventSession {
				return
			}
			e := connEvent{gen: gen, state: ev.State}
			if ev.State == zk.StateHasSession {
				e.sessionID, e.timeout = w.result()
			}
			c.events.push(e)
		}))
	if err != nil {
		return nil, nil, fmt.Errorf("recipes: connect to %v: %w", c.servers, err)
	}
	var conn zkConn = raw
	if c.opts.wrap != nil {
		conn = c.opts.wrap(conn)
	}
	return &link{raw: raw, events: events, wire: w}, conn, nil
}

// installLocked makes l the current connection; conn is l's zkConn. From
// now on the events of generation gen, and only those, count.
func (c *Client) installLocked(l *link, conn zkConn, gen uint64) {
	c.gen, c.link, c.conn = gen, l, conn
}

// Close ends the session and stops the Client; recipes' ephemeral nodes go
// with the session. It returns once every connection the Client dialled has
// stopped. Safe to call more than once.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		c.events.close()
		c.mu.Lock()
		// Under mu, so that after this the state machine dials no new
		// connection and no background task starts (see handle and
		// inBackground).
		close(c.closed)
		cur := c.link
		c.stopLostTimerLocked()
		c.mu.Unlock()
		cur.close()
		c.bg.Wait()
		c.states.Stop()
	})
}

// Closed is closed when Close has been called.
func (c *Client) Closed() <-chan struct{} { return c.closed }

// SessionID is the id of the current session, 0 while there is none.
func (c *Client) SessionID() int64 {
	conn, err := c.active()
	if err != nil {
		return 0
	}
	return conn.SessionID()
}

// SessionTimeout is the session timeout the server granted, or the one asked
// for before the first session.
func (c *Client) SessionTimeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timeout == 0 {
		return c.opts.sessionTimeout
	}
	return c.timeout
}

// ACL is the ACL the Client gives the nodes it creates.
func (c *Client) ACL() []zk.ACL { return c.opts.acl }

// Logger is the logger the Client was given, for recipes built on it.
func (c *Client) Logger() *zap.Logger { return c.log }

// FullPath turns a Client path into the server path, namespace included.
// Paths in watch events and in Conn calls are server paths.
func (c *Client) FullPath(p string) string {
	if c.opts.namespace == "" {
		return p
	}
	if p == "/" {
		return "/" + c.opts.namespace
	}
	return "/" + c.opts.namespace + p
}

// RelPath is the inverse of FullPath.
func (c *Client) RelPath(full string) string {
	if c.opts.namespace == "" {
		return full
	}
	rel := strings.TrimPrefix(full, "/"+c.opts.namespace)
	if rel == "" {
		return "/"
	}
	return rel
}

// Conn returns the go-zk connection of the current session, for calls the
// Client does not wrap. It takes server paths (see FullPath) and is not
// retried. After Lost the Client may have replaced it.
func (c *Client) Conn() (*zk.Conn, error) {
	if _, err := c.active(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.link.raw, nil
}

func (c *Client) active() (zkConn, error) {
	select {
	case <-c.closed:
		return nil, ErrClosed
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn, nil
}

// parentOf is path.Dir for ZooKeeper paths.
func parentOf(p string) string { return path.Dir(p) }
