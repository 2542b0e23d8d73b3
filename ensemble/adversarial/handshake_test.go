package adversarial

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
)

// handshakeDeadline is the longest session timeout the half-open replay
// configures: a client must finish its handshake within it (or within 10
// s, if longer).
const handshakeDeadline = 10 * time.Second

// shortHandshake configures the handshake deadline of the half-open
// replay, so that it can wait for the deadline in seconds.
func shortHandshake(*testing.T, *scene) []ensembletest.Option {
	return []ensembletest.Option{ensembletest.WithConfig(func(cfg *config.Config) { cfg.MaxSessionTimeout = handshakeDeadline })}
}

// halfOpenHandshakes: the attacker fills its share of connections
// (maxClientCnxns from one address) with handshakes it never finishes.
// One more from its address is closed at once; clients from elsewhere
// still connect; and the half-open ones are closed by the handshake
// deadline.
func halfOpenHandshakes(t *testing.T, sc *scene) {
	limit := sc.victim.Config().MaxClientCnxns
	partial := proto.AppendFrame(nil, connectRequest())[:10]
	began := time.Now()
	var half []net.Conn
	for range limit {
		nc := dialFrom(t, attackerIP, sc.victim.Addr())
		if _, err := nc.Write(partial); err != nil {
			t.Fatal(err)
		}
		half = append(half, nc)
	}
	// The server counts a connection when it accepts it; give it time to
	// accept them all before the one over the cap.
	time.Sleep(100 * time.Millisecond)
	if got := handshake(dialFrom(t, attackerIP, sc.victim.Addr())); !refused(got) {
		t.Errorf("connection %d from one address while %d handshakes are pending: %v, want it closed", limit+1, limit, got)
	}
	requireUp(t, sc.victim)
	for _, nc := range half {
		requireClosed(t, nc, handshakeDeadline+5*time.Second-time.Since(began))
	}
	if waited := time.Since(began); waited < handshakeDeadline/2 {
		t.Errorf("half-open handshakes closed after %v, before their deadline", waited)
	}
}

// handshake sends a connect request on nc and reads the response: nil
// when the server opened a session.
func handshake(nc net.Conn) error {
	nc.SetDeadline(time.Now().Add(waitLimit))
	if _, err := nc.Write(proto.AppendFrame(nil, connectRequest())); err != nil {
		return err
	}
	frame, err := proto.ReadFrame(nc, nil, proto.DefaultMaxBuffer)
	if err != nil {
		return err
	}
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(frame, &resp); err != nil {
		return err
	}
	if resp.SessionID == 0 {
		return errors.New("no session")
	}
	return nil
}

// handshakeFlood: hundreds of handshakes at once from one address, each
// connection kept open. At most maxClientCnxns get a session; the rest are
// closed; everyone else keeps working.
func handshakeFlood(t *testing.T, sc *scene) {
	const n = 300
	limit := sc.victim.Config().MaxClientCnxns
	d := dialer(attackerIP)
	var mu sync.Mutex
	var conns []net.Conn
	sessions, closed := 0, 0
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			nc, err := d.Dial("tcp", sc.victim.Addr())
			if err == nil {
				err = handshake(nc)
			}
			mu.Lock()
			defer mu.Unlock()
			if nc != nil {
				conns = append(conns, nc)
			}
			switch {
			case err == nil:
				sessions++
			case refused(err) || errors.Is(err, io.EOF):
				closed++
			default:
				t.Errorf("flood handshake: %v", err)
			}
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, nc := range conns {
			nc.Close()
		}
	})
	t.Logf("handshake flood: %d sessions, %d closed", sessions, closed)
	if sessions > limit || sessions+closed != n {
		t.Errorf("%d handshakes from one address: %d sessions, %d closed; want at most %d sessions", n, sessions, closed, limit)
	}
	requireUp(t, sc.victim)
}
