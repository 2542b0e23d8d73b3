package peer

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
)

// DefaultQueueSize is how many messages may wait for one peer when
// Config.QueueSize is 0: enough to ride out a burst of appends, small
// enough that raft learns of a stuck peer quickly.
const DefaultQueueSize = 4096

// Defaults for the inbound limits of Config.
const (
	DefaultHelloTimeout    = 5 * time.Second
	DefaultMaxPending      = 64
	DefaultMaxPendingPerIP = 16
	DefaultMaxRaftFrame    = 512 << 20
)

// Errors returned by SendControl.
var (
	ErrClosed      = errors.New("peer: transport closed")
	ErrUnknownPeer = errors.New("peer: unknown peer")
	ErrQueueFull   = errors.New("peer: send queue full")
)

// Handler receives what peers send. Its methods are called from one
// goroutine per inbound connection, in the order the peer sent; they should
// not block for long, since that stalls only that peer's connection.
type Handler interface {
	// Step delivers an inbound raft message (raftnode.Node.Step fits). The
	// context ends when the transport closes.
	Step(ctx context.Context, m *raftpb.Message) error
	// Control delivers an inbound control message; kind is never KindRaft.
	// The handler owns payload.
	Control(from uint64, kind byte, payload []byte)
}

// Reporter is told about messages that were not delivered, and about the
// outcome of every MsgSnap. raftnode.Node satisfies it.
type Reporter interface {
	ReportUnreachable(id uint64)
	ReportSnapshot(id uint64, status raft.SnapshotStatus)
}

// Config configures a Transport.
type Config struct {
	ID     uint64 // this server's id (ZooKeeper myid)
	Listen string // quorum address to bind, host:port
	// Election is the election address to bind, host:port; "" binds none.
	Election string
	// Peers maps the id of every other server to its quorum address, at
	// start; SetPeer and RemovePeer change the peers later. The host is
	// resolved on every dial, never cached, so that a server moved to
	// another address under the same name is found again.
	Peers map[uint64]string
	// Status returns the line written on the election port; nil writes
	// "myid=<ID>". It should be quick.
	Status func() string
	// PeerLost, if set, is called when a peer's connection to this server
	// ends other than by Close: how a follower learns at once that its
	// leader's process died, before heartbeats are missed.
	PeerLost func(id uint64)
	// QueueSize bounds the messages waiting for each peer; 0 means
	// DefaultQueueSize.
	QueueSize int
	// HelloTimeout is how long an inbound connection may take to send its
	// hello, its TLS handshake included; 0 means DefaultHelloTimeout. It
	// also bounds the TLS handshake of an outbound connection, during
	// which messages to that peer (only) wait.
	HelloTimeout time.Duration
	// MaxPending bounds the inbound connections that have not yet sent a
	// valid hello, in all and from one remote IP address; 0 means
	// DefaultMaxPending and DefaultMaxPendingPerIP. A connection beyond
	// either bound refuses the oldest pending one (from that address, or
	// in all): a flood then only lives a moment, while a real peer, which
	// sends its hello at once, still gets in. Past the hello each peer id
	// holds one inbound connection, the newest.
	MaxPending, MaxPendingPerIP int
	// MaxRaftFrame bounds one raft message on the wire, sent or received;
	// 0 means DefaultMaxRaftFrame. A snapshot travels whole in one MsgSnap,
	// so this is also the largest state that can be shipped to a follower
	// that fell behind: set it above the expected snapshot size.
	MaxRaftFrame int

	// TLS, if set, secures the quorum links with mutual TLS (ZooKeeper's
	// sslQuorum): both directions use it, the acceptor requiring and
	// verifying the peer's certificate, the dialer verifying the
	// acceptor's. It must hold this server's certificate (Certificates, or
	// GetCertificate and GetClientCertificate) and the trust store
	// (RootCAs; ClientCAs defaults to it, and it to ClientCAs): the system
	// roots are never used. TLS 1.2 is the minimum, whatever MinVersion
	// says; ClientAuth, InsecureSkipVerify (which must be false) and the
	// session settings are the transport's own, since a quorum link does a
	// full handshake once and then lives long. The config is cloned; it is
	// not modified. Nil keeps the quorum port plaintext and leaves the
	// claimed server id taken on trust.
	TLS *tls.Config
	// NoHostnameVerification turns off the check that a peer's
	// certificate is valid for the host of the server.N it claims
	// (ZooKeeper's ssl.quorum.hostnameVerification=false): then any
	// certificate that chains to the trust store speaks for any member.
	// Only with TLS.
	NoHostnameVerification bool
	// RequireServerIDName further requires a peer's certificate to carry
	// the DNS name ServerIDName(N), "server.N", for the N it claims (an
	// exact match, no wildcard). Hostnames bind a certificate to a host;
	// this binds it to one member, which matters when members share a
	// host. Only with TLS.
	RequireServerIDName bool
	// PortUnification lets the quorum port accept plaintext connections
	// besides TLS ones, told apart by their first byte (ZooKeeper's
	// portUnification). It makes a rolling switch to TLS possible in
	// ZooKeeper's three rolling restarts: every server gets TLS with
	// PortUnification and DialPlaintext (it accepts both and dials in
	// plaintext); then without DialPlaintext (it dials over TLS and still
	// accepts the servers not yet restarted); then without
	// PortUnification. A plaintext peer's claimed id is taken on trust.
	// Only with TLS.
	PortUnification bool
	// DialPlaintext, with PortUnification, dials peers in plaintext while
	// the port accepts TLS too: ZooKeeper's sslQuorum=false with
	// portUnification=true.
	DialPlaintext bool

	Logger *zap.Logger
}

// Transport carries raft and control messages between the servers of an
// ensemble. It implements raftnode.Transport. Its methods are safe for
// concurrent use.
type Transport struct {
	cfg Config
	lg  *zap.Logger
	h   Handler
	ln  net.Listener
	eln net.Listener // nil when Config.Election is ""
	tls *tlsSetup    // nil without Config.TLS

	// mu guards peers, which SetPeer and RemovePeer change at runtime,
	// and orders starting a peer's goroutine before Close waits for them.
	mu    sync.RWMutex
	peers map[uint64]*peer

	// refusals logs refused connections and messages, rate-limited, since a
	// flood of them is what it reports.
	refusals *zap.Logger
	inbound  inbound

	reporter atomic.Pointer[Reporter]
	filter   atomic.Pointer[func(from, to uint64) bool]

	ctx       context.Context // ends at Close; bounds every goroutine and connection
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New binds the quorum address (and the election address, if configured)
// and starts accepting connections. Outbound connections are dialed on the
// first message to each peer.
func New(cfg Config, h Handler) (*Transport, error) {
	if cfg.ID == 0 {
		return nil, errors.New("peer: Config.ID must not be 0")
	}
	if h == nil {
		return nil, errors.New("peer: a Handler is required")
	}
	if _, ok := cfg.Peers[cfg.ID]; ok {
		return nil, fmt.Errorf("peer: Config.Peers lists this server's own id %d", cfg.ID)
	}
	for id, addr := range cfg.Peers {
		if id == 0 || addr == "" {
			return nil, fmt.Errorf("peer: Config.Peers has an invalid entry %d=%q", id, addr)
		}
	}
	if cfg.QueueSize < 0 || cfg.HelloTimeout < 0 || cfg.MaxPending < 0 || cfg.MaxPendingPerIP < 0 || cfg.MaxRaftFrame < 0 {
		return nil, errors.New("peer: Config limits must not be negative")
	}
	cfg.QueueSize = cmp.Or(cfg.QueueSize, DefaultQueueSize)
	cfg.HelloTimeout = cmp.Or(cfg.HelloTimeout, DefaultHelloTimeout)
	cfg.MaxPending = cmp.Or(cfg.MaxPending, DefaultMaxPending)
	cfg.MaxPendingPerIP = cmp.Or(cfg.MaxPendingPerIP, DefaultMaxPendingPerIP)
	cfg.MaxRaftFrame = cmp.Or(cfg.MaxRaftFrame, DefaultMaxRaftFrame)
	if cfg.Status == nil {
		cfg.Status = func() string { return fmt.Sprintf("myid=%d", cfg.ID) }
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	ts, err := newTLSSetup(&cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("peer: bind quorum address: %w", err)
	}
	var eln net.Listener
	if cfg.Election != "" {
		if eln, err = net.Listen("tcp", cfg.Election); err != nil {
			return nil, errors.Join(fmt.Errorf("peer: bind election address: %w", err), ln.Close())
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	lg := cfg.Logger.With(zap.Uint64("myid", cfg.ID))
	t := &Transport{
		cfg:      cfg,
		lg:       lg,
		refusals: sampled(lg),
		h:        h,
		ln:       ln,
		eln:      eln,
		peers:    make(map[uint64]*peer, len(cfg.Peers)),
		tls:      ts,
		ctx:      ctx,
		cancel:   cancel,
	}
	for id, addr := range cfg.Peers {
		p := newPeer(t, id, addr)
		t.peers[id] = p
		t.wg.Go(p.run)
	}
	t.wg.Go(t.acceptQuorum)
	if eln != nil {
		t.wg.Go(t.acceptElection)
	}
	t.lg.Info("peer transport listening", zap.Stringer("quorum", ln.Addr()), zap.String("election", cfg.Election))
	return t, nil
}

// peer returns the peer with id, or nil if id is not a peer.
func (t *Transport) peer(id uint64) *peer {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.peers[id]
}

// Peers returns the id and quorum address of every peer.
func (t *Transport) Peers() map[uint64]string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make(map[uint64]string, len(t.peers))
	for id, p := range t.peers {
		out[id] = p.addr
	}
	return out
}

// SetPeer adds server id at quorum address addr, or moves it there: from
// then on messages to id are dialed at addr, its hello is accepted, and
// with TLS its certificate must be valid for addr's host. Moving a peer
// closes its connections both ways (messages still queued for the old
// address are dropped, as for a broken connection) so that both are made
// again to, and checked against, the new address. Setting the address a
// peer already has changes nothing.
func (t *Transport) SetPeer(id uint64, addr string) error {
	if id == 0 || id == t.cfg.ID || addr == "" {
		return fmt.Errorf("peer: invalid peer %d=%q", id, addr)
	}
	t.mu.Lock()
	if t.ctx.Err() != nil {
		t.mu.Unlock()
		return ErrClosed
	}
	old := t.peers[id]
	if old != nil && old.addr == addr {
		t.mu.Unlock()
		return nil
	}
	p := newPeer(t, id, addr)
	t.peers[id] = p
	t.wg.Go(p.run)
	t.mu.Unlock()
	if old != nil {
		old.cancel()
		t.dropInbound(id)
		t.lg.Info("peer moved", zap.Uint64("peer", id), zap.String("from", old.addr), zap.String("to", addr))
	} else {
		t.lg.Info("peer added", zap.Uint64("peer", id), zap.String("addr", addr))
	}
	return nil
}

// RemovePeer removes server id: messages to it are dropped and reported
// undelivered like those to an unknown id, its queue and connections are
// closed, and its hellos are refused. Removing an unknown id does nothing.
func (t *Transport) RemovePeer(id uint64) {
	t.mu.Lock()
	p := t.peers[id]
	delete(t.peers, id)
	t.mu.Unlock()
	if p == nil {
		return
	}
	p.cancel()
	t.dropInbound(id)
	t.lg.Info("peer removed", zap.Uint64("peer", id))
}

// SetReporter sets who hears of undelivered messages and snapshot outcomes.
// It exists apart from New because the raft node needs the transport before
// it can be created. Until it is set, failures go unreported.
func (t *Transport) SetReporter(r Reporter) {
	t.reporter.Store(&r)
}

// SetFilter installs a fault-injection filter for tests: a message, raft or
// control, from one server to another is dropped in either direction when
// f(from, to) returns false; nil delivers everything. A dropped outbound
// message is reported as undelivered, as a partition would eventually be.
func (t *Transport) SetFilter(f func(from, to uint64) bool) {
	if f == nil {
		t.filter.Store(nil)
		return
	}
	t.filter.Store(&f)
}

func (t *Transport) allowed(from, to uint64) bool {
	f := t.filter.Load()
	return f == nil || (*f)(from, to)
}

// Send queues raft messages for their peers and returns at once. A message
// that cannot be queued or delivered is dropped and reported to raft; after
// Close, messages are dropped silently. Messages are encoded later, on the
// peer's own goroutine, so the caller must not modify them (raft does not).
func (t *Transport) Send(msgs []*raftpb.Message) {
	if t.ctx.Err() != nil {
		return
	}
	for _, m := range msgs {
		to := m.GetTo()
		p := t.peer(to)
		if p == nil {
			t.lg.Debug("dropping raft message to unknown peer", zap.Uint64("to", to), zap.Stringer("type", m.GetType()))
			t.reportFailure(to, m.GetType() == raftpb.MsgSnap)
			continue
		}
		if !t.allowed(t.cfg.ID, to) || !p.enqueue(outMsg{raft: m}) {
			t.reportFailure(to, m.GetType() == raftpb.MsgSnap)
		}
	}
}

// SendControl queues a control message for a peer and returns at once.
// Delivery is best effort: a nil error means only that it was queued.
// kind must not be KindRaft and the payload must fit in MaxControlFrame;
// the payload is copied.
func (t *Transport) SendControl(to uint64, kind byte, payload []byte) error {
	if kind == KindRaft {
		return fmt.Errorf("peer: control kind %d is reserved for raft", kind)
	}
	if len(payload) > MaxControlFrame {
		return fmt.Errorf("peer: control payload of %d bytes exceeds %d", len(payload), MaxControlFrame)
	}
	if t.ctx.Err() != nil {
		return ErrClosed
	}
	p := t.peer(to)
	if p == nil {
		return fmt.Errorf("%w %d", ErrUnknownPeer, to)
	}
	if !t.allowed(t.cfg.ID, to) {
		return nil // a partition loses messages silently
	}
	if !p.enqueue(outMsg{kind: kind, payload: append([]byte(nil), payload...)}) {
		return fmt.Errorf("%w for peer %d", ErrQueueFull, to)
	}
	return nil
}

// reportFailure tells raft a message to id was not delivered; for a MsgSnap
// also that the snapshot failed, since raft waits for that verdict before
// it sends the peer anything else.
func (t *Transport) reportFailure(id uint64, snap bool) {
	r := t.reporter.Load()
	if r == nil {
		return
	}
	(*r).ReportUnreachable(id)
	if snap {
		(*r).ReportSnapshot(id, raft.SnapshotFailure)
	}
}

func (t *Transport) reportSnapshotSent(id uint64) {
	if r := t.reporter.Load(); r != nil {
		(*r).ReportSnapshot(id, raft.SnapshotFinish)
	}
}

// Addr returns the bound quorum address.
func (t *Transport) Addr() net.Addr { return t.ln.Addr() }

// ElectionAddr returns the bound election address, or nil if none is bound.
func (t *Transport) ElectionAddr() net.Addr {
	if t.eln == nil {
		return nil
	}
	return t.eln.Addr()
}

// Close stops accepting, closes every connection and waits for the
// transport's goroutines to end. It is idempotent.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.cancel()
		t.mu.Unlock()
		t.closeErr = t.ln.Close()
		if t.eln != nil {
			t.closeErr = errors.Join(t.closeErr, t.eln.Close())
		}
		t.wg.Wait()
		t.lg.Info("peer transport closed")
	})
	return t.closeErr
}
