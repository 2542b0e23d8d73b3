package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The envelope of Curator's ItemSerializer: a version, then each message as
// an item opcode, a length and the bytes, then an end opcode.
const (
	itemVersion = 0x00010001
	opItem      = 0x01
	opEnd       = 0x02
)

// ErrBadItem is wrapped by DecodeItem's errors: the data is not a Curator
// queue item.
var ErrBadItem = errors.New("queue: bad item")

// EncodeItem returns the node data Curator's DistributedQueue writes for
// msgs, one node holding them all (putMulti).
func EncodeItem(msgs ...[]byte) []byte {
	n := 4 + 1
	for _, m := range msgs {
		n += 1 + 4 + len(m)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, itemVersion)
	for _, m := range msgs {
		b = append(b, opItem)
		b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
		b = append(b, m...)
	}
	return append(b, opEnd)
}

// DecodeItem returns the messages of an item's node data. Bytes after the
// end opcode are ignored, as Curator ignores them.
func DecodeItem(data []byte) ([][]byte, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("%w: %d bytes, no version", ErrBadItem, len(data))
	}
	if v := binary.BigEndian.Uint32(data); v != itemVersion {
		return nil, fmt.Errorf("%w: version %#08x, want %#08x", ErrBadItem, v, itemVersion)
	}
	rest := data[4:]
	var msgs [][]byte
	for {
		if len(rest) == 0 {
			return nil, fmt.Errorf("%w: no end opcode", ErrBadItem)
		}
		op := rest[0]
		rest = rest[1:]
		switch {
		case op == opEnd:
			return msgs, nil
		case op != opItem:
			return nil, fmt.Errorf("%w: opcode %#02x", ErrBadItem, op)
		case len(rest) < 4:
			return nil, fmt.Errorf("%w: truncated length", ErrBadItem)
		}
		// Checked against what is left before anything is allocated, so a
		// corrupt length costs nothing.
		size := int64(int32(binary.BigEndian.Uint32(rest)))
		rest = rest[4:]
		if size < 0 || size > int64(len(rest)) {
			return nil, fmt.Errorf("%w: message of %d bytes with %d left", ErrBadItem, size, len(rest))
		}
		msgs = append(msgs, rest[:size:size])
		rest = rest[size:]
	}
}
