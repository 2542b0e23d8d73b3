package interop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/election"
	"github.com/zookit/zookit/election/electiontest"
	"github.com/zookit/zookit/lock/locktest"
	"github.com/zookit/zookit/recipes"
)

func init() { electionCandidateIfAsked() }

// TestElection runs package election's server-independent tests against
// zkserver and against Apache ZooKeeper.
func TestElection(t *testing.T) {
	Require(t, ZooKeeper)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			t.Run("LatchHandover", func(t *testing.T) { electiontest.LatchHandover(t, addr, "/election/latch", 3) })
			t.Run("Campaigns", func(t *testing.T) { electiontest.Campaigns(t, addr, "/election/campaign", 3, 2, 4) })
			t.Run("Observe", func(t *testing.T) { electiontest.Observe(t, addr, "/election/observe") })
		})
	}
}

// peerSession is the session timeout of the participants that get killed,
// the shortest both servers grant at the default tickTime: a dead leader's
// session expires, and another participant leads, a few seconds later.
const peerSession = 4 * time.Second

// TestElectionCurator has Go and Curator 5.4 participants elect one leader
// on the same paths: LeaderLatch with LeaderLatch, Election with
// LeaderSelector, a SIGKILLed leader of either language replaced by one of
// the other, and a Go leader whose session is closed replaced by a Java
// one. Every leader proves it leads alone with the marker of
// electiontest.Exclusive while it believes it leads, and an observer
// checks the marker against the tree.
func TestElectionCurator(t *testing.T) {
	Require(t, ZooKeeper, Curator)
	compileCtx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	peer, err := CompileElectionPeer(compileCtx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			t.Run("Latch", func(t *testing.T) { latchTurns(t, peer, addr, "/interop/latch") })
			t.Run("Selector", func(t *testing.T) { selectorTurns(t, peer, addr, "/interop/selector") })
			t.Run("JavaLeaderKilled", func(t *testing.T) { javaLeaderKilled(t, peer, addr, "/interop/killed-java") })
			t.Run("GoLeaderKilled", func(t *testing.T) { goLeaderKilled(t, peer, addr, "/interop/killed-go") })
			t.Run("GoSessionClosed", func(t *testing.T) { goSessionClosed(t, peer, addr, "/interop/closed-go") })
		})
	}
}

// latchTurns: two Go LeaderLatches and two of Curator's, a session each,
// join one path in the order go-0, java-*, go-1, and each leader is closed
// once the observer has confirmed it. All four must lead, once each, in
// the order they joined.
func latchTurns(t *testing.T, peer *ElectionPeer, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	o := startObserver(t, addr, path, "latch-")
	g := newGoSide(t, addr)
	stops := map[string]chan struct{}{}
	var last *election.LeaderLatch
	join := func(id string) {
		c := g.connect()
		l := election.NewLeaderLatch(c, path, id)
		stop := make(chan struct{}, 1)
		stops[id] = stop
		g.spawn(func() {
			defer l.Close(context.Background(), election.Silent)
			// Await returns a live term even after g.ctx has ended.
			for g.ctx.Err() == nil {
				term, err := l.Await(g.ctx)
				if err != nil {
					return
				}
				if g.prove(c, term, path, id, stop) {
					if err := l.Close(g.ctx, election.NotifyLeader); err != nil {
						t.Errorf("%s: close: %v", id, err)
					}
					return
				}
			}
		})
		// Its node exists before the next participant joins, so joining
		// order is leading order.
		locktest.Eventually(t, ctx, func() bool { return l.Path() != "" }, func() string { return id + " has no node" })
		last = l
	}
	join("go-0")
	java := startJava(t, ctx, peer, addr, "latch", path, 2)
	join("go-1")
	order := takeTurns(t, ctx, o, java, g.events, last.Leader, []string{"go-0", "go-1", "java-0", "java-1"}, func(id string) {
		if stop, ok := stops[id]; ok {
			stop <- struct{}{}
			return
		}
		java.Send("close %s", strings.TrimPrefix(id, "java-"))
	})
	if len(order) != 4 || order[0] != "go-0" || order[3] != "go-1" {
		t.Errorf("leaders in turn %v, want go-0, the Java latches, go-1", order)
	}
	t.Logf("leaders in turn: %v", order)
	exitJava(t, ctx, java)
}

// selectorTurns: Election.Run with requeue and a Campaign loop in Go, two
// LeaderSelectors with autoRequeue in Java, on one path; each leader ends
// its term once the observer has confirmed it, until all four have led.
func selectorTurns(t *testing.T, peer *ElectionPeer, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	o := startObserver(t, addr, path, "lock-")
	g := newGoSide(t, addr)
	stops := map[string]chan struct{}{"go-run": make(chan struct{}, 1), "go-campaign": make(chan struct{}, 1)}
	c0 := g.connect()
	e0 := election.New(c0, path, "go-run", election.WithRequeue())
	g.spawn(func() {
		err := e0.Run(g.ctx, func(ctx context.Context, l *election.Leadership) error {
			g.prove(c0, l, path, "go-run", stops["go-run"])
			return nil
		})
		if g.ctx.Err() == nil {
			t.Errorf("go-run: Run returned %v", err)
		}
	})
	java := startJava(t, ctx, peer, addr, "selector", path, 2)
	c1 := g.connect()
	e1 := election.New(c1, path, "go-campaign")
	g.spawn(func() {
		for {
			l, err := e1.Campaign(g.ctx)
			if err != nil {
				if g.ctx.Err() == nil {
					t.Errorf("go-campaign: %v", err)
				}
				return
			}
			g.prove(c1, l, path, "go-campaign", stops["go-campaign"])
			l.Resign(g.ctx)
		}
	})
	order := takeTurns(t, ctx, o, java, g.events, election.New(o.c, path, "").Leader, []string{"go-run", "go-campaign", "java-0", "java-1"}, func(id string) {
		if stop, ok := stops[id]; ok {
			stop <- struct{}{}
			return
		}
		java.Send("release %s", strings.TrimPrefix(id, "java-"))
	})
	t.Logf("leaders in turn: %v", order)
	exitJava(t, ctx, java)
}

// javaLeaderKilled: a Curator latch leads, a Go latch waits behind it, the
// Java process is SIGKILLed; the Go latch leads once the server has expired
// the dead session, and not before: the dead leader's node is gone by then.
func javaLeaderKilled(t *testing.T, peer *ElectionPeer, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	o := startObserver(t, addr, path, "latch-")
	java := startJava(t, ctx, peer, addr, "latch", path, 1)
	led, err := java.Await(ctx, "LEADER", "java-0")
	if err != nil {
		t.Fatal(err)
	}
	g := newGoSide(t, addr)
	c := g.connect()
	l := election.NewLeaderLatch(c, path, "go-0")
	defer l.Close(ctx, election.Silent)
	locktest.Eventually(t, ctx, func() bool { return l.Path() != "" }, func() string { return "the Go latch has no node" })
	if l.HasLeadership() {
		t.Fatalf("the Go latch leads while the Java leader lives\n%s", locktest.Describe(o.c, path))
	}
	killed := time.Now()
	java.Kill()
	term, err := l.Await(ctx)
	if err != nil {
		t.Fatalf("the Go latch never led after the Java leader was killed: %v\n%s", err, locktest.Describe(o.c, path))
	}
	took := time.Since(killed)
	if err := electiontest.Exclusive(ctx, c, term, path); err != nil {
		t.Fatal(err)
	}
	assertGone(t, ctx, o.c, led.Fields[2])
	t.Logf("the Go latch led %v after SIGKILL of the Java leader (session timeout %v)", took.Round(time.Millisecond), peerSession)
}

// goLeaderKilled: a Go latch in a child process leads, a Curator latch
// waits behind it, the child is SIGKILLed; the Java latch leads once the
// dead session has expired.
func goLeaderKilled(t *testing.T, peer *ElectionPeer, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	o := startObserver(t, addr, path, "latch-")
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envCandidate+"="+addr+" "+path+" go-child")
	child := startPeer(t, cmd, "Go candidate")
	led, err := child.Await(ctx, "LEADER", "go-child")
	if err != nil {
		t.Fatal(err)
	}
	java := startJava(t, ctx, peer, addr, "latch", path, 1)
	killed := time.Now()
	child.Kill()
	took, err := java.Await(ctx, "LEADER", "java-0")
	if err != nil {
		t.Fatalf("%v\n%s", err, locktest.Describe(o.c, path))
	}
	if took.At.Before(killed) {
		t.Fatal("the Java latch led before the Go leader was killed")
	}
	assertGone(t, ctx, o.c, led.Fields[2])
	t.Logf("the Java latch led %v after SIGKILL of the Go leader (session timeout %v)", took.At.Sub(killed).Round(time.Millisecond), peerSession)
	exitJava(t, ctx, java)
}

// goSessionClosed: a Go latch leads and a Curator latch waits behind it;
// the Go leader's Client is closed without closing the latch. Closing the
// session takes the node at once, so the Java latch leads, and the Go
// term's Done closes.
func goSessionClosed(t *testing.T, peer *ElectionPeer, addr, path string) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	o := startObserver(t, addr, path, "latch-")
	c := locktest.Connect(t, addr)
	l := election.NewLeaderLatch(c, path, "go-0")
	defer l.Close(ctx, election.Silent)
	term, err := l.Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := electiontest.Exclusive(ctx, c, term, path); err != nil {
		t.Fatal(err)
	}
	java := startJava(t, ctx, peer, addr, "latch", path, 1)
	closed := time.Now()
	c.Close()
	select {
	case <-term.Done():
	case <-ctx.Done():
		t.Fatal("the Go term is not done after its Client closed")
	}
	led, err := java.Await(ctx, "LEADER", "java-0")
	if err != nil {
		t.Fatalf("%v\n%s", err, locktest.Describe(o.c, path))
	}
	if l.HasLeadership() {
		t.Fatal("the Go latch leads after its Client closed")
	}
	assertGone(t, ctx, o.c, term.Path())
	t.Logf("the Java latch led %v after the Go leader's Client closed its session", led.At.Sub(closed).Round(time.Millisecond))
	exitJava(t, ctx, java)
}

// minTerm is how long a term lasts at least before it is ended, so that
// each leader proves itself a few times.
const minTerm = 20 * time.Millisecond

// takeTurns runs an election's terms from the events of both sides: a
// leader's term is ended (end) once minTerm has passed and the observer
// has confirmed its node as the marker's, until every id in want has led
// and the last leader is confirmed. A LEADER while another leader's term
// has not been ended fails the test, as does one that leader (the Go
// recipe's reading of the tree) does not report. It returns the ids in
// the order they led.
func takeTurns(t *testing.T, ctx context.Context, o *observer, java *PeerProcess, goEvents <-chan event,
	leader func(context.Context) (election.Participant, error), want []string, end func(id string)) []string {
	t.Helper()
	var order []string
	var cur event  // the leader whose term is not known to be over
	ended := false // end(cur.id) was called
	var since time.Time
	confirmed := map[string]bool{}
	handle := func(e event) {
		switch e.kind {
		case "LEADER":
			if cur.id != "" && !ended {
				t.Fatalf("%s leads at %s while %s still leads at %s\n%s", e.id, e.node, cur.id, cur.node, locktest.Describe(o.c, o.path))
			}
			cur, ended, since = e, false, time.Now()
			order = append(order, e.id)
			// The term has not been ended, so the leader cannot change.
			if p, err := leader(ctx); err != nil || p.ID != e.id || p.Path != e.node {
				t.Errorf("%s leads at %s, but Leader says %+v (%v)", e.id, e.node, p, err)
			}
		case "NOTLEADER":
			if e.id == cur.id {
				if !ended {
					t.Logf("%s stopped leading before it was told to", e.id)
				}
				cur = event{}
			}
		case "ERROR":
			t.Errorf("%s: %s", e.id, e.node)
		}
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if cur.id != "" && confirmed[cur.node] && !slices.ContainsFunc(want, func(id string) bool { return !slices.Contains(order, id) }) {
			return order
		}
		select {
		case l, ok := <-java.Lines():
			if !ok {
				t.Fatalf("ElectionPeer exited: %v\n%s", java.Wait(), java.Stderr())
			}
			handle(lineEvent(l))
		case e := <-goEvents:
			handle(e)
		case n := <-o.confirmed:
			confirmed[n] = true
		case <-tick.C:
			if cur.id != "" && !ended && confirmed[cur.node] && time.Since(since) >= minTerm {
				end(cur.id)
				ended = true
			}
		case <-ctx.Done():
			t.Fatalf("leaders in turn %v, want each of %v; current %+v\n%s", order, want, cur, locktest.Describe(o.c, o.path))
		}
	}
}

// event is a participant's LEADER, NOTLEADER, CLOSED or ERROR, from a Go
// goroutine or an ElectionPeer line; node holds an ERROR's message.
type event struct {
	kind, id, node string
}

func lineEvent(l PeerLine) event {
	var e event
	if len(l.Fields) > 0 {
		e.kind = l.Fields[0]
	}
	if len(l.Fields) > 1 {
		e.id = l.Fields[1]
	}
	if len(l.Fields) > 2 {
		e.node = strings.Join(l.Fields[2:], " ")
	}
	return e
}

// goSide runs a test's Go participants: when the test ends their context
// ends, their goroutines are waited for, and then their Clients close, so
// that no proof fails on a Client closed under it.
type goSide struct {
	t      *testing.T
	addr   string
	ctx    context.Context
	events chan event
	wg     sync.WaitGroup

	mu      sync.Mutex
	clients []*recipes.Client
}

func newGoSide(t *testing.T, addr string) *goSide {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	g := &goSide{t: t, addr: addr, ctx: ctx, events: make(chan event, 16)}
	t.Cleanup(func() {
		cancel()
		g.wg.Wait()
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, c := range g.clients {
			c.Close()
		}
	})
	return g
}

// connect opens a Client, a session of its own, for one participant.
func (g *goSide) connect() *recipes.Client {
	g.t.Helper()
	c, err := recipes.New(g.ctx, []string{g.addr})
	if err != nil {
		g.t.Fatal(err)
	}
	g.mu.Lock()
	g.clients = append(g.clients, c)
	g.mu.Unlock()
	return c
}

func (g *goSide) spawn(f func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
}

func (g *goSide) send(e event) {
	select {
	case g.events <- e:
	case <-g.ctx.Done():
	}
}

// prove proves every 10 ms that term leads alone (electiontest.Exclusive),
// sending LEADER after the first proof and NOTLEADER at the end, until the
// term or the test ends or stop is signalled; it reports whether stop ended
// it. No proof is in flight when it returns, so the marker is gone before
// the caller gives up the node.
func (g *goSide) prove(c *recipes.Client, term *election.Leadership, path, id string, stop chan struct{}) bool {
	// A stop meant for an earlier term that ended by itself is stale.
	select {
	case <-stop:
	default:
	}
	announced := false
	defer func() {
		if announced {
			g.send(event{kind: "NOTLEADER", id: id})
		}
	}()
	for {
		if err := electiontest.Exclusive(g.ctx, c, term, path); err != nil && g.ctx.Err() == nil {
			g.t.Errorf("%s: %v", id, err)
		}
		select {
		case <-term.Done():
			return false
		default:
		}
		if !announced {
			announced = true
			g.send(event{kind: "LEADER", id: id, node: term.Path()})
		}
		select {
		case <-stop:
			return true
		case <-term.Done():
			return false
		case <-g.ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// observer watches an election from a session of its own (see check).
type observer struct {
	c         *recipes.Client
	path      string
	name      string // what node names carry before the sequence number
	confirmed chan string
}

func startObserver(t *testing.T, addr, path, name string) *observer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	c, err := recipes.New(ctx, []string{addr})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	o := &observer{c: c, path: path, name: name, confirmed: make(chan string, 16)}
	done := make(chan struct{})
	var samples, confirmations int
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			node, err := o.check(ctx)
			if err != nil && ctx.Err() == nil {
				t.Errorf("observer: %v", err)
			}
			if node != "" {
				confirmations++
				select {
				case o.confirmed <- node:
				default: // the test is not waiting for it
				}
			}
			samples++
			time.Sleep(2 * time.Millisecond)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		c.Close()
		t.Logf("observer: %d samples, %d confirmed the leader's marker", samples, confirmations)
	})
	return o
}

// check samples the marker and the children. A leader makes the marker
// only while its node is first, and keeps the node until the marker is
// gone (a session's end takes both at once); and a session has at most one
// node on the path. So if the marker's session still has a node made
// before the marker, that node must come first among all those made
// before the marker: they all existed when the marker was made. check
// returns that node when it holds, "" when there is nothing to compare, and
// an error when it does not hold.
func (o *observer) check(ctx context.Context) (string, error) {
	marker := o.path + "-leader"
	m, err := o.c.Exists(ctx, marker)
	if err != nil || m == nil {
		return "", err
	}
	kids, err := o.c.Children(ctx, o.path)
	if errors.Is(err, zk.ErrNoNode) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	recipes.SortChildren(kids, func(n string) string { return recipes.SortKey(n, o.name) })
	var first, own string
	var firstOwner int64
	for _, k := range kids {
		node := o.path + "/" + k
		st, err := o.c.Exists(ctx, node)
		if err != nil {
			return "", err
		}
		if st == nil || st.Czxid >= m.Czxid {
			continue
		}
		if first == "" {
			first, firstOwner = node, st.EphemeralOwner
		}
		if st.EphemeralOwner == m.EphemeralOwner {
			own = node
		}
	}
	if own == "" {
		return "", nil // the marker's leader has gone since
	}
	if firstOwner != m.EphemeralOwner {
		return "", fmt.Errorf("two leaders: %s (czxid %d) is session 0x%x's, whose node %s comes after %s of session 0x%x\n%s",
			marker, m.Czxid, m.EphemeralOwner, own, first, firstOwner, locktest.Describe(o.c, o.path))
	}
	return first, nil
}

// startJava starts an ElectionPeer with n participants java-0..java-(n-1)
// and waits until it is READY.
func startJava(t *testing.T, ctx context.Context, peer *ElectionPeer, addr, mode, path string, n int) *PeerProcess {
	t.Helper()
	cmd := peer.Command(ctx, addr, mode, path, strconv.Itoa(n), strconv.FormatInt(peerSession.Milliseconds(), 10), "java")
	p := startPeer(t, cmd, "ElectionPeer")
	if _, err := p.Await(ctx, "READY"); err != nil {
		t.Fatal(err)
	}
	return p
}

// startPeer starts a line-protocol peer that is killed when the test ends,
// and shows its stderr if the test failed.
func startPeer(t *testing.T, cmd *exec.Cmd, name string) *PeerProcess {
	t.Helper()
	p, err := StartPeer(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, p.Stderr())
		}
	})
	return p
}

// exitJava asks the peer to exit, which it must do cleanly, and fails the
// test on any ERROR it printed since.
func exitJava(t *testing.T, ctx context.Context, java *PeerProcess) {
	t.Helper()
	if err := java.Exit(ctx); err != nil {
		t.Errorf("ElectionPeer exit: %v", err)
	}
	for l := range java.Lines() {
		if e := lineEvent(l); e.kind == "ERROR" {
			t.Errorf("%s: %s", e.id, e.node)
		}
	}
}

// assertGone fails the test if a dead leader's node is still there.
func assertGone(t *testing.T, ctx context.Context, c *recipes.Client, node string) {
	t.Helper()
	if st, err := c.Exists(ctx, node); err != nil || st != nil {
		t.Fatalf("the dead leader's node %s: stat %+v, %v", node, st, err)
	}
}

// envCandidate turns the test binary into a Go latch candidate (see
// electionCandidateIfAsked); its value is "<addr> <path> <id>".
const envCandidate = "ZOOKIT_INTEROP_ELECTION_CANDIDATE"

// electionCandidateIfAsked runs a LeaderLatch with a peerSession session
// when the environment says so, speaking ElectionPeer's line protocol:
// once it leads it prints LEADER and proves its leadership every 10 ms
// (ERROR and exit on a failed proof) until it is killed.
func electionCandidateIfAsked() {
	spec := strings.Fields(os.Getenv(envCandidate))
	if len(spec) != 3 {
		return
	}
	addr, path, id := spec[0], spec[1], spec[2]
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	fail := func(err error) {
		fmt.Println("ERROR", id, err)
		os.Exit(2)
	}
	c, err := recipes.New(ctx, []string{addr}, recipes.WithSessionTimeout(peerSession))
	if err != nil {
		fail(err)
	}
	term, err := election.NewLeaderLatch(c, path, id).Await(ctx)
	if err != nil {
		fail(err)
	}
	for announced := false; ; announced = true {
		if err := electiontest.Exclusive(ctx, c, term, path); err != nil {
			fail(err)
		}
		if !announced {
			fmt.Println("LEADER", id, term.Path())
		}
		select {
		case <-term.Done():
			fail(errors.New("leadership lost"))
		case <-ctx.Done():
			os.Exit(3)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
