package ensembletest

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Relay is a TCP relay between clients and a server that a test can break
// the way networks and processes break: SetDown drops every connection
// and refuses new ones (a partition, or a killed client whose session the
// server must time out), and LoseReply lets one create through to the
// server but never its reply (a connection lost at the worst moment).
type Relay struct {
	ln     net.Listener
	target string
	lose   atomic.Value // string: LoseReply's text; "" when disarmed
	lost   atomic.Int32
	wg     sync.WaitGroup

	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

// NewRelay starts a relay to addr on a free 127.0.0.1 port; it is closed
// when the test ends.
func NewRelay(t testing.TB, addr string) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{ln: ln, target: addr}
	r.lose.Store("")
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(func() { ln.Close(); r.SetDown(true); r.wg.Wait() })
	return r
}

// Addr is the address for clients to dial instead of the server's.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// SetDown(true) drops every relayed connection and refuses new ones until
// SetDown(false).
func (r *Relay) SetDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
	if down {
		for _, c := range r.conns {
			c.Close()
		}
		r.conns = nil
	}
}

// LoseReply arms the relay for the next create request (create, create2,
// createContainer or createTTL) whose bytes hold text: it passes the
// request on, drops whatever the server sends back on that connection
// from then on, and closes the connection once the server has had time to
// apply it. The client sees the connection drop with its create
// unanswered, although the node exists.
func (r *Relay) LoseReply(text string) { r.lose.Store(text) }

// Lost counts the replies LoseReply dropped.
func (r *Relay) Lost() int { return int(r.lost.Load()) }

func (r *Relay) accept() {
	defer r.wg.Done()
	for {
		in, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.down {
			r.mu.Unlock()
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", r.target)
		if err != nil {
			r.mu.Unlock()
			in.Close()
			continue
		}
		r.conns = append(r.conns, in, out)
		r.mu.Unlock()
		var deaf atomic.Bool // set once a reply is to be lost
		r.wg.Add(2)
		go func() { defer r.wg.Done(); r.downstream(in, out, &deaf); in.Close() }()
		go func() { defer r.wg.Done(); r.upstream(in, out, &deaf); out.Close() }()
	}
}

// createOps are the opcodes of the create requests.
var createOps = []uint32{1, 15, 19, 21}

// upstream copies the client's frames to the server, watching for the
// create LoseReply is armed for.
func (r *Relay) upstream(in, out net.Conn, deaf *atomic.Bool) {
	for first := true; ; first = false {
		frame, err := readFrame(in)
		if err != nil {
			return
		}
		// The first frame is the connect request, which has no opcode.
		text := r.lose.Load().(string)
		lose := !first && text != "" && len(frame) >= 12 &&
			slices.Contains(createOps, binary.BigEndian.Uint32(frame[8:12])) &&
			bytes.Contains(frame, []byte(text)) && r.lose.CompareAndSwap(text, "")
		if lose {
			deaf.Store(true) // before the server can answer
		}
		if _, err := out.Write(frame); err != nil {
			return
		}
		if lose {
			time.Sleep(200 * time.Millisecond) // the server applies it
			r.lost.Add(1)
			in.Close()
			return
		}
	}
}

// downstream copies the server's frames to the client until it is deaf.
func (r *Relay) downstream(in, out net.Conn, deaf *atomic.Bool) {
	for {
		frame, err := readFrame(out)
		if err != nil || deaf.Load() {
			return
		}
		if _, err := in.Write(frame); err != nil {
			return
		}
	}
}

// readFrame reads one length-prefixed frame, its length included.
func readFrame(c net.Conn) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	frame := make([]byte, 4+int(binary.BigEndian.Uint32(size[:])))
	copy(frame, size[:])
	_, err := io.ReadFull(c, frame[4:])
	return frame, err
}
