package proto

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func roundTrip(t *testing.T, in, out Record) {
	t.Helper()
	if err := Unmarshal(Marshal(in), out); err != nil {
		t.Fatalf("%T: %v", in, err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("%T round trip:\n got %+v\nwant %+v", in, out, in)
	}
}

func TestRoundTrip(t *testing.T) {
	st := Stat{Czxid: 1, Mzxid: 2, Ctime: 3, Mtime: 4, Version: 5, Cversion: 6, Aversion: 7, EphemeralOwner: -8, DataLength: 9, NumChildren: 10, Pzxid: 11}
	acl := []ACL{{Perms: PermAll, ID: ID{Scheme: "world", ID: "anyone"}}, {Perms: PermRead, ID: ID{Scheme: "digest", ID: "u:h"}}}
	cases := []struct{ in, out Record }{
		{&Stat{Czxid: 1, Pzxid: -1}, &Stat{}},
		{&RequestHeader{Xid: 7, Type: OpCreate2}, &RequestHeader{}},
		{&ReplyHeader{Xid: -1, Zxid: 1 << 40, Err: ErrNoNode}, &ReplyHeader{}},
		{&CreateRequest{Path: "/a", Data: []byte("x"), ACL: acl, Flags: 3}, &CreateRequest{}},
		{&CreateRequest{Path: "/t", ACL: acl, Flags: 5, TTL: 1000, HasTTL: true}, &CreateRequest{HasTTL: true}},
		{&SetDataRequest{Path: "/a", Data: []byte{}, Version: -1}, &SetDataRequest{}},
		{&SetACLRequest{Path: "/a", ACL: acl, Version: 2}, &SetACLRequest{}},
		{&PathWatch{Path: "/a", Watch: true}, &PathWatch{}},
		{&PathInt{Path: "/a", N: -1}, &PathInt{}},
		{&AuthPacket{Scheme: "digest", Auth: []byte("u:p")}, &AuthPacket{}},
		{&SetWatches{RelativeZxid: 9, Data: []string{"/a"}, Exist: []string{}, Child: []string{"/b", "/c"}}, &SetWatches{}},
		{&SetWatches{V2: true, Data: []string{}, Exist: []string{}, Child: []string{}, Persistent: []string{"/p"}, PersistentRecursive: []string{"/r"}}, &SetWatches{V2: true}},
		{&WatcherEvent{Type: EventNodeCreated, State: StateSyncConnected, Path: "/a"}, &WatcherEvent{}},
		{&GetDataResponse{Data: []byte("d"), Stat: st}, &GetDataResponse{}},
		{&ChildrenResponse{Children: []string{"a"}, Stat: st, WithStat: true}, &ChildrenResponse{WithStat: true}},
		{&GetACLResponse{ACL: acl, Stat: st}, &GetACLResponse{}},
		{&Create2Response{Path: "/a", Stat: st}, &Create2Response{}},
		{&WhoAmIResponse{ClientInfo: []ID{{Scheme: "ip", ID: "127.0.0.1"}}}, &WhoAmIResponse{}},
		{&ReconfigRequest{JoiningServers: "j", CurConfigID: -1}, &ReconfigRequest{}},
		{&MultiRequest{Ops: []MultiOp{
			{Op: OpCreate, Req: &CreateRequest{Path: "/a", ACL: acl}},
			{Op: OpCheck, Req: &PathInt{Path: "/a", N: 0}},
			{Op: OpSetData, Req: &SetDataRequest{Path: "/a", Data: []byte("z"), Version: -1}},
			{Op: OpDelete, Req: &PathInt{Path: "/a", N: -1}},
		}}, &MultiRequest{}},
		{&MultiResponse{Results: []MultiResult{
			{Op: OpCreate, Resp: &PathRequest{Path: "/a"}},
			{Op: OpCreate2, Resp: &Create2Response{Path: "/b", Stat: st}},
			{Op: OpSetData, Resp: &StatResponse{Stat: st}},
			{Op: OpDelete},
			{Op: OpError, Err: ErrRuntimeInconsistency},
		}}, &MultiResponse{}},
	}
	for _, c := range cases {
		roundTrip(t, c.in, c.out)
	}
}

// The two handshake forms differ only in the trailing readOnly byte, and
// the reply must mirror the form the client used.
func TestHandshakeForms(t *testing.T) {
	for _, withRO := range []bool{false, true} {
		req := ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16), HasReadOnly: withRO}
		b := Marshal(&req)
		want := 44
		if withRO {
			want = 45
		}
		if len(b) != want {
			t.Fatalf("request with readOnly=%v is %d bytes, want %d", withRO, len(b), want)
		}
		var got ConnectRequest
		if err := Unmarshal(b, &got); err != nil || got.HasReadOnly != withRO {
			t.Fatalf("decode: %v, HasReadOnly=%v", err, got.HasReadOnly)
		}
		resp := Marshal(&ConnectResponse{Passwd: make([]byte, 16), HasReadOnly: got.HasReadOnly})
		if len(resp) != want-8 {
			t.Fatalf("response is %d bytes, want %d", len(resp), want-8)
		}
	}
}

func TestFailedMultiLayout(t *testing.T) {
	// Header error 0, then 0 / code / -2 per op, closed by {-1,true,-1}:
	// the exact bytes Java and go-zk parse.
	r := MultiResponse{Results: []MultiResult{{Op: OpError, Err: OK}, {Op: OpError, Err: ErrNodeExists}, {Op: OpError, Err: ErrRuntimeInconsistency}}}
	var e Encoder
	for _, code := range []int32{0, -110, -2} {
		e.Int(-1)
		e.Bool(false)
		e.Int(code)
		e.Int(code)
	}
	e.Int(-1)
	e.Bool(true)
	e.Int(-1)
	if got := Marshal(&r); !bytes.Equal(got, e.Buf) {
		t.Fatalf("got % x\nwant % x", got, e.Buf)
	}
}

func TestHostileLengths(t *testing.T) {
	var e Encoder
	e.String("/a")
	e.Int(1 << 30) // data length far beyond the frame
	if err := Unmarshal(e.Buf, &SetDataRequest{}); !errors.Is(err, ErrShort) {
		t.Fatalf("got %v, want ErrShort", err)
	}
	e = Encoder{}
	e.Int(1 << 28) // vector count
	var r ChildrenResponse
	if err := Unmarshal(e.Buf, &r); err == nil {
		t.Fatal("huge vector count accepted")
	}
	e = Encoder{}
	e.Int(-5)
	if err := Unmarshal(e.Buf, &PathRequest{}); err == nil {
		t.Fatal("negative string length accepted")
	}
}

func TestFrames(t *testing.T) {
	b := AppendFrame(nil, &RequestHeader{Xid: 1, Type: OpPing})
	got, err := ReadFrame(bytes.NewReader(b), nil, 100)
	if err != nil || len(got) != 8 {
		t.Fatalf("ReadFrame: %v %d", err, len(got))
	}
	big := []byte{0x00, 0x10, 0x00, 0x00}
	var tooLarge *FrameTooLargeError
	if _, err := ReadFrame(bytes.NewReader(big), nil, DefaultMaxBuffer); !errors.As(err, &tooLarge) {
		t.Fatalf("oversized frame: got %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff}), nil, 10); !errors.As(err, &tooLarge) {
		t.Fatalf("negative frame: got %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{0, 0, 0, 9, 1}), nil, 10); err == nil {
		t.Fatal("truncated frame accepted")
	}
}

func TestCodes(t *testing.T) {
	err := fmt.Errorf("create /a: %w", ErrNodeExists)
	if !errors.Is(err, ErrNodeExists) || CodeOf(err) != ErrNodeExists {
		t.Fatalf("wrapped code lost: %v", err)
	}
	if CodeOf(nil) != OK || CodeOf(errors.New("x")) != ErrSystemError {
		t.Fatal("CodeOf defaults")
	}
	if ErrNoNode.Error() != "zk: NONODE" || Code(-999).Error() != "zk: error code -999" {
		t.Fatal("code names")
	}
}

// FuzzDecodeRequest feeds arbitrary request frames through the decoders the
// server uses; they must return an error or a record, never panic.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(Marshal(&RequestHeader{Xid: 1, Type: OpCreate}))
	f.Add(append(Marshal(&RequestHeader{Xid: 1, Type: OpMulti}), Marshal(&MultiRequest{Ops: []MultiOp{{Op: OpCheck, Req: &PathInt{Path: "/"}}}})...))
	f.Add(Marshal(&ConnectRequest{Passwd: make([]byte, 16)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = Unmarshal(b, &ConnectRequest{})
		d := NewDecoder(b)
		var h RequestHeader
		h.Decode(d)
		if d.Err() != nil {
			return
		}
		if r := NewRequest(h.Type); r != nil {
			r.Decode(d)
			if d.Err() == nil && h.Type != OpMulti && h.Type != OpMultiRead {
				// A decoded record re-encodes to a prefix of what was read.
				if len(Marshal(r)) > len(b) {
					t.Fatalf("%v re-encodes longer than its input", h.Type)
				}
			}
		}
		_ = Unmarshal(b, &MultiResponse{})
	})
}
