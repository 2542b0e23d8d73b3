package server_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
)

// dialSession connects with a handshake that may ask to be read-only and
// may resume a session; it returns the client, or nil and false when the
// server closed the connection instead of answering.
func dialSession(t *testing.T, addr string, readOnly bool, id int64, passwd []byte) (*rawClient, proto.ConnectResponse, bool) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if passwd == nil {
		passwd = make([]byte, 16)
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	writeFrame(t, nc, proto.Marshal(&proto.ConnectRequest{Timeout: 30000, SessionID: id, Passwd: passwd, HasReadOnly: true, ReadOnly: readOnly}))
	c := &rawClient{t: t, nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}
	b, err := proto.ReadFrame(c.r, nil, 1<<20)
	if err != nil {
		return nil, proto.ConnectResponse{}, false
	}
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Time{})
	return c, resp, true
}

// TestReadOnlyMode cuts a member off from the other two: after the grace
// period it serves reads to read-only clients, refuses their writes and
// refuses clients that cannot be read-only; when the quorum is back it
// closes them, and a session it served read-only carries on read-write.
func TestReadOnlyMode(t *testing.T) {
	cl := ensembletest.StartCluster(t, 3, 0, ensembletest.WithConfig(func(c *config.Config) {
		c.Props["readonlymode.enabled"] = "true"
	}))
	leader := cl.WaitLeader()
	var lone *ensembletest.Member
	for _, m := range cl.Members() {
		if m != leader {
			lone = m
			break
		}
	}
	// A session made read-write before the partition, on the lone member.
	rw := dialRaw(t, lone.Addr(), 0)
	if h, _ := rw.call(proto.OpCreate, &proto.CreateRequest{Path: "/before", Data: []byte("x"), ACL: worldACL}); h.Err != proto.OK {
		t.Fatal(h.Err)
	}
	_, before, _ := dialSession(t, lone.Addr(), false, 0, nil)
	if before.ReadOnly {
		t.Fatal("a read-only session from a member with a leader")
	}
	if got := fourLetter(t, lone.Addr(), "isro"); got != "rw" {
		t.Errorf("isro with a leader: %q", got)
	}

	var others []uint64
	for _, m := range cl.Members() {
		if m != lone {
			others = append(others, m.ID)
		}
	}
	cl.Partition([]uint64{lone.ID}, others)
	deadline := time.Now().Add(20 * time.Second)
	for fourLetter(t, lone.Addr(), "isro") != "ro" {
		if time.Now().After(deadline) {
			t.Fatal("the cut-off member never went read-only")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if srvr := fourLetter(t, lone.Addr(), "srvr"); !strings.Contains(srvr, "Mode: read-only\n") || !strings.Contains(srvr, "READ-ONLY mode") {
		t.Errorf("srvr in read-only mode: %q", srvr)
	}
	if _, _, ok := dialSession(t, lone.Addr(), false, 0, nil); ok {
		t.Error("a client that cannot be read-only got a session")
	}
	ro, resp, ok := dialSession(t, lone.Addr(), true, 0, nil)
	if !ok || !resp.ReadOnly || resp.SessionID == 0 {
		t.Fatalf("read-only handshake: %+v %v", resp, ok)
	}
	if h, body := ro.call(proto.OpGetData, &proto.PathWatch{Path: "/before"}); h.Err != proto.OK || !strings.Contains(string(body), "x") {
		t.Errorf("read in read-only mode: %v", h.Err)
	}
	for op, req := range map[proto.Op]proto.Record{
		proto.OpCreate:  &proto.CreateRequest{Path: "/during", ACL: worldACL},
		proto.OpSetData: &proto.SetDataRequest{Path: "/before", Data: []byte("y"), Version: -1},
		proto.OpDelete:  &proto.PathInt{Path: "/before", N: -1},
		proto.OpSync:    &proto.PathRequest{Path: "/"},
	} {
		if h, _ := ro.call(op, req); h.Err != proto.ErrNotReadOnly {
			t.Errorf("%v in read-only mode: %v, want NOTREADONLY", op, h.Err)
		}
	}
	// The session made read-write is served read-only, not moved.
	again, resp, ok := dialSession(t, lone.Addr(), true, before.SessionID, before.Passwd)
	if !ok || !resp.ReadOnly || resp.SessionID != before.SessionID {
		t.Fatalf("resuming a session read-only: %+v %v", resp, ok)
	}

	cl.Heal()
	if !ro.closed(20*time.Second) || !again.closed(20*time.Second) {
		t.Fatal("read-only connections stay after the quorum is back")
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		back, resp, ok := dialSession(t, lone.Addr(), true, before.SessionID, before.Passwd)
		if ok && resp.SessionID == before.SessionID && !resp.ReadOnly {
			if h, _ := back.call(proto.OpCreate, &proto.CreateRequest{Path: "/after", ACL: worldACL}); h.Err != proto.OK {
				t.Errorf("write after the quorum is back: %v", h.Err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session did not come back read-write: %+v %v", resp, ok)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := fourLetter(t, lone.Addr(), "isro"); got != "rw" {
		t.Errorf("isro after the quorum is back: %q", got)
	}
}

var worldACL = []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}
