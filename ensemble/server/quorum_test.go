package server_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
)

// connectAny connects a client that knows every given server, as a
// connect string with several hosts does.
func connectAny(t *testing.T, addrs []string) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	c, ev, err := zk.Connect(addrs, 4*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitState(t, ev, zk.StateHasSession)
	return c, ev
}

// syncedData reads path on the server at addr after a sync, so the answer
// reflects every write committed before the call.
func syncedData(t *testing.T, addr, path string) string {
	t.Helper()
	c, _ := connect(t, addr)
	defer c.Close()
	if _, err := c.Sync(path); err != nil {
		t.Fatalf("sync on %s: %v", addr, err)
	}
	d, _, err := c.Get(path)
	if err != nil {
		t.Fatalf("get %s on %s: %v", path, addr, err)
	}
	return string(d)
}

func TestQuorumRolesAndReplication(t *testing.T) {
	cl := ensembletest.StartCluster(t, 3, 1)
	modes := map[string]int{}
	for _, m := range cl.Members() {
		modes[m.Server().Mode()]++
		srvr := fourLetter(t, m.Addr(), "srvr")
		if !strings.Contains(srvr, "Mode: "+m.Server().Mode()+"\n") {
			t.Fatalf("server %d srvr:\n%s", m.ID, srvr)
		}
	}
	if modes["leader"] != 1 || modes["follower"] != 2 || modes["observer"] != 1 {
		t.Fatalf("modes %v, want 1 leader, 2 followers, 1 observer", modes)
	}
	// A write through every server, including the observer, reaches all.
	for _, m := range cl.Members() {
		c, _ := connect(t, m.Addr())
		if _, err := c.Create(fmt.Sprintf("/from%d", m.ID), []byte(m.Addr()), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("create through server %d: %v", m.ID, err)
		}
	}
	for _, m := range cl.Members() {
		for _, src := range cl.Members() {
			if got := syncedData(t, m.Addr(), fmt.Sprintf("/from%d", src.ID)); got != src.Addr() {
				t.Fatalf("server %d has %q for /from%d", m.ID, got, src.ID)
			}
		}
	}
	c, _ := connect(t, cl.Member(1).Addr())
	cfg, _, err := c.Get("/zookeeper/config")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cl.Members() {
		if !strings.Contains(string(cfg), ";"+m.Addr()) {
			t.Fatalf("/zookeeper/config lacks client address %s:\n%s", m.Addr(), cfg)
		}
	}
	mntr := fourLetter(t, cl.Leader().Addr(), "mntr")
	for _, want := range []string{"zk_server_state\tleader\n", "zk_synced_followers\t2\n", "zk_synced_observers\t1\n", "zk_quorum_size\t3\n"} {
		if !strings.Contains(mntr, want) {
			t.Fatalf("leader mntr lacks %q:\n%s", want, mntr)
		}
	}
}

// writer keeps creating nodes through a client that knows every server,
// recording which creates were acknowledged.
type writer struct {
	mu    sync.Mutex
	acked []string
	stop  chan struct{}
	wg    sync.WaitGroup
}

func startWriters(t *testing.T, addrs []string, n int) *writer {
	w := &writer{stop: make(chan struct{})}
	for i := range n {
		c, _ := connectAny(t, addrs)
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for j := 0; ; j++ {
				select {
				case <-w.stop:
					return
				default:
				}
				p := fmt.Sprintf("/load/w%d-%d", i, j)
				if _, err := c.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
					if errors.Is(err, zk.ErrNodeExists) {
						// A retry of a create whose first reply was lost.
						w.record(p)
					}
					continue
				}
				w.record(p)
			}
		}()
	}
	return w
}

func (w *writer) record(p string) {
	w.mu.Lock()
	w.acked = append(w.acked, p)
	w.mu.Unlock()
}

func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

func (w *writer) finish() []string {
	close(w.stop)
	w.wg.Wait()
	return w.acked
}

// requireAll checks that every acknowledged path exists on every running
// server.
func requireAll(t *testing.T, cl *ensembletest.Cluster, acked []string) {
	t.Helper()
	for _, m := range cl.Members() {
		if m.Server() == nil {
			continue
		}
		c, _ := connect(t, m.Addr())
		if _, err := c.Sync("/load"); err != nil {
			t.Fatal(err)
		}
		kids, _, err := c.Children("/load")
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, k := range kids {
			have["/load/"+k] = true
		}
		for _, p := range acked {
			if !have[p] {
				t.Fatalf("server %d lost acknowledged write %s", m.ID, p)
			}
		}
		c.Close()
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestLeaderKilledUnderLoad(t *testing.T) {
	cl := ensembletest.StartCluster(t, 3, 0)
	c, _ := connectAny(t, cl.Addrs())
	if _, err := c.Create("/load", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	w := startWriters(t, cl.Addrs(), 4)
	waitFor(t, "writes before the kill", func() bool { return w.count() > 50 })
	old := cl.Leader()
	killed := time.Now()
	old.Kill()
	before := w.count()
	newLeader := cl.WaitLeader()
	elected := time.Since(killed)
	waitFor(t, "writes after the kill", func() bool { return w.count() > before+50 })
	resumed := time.Since(killed)
	acked := w.finish()
	t.Logf("leader %d killed; server %d leads after %v; clients writing again after %v; %d writes acknowledged",
		old.ID, newLeader.ID, elected.Round(time.Millisecond), resumed.Round(time.Millisecond), len(acked))
	old.Restart()
	requireAll(t, cl, acked)
}

func TestMinorityCannotCommit(t *testing.T) {
	cl := ensembletest.StartCluster(t, 3, 0)
	lead := cl.Leader()
	var others []uint64
	for _, m := range cl.Members() {
		if m != lead {
			others = append(others, m.ID)
		}
	}
	setup, _ := connect(t, lead.Addr())
	if _, err := setup.Create("/load", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	// A client on the old leader, which is about to be cut off.
	stranded, _ := connect(t, lead.Addr())
	cl.Partition([]uint64{lead.ID}, others)
	_, err := stranded.Create("/load/minority", nil, 0, zk.WorldACL(zk.PermAll))
	if err == nil {
		t.Fatal("an isolated former leader committed a write")
	}
	newLead := cl.WaitLeader()
	if newLead.ID == lead.ID {
		waitFor(t, "a leader in the majority", func() bool {
			l := cl.Leader()
			return l != nil && l.ID != lead.ID
		})
	}
	// A client that knows every server moves to the majority and writes.
	mover, _ := connectAny(t, []string{lead.Addr(), cl.Member(others[0]).Addr(), cl.Member(others[1]).Addr()})
	if _, err := mover.Create("/load/majority", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("majority write: %v", err)
	}
	cl.Heal()
	waitFor(t, "the old leader to rejoin", func() bool {
		return lead.Server().Mode() == "follower"
	})
	requireAll(t, cl, []string{"/load/majority"})
	if ok, _, err := mover.Exists("/load/minority"); err != nil || ok {
		t.Fatalf("the minority's write exists after heal: %v %v", ok, err)
	}
}

func TestPausedServerRejoins(t *testing.T) {
	cl := ensembletest.StartCluster(t, 3, 1)
	var paused *ensembletest.Member
	for _, m := range cl.Members() {
		if m != cl.Leader() && !m.Observer {
			paused = m
			break
		}
	}
	c, _ := connect(t, cl.Leader().Addr())
	if _, err := c.Create("/load", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	paused.Pause()
	var acked []string
	for i := range 100 {
		p, err := c.Create(fmt.Sprintf("/load/n%d", i), nil, 0, zk.WorldACL(zk.PermAll))
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, p)
	}
	paused.Resume()
	requireAll(t, cl, acked)
}

// A client keeps its session when its server dies and it moves to another,
// and its ephemeral node is deleted exactly once when the session ends.
func TestSessionMovesBetweenServers(t *testing.T) {
	cl := ensembletest.StartCluster(t, 3, 0)
	c, _ := connectAny(t, cl.Addrs())
	if _, err := c.Create("/eph", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	sid := c.SessionID()
	var home *ensembletest.Member
	for _, m := range cl.Members() {
		if m.Addr() == c.Server() {
			home = m
		}
	}
	if home == nil {
		t.Fatalf("client is on %s, which is no member", c.Server())
	}
	home.Kill()
	waitSession(t, c)
	if c.SessionID() != sid || c.Server() == home.Addr() {
		t.Fatalf("after the move: session %x (was %x) on %s", c.SessionID(), sid, c.Server())
	}
	var other *ensembletest.Member
	for _, m := range cl.Members() {
		if m != home {
			other = m
		}
	}
	watcher, _ := connect(t, other.Addr())
	ok, st, gone, err := watcher.ExistsW("/eph")
	if err != nil || !ok || st.EphemeralOwner != sid {
		t.Fatalf("ephemeral after the move: %v %+v %v", ok, st, err)
	}
	c.Close()
	select {
	case e := <-gone:
		if e.Type != zk.EventNodeDeleted {
			t.Fatalf("event %v", e)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ephemeral not deleted after the session ended")
	}
	home.Restart()
	for _, m := range cl.Members() {
		c, _ := connect(t, m.Addr())
		if _, err := c.Sync("/"); err != nil {
			t.Fatal(err)
		}
		if ok, _, err := c.Exists("/eph"); err != nil || ok {
			t.Fatalf("server %d still has the ephemeral: %v %v", m.ID, ok, err)
		}
	}
}

// Sessions on followers stay alive through the activity they report to
// the leader, well past their timeout.
func TestFollowerSessionsStayAlive(t *testing.T) {
	cl := ensembletest.StartCluster(t, 3, 0)
	var follower *ensembletest.Member
	for _, m := range cl.Members() {
		if m != cl.Leader() {
			follower = m
			break
		}
	}
	c, ev := connect(t, follower.Addr())
	if _, err := c.Create("/alive", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Second) // 2.5 session timeouts of pings only
	select {
	case e := <-ev:
		if e.State == zk.StateExpired {
			t.Fatal("a pinging client's session expired")
		}
	default:
	}
	if ok, _, err := c.Exists("/alive"); err != nil || !ok {
		t.Fatalf("ephemeral of a live session: %v %v", ok, err)
	}
}

// The whole ensemble stops and starts again from its disks with every
// acknowledged write and every live session.
func TestWholeEnsembleRestart(t *testing.T) {
	cl := ensembletest.StartCluster(t, 3, 1)
	// The session must outlast four restarts and an election on a slow
	// machine: a new leader gives it a full timeout, counted from then.
	c, ev, err := zk.Connect(cl.Addrs(), 15*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitState(t, ev, zk.StateHasSession)
	if _, err := c.Create("/load", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/load/eph", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	acked := []string{"/load/eph"}
	for i := range 50 {
		p, err := c.Create(fmt.Sprintf("/load/n%d", i), nil, 0, zk.WorldACL(zk.PermAll))
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, p)
	}
	sid := c.SessionID()
	for _, m := range cl.Members() {
		m.Kill()
	}
	for _, m := range cl.Members() {
		m.Restart()
	}
	cl.WaitLeader()
	waitSession(t, c)
	if c.SessionID() != sid {
		t.Fatalf("session %x replaced by %x", sid, c.SessionID())
	}
	requireAll(t, cl, acked)
}

// A follower cut off from its quorum stops serving once it starts to
// campaign, and closes a new client's handshake at once, as ZooKeeper's
// LOOKING server does, so that the client moves on to a server that can
// serve instead of waiting out a session proposal that cannot commit.
func TestCutOffFollowerRefusesHandshakes(t *testing.T) {
	cl := ensembletest.StartCluster(t, 3, 0)
	lead := cl.WaitLeader()
	var cut *ensembletest.Member
	var rest []uint64
	for _, m := range cl.Members() {
		switch {
		case m != lead && cut == nil:
			cut = m
		default:
			rest = append(rest, m.ID)
		}
	}
	cl.Partition([]uint64{cut.ID}, rest)
	waitFor(t, "the cut-off follower to stop serving", func() bool { return !cut.Server().Serving() })
	// A connection with no session yet outlives the sweep that closes
	// sessions' connections: a four-letter word sent after several
	// housekeeping ticks still gets its answer, not a reset.
	idle, err := net.Dial("tcp", cut.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	time.Sleep(3 * time.Second)
	io.WriteString(idle, "srvr")
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := io.ReadAll(idle); err != nil || !strings.Contains(string(b), "not currently serving") {
		t.Fatalf("srvr on a server without quorum: %q, %v", b, err)
	}
	handshakeClosedAtOnce(t, cut.Addr())
}

// handshakeClosedAtOnce sends a handshake to addr and expects the
// connection closed well inside the session's timeout (4 s), which a
// server that held it until a session proposal failed would wait out.
func handshakeClosedAtOnce(t *testing.T, addr string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write(proto.AppendFrame(nil, &proto.ConnectRequest{Timeout: 4000, Passwd: make([]byte, 16)})); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := nc.Read(make([]byte, 64)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("handshake on %s: read %d bytes, %v; want the connection closed", addr, n, err)
	}
}

// A follower cut off from its leader lets its clients' sessions go before
// the leader can expire them, though raft, with a long syncLimit, has not
// given up on the leader yet: a client on that follower hears of it
// (Disconnected) before another client sees its ephemeral node deleted.
// Otherwise the first client would keep trusting a lock or a leadership
// that the ensemble has already given to someone else. It also refuses a
// new handshake at once rather than holding it for a session timeout.
func TestCutOffFollowerLetsSessionsGoBeforeExpiry(t *testing.T) {
	// An election timeout of 5–10 s, well beyond the 2 s session.
	cl := ensembletest.StartCluster(t, 3, 0, ensembletest.WithConfig(func(c *config.Config) { c.SyncLimit = 25 }))
	lead := cl.WaitLeader()
	var cut *ensembletest.Member
	var rest []string
	for _, m := range cl.Members() {
		if m != lead && cut == nil {
			cut = m
		} else {
			rest = append(rest, m.Addr())
		}
	}
	a, aev, err := zk.Connect([]string{cut.Addr()}, 2*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	waitState(t, aev, zk.StateHasSession)
	if _, err := a.Create("/held", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	b, _ := connectAny(t, rest)
	ok, _, gone, err := b.ExistsW("/held")
	if err != nil || !ok {
		t.Fatalf("/held from the other side: %v, %v", ok, err)
	}

	cut.Pause()
	defer cut.Resume()
	disconnected := make(chan time.Time, 1)
	go func() {
		for ev := range aev {
			if ev.State == zk.StateDisconnected {
				disconnected <- time.Now()
				return
			}
		}
	}()
	var deleted time.Time
	select {
	case ev := <-gone:
		deleted = time.Now()
		if ev.Type != zk.EventNodeDeleted {
			t.Fatalf("watch on /held: %v", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the cut-off client's session did not expire")
	}
	select {
	case at := <-disconnected:
		if !at.Before(deleted) {
			t.Fatalf("the client on the cut-off follower heard of it %v after its session expired", at.Sub(deleted))
		}
	default:
		t.Fatal("the session expired while its client on the cut-off follower was still connected")
	}
	handshakeClosedAtOnce(t, cut.Addr())
}
