package server_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
)

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func connect(t *testing.T, addr string) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	c, ev, err := zk.Connect([]string{addr}, 4*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	waitState(t, ev, zk.StateHasSession)
	return c, ev
}

// waitSession waits until c serves requests again. It polls, as go-zk
// drops events when its channel is full, which a long reconnect fills, and
// its state lags until it notices a lost connection.
func waitSession(t *testing.T, c *zk.Conn) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := c.Sync("/"); err == nil && c.State() == zk.StateHasSession {
			return
		}
	}
	t.Fatalf("no session within 20s (state %v)", c.State())
}

func waitState(t *testing.T, ev <-chan zk.Event, want zk.State) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.State == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %v within 10s", want)
		}
	}
}

func fourLetter(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, cmd)
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCRUDAndStat(t *testing.T) {
	s := ensembletest.Start(t)
	c, _ := connect(t, s.Addr())
	acl := zk.WorldACL(zk.PermAll)
	if p, err := c.Create("/a", []byte("x"), 0, acl); err != nil || p != "/a" {
		t.Fatalf("create: %q %v", p, err)
	}
	if _, err := c.Create("/a", nil, 0, acl); !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("second create: %v", err)
	}
	st, err := c.Set("/a", []byte("yy"), 0)
	if err != nil || st.Version != 1 || st.DataLength != 2 {
		t.Fatalf("set: %+v %v", st, err)
	}
	if _, err := c.Set("/a", nil, 0); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("stale set: %v", err)
	}
	data, st2, err := c.Get("/a")
	if err != nil || string(data) != "yy" || st2.Mzxid != st.Mzxid {
		t.Fatalf("get: %q %+v %v", data, st2, err)
	}
	seq, err := c.Create("/a/s-", nil, zk.FlagSequence, acl)
	if err != nil || seq != "/a/s-0000000000" {
		t.Fatalf("sequential: %q %v", seq, err)
	}
	kids, _, err := c.Children("/")
	if err != nil || strings.Join(kids, ",") != "a,zookeeper" && strings.Join(kids, ",") != "zookeeper,a" {
		t.Fatalf("children of /: %v %v", kids, err)
	}
	if err := c.Delete("/a", -1); !errors.Is(err, zk.ErrNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	if _, err := c.Sync("/a"); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

// A watch event must reach the client before the reply to a later read
// that observes the change.
func TestWatchBeforeRead(t *testing.T) {
	s := ensembletest.Start(t)
	c, _ := connect(t, s.Addr())
	w, _ := connect(t, s.Addr())
	if _, err := c.Create("/w", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		_, _, ch, err := w.GetW("/w")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Set("/w", []byte{byte(i)}, -1); err != nil {
			t.Fatal(err)
		}
		// Poll with reads until one sees the new data; by then the event
		// must already be delivered.
		for {
			d, _, err := w.Get("/w")
			if err != nil {
				t.Fatal(err)
			}
			if len(d) == 1 && d[0] == byte(i) {
				break
			}
		}
		select {
		case e := <-ch:
			if e.Type != zk.EventNodeDataChanged {
				t.Fatalf("event %v", e)
			}
		default:
			t.Fatalf("round %d: read saw the change before the watch event arrived", i)
		}
	}
}

func TestSessionExpiryRemovesEphemerals(t *testing.T) {
	s := ensembletest.Start(t)
	owner, _ := connect(t, s.Addr())
	other, _ := connect(t, s.Addr())
	if _, err := owner.Create("/e", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	ok, ch := existsW(t, other, "/e")
	if !ok {
		t.Fatal("ephemeral missing")
	}
	if err := s.ExpireSession(owner.SessionID()); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-ch:
		if e.Type != zk.EventNodeDeleted {
			t.Fatalf("event %v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delete event after expiry")
	}
}

func existsW(t *testing.T, c *zk.Conn, p string) (bool, <-chan zk.Event) {
	t.Helper()
	ok, _, ch, err := c.ExistsW(p)
	if err != nil {
		t.Fatal(err)
	}
	return ok, ch
}

// A client that stops pinging loses its session after the timeout and its
// ephemeral nodes go, while other clients carry on.
func TestSessionTimeout(t *testing.T) {
	s := ensembletest.Start(t)
	other, _ := connect(t, s.Addr())
	nc := rawConnect(t, s.Addr(), false)
	var e proto.Encoder
	e.Int(1)
	e.Int(int32(proto.OpCreate))
	(&proto.CreateRequest{Path: "/gone", ACL: []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}, Flags: proto.FlagEphemeral}).Encode(&e)
	writeFrame(t, nc, e.Buf)
	readFrame(t, nc)
	if ok, _, _ := other.Exists("/gone"); !ok {
		t.Fatal("ephemeral not created")
	}
	_, ch := existsW(t, other, "/gone")
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeDeleted {
			t.Fatalf("event %v", ev)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("session of a silent client never expired")
	}
}

func TestRestartKeepsDataAndSessions(t *testing.T) {
	s := ensembletest.Start(t)
	c, _ := connect(t, s.Addr())
	acl := zk.WorldACL(zk.PermAll)
	for _, p := range []string{"/p", "/p/q"} {
		if _, err := c.Create(p, []byte(p), 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Create("/p/eph", nil, zk.FlagEphemeral, acl); err != nil {
		t.Fatal(err)
	}
	sid := c.SessionID()
	s.Restart()
	waitSession(t, c)
	if c.SessionID() != sid {
		t.Fatalf("session changed across restart: %x -> %x", sid, c.SessionID())
	}
	for _, p := range []string{"/p/q", "/p/eph"} {
		if ok, _, err := c.Exists(p); err != nil || !ok {
			t.Fatalf("%s after restart: %v %v", p, ok, err)
		}
	}
	if _, err := c.Create("/p/after", nil, 0, acl); err != nil {
		t.Fatalf("write after restart: %v", err)
	}
}

func rawConnect(t *testing.T, addr string, readOnlyByte bool) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	writeFrame(t, nc, proto.Marshal(&proto.ConnectRequest{Timeout: 4000, Passwd: make([]byte, 16), HasReadOnly: readOnlyByte}))
	resp := readFrame(t, nc)
	want := 36
	if readOnlyByte {
		want = 37
	}
	if len(resp) != want {
		t.Fatalf("connect response is %d bytes, want %d", len(resp), want)
	}
	return nc
}

func writeFrame(t *testing.T, w io.Writer, b []byte) {
	t.Helper()
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(append(hdr[:], b...)); err != nil {
		t.Fatal(err)
	}
}

func readFrame(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := proto.ReadFrame(r, nil, proto.DefaultMaxBuffer)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandshakeForms(t *testing.T) {
	s := ensembletest.Start(t)
	rawConnect(t, s.Addr(), false)
	rawConnect(t, s.Addr(), true)
}

// Garbage from one client closes that connection and nothing else.
func TestBadInputHarmsNoOne(t *testing.T) {
	s := ensembletest.Start(t)
	good, _ := connect(t, s.Addr())
	if _, err := good.Create("/keep", []byte("v"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"oversized frame":   {0x7f, 0, 0, 0},
		"negative length":   {0xff, 0xff, 0xff, 0xfe},
		"short handshake":   {0, 0, 0, 3, 1, 2, 3},
		"garbage handshake": append([]byte{0, 0, 0, 44}, bytes.Repeat([]byte{0xff}, 44)...),
	}
	for name, b := range cases {
		nc, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		nc.Write(b)
		if _, err := io.ReadAll(nc); err != nil {
			t.Fatalf("%s: connection was not closed: %v", name, err)
		}
		nc.Close()
	}
	// After the handshake: a truncated body and an unknown opcode.
	nc := rawConnect(t, s.Addr(), false)
	var e proto.Encoder
	e.Int(7)
	e.Int(999)
	writeFrame(t, nc, e.Buf)
	var h proto.ReplyHeader
	if err := proto.Unmarshal(readFrame(t, nc), &h); err != nil || h.Xid != 7 || h.Err != proto.ErrUnimplemented {
		t.Fatalf("unknown opcode: %+v %v", h, err)
	}
	e = proto.Encoder{}
	e.Int(8)
	e.Int(int32(proto.OpCreate))
	e.Int(1 << 20)
	writeFrame(t, nc, e.Buf)
	if _, err := io.ReadAll(nc); err != nil {
		t.Fatalf("malformed create: connection not closed: %v", err)
	}
	if d, _, err := good.Get("/keep"); err != nil || string(d) != "v" {
		t.Fatalf("other client harmed: %q %v", d, err)
	}
}

func TestRefuseClientAhead(t *testing.T) {
	s := ensembletest.Start(t)
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	writeFrame(t, nc, proto.Marshal(&proto.ConnectRequest{LastZxidSeen: 1 << 40, Timeout: 4000, Passwd: make([]byte, 16)}))
	if b, err := io.ReadAll(nc); err != nil || len(b) != 0 {
		t.Fatalf("a client ahead of the server got %d bytes, want a plain close", len(b))
	}
}

func TestUnknownSessionIsExpired(t *testing.T) {
	s := ensembletest.Start(t)
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	writeFrame(t, nc, proto.Marshal(&proto.ConnectRequest{SessionID: 12345, Timeout: 4000, Passwd: make([]byte, 16)}))
	var r proto.ConnectResponse
	if err := proto.Unmarshal(readFrame(t, nc), &r); err != nil || r.SessionID != 0 || r.Timeout != 0 {
		t.Fatalf("unknown session: %+v %v", r, err)
	}
}

func TestFourLetterWords(t *testing.T) {
	s := ensembletest.Start(t)
	connect(t, s.Addr())
	if got := fourLetter(t, s.Addr(), "ruok"); got != "imok" {
		t.Fatalf("ruok: %q", got)
	}
	srvr := fourLetter(t, s.Addr(), "srvr")
	for _, want := range []string{"Zookeeper version: ", "Mode: standalone\n", "Node count: 5\n", "Connections: 2\n" /* the client and this 4lw connection, as ZooKeeper counts */, "Latency min/avg/max: "} {
		if !strings.Contains(srvr, want) {
			t.Fatalf("srvr lacks %q:\n%s", want, srvr)
		}
	}
	if st := fourLetter(t, s.Addr(), "stat"); !strings.Contains(st, "Clients:\n /127.0.0.1:") {
		t.Fatalf("stat:\n%s", st)
	}
	if m := fourLetter(t, s.Addr(), "mntr"); !strings.Contains(m, "zk_server_state\tstandalone\n") || !strings.Contains(m, "zk_znode_count\t5\n") {
		t.Fatalf("mntr:\n%s", m)
	}
	if c := fourLetter(t, s.Addr(), "cons"); !strings.Contains(c, ",sid=0x") {
		t.Fatalf("cons:\n%s", c)
	}
	if c := fourLetter(t, s.Addr(), "conf"); !strings.Contains(c, "tickTime=200\n") {
		t.Fatalf("conf:\n%s", c)
	}
	if w := fourLetter(t, s.Addr(), "wchs"); !strings.HasPrefix(w, "0 connections watching 0 paths\nTotal watches:0") {
		t.Fatalf("wchs: %q", w)
	}
}

func TestFourLetterWhitelist(t *testing.T) {
	s := ensembletest.Start(t, ensembletest.WithConfig(func(c *config.Config) {
		c.FourLetterWords = map[string]bool{"srvr": true}
	}))
	if got := fourLetter(t, s.Addr(), "ruok"); got != "ruok is not executed because it is not in the whitelist.\n" {
		t.Fatalf("ruok: %q", got)
	}
	if got := fourLetter(t, s.Addr(), "srvr"); !strings.Contains(got, "Mode: standalone") {
		t.Fatalf("srvr: %q", got)
	}
}

func TestMaxClientCnxns(t *testing.T) {
	s := ensembletest.Start(t, ensembletest.WithConfig(func(c *config.Config) { c.MaxClientCnxns = 2 }))
	rawConnect(t, s.Addr(), false)
	rawConnect(t, s.Addr(), false)
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	writeFrame(t, nc, proto.Marshal(&proto.ConnectRequest{Timeout: 4000, Passwd: make([]byte, 16)}))
	if b, err := io.ReadAll(nc); err != nil && !errors.Is(err, syscall.ECONNRESET) || len(b) != 0 {
		t.Fatal("third connection from one IP was served")
	}
}

// Containers go once their last child is deleted, and TTL nodes once they
// have been idle longer than their TTL; the server's reaper does both.
func TestReaping(t *testing.T) {
	s := ensembletest.Start(t)
	c, _ := connect(t, s.Addr())
	acl := zk.WorldACL(zk.PermAll)
	if _, err := c.CreateContainer("/box", nil, zk.FlagContainer, acl); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/box/item", nil, 0, acl); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTTL("/ttl", nil, zk.FlagTTL, acl, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	_, st, err := c.Exists("/ttl")
	if err != nil || st.EphemeralOwner != 0 { // ZooKeeper hides the TTL encoding from clients
		t.Fatalf("ttl stat: %+v %v", st, err)
	}
	if err := c.Delete("/box/item", -1); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/box", "/ttl"} {
		gone := false
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if ok, _, err := c.Exists(p); err == nil && !ok {
				gone = true
				break
			}
		}
		if !gone {
			t.Fatalf("%s was not reaped", p)
		}
	}
}

// Since ZooKeeper 3.8.4 exists needs READ on a node that exists (older
// servers, such as Debian's 3.8.0, answer it).
func TestExistsNeedsRead(t *testing.T) {
	s := ensembletest.Start(t)
	owner, _ := connect(t, s.Addr())
	other, _ := connect(t, s.Addr())
	if err := owner.AddAuth("digest", []byte("alice:secret")); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Create("/private", nil, 0, zk.DigestACL(zk.PermAll, "alice", "secret")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Exists("/private"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("exists without READ: %v, want NoAuth", err)
	}
	if ok, _, err := owner.Exists("/private"); err != nil || !ok {
		t.Fatalf("exists with READ: %v %v", ok, err)
	}
	if ok, _, err := other.Exists("/private/none"); err != nil || ok {
		t.Fatalf("exists of a missing node needs no READ: %v %v", ok, err)
	}
}

// The outcome of a write sent just before the client drops its connection
// is settled by the time the session's reconnect is answered: what the
// first read after it shows never changes later. ZooKeeper gets this from
// its single request pipeline; without it a protected create's lookup after
// a connection loss could miss its own node, which would then appear as an
// orphan.
func TestReconnectSettlesInflightWrite(t *testing.T) {
	s := ensembletest.Start(t)
	for i := range 20 {
		nc, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		writeFrame(t, nc, proto.Marshal(&proto.ConnectRequest{Timeout: 4000, Passwd: make([]byte, 16)}))
		var sess proto.ConnectResponse
		if err := proto.Unmarshal(readFrame(t, nc), &sess); err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/inflight%d", i)
		var e proto.Encoder
		(&proto.RequestHeader{Xid: 1, Type: proto.OpCreate}).Encode(&e)
		(&proto.CreateRequest{Path: path, ACL: []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}}).Encode(&e)
		writeFrame(t, nc, e.Buf)
		nc.Close()

		nc, err = net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		writeFrame(t, nc, proto.Marshal(&proto.ConnectRequest{Timeout: 4000, SessionID: sess.SessionID, Passwd: sess.Passwd}))
		var again proto.ConnectResponse
		if err := proto.Unmarshal(readFrame(t, nc), &again); err != nil || again.SessionID != sess.SessionID {
			t.Fatalf("reconnect: %+v %v", again, err)
		}
		e = proto.Encoder{}
		(&proto.RequestHeader{Xid: 2, Type: proto.OpExists}).Encode(&e)
		(&proto.PathWatch{Path: path}).Encode(&e)
		writeFrame(t, nc, e.Buf)
		var first proto.ReplyHeader
		if err := proto.Unmarshal(readFrame(t, nc), &first); err != nil {
			t.Fatal(err)
		}
		// Give a write that was still on its way every chance to land.
		time.Sleep(20 * time.Millisecond)
		writeFrame(t, nc, e.Buf)
		var later proto.ReplyHeader
		if err := proto.Unmarshal(readFrame(t, nc), &later); err != nil {
			t.Fatal(err)
		}
		if first.Err != later.Err {
			t.Fatalf("round %d: %s after reconnect: %v, then %v", i, path, first.Err, later.Err)
		}
		nc.Close()
	}
}

// The reply to a read that sets a watch reaches the client before the
// event of any later change: go-zk registers the watch only when the reply
// arrives and drops an event for a watch it does not know, after which the
// waiting lock contender would wait for ever.
func TestWatchReplyPrecedesEvent(t *testing.T) {
	s := ensembletest.Start(t)
	writer, _ := connect(t, s.Addr())
	nc := rawConnect(t, s.Addr(), false)
	for i := range 300 {
		// A node per round, so that no watch is left from an earlier one.
		path := fmt.Sprintf("/x%d", i)
		if _, err := writer.Create(path, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		var e proto.Encoder
		(&proto.RequestHeader{Xid: int32(i + 1), Type: proto.OpGetData}).Encode(&e)
		(&proto.PathWatch{Path: path, Watch: true}).Encode(&e)
		writeFrame(t, nc, e.Buf)
		// Races the read: applied before it, no event follows; after it,
		// the event must follow the reply.
		set, err := writer.Set(path, nil, -1)
		if err != nil {
			t.Fatal(err)
		}
		d := proto.NewDecoder(readFrame(t, nc))
		var h proto.ReplyHeader
		var r proto.GetDataResponse
		h.Decode(d)
		r.Decode(d)
		if h.Xid != int32(i+1) || d.Err() != nil {
			t.Fatalf("round %d: first frame has xid %d (%v), want the reply %d before any event", i, h.Xid, d.Err(), i+1)
		}
		if r.Stat.Mzxid < set.Mzxid {
			var ev proto.ReplyHeader
			if err := proto.Unmarshal(readFrame(t, nc), &ev); err != nil || ev.Xid != proto.XidNotification {
				t.Fatalf("round %d: after the reply got xid %d (%v), want the event", i, ev.Xid, err)
			}
		}
	}
}

// A client that sends a frame above jute.maxbuffer finishes its write and
// then reads the end of the stream, as from ZooKeeper, rather than meeting a
// connection reset in the middle of its write. Other clients are not
// affected.
func TestOversizeFrameCleanClose(t *testing.T) {
	s := ensembletest.Start(t)
	nc := rawConnect(t, s.Addr(), false)
	frame := make([]byte, 4+proto.DefaultMaxBuffer+1)
	binary.BigEndian.PutUint32(frame, uint32(proto.DefaultMaxBuffer+1))
	if _, err := nc.Write(frame); err != nil {
		t.Fatalf("writing the oversize frame: %v", err)
	}
	if n, err := nc.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after the oversize frame: read %d bytes, %v; want io.EOF", n, err)
	}
	other := rawConnect(t, s.Addr(), false)
	if _, err := other.Write(proto.AppendFrame(nil, &proto.RequestHeader{Xid: 1, Type: proto.OpExists}, &proto.PathWatch{Path: "/"})); err != nil {
		t.Fatal(err)
	}
	readFrame(t, other)
}
