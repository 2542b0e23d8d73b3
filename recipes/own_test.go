package recipes

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/ensembletest"
)

// A create whose reply is lost is recognised by its retry: the call
// succeeds with the node the first attempt made.
func TestCreateLostReplyIsOwn(t *testing.T) {
	srv := ensembletest.Start(t)
	for _, mode := range []CreateMode{Persistent, Ephemeral} {
		t.Run(mode.String(), func(t *testing.T) {
			opt, _ := withLossyCreates(1)
			c := connect(t, srv.Addr(), opt, WithNamespace(mode.String()), WithRetry(RetryNTimes(3, 10*time.Millisecond)))
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			p, err := c.CreateWithParents(ctx, "/a/n", []byte("d"), mode)
			if err != nil || p != "/a/n" {
				t.Fatalf("create: %q %v", p, err)
			}
			data, st, err := c.Get(ctx, p)
			if err != nil || string(data) != "d" || mode.IsEphemeral() != (st.EphemeralOwner == c.SessionID()) {
				t.Fatalf("node: %q %+v %v", data, st, err)
			}
		})
	}
}

// A sequential create whose reply is lost makes exactly one node, and the
// call returns it. Nodes of the same name around it are not taken for it:
// an older one with the same data, and a newer one with the same data but
// another owner (ephemeral) or other data (persistent).
func TestCreateSequentialLostReplyIsOwn(t *testing.T) {
	srv := ensembletest.Start(t)
	other := connect(t, srv.Addr())
	for _, mode := range []CreateMode{PersistentSequential, EphemeralSequential} {
		t.Run(mode.String(), func(t *testing.T) {
			opt, lc := withLossyCreates(1)
			c := connect(t, srv.Addr(), opt, WithRetry(RetryNTimes(3, 10*time.Millisecond)))
			ctx, cancel := context.WithTimeout(context.Background(), guard)
			defer cancel()
			dir := "/" + mode.String()
			older, err := other.CreateWithParents(ctx, dir+"/n-", []byte("d"), mode)
			if err != nil {
				t.Fatal(err)
			}
			newerData := []byte("d")
			if !mode.IsEphemeral() {
				newerData = []byte("other")
			}
			var newer string
			lc.onDrop = func() {
				var err error
				if newer, err = other.Create(ctx, dir+"/n-", newerData, mode); err != nil {
					t.Error(err)
				}
			}
			p, err := c.Create(ctx, dir+"/n-", []byte("d"), mode)
			if err != nil {
				t.Fatal(err)
			}
			kids, err := c.Children(ctx, dir)
			if err != nil || len(kids) != 3 {
				t.Fatalf("children %v, %v; want the older, ours and the newer", kids, err)
			}
			if p == older || p == newer {
				t.Fatalf("returned %s, which is not ours (older %s, newer %s)", p, older, newer)
			}
			st, err := c.Exists(ctx, p)
			if err != nil || st == nil || mode.IsEphemeral() != (st.EphemeralOwner == c.SessionID()) {
				t.Fatalf("returned %s: %+v %v", p, st, err)
			}
		})
	}
}

// Two creates of one Client that write alike do not share a node: a retry
// does not take the node another call returned.
func TestCreateSequentialLostRequestConcurrent(t *testing.T) {
	srv := ensembletest.Start(t)
	opt, lc := withLossyCreates(0)
	lc.before = true
	c := connect(t, srv.Addr(), opt, WithRetry(RetryNTimes(3, 10*time.Millisecond)))
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if _, err := c.Create(ctx, "/q", nil, Persistent); err != nil {
		t.Fatal(err)
	}
	lc.drops = 1
	// While the first call's request is lost, a second call makes a node
	// just like the one the first call wants.
	var second string
	lc.onDrop = func() {
		var err error
		if second, err = c.Create(ctx, "/q/n-", nil, EphemeralSequential); err != nil {
			t.Error(err)
		}
	}
	first, err := c.Create(ctx, "/q/n-", nil, EphemeralSequential)
	if err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Fatalf("both calls returned %s", first)
	}
	if kids, err := c.Children(ctx, "/q"); err != nil || len(kids) != 2 {
		t.Fatalf("children %v, %v", kids, err)
	}
}

// A node someone else made before our attempt is not ours, even with our
// data: the retry still reports zk.ErrNodeExists.
func TestCreateRetryNodeExistsOfOthers(t *testing.T) {
	srv := ensembletest.Start(t)
	other := connect(t, srv.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	t.Run("Older", func(t *testing.T) {
		opt, lc := withLossyCreates(0)
		lc.before = true
		c := connect(t, srv.Addr(), opt, WithRetry(RetryNTimes(3, 10*time.Millisecond)))
		if _, err := other.Create(ctx, "/x", []byte("d"), Persistent); err != nil {
			t.Fatal(err)
		}
		// The Client has heard of something later than that node.
		if _, err := c.Create(ctx, "/unrelated", nil, Persistent); err != nil {
			t.Fatal(err)
		}
		lc.drops = 1
		if _, err := c.Create(ctx, "/x", []byte("d"), Persistent); !errors.Is(err, zk.ErrNodeExists) {
			t.Fatalf("create: %v, want ErrNodeExists", err)
		}
	})
	t.Run("OtherSession", func(t *testing.T) {
		opt, lc := withLossyCreates(1)
		lc.before = true
		c := connect(t, srv.Addr(), opt, WithRetry(RetryNTimes(3, 10*time.Millisecond)))
		lc.onDrop = func() {
			if _, err := other.Create(ctx, "/e", []byte("d"), Ephemeral); err != nil {
				t.Error(err)
			}
		}
		if _, err := c.Create(ctx, "/e", []byte("d"), Ephemeral); !errors.Is(err, zk.ErrNodeExists) {
			t.Fatalf("create: %v, want ErrNodeExists", err)
		}
	})
}

// A multi whose reply is lost is recognised by its retry, which fails
// because the first attempt committed.
func TestMultiLostReplyIsOwn(t *testing.T) {
	srv := ensembletest.Start(t)
	opt, lc := withLossyCreates(0)
	c := connect(t, srv.Addr(), opt, WithNamespace("ns"), WithRetry(RetryNTimes(3, 10*time.Millisecond)))
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if _, err := c.CreateWithParents(ctx, "/m/b", []byte("old"), Persistent); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, "/m/gone", nil, Persistent); err != nil {
		t.Fatal(err)
	}
	lc.drops = 1
	res, err := c.Multi(ctx,
		&zk.CreateRequest{Path: "/m/a", Data: []byte("x")},
		&zk.SetDataRequest{Path: "/m/b", Data: []byte("y"), Version: -1},
		&zk.CreateRequest{Path: "/m/s-", Data: []byte("z"), Flags: zk.FlagSequence},
		&zk.DeleteRequest{Path: "/m/gone", Version: -1},
	)
	if err != nil {
		t.Fatal(err)
	}
	_, a, err := c.Get(ctx, "/m/a")
	if err != nil {
		t.Fatal(err)
	}
	kids, err := c.Children(ctx, "/m")
	if err != nil || len(kids) != 3 {
		t.Fatalf("children %v, %v; want a, b and one s-", kids, err)
	}
	var seq string
	for _, k := range kids {
		if strings.HasPrefix(k, "s-") {
			seq = "/m/" + k
		}
	}
	if res[0].String != "/m/a" || res[1].Stat == nil || res[1].Stat.Mzxid != a.Czxid || res[2].String != seq {
		t.Fatalf("responses %+v; the s- node is %s", res, seq)
	}
}

// The retry of a multi that did not commit and now fails reports the
// failure.
func TestMultiRetryFailureOfOthers(t *testing.T) {
	srv := ensembletest.Start(t)
	other := connect(t, srv.Addr())
	opt, lc := withLossyCreates(0)
	lc.before = true
	c := connect(t, srv.Addr(), opt, WithRetry(RetryNTimes(3, 10*time.Millisecond)))
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if _, err := c.Create(ctx, "/b", nil, Persistent); err != nil {
		t.Fatal(err)
	}
	lc.drops = 1
	// Someone else's multi does what ours would, just before ours.
	lc.onDrop = func() {
		if _, err := other.Multi(ctx, &zk.CreateRequest{Path: "/a", Data: []byte("x")}); err != nil {
			t.Error(err)
		}
	}
	_, err := c.Multi(ctx,
		&zk.CreateRequest{Path: "/a", Data: []byte("x")},
		&zk.SetDataRequest{Path: "/b", Data: []byte("y"), Version: -1},
	)
	var opErr *OpError
	if !errors.As(err, &opErr) || opErr.Index != 0 || !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("multi: %v, want op 0 failing with ErrNodeExists", err)
	}
}

// sniffConn hands go-zk the stream unchanged however it is cut, except a
// reply over the bound, which loses its body and gets codeTooLarge.
func TestSniffConnFrames(t *testing.T) {
	var stream, want []byte
	frame := func(fields ...any) []byte {
		var body []byte
		for _, f := range fields {
			body, _ = binary.Append(body, binary.BigEndian, f)
		}
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	add := func(fields ...any) []byte {
		f := frame(fields...)
		stream = append(stream, f...)
		return f
	}
	// Connect response: protocolVersion, timeOut, sessionId, passwd.
	want = append(want, add(int32(0), int32(4000), int64(0x1234), int32(16), make([]byte, 16))...)
	want = append(want, add(int32(1), int64(7), int32(0), make([]byte, 80))...) // a reply at the bound
	add(int32(4), int64(10), int32(0), make([]byte, 300))                       // a reply over it
	want = append(want, frame(int32(4), int64(10), int32(codeTooLarge))...)
	want = append(want, add(int32(-2), int64(5), int32(0))...)                    // a ping
	want = append(want, add(int32(-1), int64(-1), int32(0), make([]byte, 40))...) // a notification
	want = append(want, add(int32(2), int64(9), int32(-101))...)                  // an error reply
	want = append(want, add(int32(3), int64(8), int32(0), []byte{1})...)
	for range 50 {
		var z zxidSeen
		w := newWire(&z, 96)
		client, server := net.Pipe()
		s := &sniffConn{Conn: client, w: w}
		go func() {
			rest := stream
			for len(rest) > 0 {
				n := min(len(rest), 1+rand.IntN(25))
				server.Write(rest[:n])
				rest = rest[n:]
			}
			server.Close()
		}()
		var got []byte
		buf := make([]byte, 1+rand.IntN(30))
		for {
			n, err := s.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		client.Close()
		if !bytes.Equal(got, want) {
			t.Fatalf("go-zk reads\n%x\nwant\n%x", got, want)
		}
		if id, timeout := w.result(); id != 0x1234 || timeout != 4*time.Second {
			t.Fatalf("session %x, timeout %v", id, timeout)
		}
		if got := z.load(); got != 10 {
			t.Fatalf("largest zxid %d, want 10", got)
		}
	}
}

// A create of a tapped path goes out as create2, marks the tap sent, and
// its reply's Stat is recorded; go-zk gets the reply unchanged. Other
// creates stay creates.
func TestSniffConnCreate2(t *testing.T) {
	frame := func(fields ...any) []byte {
		var body []byte
		for _, f := range fields {
			body, _ = binary.Append(body, binary.BigEndian, f)
		}
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	create := func(xid int32, p string) []byte {
		// xid, opcode, path, data (none), acl (none), flags.
		return frame(xid, int32(opCreate), int32(len(p)), []byte(p), int32(-1), int32(0), int32(2))
	}
	var taps createTaps
	tap := taps.tap("/x/_c_1-lock-")
	defer tap.end()
	var z zxidSeen
	w := newWire(&z, 0)
	w.taps = &taps
	client, server := net.Pipe()
	defer client.Close()
	s := &sniffConn{Conn: client, w: w}
	go func() {
		s.Write(create(1, "/x/_c_1-lock-"))
		s.Write(create(2, "/x/other"))
	}()
	var sent [2][]byte
	for i := range sent {
		var n [4]byte
		if _, err := io.ReadFull(server, n[:]); err != nil {
			t.Fatal(err)
		}
		sent[i] = make([]byte, binary.BigEndian.Uint32(n[:]))
		if _, err := io.ReadFull(server, sent[i]); err != nil {
			t.Fatal(err)
		}
	}
	if op := int32(binary.BigEndian.Uint32(sent[0][4:8])); op != opCreate2 {
		t.Fatalf("tapped create sent as opcode %d, want create2", op)
	}
	if op := int32(binary.BigEndian.Uint32(sent[1][4:8])); op != opCreate {
		t.Fatalf("other create sent as opcode %d, want create", op)
	}
	want := zk.Stat{Czxid: 42, Mzxid: 42, Ctime: 1, Mtime: 1, Cversion: 3, EphemeralOwner: 0x1234, Pzxid: 42}
	node := "/x/_c_1-lock-0000000007"
	reply := frame(int32(1), int64(42), int32(0), int32(len(node)), []byte(node), want)
	stream := append(frame(int32(0), int32(4000), int64(0x1234), int32(16), make([]byte, 16)), reply...)
	go func() {
		server.Write(stream)
		server.Close()
	}()
	got, err := io.ReadAll(s)
	if err != nil && !errors.Is(err, io.ErrClosedPipe) {
		t.Fatal(err)
	}
	if !bytes.Equal(got, stream) {
		t.Fatalf("go-zk reads\n%x\nwant\n%x", got, stream)
	}
	select {
	case <-tap.sent:
	default:
		t.Fatal("tap not marked sent after its create was written")
	}
	if st := tap.stat(node); st == nil || *st != want {
		t.Fatalf("recorded stat %+v, want %+v", st, want)
	}
	if st := tap.stat("/x/_c_1-lock-0000000008"); st != nil {
		t.Fatalf("stat %+v of a node no create made", st)
	}
}
