package server_test

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/server"
	"github.com/zookit/zookit/ensemble/tree"
)

// withProps sets system properties, as zoo.cfg keys or -D flags would.
func withProps(kv ...string) ensembletest.Option {
	return ensembletest.WithConfig(func(c *config.Config) {
		for i := 0; i < len(kv); i += 2 {
			c.Props[kv[i]] = kv[i+1]
		}
	})
}

// rawClient speaks the wire protocol directly, to pipeline requests and
// to leave replies unread as an attacker would.
type rawClient struct {
	t   *testing.T
	nc  net.Conn
	r   *bufio.Reader
	xid int32
}

// dialRaw opens a session with a 30 s timeout; rcvbuf > 0 shrinks the
// socket's receive buffer, so that a client that does not read holds
// little in its kernel.
func dialRaw(t *testing.T, addr string, rcvbuf int) *rawClient {
	t.Helper()
	d := net.Dialer{}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf) })
			return serr
		}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	c := &rawClient{t: t, nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	writeFrame(t, nc, proto.Marshal(&proto.ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16)}))
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(c.frame(), &resp); err != nil || resp.SessionID == 0 {
		t.Fatalf("handshake: %+v %v", resp, err)
	}
	nc.SetDeadline(time.Time{})
	return c
}

// request encodes a request frame and returns it with its xid.
func (c *rawClient) request(op proto.Op, req proto.Record) ([]byte, int32) {
	c.xid++
	e := proto.Encoder{Buf: []byte{0, 0, 0, 0}}
	(&proto.RequestHeader{Xid: c.xid, Type: op}).Encode(&e)
	if req != nil {
		req.Encode(&e)
	}
	n := len(e.Buf) - 4
	e.Buf[0], e.Buf[1], e.Buf[2], e.Buf[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return e.Buf, c.xid
}

func (c *rawClient) send(op proto.Op, req proto.Record) int32 {
	c.t.Helper()
	b, xid := c.request(op, req)
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
	return xid
}

func (c *rawClient) frame() []byte {
	c.t.Helper()
	b, err := proto.ReadFrame(c.r, nil, 64<<20)
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

// reply reads the next reply that is not a notification: its header and
// body.
func (c *rawClient) reply() (proto.ReplyHeader, []byte) {
	c.t.Helper()
	for {
		b := c.frame()
		var h proto.ReplyHeader
		if err := proto.Unmarshal(b, &h); err != nil {
			c.t.Fatal(err)
		}
		if h.Xid != proto.XidNotification {
			return h, b[16:]
		}
	}
}

// call sends a request and waits for its reply.
func (c *rawClient) call(op proto.Op, req proto.Record) (proto.ReplyHeader, []byte) {
	c.t.Helper()
	c.nc.SetDeadline(time.Now().Add(20 * time.Second))
	defer c.nc.SetDeadline(time.Time{})
	xid := c.send(op, req)
	h, body := c.reply()
	if h.Xid != xid {
		c.t.Fatalf("reply to xid %d, want %d", h.Xid, xid)
	}
	return h, body
}

// closed reports whether the server closed the connection, reading and
// dropping whatever it had sent first.
func (c *rawClient) closed(within time.Duration) bool {
	c.nc.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, c.r)
	return err == nil || errors.Is(err, syscall.ECONNRESET)
}

// mntr reads one counter of the mntr 4lw.
func mntr(t *testing.T, addr, key string) int64 {
	t.Helper()
	for _, line := range strings.Split(fourLetter(t, addr, "mntr"), "\n") {
		if k, v, ok := strings.Cut(line, "\t"); ok && k == "zk_"+key {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("mntr %s: %q", key, v)
			}
			return n
		}
	}
	t.Fatalf("mntr has no zk_%s", key)
	return 0
}

// pollMax samples f every few milliseconds until stop closes and returns
// the largest value seen.
func pollMax(f func() int64, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var hi int64
		for {
			hi = max(hi, f())
			select {
			case <-stop:
				out <- hi
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return out
}

// outstanding reads zk_outstanding_requests without failing the test from
// a goroutine.
func outstanding(addr string) int64 {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return 0
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(nc, "mntr")
	b, _ := io.ReadAll(nc)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "zk_outstanding_requests\t"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// recvedFrom is the count of packets received from the client at local,
// as the cons 4lw shows it.
func recvedFrom(t *testing.T, addr string, local net.Addr) int64 {
	t.Helper()
	for _, line := range strings.Split(fourLetter(t, addr, "cons"), "\n") {
		if _, rest, ok := strings.Cut(line, "/"+local.String()+"["); ok {
			_, rest, _ = strings.Cut(rest, "recved=")
			v, _, _ := strings.Cut(rest, ",")
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("cons: %q", line)
			}
			return n
		}
	}
	t.Fatalf("the server closed the connection of %v (cons does not list it)", local)
	return 0
}

// victimWorks checks that an ordinary client's writes and reads go through
// promptly, and returns the slowest.
func victimWorks(t *testing.T, c *zk.Conn, path string, n int) time.Duration {
	t.Helper()
	var slowest time.Duration
	for i := range n {
		start := time.Now()
		if _, err := c.Set(path, []byte(strconv.Itoa(i)), -1); err != nil {
			t.Fatalf("victim set %d: %v", i, err)
		}
		if d, _, err := c.Get(path); err != nil || string(d) != strconv.Itoa(i) {
			t.Fatalf("victim get %d: %q %v", i, d, err)
		}
		slowest = max(slowest, time.Since(start))
	}
	return slowest
}

// A client that pipelines far more requests than a connection may have in
// flight, and does not read its replies, is not read while it is over the
// bounds (ZooKeeper's disableRecv): no more than maxOutstandingPerConnection
// of its writes are in flight at once, the server does not buffer its
// replies without bound (its 96 MB of replies would pass the 64 MiB that
// closes a connection), another client is served meanwhile, and once the
// flooder reads, every request of it is answered, in order.
func TestPipelinedFloodIsThrottledNotDropped(t *testing.T) {
	srv := ensembletest.Start(t)
	addr := srv.Addr()
	victim, _ := connect(t, addr)
	for _, p := range []string{"/victim", "/w", "/big"} {
		if _, err := victim.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	big := strings.Repeat("b", 32<<10)
	if _, err := victim.Set("/big", []byte(big), -1); err != nil {
		t.Fatal(err)
	}

	flood := dialRaw(t, addr, 0)
	const n = 3000 // setData and getData each
	var frames []byte
	for i := range n {
		b, _ := flood.request(proto.OpSetData, &proto.SetDataRequest{Path: "/w", Data: []byte("x"), Version: -1})
		frames = append(frames, b...)
		b, _ = flood.request(proto.OpGetData, &proto.PathWatch{Path: "/big"})
		frames = append(frames, b...)
		_ = i
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := flood.nc.Write(frames)
		wrote <- err
	}()

	stop := make(chan struct{})
	peak := pollMax(func() int64 { return outstanding(addr) }, stop)
	// Let the flood fill every buffer: the server stops reading it.
	var received int64
	for last := int64(-1); received != last; time.Sleep(200 * time.Millisecond) {
		last, received = received, recvedFrom(t, addr, flood.nc.LocalAddr())
	}
	if received > n {
		t.Fatalf("the server read %d requests of a client that reads no reply", received)
	}
	if slowest := victimWorks(t, victim, "/victim", 30); slowest > 3*time.Second {
		t.Errorf("the victim's slowest set+get took %v while the flood waited", slowest)
	}
	if got := mntr(t, addr, "request_throttle_wait_count"); got == 0 {
		t.Error("zk_request_throttle_wait_count is 0 after a flood")
	}

	// The flooder reads at last: every request is answered, in order.
	flood.nc.SetReadDeadline(time.Now().Add(60 * time.Second))
	for i := range 2 * n {
		h, body := flood.reply()
		if h.Xid != int32(i+1) || h.Err != proto.OK {
			t.Fatalf("reply %d: %+v", i, h)
		}
		if i%2 == 1 {
			var r proto.GetDataResponse
			if err := proto.Unmarshal(body, &r); err != nil || len(r.Data) != len(big) {
				t.Fatalf("getData reply %d: %d bytes, %v", i, len(r.Data), err)
			}
		}
	}
	if err := <-wrote; err != nil {
		t.Fatalf("writing the flood: %v", err)
	}
	close(stop)
	if hi := <-peak; hi > server.DefaultMaxOutstandingPerConn+1 {
		t.Errorf("%d writes were in flight at once, want at most %d of the flooder and 1 of the victim", hi, server.DefaultMaxOutstandingPerConn)
	}
	if got := mntr(t, addr, "outbound_limit_disconnects"); got != 0 {
		t.Errorf("zk_outbound_limit_disconnects = %d, want 0", got)
	}
}

// globalOutstandingLimit bounds the writes in flight over all connections:
// past it a connection with a write in flight is not read until it has
// none, while one without may always send one, so another client is never
// starved.
func TestGlobalOutstandingLimit(t *testing.T) {
	const limit = 20
	srv := ensembletest.Start(t, withProps("zookeeper.globalOutstandingLimit", strconv.Itoa(limit),
		"zookeeper.maxOutstandingPerConnection", "100000"))
	addr := srv.Addr()
	victim, _ := connect(t, addr)
	for _, p := range []string{"/victim", "/w"} {
		if _, err := victim.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	const floods, n = 3, 1500
	stop := make(chan struct{})
	peak := pollMax(func() int64 { return outstanding(addr) }, stop)
	var wg sync.WaitGroup
	errs := make(chan error, floods)
	for range floods {
		c := dialRaw(t, addr, 0)
		var frames []byte
		for range n {
			b, _ := c.request(proto.OpSetData, &proto.SetDataRequest{Path: "/w", Data: []byte("x"), Version: -1})
			frames = append(frames, b...)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			go c.nc.Write(frames)
			c.nc.SetReadDeadline(time.Now().Add(60 * time.Second))
			for i := range n {
				b, err := proto.ReadFrame(c.r, nil, 1<<20)
				var h proto.ReplyHeader
				if err == nil {
					err = proto.Unmarshal(b, &h)
				}
				if err == nil && (h.Xid != int32(i+1) || h.Err != proto.OK) {
					err = fmt.Errorf("reply %d: %+v", i, h)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	if slowest := victimWorks(t, victim, "/victim", 30); slowest > 3*time.Second {
		t.Errorf("the victim's slowest set+get took %v during the floods", slowest)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("flooder: %v", err)
	}
	close(stop)
	// Each connection may always have one write in flight.
	if hi := <-peak; hi > limit+floods+1 {
		t.Errorf("%d writes were in flight at once, want at most %d", hi, limit+floods+1)
	}
	if got := mntr(t, addr, "request_throttle_wait_count"); got == 0 {
		t.Error("zk_request_throttle_wait_count is 0 after the floods")
	}
}

// A read whose reply would exceed jute.maxbuffer gets MARSHALLINGERROR
// without the reply being built, and the connection carries on: the
// issue's multiRead of 200 getData on a 512 KiB node allocated some 400 MB.
func TestReplyAboveJuteMaxBuffer(t *testing.T) {
	srv := ensembletest.Start(t)
	c := dialRaw(t, srv.Addr(), 0)
	if h, _ := c.call(proto.OpCreate, &proto.CreateRequest{Path: "/big", Data: make([]byte, 512<<10),
		ACL: []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}}); h.Err != proto.OK {
		t.Fatal(h.Err)
	}
	multi := &proto.MultiRequest{}
	for range 200 {
		multi.Ops = append(multi.Ops, proto.MultiOp{Op: proto.OpGetData, Req: &proto.PathWatch{Path: "/big"}})
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	h, body := c.call(proto.OpMultiRead, multi)
	runtime.ReadMemStats(&after)
	if h.Err != proto.ErrMarshallingError || len(body) != 0 {
		t.Fatalf("multiRead of 200 × 512 KiB: %+v with %d bytes, want MARSHALLINGERROR alone", h, len(body))
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Errorf("refusing the multiRead allocated %d MB", grew>>20)
	}
	// The connection carries on, and one read of the node fits.
	if h, body := c.call(proto.OpGetData, &proto.PathWatch{Path: "/big"}); h.Err != proto.OK || len(body) < 512<<10 {
		t.Fatalf("getData after the refused multiRead: %+v, %d bytes", h, len(body))
	}
	if got := mntr(t, srv.Addr(), "large_responses_rejected"); got != 1 {
		t.Errorf("zk_large_responses_rejected = %d, want 1", got)
	}

	// A child list over a smaller jute.maxbuffer: go-zk sees the code.
	small := ensembletest.Start(t, ensembletest.WithConfig(func(c *config.Config) { c.JuteMaxBuffer = 64 << 10 }))
	zc, _ := connect(t, small.Addr())
	if _, err := zc.Create("/dir", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for batch := range 10 {
		var ops []any
		for i := range 500 {
			ops = append(ops, &zk.CreateRequest{Path: fmt.Sprintf("/dir/child-%02d-%04d", batch, i), Acl: zk.WorldACL(zk.PermAll)})
		}
		if _, err := zc.Multi(ops...); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := zc.Children("/dir"); err == nil || !strings.Contains(err.Error(), "-5") {
		t.Fatalf("5000 children (100 KB) under a 64 KiB jute.maxbuffer: %v, want MARSHALLINGERROR (-5)", err)
	}
	if _, _, err := zc.Get("/dir/child-00-0001"); err != nil {
		t.Fatalf("a small read after the refused one: %v", err)
	}
}

// A client that never reads while watch events pile up for it is closed
// once maxOutboundBytesPerConnection bytes wait for it; the server's
// memory does not follow the events, and the writer is not held up.
func TestSlowReaderOfEventsIsClosed(t *testing.T) {
	srv := ensembletest.Start(t, withProps("zookeeper.maxOutboundBytesPerConnection", strconv.Itoa(2<<20)))
	addr := srv.Addr()
	writer, _ := connect(t, addr)
	if _, err := writer.Create("/ev", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	node := "/ev/" + strings.Repeat("n", 1000) // every event carries its path
	if _, err := writer.Create(node, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	slow := dialRaw(t, addr, 4096)
	if h, _ := slow.call(proto.OpAddWatch, &proto.PathInt{Path: "/ev", N: proto.AddWatchPersistentRecursive}); h.Err != proto.OK {
		t.Fatal(h.Err)
	}
	// 100 events of 1 KB per multi; 400 multis would queue 40 MB.
	var ops []any
	for range 100 {
		ops = append(ops, &zk.SetDataRequest{Path: node, Version: -1})
	}
	closed := false
	for i := 0; i < 400 && !closed; i++ {
		if _, err := writer.Multi(ops...); err != nil {
			t.Fatalf("writer, multi %d: %v", i, err)
		}
		if i%10 == 9 {
			closed = mntr(t, addr, "outbound_limit_disconnects") == 1
		}
	}
	if !closed {
		t.Fatal("40 MB of events queued for a client that does not read, and it is still connected")
	}
	if !slow.closed(10 * time.Second) {
		t.Fatal("the slow reader's connection is still open")
	}
	if _, err := writer.Set(node, []byte("after"), -1); err != nil {
		t.Fatalf("writer after the slow reader went: %v", err)
	}
}

func digestID(cred string) string {
	user, _, _ := strings.Cut(cred, ":")
	sum := sha1.Sum([]byte(cred))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// addAuth past maxAuthIdentitiesPerConnection identities, or past
// maxAuthBytesPerConnection bytes of them, gets AUTHFAILED and the
// connection closes, as for any failed authentication.
func TestAuthLimits(t *testing.T) {
	srv := ensembletest.Start(t, withProps("zookeeper.maxAuthIdentitiesPerConnection", "4"))
	addr := srv.Addr()
	auth := func(c *rawClient, cred string) proto.Code {
		h, _ := c.call(proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte(cred)})
		return h.Err
	}
	// The ip identity is the first of four.
	c := dialRaw(t, addr, 0)
	for _, cred := range []string{"a:1", "b:2", "c:3", "a:1"} {
		if code := auth(c, cred); code != proto.OK {
			t.Fatalf("addAuth %s: %v", cred, code)
		}
	}
	if code := auth(c, "d:4"); code != proto.ErrAuthFailed {
		t.Fatalf("a fifth identity: %v, want AUTHFAILED", code)
	}
	if !c.closed(5 * time.Second) {
		t.Fatal("connection still open after AUTHFAILED")
	}
	// jute.maxbuffer bytes of identities by default.
	c = dialRaw(t, addr, 0)
	long := func(u string) string { return strings.Repeat(u, 300<<10) + ":pw" }
	for _, u := range []string{"x", "y", "z"} {
		if code := auth(c, long(u)); code != proto.OK {
			t.Fatalf("addAuth of 300 KiB (%s): %v", u, code)
		}
	}
	if code := auth(c, long("w")); code != proto.ErrAuthFailed {
		t.Fatalf("identities past 1 MiB: %v, want AUTHFAILED", code)
	}
	if !c.closed(5 * time.Second) {
		t.Fatal("connection still open after AUTHFAILED")
	}
	if got := mntr(t, addr, "auth_failed_count"); got != 2 {
		t.Errorf("zk_auth_failed_count = %d, want 2", got)
	}
}

// A session's identities reach the log only in the transactions that store
// them in an ACL (create or setACL with the "auth" scheme): the setData of
// a session that authenticated with 900 KB of names costs the log what
// anyone else's costs, and its ACL checks still see those names. (Before,
// 16 such names made 10 two-byte setData add 41 MB to the log.)
func TestTxnsCarryIdentitiesOnlyForTheAuthScheme(t *testing.T) {
	var dataLogDir string
	srv := ensembletest.Start(t, ensembletest.WithConfig(func(c *config.Config) { dataLogDir = c.DataDir }))
	addr := srv.Addr()
	open := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}
	authed, plain := dialRaw(t, addr, 0), dialRaw(t, addr, 0)
	var creds []string
	for _, u := range []string{"x", "y", "z"} {
		cred := strings.Repeat(u, 300<<10) + ":pw"
		creds = append(creds, cred)
		if h, _ := authed.call(proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte(cred)}); h.Err != proto.OK {
			t.Fatal(h.Err)
		}
	}
	mustOK := func(c *rawClient, op proto.Op, req proto.Record) {
		t.Helper()
		if h, _ := c.call(op, req); h.Err != proto.OK {
			t.Fatalf("%v %+v: %v", op, req, h.Err)
		}
	}
	mustOK(authed, proto.OpCreate, &proto.CreateRequest{Path: "/mine", ACL: []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "auth"}}}})
	mustOK(authed, proto.OpCreate, &proto.CreateRequest{Path: "/a", ACL: open})
	mustOK(plain, proto.OpCreate, &proto.CreateRequest{Path: "/p", ACL: open})
	for i := range 10 {
		mustOK(authed, proto.OpSetData, &proto.SetDataRequest{Path: "/a", Data: []byte{'a', byte(i)}, Version: -1})
		mustOK(plain, proto.OpSetData, &proto.SetDataRequest{Path: "/p", Data: []byte{'p', byte(i)}, Version: -1})
	}
	// The ACL holds the whole names; checks against it pass for their
	// owner alone.
	h, body := authed.call(proto.OpGetACL, &proto.PathRequest{Path: "/mine"})
	var acl proto.GetACLResponse
	if h.Err != proto.OK || proto.Unmarshal(body, &acl) != nil || len(acl.ACL) != 3 || acl.ACL[2].ID.ID != digestID(creds[2]) {
		t.Fatalf("getACL /mine: %v, %d entries", h.Err, len(acl.ACL))
	}
	mustOK(authed, proto.OpSetData, &proto.SetDataRequest{Path: "/mine", Data: []byte("m"), Version: -1})
	if h, _ := plain.call(proto.OpSetData, &proto.SetDataRequest{Path: "/mine", Data: []byte("p"), Version: -1}); h.Err != proto.ErrNoAuth {
		t.Fatalf("setData /mine by another session: %v, want NOAUTH", h.Err)
	}
	srv.Stop()

	walDir := filepath.Join(dataLogDir, "zookit", "wal")
	snaps, err := wal.ValidSnapshotEntries(zap.NewNop(), walDir)
	if err != nil || len(snaps) == 0 {
		t.Fatalf("WAL snapshots: %v %v", snaps, err)
	}
	w, err := wal.OpenForRead(zap.NewNop(), walDir, snaps[len(snaps)-1])
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, _, ents, err := w.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	setData := map[string]int{} // path -> log bytes of its setData txns
	var createMine int
	for _, e := range ents {
		txn, err := tree.UnmarshalTxn(e.GetData())
		if err != nil {
			continue // raft's own entries
		}
		switch r := txn.Req.(type) {
		case *proto.SetDataRequest:
			setData[r.Path] += len(e.GetData())
		case *proto.CreateRequest:
			if r.Path == "/mine" {
				createMine = len(e.GetData())
			}
		}
	}
	t.Logf("log bytes of 10 setData: %d with 900 KB of names, %d without; of the create with the auth scheme: %d",
		setData["/a"], setData["/p"], createMine)
	if setData["/p"] == 0 || setData["/a"] > setData["/p"]+10*3*64 {
		t.Errorf("10 setData of the session with 900 KB of names took %d log bytes, of a plain session %d", setData["/a"], setData["/p"])
	}
	if createMine < 900<<10 {
		t.Errorf("the create with the auth scheme logged %d bytes, want the 900 KB of names it stores", createMine)
	}
}

// A connection may hold maxWatchesPerConnection watches; the request that
// would set one more fails with QUOTAEXCEEDED and sets none, and other
// connections are not concerned.
func TestWatchLimitPerConnection(t *testing.T) {
	srv := ensembletest.Start(t, withProps("zookeeper.maxWatchesPerConnection", "10"))
	addr := srv.Addr()
	c, _ := connect(t, addr)
	for i := range 10 {
		if _, _, _, err := c.ExistsW(fmt.Sprintf("/w%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := c.ExistsW("/w10"); err == nil || !strings.Contains(err.Error(), "-125") {
		t.Fatalf("an 11th watch: %v, want QUOTAEXCEEDED (-125)", err)
	}
	if _, _, err := c.Exists("/w10"); err != nil {
		t.Fatalf("a read without a watch: %v", err)
	}
	other, _ := connect(t, addr)
	if _, _, _, err := other.ExistsW("/w10"); err != nil {
		t.Fatalf("another connection: %v", err)
	}
	if got := mntr(t, addr, "watches_rejected"); got != 1 {
		t.Errorf("zk_watches_rejected = %d, want 1", got)
	}
	if got := mntr(t, addr, "watch_count"); got != 11 {
		t.Errorf("zk_watch_count = %d, want 11", got)
	}
}

// wchp, wchc and dump over a large watch set answer at most
// FourLetterWordMaxOutput bytes, say that they cut, and copy them without
// holding up applies, even for clients that do not read the answer.
func TestFourLetterWordsOverManyWatches(t *testing.T) {
	srv := ensembletest.Start(t, withProps("zookeeper.maxWatchesPerConnection", "1000000"))
	addr := srv.Addr()
	const perRequest, requests = 40_000, 5
	for r := range requests {
		c := dialRaw(t, addr, 0)
		sw := &proto.SetWatches{}
		for i := range perRequest {
			sw.Exist = append(sw.Exist, fmt.Sprintf("/watched/%d/%06d", r, i))
		}
		if h, _ := c.call(proto.OpSetWatches, sw); h.Err != proto.OK {
			t.Fatal(h.Err)
		}
	}
	if got := mntr(t, addr, "watch_count"); got != perRequest*requests {
		t.Fatalf("zk_watch_count = %d, want %d", got, perRequest*requests)
	}
	writer, _ := connect(t, addr)
	if _, err := writer.Create("/x", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	// Slow readers ask for the watch lists and never read the answers.
	for _, cmd := range []string{"wchp", "wchc", "dump", "wchp", "wchc", "dump"} {
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			return nil
		}}
		slow, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { slow.Close() })
		io.WriteString(slow, cmd)
	}
	var slowest time.Duration
	for i := range 100 {
		start := time.Now()
		if _, err := writer.Set("/x", []byte(strconv.Itoa(i)), -1); err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(start))
	}
	if slowest > 2*time.Second {
		t.Errorf("slowest setData while wchp/wchc/dump answered slow readers: %v", slowest)
	}
	for _, cmd := range []string{"wchp", "wchc"} {
		out := fourLetter(t, addr, cmd)
		if len(out) > server.FourLetterWordMaxOutput+200 || !strings.Contains(out, "(output truncated at") {
			t.Errorf("%s over 200,000 watches: %d bytes, truncation said: %v", cmd, len(out), strings.Contains(out, "truncated"))
		}
	}
	if got := mntr(t, addr, "four_letter_words_truncated"); got == 0 {
		t.Error("zk_four_letter_words_truncated is 0")
	}
}

// A limit set to something that is not a positive integer stops the
// server at start rather than being ignored.
func TestBadLimitIsAnError(t *testing.T) {
	for _, kv := range [][2]string{
		{"zookeeper.globalOutstandingLimit", "many"},
		{"zookeeper.maxWatchesPerConnection", "0"},
		{"zookeeper.maxOutboundBytesPerConnection", "1000"},
		{"zookeeper.maxRaftFrame", "4096"},
	} {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.Props[kv[0]] = kv[1]
		if s, err := server.New(cfg); err == nil || !strings.Contains(err.Error(), kv[0]) {
			if s != nil {
				s.Close()
			}
			t.Errorf("%s=%s: %v, want an error naming it", kv[0], kv[1], err)
		}
	}
}

// maxCnxns (ZooKeeper's) bounds the client connections of all addresses
// together: past it a new one is closed unserved, counted in
// connection_rejected, and the sessions already in keep working.
func TestMaxCnxns(t *testing.T) {
	srv := ensembletest.Start(t, withProps("zookeeper.maxCnxns", "2"))
	a, b := dialRaw(t, srv.Addr(), 0), dialRaw(t, srv.Addr(), 0)
	nc, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	writeFrame(t, nc, proto.Marshal(&proto.ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16)}))
	if !closedSoon(nc, 5*time.Second) {
		t.Fatal("a third connection was kept with maxCnxns=2")
	}
	if h, _ := a.call(proto.OpExists, &proto.PathWatch{Path: "/"}); h.Err != proto.OK {
		t.Fatalf("a session that was in before: %v", h.Err)
	}
	b.nc.Close()
	// The mntr connection is one of the two once the server has seen b
	// go; a try before that is refused, and counted, too.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := tryFourLetter(srv.Addr(), "mntr")
		if err == nil && mntrValue(out, "connection_rejected") >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mntr after one rejection: %q, %v", out, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tryFourLetter is fourLetter for a server that may refuse the connection.
func tryFourLetter(addr, cmd string) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, cmd)
	b, err := io.ReadAll(c)
	return string(b), err
}

// mntrValue is the integer value of key in mntr's output, or -1.
func mntrValue(out, key string) int64 {
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "zk_"+key+"\t"); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}
