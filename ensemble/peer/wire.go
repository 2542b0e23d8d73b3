package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// The hello opens every connection: magic, version, sender id, receiver id.
// The receiver id lets the acceptor catch a peer whose configuration maps
// this address to another server.
const (
	helloMagic   = "ZKPT"
	helloVersion = 1
	helloLen     = len(helloMagic) + 1 + 8 + 8
)

// Frame kinds: KindRaft carries a raftpb.Message; every other kind is a
// control message handed to Handler.Control.
const KindRaft byte = 0

// MaxControlFrame bounds a control message, small by contract. Raft frames
// are bounded by Config.MaxRaftFrame, since they may hold a whole snapshot.
const MaxControlFrame = 1 << 20

const frameHeaderLen = 4 + 1

// readChunk is how much a frame's buffer grows at least per read, so that a
// peer announcing a huge frame and sending nothing costs little memory.
const readChunk = 64 << 10

var errMalformed = errors.New("malformed")

type hello struct {
	from, to uint64
}

func (h hello) marshal() []byte {
	b := make([]byte, 0, helloLen)
	b = append(b, helloMagic...)
	b = append(b, helloVersion)
	b = binary.BigEndian.AppendUint64(b, h.from)
	return binary.BigEndian.AppendUint64(b, h.to)
}

func readHello(r io.Reader) (hello, error) {
	var b [helloLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return hello{}, fmt.Errorf("read hello: %w", err)
	}
	if string(b[:len(helloMagic)]) != helloMagic {
		return hello{}, fmt.Errorf("%w hello: bad magic %q", errMalformed, b[:len(helloMagic)])
	}
	if v := b[len(helloMagic)]; v != helloVersion {
		return hello{}, fmt.Errorf("%w hello: version %d, want %d", errMalformed, v, helloVersion)
	}
	ids := b[len(helloMagic)+1:]
	return hello{from: binary.BigEndian.Uint64(ids), to: binary.BigEndian.Uint64(ids[8:])}, nil
}

func maxFrame(kind byte, maxRaft int) int {
	if kind == KindRaft {
		return maxRaft
	}
	return MaxControlFrame
}

func frameHeader(kind byte, n int) []byte {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, frameHeaderLen), uint32(n))
	return append(b, kind)
}

// readFrame reads one frame, refusing one larger than its kind allows
// (maxRaft for raft frames) before reading its payload.
func readFrame(r io.Reader, maxRaft int) (kind byte, payload []byte, err error) {
	var h [frameHeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n, kind := int(binary.BigEndian.Uint32(h[:4])), h[4]
	if limit := maxFrame(kind, maxRaft); n > limit {
		return 0, nil, fmt.Errorf("%w frame: kind %d of %d bytes exceeds %d", errMalformed, kind, n, limit)
	}
	buf := make([]byte, 0, min(n, readChunk))
	for len(buf) < n {
		step := min(n-len(buf), max(len(buf), readChunk))
		buf = slices.Grow(buf, step)
		got, err := io.ReadFull(r, buf[len(buf):len(buf)+step])
		buf = buf[:len(buf)+got]
		if err != nil {
			return 0, nil, fmt.Errorf("read frame payload: %w", err)
		}
	}
	return kind, buf, nil
}
