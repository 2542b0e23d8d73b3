package queue_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/zookit/zookit/queue"
)

// The bytes Curator's ItemSerializer writes for "ab" and an empty message.
var curatorItem = []byte{0, 1, 0, 1, 1, 0, 0, 0, 2, 'a', 'b', 1, 0, 0, 0, 0, 2}

func TestItemRoundTrip(t *testing.T) {
	if got := queue.EncodeItem([]byte("ab"), nil); !bytes.Equal(got, curatorItem) {
		t.Fatalf("encoded % x, want % x", got, curatorItem)
	}
	for _, msgs := range [][][]byte{nil, {{}}, {[]byte("x")}, {[]byte("a"), bytes.Repeat([]byte{0xff}, 1000), {}}} {
		got, err := queue.DecodeItem(queue.EncodeItem(msgs...))
		if err != nil || !slices.EqualFunc(got, msgs, bytes.Equal) {
			t.Fatalf("round trip of %q: %q, %v", msgs, got, err)
		}
	}
}

func TestDecodeItemBad(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{0, 1, 0},
		{0, 1, 0, 2, 2},                  // version
		{0, 1, 0, 1},                     // no end
		{0, 1, 0, 1, 3},                  // opcode
		{0, 1, 0, 1, 1, 0, 0},            // length cut
		{0, 1, 0, 1, 1, 0xff, 0, 0, 0},   // negative length
		{0, 1, 0, 1, 1, 0, 0, 0, 9, 'a'}, // length past the end
		{0, 1, 0, 1, 1, 0, 0, 0, 1, 'a'}, // no end after a message
	} {
		if msgs, err := queue.DecodeItem(b); !errors.Is(err, queue.ErrBadItem) {
			t.Errorf("decode % x: %q, %v; want ErrBadItem", b, msgs, err)
		}
	}
}

// FuzzDecodeItem: any input decodes or fails with ErrBadItem, never
// panics, and what decodes encodes back to a prefix of the input.
func FuzzDecodeItem(f *testing.F) {
	f.Add(curatorItem)
	f.Add([]byte{0, 1, 0, 1, 2})
	f.Add([]byte{0, 1, 0, 1, 1, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := queue.DecodeItem(b)
		if err != nil {
			if !errors.Is(err, queue.ErrBadItem) {
				t.Fatalf("error %v is not ErrBadItem", err)
			}
			return
		}
		if enc := queue.EncodeItem(msgs...); !bytes.HasPrefix(b, enc) {
			t.Fatalf("% x decodes to %q, which encodes to % x", b, msgs, enc)
		}
	})
}
