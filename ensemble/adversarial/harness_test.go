package adversarial

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.uber.org/goleak"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitLimit only keeps a broken replay from hanging; no passing replay
// comes near it.
const waitLimit = 30 * time.Second

// member is what a standalone server and an ensemble member have in
// common for the harness.
type member interface {
	Addr() string
	Exited() <-chan struct{}
	ServeErr() error
	Server() *server.Server
	Config() *config.Config
	Restart()
}

type targetKind int

const (
	standalone targetKind = iota
	ensemble
)

func (k targetKind) String() string { return [...]string{"standalone", "ensemble"}[k] }

// victimID is the myid of the ensemble member the attacks aim at. It is
// fixed before the start because some attacks configure the victim (its
// disk); which member leads is up to raft, so the victim is a leader in
// some runs and a follower in others, as in a real ensemble.
const victimID = 3

// target is the server or ensemble under attack.
type target struct {
	kind    targetKind
	members []member
	victim  member
	cluster *ensembletest.Cluster // nil for a standalone server
}

func startTarget(t *testing.T, kind targetKind, opts ...ensembletest.Option) *target {
	t.Helper()
	if kind == standalone {
		s := ensembletest.Start(t, opts...)
		return &target{kind: kind, members: []member{s}, victim: s}
	}
	c := ensembletest.StartCluster(t, 3, 0, opts...)
	tg := &target{kind: kind, cluster: c}
	for _, m := range c.Members() {
		tg.members = append(tg.members, m)
	}
	tg.victim = c.Member(victimID)
	return tg
}

// addrs lists the client addresses, the victim's first: a client that
// fails over still starts where the attack is.
func (tg *target) addrs() []string {
	a := []string{tg.victim.Addr()}
	for _, m := range tg.members {
		if m != tg.victim {
			a = append(a, m.Addr())
		}
	}
	return a
}

// attack is one row of the table: what it does to a target and what the
// attacker must get for it.
type attack struct {
	name string
	// ensembleOnly says why the attack has no standalone form; "" when
	// it runs against both targets.
	ensembleOnly string
	// configure, if set, returns options for the target's start; it may
	// keep what it prepared in the scene for run.
	configure func(t *testing.T, sc *scene) []ensembletest.Option
	// stopsVictim marks an attack after which the victim stops serving
	// until run restarts it: a standalone target then serves nobody
	// for a while.
	stopsVictim bool
	// idle marks an attack that mostly waits (for a deadline): its
	// replays against the two targets run in parallel.
	idle bool
	// run replays the attack while the bystander writes, asserts what
	// the attacker got, and returns once the attack is over. It must
	// leave every member running (restarting one it stopped).
	run func(t *testing.T, sc *scene)
}

// scene is one replay: the target, the bystander and what configure
// prepared.
type scene struct {
	*target
	by   *bystander
	disk *ensembletest.Disk
	// forger, when set, is the TLS configuration the attacker dials the
	// quorum port with: the ensemble runs quorum TLS.
	forger *tls.Config
}

func TestAttacks(t *testing.T) {
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			for _, kind := range []targetKind{standalone, ensemble} {
				if kind == standalone && a.ensembleOnly != "" {
					t.Logf("no standalone replay: %s", a.ensembleOnly)
					continue
				}
				t.Run(kind.String(), func(t *testing.T) {
					if a.idle {
						t.Parallel()
					}
					replay(t, kind, a)
				})
			}
		})
	}
}

// replay runs one attack against a fresh target of the given kind and
// checks the outcome every attack must have.
func replay(t *testing.T, kind targetKind, a attack) {
	sc := &scene{}
	var opts []ensembletest.Option
	if a.configure != nil {
		opts = a.configure(t, sc)
	}
	sc.target = startTarget(t, kind, opts...)
	sc.by = startBystander(t, sc.addrs())
	sc.by.waitAcked(t, 3)

	began := time.Now()
	a.run(t, sc)
	ended := time.Now()
	requireRunning(t, sc.members...)
	if sc.cluster != nil {
		sc.cluster.WaitLeader()
	}
	for _, m := range sc.members {
		requireUp(t, m)
	}
	// The bystander's writes were acknowledged during an attack that
	// lasted long enough for a few (not when the attack stopped the only
	// server), and go on after it.
	during := sc.by.ackedSince(began) - sc.by.ackedSince(ended)
	if ended.Sub(began) > time.Second && during == 0 && !(a.stopsVictim && kind == standalone) {
		t.Errorf("the bystander had no write acknowledged during the %v of the attack", ended.Sub(began))
	}
	sc.by.waitAcked(t, sc.by.count()+3)
	requireAcked(t, sc.target, sc.by.finish(t))
}

// requireRunning fails the test at once if a server's Serve has returned,
// before anything waits for it to serve.
func requireRunning(t *testing.T, ms ...member) {
	t.Helper()
	for _, m := range ms {
		select {
		case <-m.Exited():
			t.Fatalf("server %s: Serve returned %v", m.Addr(), m.ServeErr())
		default:
		}
	}
}

// requireUp checks that m is serving: its Serve has not returned, it
// answers ruok and srvr as a serving server does, and a new client's
// requests succeed on it.
func requireUp(t *testing.T, m member) {
	t.Helper()
	requireRunning(t, m)
	if got := fourLetter(t, m.Addr(), "ruok"); got != "imok" {
		t.Errorf("server %s: ruok = %q", m.Addr(), got)
	}
	if got := fourLetter(t, m.Addr(), "srvr"); !strings.Contains(got, "Mode: ") {
		t.Errorf("server %s: srvr = %q", m.Addr(), got)
	}
	c := connect(t, m.Addr())
	defer c.Close()
	if _, err := c.Sync("/"); err != nil {
		t.Errorf("server %s: sync: %v", m.Addr(), err)
	}
	if _, _, err := c.Exists("/"); err != nil {
		t.Errorf("server %s: exists: %v", m.Addr(), err)
	}
}

// requireAcked checks that every member has every acknowledged write,
// reading after a sync so that a member lagging behind the leader catches
// up first.
func requireAcked(t *testing.T, tg *target, acked []string) {
	t.Helper()
	for _, m := range tg.members {
		c := connect(t, m.Addr())
		if _, err := c.Sync(bystanderDir); err != nil {
			t.Fatalf("server %s: sync: %v", m.Addr(), err)
		}
		have, _, err := c.Children(bystanderDir)
		c.Close()
		if err != nil {
			t.Fatalf("server %s: children of %s: %v", m.Addr(), bystanderDir, err)
		}
		present := make(map[string]bool, len(have))
		for _, p := range have {
			present[p] = true
		}
		lost := 0
		for _, p := range acked {
			if !present[p] {
				lost++
				if lost <= 5 {
					t.Errorf("server %s lost acknowledged write %s/%s", m.Addr(), bystanderDir, p)
				}
			}
		}
		if lost > 5 {
			t.Errorf("server %s lost %d acknowledged writes in all", m.Addr(), lost)
		}
	}
}

const bystanderDir = "/bystander"

// bystander is an ordinary client that keeps writing, one create at a
// time, through an attack, and records which creates were acknowledged
// and when.
type bystander struct {
	c    *zk.Conn
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex
	acked []ack
}

type ack struct {
	name    string
	at      time.Time
	latency time.Duration // of the create that was acknowledged
}

func startBystander(t *testing.T, addrs []string) *bystander {
	t.Helper()
	c := connect(t, addrs...)
	if _, err := c.Create(bystanderDir, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	b := &bystander{c: c, stop: make(chan struct{}), done: make(chan struct{})}
	go b.write()
	t.Cleanup(func() { b.halt(); c.Close() })
	return b
}

func (b *bystander) write() {
	defer close(b.done)
	retry := false // the last create of name may have been applied
	for i := 0; ; {
		select {
		case <-b.stop:
			return
		default:
		}
		name := fmt.Sprintf("b%06d", i)
		start := time.Now()
		_, err := b.c.Create(bystanderDir+"/"+name, []byte(name), 0, zk.WorldACL(zk.PermAll))
		if err == nil || retry && errors.Is(err, zk.ErrNodeExists) {
			b.mu.Lock()
			b.acked = append(b.acked, ack{name: name, at: time.Now(), latency: time.Since(start)})
			b.mu.Unlock()
			i, retry = i+1, false
			continue
		}
		// Connection loss leaves the outcome unknown: try the same name
		// again, after a pause so that a server that is gone is not
		// hammered.
		retry = true
		select {
		case <-b.stop:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (b *bystander) halt() {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
}

func (b *bystander) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.acked)
}

// ackedSince counts the writes acknowledged since at.
func (b *bystander) ackedSince(at time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, a := range b.acked {
		if !a.at.Before(at) {
			n++
		}
	}
	return n
}

// latencies are the latencies of the writes acknowledged since at.
func (b *bystander) latencies(since time.Time) []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	var l []time.Duration
	for _, a := range b.acked {
		if !a.at.Before(since) {
			l = append(l, a.latency)
		}
	}
	return l
}

// waitAcked waits until n writes have been acknowledged in all.
func (b *bystander) waitAcked(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for b.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the bystander has %d writes acknowledged after %v, want %d", b.count(), waitLimit, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// finish stops the bystander and returns the names it had acknowledged.
func (b *bystander) finish(t *testing.T) []string {
	b.halt()
	b.mu.Lock()
	defer b.mu.Unlock()
	names := make([]string, len(b.acked))
	for i, a := range b.acked {
		names[i] = a.name
	}
	return names
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

// connect opens a go-zk session trying addrs in the order given and waits
// until it serves.
func connect(t *testing.T, addrs ...string) *zk.Conn {
	t.Helper()
	c, _, err := zk.Connect(addrs, 10*time.Second, zk.WithLogger(quiet{}), zk.WithHostProvider(&inOrder{addrs: addrs}))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(waitLimit); c.State() != zk.StateHasSession; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.Close()
			t.Fatalf("no session with %v within %v", addrs, waitLimit)
		}
	}
	return c
}

// inOrder is a zk.HostProvider that tries the servers in the order given,
// where go-zk's own shuffles them: the bystander starts on the victim.
type inOrder struct {
	addrs []string
	mu    sync.Mutex
	tries int // Next calls so far
	last  int // the try that connected last
}

func (h *inOrder) Init([]string) error { return nil }
func (h *inOrder) Len() int            { return len(h.addrs) }

func (h *inOrder) Connected() {
	h.mu.Lock()
	h.last = h.tries - 1
	h.mu.Unlock()
}

// Next reports a full round without a connection, after which go-zk
// backs off.
func (h *inOrder) Next() (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := h.tries
	h.tries++
	return h.addrs[i%len(h.addrs)], i > h.last && (i-h.last)%len(h.addrs) == 0
}

// fourLetter sends a four-letter word to addr and returns the answer.
func fourLetter(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("%s to %s: %v", cmd, addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, cmd); err != nil {
		t.Fatalf("%s to %s: %v", cmd, addr, err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%s to %s: %v", cmd, addr, err)
	}
	return string(b)
}
