package ensembletest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/server"
	"github.com/zookit/zookit/internal/freeport"
)

// Cluster is an ensemble of servers inside the test process, each with its
// own client address, data directory, quorum and election ports, configured
// through real zoo.cfg and myid files.
type Cluster struct {
	t       testing.TB
	members []*Member

	// base, opts and lines make the configuration of a new member: its
	// data directory's parent, the cluster's options, and the server
	// lines of every member so far.
	base  string
	opts  options
	lines []string

	mu     sync.Mutex
	groups map[uint64]int // partition group of each server; nil = healed
	paused map[uint64]bool
}

// Member is one server of a Cluster.
type Member struct {
	instance
	ID       uint64
	Observer bool
	// Line is the member's server line (server.N=...), set by AddMember.
	Line string
	c    *Cluster
}

// StartCluster starts voters participants and observers observers and waits
// until they have a leader. Everything stops when the test ends.
func StartCluster(t testing.TB, voters, observers int, opts ...Option) *Cluster {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	n := voters + observers
	c := &Cluster{t: t, paused: map[uint64]bool{}}
	ports := FreePorts(t, 3*n)
	var lines []string
	for i := range n {
		id := uint64(i + 1)
		role := ""
		if i >= voters {
			role = ":observer"
		}
		lines = append(lines, fmt.Sprintf("server.%d=127.0.0.1:%d:%d%s;127.0.0.1:%d", id, ports[3*i], ports[3*i+1], role, ports[3*i+2]))
	}
	c.base, c.opts, c.lines = t.TempDir(), o, lines
	for i := range n {
		c.members = append(c.members, c.newMember(uint64(i+1), i >= voters, ports[3*i+2]))
	}
	// Servers start concurrently: each waits for its log, not for peers.
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, m := range c.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = m.start()
		}()
	}
	wg.Wait()
	t.Cleanup(c.stopAll)
	for _, err := range errs {
		if err != nil {
			t.Fatalf("ensembletest: %v", err)
		}
	}
	c.WaitLeader()
	return c
}

// newMember writes the data directory, zoo.cfg (with the cluster's
// server lines) and myid of server id, whose client port is clientPort.
func (c *Cluster) newMember(id uint64, observer bool, clientPort int) *Member {
	t := c.t
	dir := filepath.Join(c.base, fmt.Sprintf("server%d", id))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	peerType := "participant"
	if observer {
		peerType = "observer"
	}
	// syncLimit 5 makes the election timeout 1–2 s: a leader's fsync
	// stall on a loaded test machine should not start elections, or drop
	// clients, that no test asked for.
	text := fmt.Sprintf(`tickTime=200
maxSessionTimeout=30000
initLimit=10
syncLimit=5
dataDir=%s
peerType=%s
4lw.commands.whitelist=*
extendedTypesEnabled=true
znode.container.checkIntervalMs=1000
%s
`, dir, peerType, strings.Join(c.lines, "\n"))
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "myid"), []byte(fmt.Sprintf("%d\n", id)), 0o644); err != nil {
		t.Fatal(err)
	}
	m := &Member{ID: id, Observer: observer, c: c, instance: instance{
		load:       func() (*config.Config, error) { return config.Load(cfgPath, nil) },
		configure:  c.opts.configure,
		serverOpts: c.opts.serverOpts,
		log:        c.opts.logger(t).With(zap.Uint64("myid", id)),
		addr:       fmt.Sprintf("127.0.0.1:%d", clientPort),
	}}
	m.onStart = func(srv *server.Server) { srv.SetPeerFilter(c.connected) }
	return m
}

// AddMember starts a new participant, the next id, with an empty data
// directory and a zoo.cfg that lists every member so far and itself, as an
// operator starts a server before adding it by reconfig (which the
// cluster's options must enable: WithConfig). It does not wait for it to
// join; its Line is the server line to add it with.
func (c *Cluster) AddMember() *Member {
	c.t.Helper()
	id := uint64(len(c.members) + 1)
	ports := FreePorts(c.t, 3)
	line := fmt.Sprintf("server.%d=127.0.0.1:%d:%d;127.0.0.1:%d", id, ports[0], ports[1], ports[2])
	c.lines = append(c.lines, line)
	m := c.newMember(id, false, ports[2])
	m.Line = line
	c.members = append(c.members, m)
	if err := m.start(); err != nil {
		c.t.Fatalf("ensembletest: %v", err)
	}
	return m
}

// FreePorts returns n distinct free ports on 127.0.0.1. All n are held
// open until every one is chosen, so that one set never repeats a port,
// which picking them one at a time can (the kernel may hand a just-closed
// port out again).
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports, err := freeport.Ports(n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// Kill stops the member's server as a crash would, without handing over
// leadership; its data directory stays for Restart.
func (m *Member) Kill() { m.stop(true) }

// Stop stops the member's server the way an operator does, a leader
// handing leadership over first.
func (m *Member) Stop() { m.stop(false) }

// Restart starts a killed (or running) member again from its data.
func (m *Member) Restart() {
	m.c.t.Helper()
	m.stop(true)
	if err := m.start(); err != nil {
		m.c.t.Fatalf("ensembletest: restart: %v", err)
	}
}

// Pause cuts the member off from every peer, in both directions, as a
// stopped process or a dead network link would; Resume reconnects it.
// Its clients stay connected and learn of it as ZooKeeper clients do.
func (m *Member) Pause() { m.c.setPaused(m.ID, true) }

// Resume undoes Pause.
func (m *Member) Resume() { m.c.setPaused(m.ID, false) }

func (c *Cluster) setPaused(id uint64, on bool) {
	c.mu.Lock()
	c.paused[id] = on
	c.mu.Unlock()
	c.applyFilters()
}

// Members lists the servers in id order.
func (c *Cluster) Members() []*Member { return c.members }

// Member returns the server with the given id.
func (c *Cluster) Member(id uint64) *Member { return c.members[id-1] }

// Addrs are the client addresses of every server, as a client's connect
// string lists them.
func (c *Cluster) Addrs() []string {
	var a []string
	for _, m := range c.members {
		a = append(a, m.addr)
	}
	return a
}

// Partition splits the servers into groups that cannot reach each other;
// servers not named form one more group. Heal undoes it.
func (c *Cluster) Partition(groups ...[]uint64) {
	c.mu.Lock()
	c.groups = map[uint64]int{}
	for g, ids := range groups {
		for _, id := range ids {
			c.groups[id] = g + 1
		}
	}
	c.mu.Unlock()
	c.applyFilters()
}

// Heal reconnects every partitioned server.
func (c *Cluster) Heal() {
	c.mu.Lock()
	c.groups = nil
	c.mu.Unlock()
	c.applyFilters()
}

func (c *Cluster) connected(from, to uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.paused[from] || c.paused[to] {
		return false
	}
	return c.groups == nil || c.groups[from] == c.groups[to]
}

func (c *Cluster) applyFilters() {
	for _, m := range c.members {
		if m.srv != nil {
			m.srv.SetPeerFilter(c.connected)
		}
	}
}

// Leader returns the member that leads, or nil.
func (c *Cluster) Leader() *Member {
	for _, m := range c.members {
		if m.srv != nil && m.srv.Mode() == "leader" {
			return m
		}
	}
	return nil
}

// WaitLeader waits until one running member leads and every running
// member that can reach it knows it, and returns the leader. A member whose
// server stopped serving on its own (a storage failure) does not count as
// running.
func (c *Cluster) WaitLeader() *Member {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if l := c.Leader(); l != nil && c.allServing(l) {
			return l
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatal("ensembletest: no leader within 30s")
	return nil
}

func (c *Cluster) allServing(leader *Member) bool {
	for _, m := range c.members {
		if m.srv != nil && m.ServeErr() == nil && c.connected(m.ID, leader.ID) && !m.srv.Serving() {
			return false
		}
	}
	return true
}

func (c *Cluster) stopAll() {
	var wg sync.WaitGroup
	for _, m := range c.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Kill()
		}()
	}
	wg.Wait()
}
