package zkwire

import (
	"bufio"
	"net"
	"testing"

	"github.com/zookit/zookit/ensemble/proto"
)

// FuzzHandleFrame feeds arbitrary reply frames to a client with one request
// of each reply shape pending: handling must never panic, whatever the
// server sends.
func FuzzHandleFrame(f *testing.F) {
	hdr := func(xid int32, code proto.Code, body proto.Record) []byte {
		var e proto.Encoder
		(&proto.ReplyHeader{Xid: xid, Zxid: 7, Err: code}).Encode(&e)
		if body != nil {
			body.Encode(&e)
		}
		return e.Buf
	}
	f.Add(hdr(1, 0, &proto.GetDataResponse{Data: []byte("x")}))
	f.Add(hdr(2, 0, &proto.ChildrenResponse{Children: []string{"a"}, WithStat: true}))
	f.Add(hdr(3, 0, &proto.WhoAmIResponse{ClientInfo: []proto.ID{{Scheme: "ip", ID: "1"}}}))
	f.Add(hdr(4, 0, &proto.GetACLResponse{ACL: OpenACL}))
	f.Add(hdr(-1, 0, &proto.WatcherEvent{Type: 1, State: 3, Path: "/a"}))
	f.Add(hdr(-4, proto.ErrAuthFailed, nil))
	f.Add(hdr(1, proto.ErrNoNode, nil))
	f.Fuzz(func(t *testing.T, frame []byte) {
		c, err := New("127.0.0.1:1/chroot", Config{})
		if err != nil {
			t.Fatal(err)
		}
		close(c.stop)
		<-c.stopped
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		cn := newConn(a, bufio.NewReader(a))
		resps := []proto.Record{&proto.GetDataResponse{}, &proto.ChildrenResponse{WithStat: true},
			&proto.WhoAmIResponse{}, &proto.GetACLResponse{}, &proto.Create2Response{}}
		for i, r := range resps {
			cn.enqueue(&request{xid: int32(i + 1), op: proto.OpGetData, resp: r, done: make(chan error, 1)})
		}
		cn.enqueueAuth(proto.AuthPacket{}, make(chan error, 1))
		c.handleFrame(cn, frame)
		c.events.close()
		for range c.Events() {
		}
	})
}
