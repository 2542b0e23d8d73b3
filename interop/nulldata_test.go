package interop

import (
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/proto"
)

// TestDifferentialNullData tells a node's null data from its empty data,
// which go-zookeeper cannot (it reads both as nil): a raw session reads the
// length field of each data buffer (-1 for null, 0 for empty) from Apache
// ZooKeeper and from zkserver, for nodes created, set and read every way,
// built-in nodes included.
func TestDifferentialNullData(t *testing.T) {
	Require(t, ZooKeeper)
	want := nullDataScript(t, StartApacheZooKeeper(t, Options{}))
	got := nullDataScript(t, StartZookit(t, Options{}))
	if d := unifiedDiff("apache-zookeeper", "zkserver", want, got); d != "" {
		t.Fatalf("data buffers differ:\n%s", d)
	}
	t.Logf("%d lines identical", len(want))
}

// rawSession is a session over the wire codec alone, which keeps what a
// client library would smooth over.
type rawSession struct {
	t   *testing.T
	nc  net.Conn
	xid int32
}

func newRawSession(t *testing.T, addr string) *rawSession {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(time.Minute))
	s := &rawSession{t: t, nc: nc}
	s.write(&proto.ConnectRequest{Timeout: 10000, Passwd: make([]byte, 16)})
	s.read()
	return s
}

func (s *rawSession) write(recs ...proto.Record) {
	if _, err := s.nc.Write(proto.AppendFrame(nil, recs...)); err != nil {
		s.t.Fatal(err)
	}
}

func (s *rawSession) read() []byte {
	b, err := proto.ReadFrame(s.nc, nil, proto.DefaultMaxBuffer)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

// call sends one request and returns its error code and the reply body.
func (s *rawSession) call(op proto.Op, req proto.Record) (proto.Code, []byte) {
	s.xid++
	s.write(&proto.RequestHeader{Xid: s.xid, Type: op}, req)
	b := s.read()
	if len(b) < 16 {
		s.t.Fatalf("reply of %d bytes", len(b))
	}
	return proto.Code(int32(binary.BigEndian.Uint32(b[12:16]))), b[16:]
}

// bufLen reads the length field of the buffer at the start of b: -1 is null.
func bufLen(b []byte) string {
	if len(b) < 4 {
		return "short"
	}
	return fmt.Sprint(int32(binary.BigEndian.Uint32(b)))
}

func nullDataScript(t *testing.T, addr string) []string {
	s := newRawSession(t, addr)
	var out []string
	open := []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}
	get := func(path string) {
		code, body := s.call(proto.OpGetData, &proto.PathWatch{Path: path})
		if code != proto.OK {
			out = append(out, fmt.Sprintf("get %s: %v", path, code))
			return
		}
		out = append(out, fmt.Sprintf("get %s: data length %s", path, bufLen(body)))
	}
	for _, p := range []string{"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"} {
		get(p)
	}
	for _, c := range []struct {
		path string
		op   proto.Op
		data []byte
	}{
		{"/null", proto.OpCreate, nil},
		{"/empty", proto.OpCreate, []byte{}},
		{"/x", proto.OpCreate, []byte("x")},
		{"/null2", proto.OpCreate2, nil},
		{"/empty2", proto.OpCreate2, []byte{}},
	} {
		code, _ := s.call(c.op, &proto.CreateRequest{Path: c.path, Data: c.data, ACL: open})
		out = append(out, fmt.Sprintf("%v %s: %v", c.op, c.path, code))
		get(c.path)
	}
	for _, d := range [][]byte{nil, {}, []byte("y")} {
		code, _ := s.call(proto.OpSetData, &proto.SetDataRequest{Path: "/x", Data: d, Version: -1})
		out = append(out, fmt.Sprintf("set /x to %d bytes (null %v): %v", len(d), d == nil, code))
		get("/x")
	}
	// multi: a create with null data, then the reads of a multiRead.
	code, _ := s.call(proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Op: proto.OpCreate, Req: &proto.CreateRequest{Path: "/m-null", ACL: open}},
		{Op: proto.OpCreate, Req: &proto.CreateRequest{Path: "/m-empty", Data: []byte{}, ACL: open}},
	}})
	out = append(out, fmt.Sprintf("multi create: %v", code))
	get("/m-null")
	get("/m-empty")
	code, body := s.call(proto.OpMultiRead, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Op: proto.OpGetData, Req: &proto.PathWatch{Path: "/null"}},
		{Op: proto.OpGetData, Req: &proto.PathWatch{Path: "/empty"}},
	}})
	out = append(out, fmt.Sprintf("multiRead: %v", code))
	// Each result is a MultiHeader (type, done, err: 9 bytes), then a
	// GetDataResponse: the buffer and an 80-byte Stat.
	for i := 0; i < 2 && len(body) >= 9; i++ {
		out = append(out, fmt.Sprintf("multiRead result %d: type %d, data length %s", i, int32(binary.BigEndian.Uint32(body)), bufLen(body[9:])))
		if len(body) < 13 {
			break
		}
		n := max(int(int32(binary.BigEndian.Uint32(body[9:]))), 0)
		body = body[min(len(body), 13+n+80):]
	}
	return out
}
