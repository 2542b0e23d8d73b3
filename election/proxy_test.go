package election_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zookit/zookit/election"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/lock/locktest"
)

// cutProxy forwards client connections to a server. While armed, it
// forwards the first create request whose path contains the armed text,
// lets the server apply it, and cuts the connection before the reply can
// reach the client: the create succeeded, its reply is lost.
type cutProxy struct {
	ln     net.Listener
	target string
	armed  atomic.Value // string; "" when disarmed
	cuts   atomic.Int32
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	p.armed.Store("")
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *cutProxy) Addr() string { return p.ln.Addr().String() }

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(in, out); in.Close() }()
		go func() { defer p.wg.Done(); p.upstream(in, out); out.Close() }()
	}
}

// upstream copies client frames to the server, watching for the armed
// create (opcode 1) after the connect request.
func (p *cutProxy) upstream(in, out net.Conn) {
	first := true
	for {
		var n [4]byte
		if _, err := io.ReadFull(in, n[:]); err != nil {
			return
		}
		frame := make([]byte, binary.BigEndian.Uint32(n[:]))
		if _, err := io.ReadFull(in, frame); err != nil {
			return
		}
		if _, err := out.Write(append(n[:], frame...)); err != nil {
			return
		}
		want := p.armed.Load().(string)
		if !first && want != "" && len(frame) >= 8 && binary.BigEndian.Uint32(frame[4:8]) == 1 &&
			bytes.Contains(frame, []byte(want)) && p.armed.CompareAndSwap(want, "") {
			time.Sleep(200 * time.Millisecond) // the server applies the create
			p.cuts.Add(1)
			in.Close()
			return
		}
		first = false
	}
}

// CURATOR-504-style: the latch's create reaches the server but its reply is
// lost with the connection. The latch must adopt the node it made (one node,
// no orphan) and lead on it.
func TestLatchCreateReplyLost(t *testing.T) {
	srv := ensembletest.Start(t)
	proxy := startProxy(t, srv.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), locktest.Guard)
	defer cancel()
	c := locktest.Connect(t, proxy.Addr())
	proxy.armed.Store("latch-")
	l := election.NewLeaderLatch(c, "/lost", "me", election.WithSuspendTolerance(time.Hour))
	defer l.Close(ctx, election.Silent)
	term, err := l.Await(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if proxy.cuts.Load() != 1 {
		t.Fatalf("%d cuts; the create reply was never lost", proxy.cuts.Load())
	}
	kids, err := c.Children(ctx, "/lost")
	if err != nil || len(kids) != 1 || "/lost/"+kids[0] != term.Path() {
		t.Fatalf("children %v (%v), term at %s: want the one adopted node", kids, err, term.Path())
	}
}
