package server_test

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/ensembletest"
)

const (
	linKeys    = 4
	linClients = 6
	// linProgress is how many successful operations the nemesis waits for
	// after each fault and each repair, so every phase carries load.
	linProgress = 200
)

func linPath(key int) string { return fmt.Sprintf("/lin%d", key) }

type linKind int

const (
	linRead linKind = iota // sync, then get: linearizable by the server's promise
	linSet                 // set with version -1 (blind) or an expected version (CAS)
)

type linInput struct {
	key     int
	kind    linKind
	value   string // set: unique, so a read names the write it sees
	version int32  // set: expected version, -1 for none
}

type linOutcome int

const (
	linOK linOutcome = iota
	linBadVersion
	// linUnknown: the client lost the answer; the write may or may not
	// have happened. Such operations never return (Return = MaxInt64).
	linUnknown
)

type linOutput struct {
	outcome linOutcome
	value   string // read
	version int32  // read: node version; successful set: the new version
}

// linState is one znode: its data and data version.
type linState struct {
	value   string
	version int32
}

func linStep(state, input, output any) (bool, any) {
	s, in, out := state.(linState), input.(linInput), output.(linOutput)
	if in.kind == linRead {
		return out.value == s.value && out.version == s.version, s
	}
	matches := in.version == -1 || in.version == s.version
	next := linState{in.value, s.version + 1}
	switch out.outcome {
	case linOK:
		return matches && out.version == next.version, next
	case linBadVersion:
		return !matches, s
	default:
		// An unknown write that did not happen is the same as one
		// linearized after everything else (it never returns), so taking
		// effect whenever the version allows covers both cases.
		if matches {
			return true, next
		}
		return true, s
	}
}

func describeLinOp(input, output any) string {
	in, out := input.(linInput), output.(linOutput)
	if in.kind == linRead {
		return fmt.Sprintf("get(%s) -> %q v%d", linPath(in.key), out.value, out.version)
	}
	call := fmt.Sprintf("set(%s, %q, v%d)", linPath(in.key), in.value, in.version)
	switch out.outcome {
	case linOK:
		return fmt.Sprintf("%s -> v%d", call, out.version)
	case linBadVersion:
		return call + " -> bad version"
	default:
		return call + " -> unknown"
	}
}

func linModel() porcupine.Model {
	seed := maphash.MakeSeed()
	return porcupine.Model{
		// Keys are independent registers: a history is linearizable iff
		// each key's is, and checking small histories is far cheaper.
		Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
			byKey := make([][]porcupine.Operation, linKeys)
			for _, op := range h {
				k := op.Input.(linInput).key
				byKey[k] = append(byKey[k], op)
			}
			return byKey
		},
		Init:              func() any { return linState{value: "init"} },
		Step:              linStep,
		Hash:              func(s any) uint64 { return maphash.Comparable(seed, s.(linState)) },
		DescribeOperation: describeLinOp,
		DescribeState: func(s any) string {
			st := s.(linState)
			return fmt.Sprintf("%q v%d", st.value, st.version)
		},
	}
}

// linClient is one session doing a random mix of synced reads, blind
// writes and versioned writes, recording every operation it may have
// performed.
type linClient struct {
	id   int
	conn *zk.Conn
	rng  *rand.Rand
	seen [linKeys]int32 // version last read or written, for the next CAS
	n    int
	ops  []porcupine.Operation
}

// lostAnswer tells whether err leaves a write's outcome unknown: the
// request may have reached the server and been committed.
func lostAnswer(err error) bool {
	for _, e := range []error{zk.ErrConnectionClosed, zk.ErrNoServer, zk.ErrClosing, zk.ErrSessionExpired, zk.ErrSessionMoved} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// step performs one operation and reports whether it succeeded.
func (c *linClient) step(t *testing.T, clock func() int64) bool {
	key := c.rng.IntN(linKeys)
	path := linPath(key)
	call := clock()
	if c.rng.IntN(10) < 4 {
		// A read counts only after a sync: plain reads may be stale, and
		// a failed read had no effect, so it is left out.
		if _, err := c.conn.Sync(path); err != nil {
			return false
		}
		data, st, err := c.conn.Get(path)
		if err != nil {
			return false
		}
		c.seen[key] = st.Version
		c.record(linInput{key: key, kind: linRead}, linOutput{value: string(data), version: st.Version}, call, clock())
		return true
	}
	in := linInput{key: key, kind: linSet, value: fmt.Sprintf("c%d-%d", c.id, c.n), version: -1}
	c.n++
	if c.rng.IntN(2) == 0 {
		in.version = c.seen[key]
	}
	st, err := c.conn.Set(path, []byte(in.value), in.version)
	switch {
	case err == nil:
		c.seen[key] = st.Version
		c.record(in, linOutput{version: st.Version}, call, clock())
		return true
	case errors.Is(err, zk.ErrBadVersion):
		c.record(in, linOutput{outcome: linBadVersion}, call, clock())
		return true
	case lostAnswer(err):
		c.record(in, linOutput{outcome: linUnknown}, call, math.MaxInt64)
	default:
		t.Errorf("client %d: %s: unexpected error %v", c.id, describeLinOp(in, linOutput{outcome: linUnknown}), err)
	}
	return false
}

func (c *linClient) record(in linInput, out linOutput, call, ret int64) {
	c.ops = append(c.ops, porcupine.Operation{ClientId: c.id, Input: in, Call: call, Output: out, Return: ret})
}

// TestLinearizableUnderFaults runs clients against a 3+1 ensemble while
// servers are killed, paused and partitioned, checks the history with
// porcupine, and then checks that every server holds the same tree.
func TestLinearizableUnderFaults(t *testing.T) {
	cl := ensembletest.StartCluster(t, 3, 1)
	setup, _ := connectAny(t, cl.Addrs())
	for k := range linKeys {
		if _, err := setup.Create(linPath(k), []byte("init"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	setup.Close()

	start := time.Now()
	clock := func() int64 { return int64(time.Since(start)) }
	var done atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	clients := make([]*linClient, linClients)
	for i := range clients {
		conn, _ := connectAny(t, cl.Addrs())
		clients[i] = &linClient{id: i, conn: conn, rng: rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))}
	}
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				// Pacing keeps the history a few thousand operations.
				case <-time.After(time.Duration(c.rng.IntN(30)) * time.Millisecond):
				}
				if c.step(t, clock) {
					done.Add(1)
				}
			}
		}()
	}
	stopClients := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	defer stopClients()

	var events []porcupine.Annotation
	phase := func(what string, fault, repair func()) {
		at := clock()
		fault()
		n := done.Load()
		waitFor(t, "progress during "+what, func() bool { return done.Load() >= n+linProgress })
		repair()
		n = done.Load()
		waitFor(t, "progress after "+what, func() bool { return done.Load() >= n+linProgress })
		events = append(events, porcupine.Annotation{Tag: "nemesis", Start: at, End: clock(), Description: what})
	}
	follower := func() *ensembletest.Member {
		lead := cl.WaitLeader()
		for _, m := range cl.Members() {
			if m != lead && !m.Observer {
				return m
			}
		}
		t.Fatal("no follower")
		return nil
	}
	for range 2 {
		lead := cl.WaitLeader()
		// Cut off before the kill: a stopping leader hands leadership
		// over, and a crash gives it no such chance.
		crash := func() {
			cl.Partition([]uint64{lead.ID})
			lead.Kill()
			cl.Heal()
		}
		phase(fmt.Sprintf("crash leader %d", lead.ID), crash, lead.Restart)
		f := follower()
		phase(fmt.Sprintf("pause follower %d", f.ID), f.Pause, f.Resume)
		lead = cl.WaitLeader()
		var others []uint64
		for _, m := range cl.Members() {
			if m != lead {
				others = append(others, m.ID)
			}
		}
		phase(fmt.Sprintf("partition leader %d", lead.ID), func() { cl.Partition([]uint64{lead.ID}, others) }, cl.Heal)
		for _, m := range cl.Members() {
			if m.Observer {
				phase(fmt.Sprintf("kill observer %d", m.ID), m.Kill, m.Restart)
			}
		}
	}
	stopClients()

	var history []porcupine.Operation
	unknown := 0
	for _, c := range clients {
		history = append(history, c.ops...)
		for _, op := range c.ops {
			if op.Output.(linOutput).outcome == linUnknown {
				unknown++
			}
		}
	}

	// Every server, after a sync, must hold the same tree; its reads also
	// join the history, so the final state must be one the clients'
	// operations lead to.
	var want string
	for _, m := range cl.Members() {
		got, reads := linSnapshot(t, m, clock)
		history = append(history, reads...)
		if want == "" {
			want = got
		} else if got != want {
			t.Errorf("server %d holds\n%s\nserver 1 holds\n%s", m.ID, got, want)
		}
	}

	model := linModel()
	checkStart := time.Now()
	// Bounded so the whole test stays within about a minute and a half.
	res := porcupine.CheckOperationsTimeout(model, history, 30*time.Second)
	t.Logf("%d operations (%d with unknown outcome) over %v; checked in %v",
		len(history), unknown, time.Duration(clock()).Round(time.Millisecond), time.Since(checkStart).Round(time.Millisecond))
	switch res {
	case porcupine.Unknown:
		t.Fatal("porcupine could not decide linearizability within 30s; shrink the history")
	case porcupine.Illegal:
		_, info := porcupine.CheckOperationsVerbose(model, history, 30*time.Second)
		info.AddAnnotations(events)
		// Not t.TempDir: the file must outlive the test to be read.
		f, err := os.CreateTemp("", "zookit-linearizability-*.html")
		if err != nil {
			t.Fatalf("history is not linearizable (no visualization: %v)", err)
		}
		defer f.Close()
		if err := porcupine.Visualize(model, info, f); err != nil {
			t.Errorf("visualization: %v", err)
		}
		t.Fatalf("history is not linearizable; visualization in %s", f.Name())
	}
}

// linSnapshot reads every key and the root's children on m after a sync,
// returning them as text and as read operations for the history.
func linSnapshot(t *testing.T, m *ensembletest.Member, clock func() int64) (string, []porcupine.Operation) {
	t.Helper()
	c, _ := connect(t, m.Addr())
	defer c.Close()
	call := clock()
	if _, err := c.Sync("/"); err != nil {
		t.Fatalf("sync on server %d: %v", m.ID, err)
	}
	var b strings.Builder
	var reads []porcupine.Operation
	for k := range linKeys {
		data, st, err := c.Get(linPath(k))
		if err != nil {
			t.Fatalf("get %s on server %d: %v", linPath(k), m.ID, err)
		}
		fmt.Fprintf(&b, "%s = %q v%d mzxid %#x\n", linPath(k), data, st.Version, st.Mzxid)
		reads = append(reads, porcupine.Operation{
			ClientId: linClients,
			Input:    linInput{key: k, kind: linRead},
			Call:     call,
			Output:   linOutput{value: string(data), version: st.Version},
			Return:   clock(),
		})
	}
	kids, _, err := c.Children("/")
	if err != nil {
		t.Fatalf("children of / on server %d: %v", m.ID, err)
	}
	slices.Sort(kids)
	fmt.Fprintf(&b, "/ has %v", kids)
	return b.String(), reads
}

// The model must reject what the cluster test hopes never to see, or a
// passing check would mean nothing.
func TestLinModel(t *testing.T) {
	set := func(v string, ver int32) linInput { return linInput{kind: linSet, value: v, version: ver} }
	get := linInput{kind: linRead}
	op := func(in linInput, out linOutput, call, ret int64) porcupine.Operation {
		return porcupine.Operation{Input: in, Output: out, Call: call, Return: ret}
	}
	lost := linOutput{outcome: linUnknown}
	for _, tc := range []struct {
		name string
		want porcupine.CheckResult
		ops  []porcupine.Operation
	}{
		{"read follows write", porcupine.Ok, []porcupine.Operation{
			op(set("a", -1), linOutput{version: 1}, 0, 10),
			op(get, linOutput{value: "a", version: 1}, 20, 30),
		}},
		{"stale read", porcupine.Illegal, []porcupine.Operation{
			op(set("a", -1), linOutput{version: 1}, 0, 10),
			op(get, linOutput{value: "init"}, 20, 30),
		}},
		{"CAS on the current version refused", porcupine.Illegal, []porcupine.Operation{
			op(set("a", 0), linOutput{outcome: linBadVersion}, 0, 10),
		}},
		{"CAS on an old version applied", porcupine.Illegal, []porcupine.Operation{
			op(set("a", -1), linOutput{version: 1}, 0, 10),
			op(set("b", 0), linOutput{version: 2}, 20, 30),
		}},
		{"lost write not applied", porcupine.Ok, []porcupine.Operation{
			op(set("a", -1), lost, 0, math.MaxInt64),
			op(get, linOutput{value: "init"}, 20, 30),
		}},
		{"lost write applied", porcupine.Ok, []porcupine.Operation{
			op(set("a", -1), lost, 0, math.MaxInt64),
			op(get, linOutput{value: "a", version: 1}, 20, 30),
		}},
		{"lost write undone", porcupine.Illegal, []porcupine.Operation{
			op(set("a", -1), lost, 0, math.MaxInt64),
			op(get, linOutput{value: "a", version: 1}, 20, 30),
			op(get, linOutput{value: "init"}, 40, 50),
		}},
	} {
		if got := porcupine.CheckOperationsTimeout(linModel(), tc.ops, 10*time.Second); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
