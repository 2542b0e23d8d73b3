package proto

import (
	"encoding/binary"
	"fmt"
	"io"
)

// DefaultMaxBuffer is ZooKeeper's default jute.maxbuffer (0xfffff).
const DefaultMaxBuffer = 0xfffff

// FrameTooLargeError reports a frame length outside [0, max]. The server
// closes the connection on it, as ZooKeeper does.
type FrameTooLargeError struct {
	Len, Max int
}

func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("proto: frame length %d is out of range (jute.maxbuffer=%d)", e.Len, e.Max)
}

// ReadFrame reads one length-prefixed frame into buf (grown as needed) and
// returns the payload. A length below zero or above max is an error before
// any allocation.
func ReadFrame(r io.Reader, buf []byte, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(hdr[:])))
	if n < 0 || n > max {
		return nil, &FrameTooLargeError{Len: n, Max: max}
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// AppendFrame appends a frame holding the given records to dst.
func AppendFrame(dst []byte, recs ...Record) []byte {
	start := len(dst)
	e := Encoder{Buf: append(dst, 0, 0, 0, 0)}
	for _, r := range recs {
		r.Encode(&e)
	}
	binary.BigEndian.PutUint32(e.Buf[start:], uint32(len(e.Buf)-start-4))
	return e.Buf
}
