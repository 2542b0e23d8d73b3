package tree

import (
	"errors"
	"fmt"

	"github.com/zookit/zookit/ensemble/proto"
)

// txnVersion starts every marshalled Txn so the format can change later.
const txnVersion byte = 1

// ErrBadTxn reports bytes that are not a marshalled Txn.
var ErrBadTxn = errors.New("tree: malformed txn")

// Marshal encodes the txn for the log. The request travels as its jute
// encoding and is decoded again by the record type its op calls for.
func (t *Txn) Marshal() []byte {
	e := &proto.Encoder{Buf: []byte{txnVersion}}
	e.Long(int64(t.Origin))
	e.Long(int64(t.Seq))
	e.Long(t.Session)
	e.Long(t.Time)
	e.Int(int32(t.Op))
	if t.Req == nil {
		e.Buffer(nil)
	} else {
		e.Buffer(proto.Marshal(t.Req))
	}
	e.Int(int32(len(t.Auth)))
	for i := range t.Auth {
		t.Auth[i].Encode(e)
	}
	e.Int(t.Timeout)
	e.Buffer(t.Passwd)
	return e.Buf
}

// UnmarshalTxn decodes a Txn written by Marshal. It never panics: any other
// input gives an error wrapping ErrBadTxn.
func UnmarshalTxn(b []byte) (*Txn, error) {
	if len(b) == 0 || b[0] != txnVersion {
		return nil, fmt.Errorf("%w: unknown version", ErrBadTxn)
	}
	d := proto.NewDecoder(b[1:])
	t := &Txn{
		Origin:  uint64(d.Long()),
		Seq:     uint64(d.Long()),
		Session: d.Long(),
		Time:    d.Long(),
		Op:      proto.Op(d.Int()),
	}
	if req := d.Buffer(); req != nil && d.Err() == nil {
		r, err := decodeRequest(t.Op, req)
		if err != nil {
			return nil, err
		}
		t.Req = r
	}
	n := int(d.Int())
	if n < 0 || n > d.Remaining()/8 {
		return nil, fmt.Errorf("%w: auth count %d", ErrBadTxn, n)
	}
	if n > 0 {
		t.Auth = make([]proto.ID, n)
		for i := range t.Auth {
			t.Auth[i].Decode(d)
		}
	}
	t.Timeout = d.Int()
	t.Passwd = d.Buffer()
	if d.Err() != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadTxn, d.Err())
	}
	if d.Remaining() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadTxn, d.Remaining())
	}
	return t, nil
}

func decodeRequest(op proto.Op, b []byte) (proto.Record, error) {
	var r proto.Record
	if op == proto.OpDeleteContainer {
		r = &proto.PathRequest{}
	} else {
		r = proto.NewRequest(op)
	}
	if r == nil {
		return nil, fmt.Errorf("%w: op %v carries no request", ErrBadTxn, op)
	}
	d := proto.NewDecoder(b)
	r.Decode(d)
	if d.Err() != nil {
		return nil, fmt.Errorf("%w: %v request: %w", ErrBadTxn, op, d.Err())
	}
	if d.Remaining() != 0 {
		return nil, fmt.Errorf("%w: %v request has %d trailing bytes", ErrBadTxn, op, d.Remaining())
	}
	return r, nil
}
