package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrShort reports a record that ends before all of its fields were read.
var ErrShort = errors.New("proto: record truncated")

// Record is a jute record that can be written and read.
type Record interface {
	Encode(e *Encoder)
	Decode(d *Decoder)
}

// Encoder appends jute-encoded values to a byte slice.
type Encoder struct {
	Buf []byte
}

func (e *Encoder) Int(v int32)  { e.Buf = binary.BigEndian.AppendUint32(e.Buf, uint32(v)) }
func (e *Encoder) Long(v int64) { e.Buf = binary.BigEndian.AppendUint64(e.Buf, uint64(v)) }

func (e *Encoder) Bool(v bool) {
	var b byte
	if v {
		b = 1
	}
	e.Buf = append(e.Buf, b)
}

// Buffer writes a length-prefixed byte slice; nil is written as length -1.
func (e *Encoder) Buffer(b []byte) {
	if b == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(b)))
	e.Buf = append(e.Buf, b...)
}

func (e *Encoder) String(s string) {
	e.Int(int32(len(s)))
	e.Buf = append(e.Buf, s...)
}

// Strings writes a vector of ustring; nil is written as count -1.
func (e *Encoder) Strings(v []string) {
	if v == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(v)))
	for _, s := range v {
		e.String(s)
	}
}

// Decoder reads jute values from a byte slice. The first error sticks: later
// reads return zero values, so a record's Decode needs no error plumbing and
// the caller checks Err once.
type Decoder struct {
	b   []byte
	off int
	err error
}

// NewDecoder returns a Decoder over b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Err is the first error met, if any.
func (d *Decoder) Err() error { return d.err }

// Remaining is the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Fail records err unless an earlier error is already recorded.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// Unread returns the bytes not read yet, without copying them: a caller
// that has seen a record before can compare them with its encoding and
// Skip it instead of decoding it again.
func (d *Decoder) Unread() []byte { return d.b[d.off:] }

// Skip consumes n bytes.
func (d *Decoder) Skip(n int) { d.take(n) }

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.err = ErrShort
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

func (d *Decoder) Int() int32 {
	p := d.take(4)
	if p == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(p))
}

func (d *Decoder) Long() int64 {
	p := d.take(8)
	if p == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(p))
}

func (d *Decoder) Bool() bool {
	p := d.take(1)
	return p != nil && p[0] != 0
}

// Buffer reads a length-prefixed byte slice; length -1 gives nil. The result
// is a copy, so it may outlive the frame it came from.
func (d *Decoder) Buffer() []byte {
	n := d.Int()
	if n == -1 {
		return nil
	}
	if n < -1 {
		d.Fail(fmt.Errorf("proto: negative buffer length %d", n))
		return nil
	}
	p := d.take(int(n))
	if p == nil {
		return nil
	}
	return append([]byte{}, p...)
}

func (d *Decoder) String() string {
	n := d.Int()
	if n == -1 {
		return ""
	}
	if n < -1 {
		d.Fail(fmt.Errorf("proto: negative string length %d", n))
		return ""
	}
	return string(d.take(int(n)))
}

// count reads a vector length and checks that the frame can hold that many
// elements of at least min bytes each, so a hostile count cannot force a
// large allocation.
func (d *Decoder) count(min int) int {
	n := d.Int()
	if d.err != nil || n == -1 {
		return -1
	}
	if n < -1 || int(n) > d.Remaining()/min {
		d.Fail(fmt.Errorf("proto: vector length %d exceeds the frame", n))
		return -1
	}
	return int(n)
}

func (d *Decoder) Strings() []string {
	n := d.count(4)
	if n < 0 {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = d.String()
	}
	return v
}

// Marshal encodes r into a new slice.
func Marshal(r Record) []byte {
	var e Encoder
	r.Encode(&e)
	return e.Buf
}

// Unmarshal decodes r from the start of b. Like ZooKeeper it ignores bytes
// after the record, so clients that append fields stay compatible.
func Unmarshal(b []byte, r Record) error {
	d := NewDecoder(b)
	r.Decode(d)
	return d.err
}
