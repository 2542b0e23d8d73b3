package adversarial

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/internal/zkwire"
)

// attackerIP is the address attackers connect from. All of 127.0.0.0/8 is
// loopback on Linux, so the servers, which listen on 127.0.0.1 only, see
// the attacker as another host: the per-address caps (maxClientCnxns, the
// quorum port's pending connections) count it apart from the bystander and
// the checks, which connect from 127.0.0.1.
const attackerIP = "127.0.0.2"

// dialer connects from the local address ip.
func dialer(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
}

// dialFrom opens a TCP connection to addr from the local address ip; the
// test closes it when it ends.
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	nc, err := dialer(ip).Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// attackerClient is a zkwire client connecting from attackerIP.
func attackerClient(t *testing.T, addr string) *zkwire.Client {
	t.Helper()
	d := dialer(attackerIP)
	c, err := zkwire.New(addr, zkwire.Config{
		SessionTimeout: 10 * time.Second,
		Dial: func(ctx context.Context, a string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", a)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		// The client's owner must drain its events; most attackers
		// never look at them.
		for range c.Events() {
		}
	})
	if err := c.WaitConnected(opCtx(t)); err != nil {
		t.Fatal(err)
	}
	return c
}

// opCtx bounds a replay's requests, so that a server that never answers
// fails the test instead of hanging it.
func opCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// raw is a ZooKeeper session spoken frame by frame, for what a well-behaved
// client never sends: pipelines it never reads, setWatches at will,
// handshakes it never finishes.
type raw struct {
	nc  net.Conn
	xid int32
}

// rawSession connects from attackerIP and completes the handshake.
func rawSession(t *testing.T, addr string) *raw {
	t.Helper()
	r := &raw{nc: dialFrom(t, attackerIP, addr)}
	if err := r.write(proto.AppendFrame(nil, connectRequest())); err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	var resp proto.ConnectResponse
	frame, err := r.readFrame(proto.DefaultMaxBuffer)
	if err == nil {
		err = proto.Unmarshal(frame, &resp)
	}
	if err != nil || resp.SessionID == 0 {
		t.Fatalf("handshake with %s: %v (session %#x)", addr, err, resp.SessionID)
	}
	return r
}

func connectRequest() *proto.ConnectRequest {
	return &proto.ConnectRequest{Timeout: 10000, Passwd: make([]byte, 16), HasReadOnly: true}
}

func (r *raw) write(b []byte) error {
	r.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := r.nc.Write(b)
	return err
}

// frame is one request frame with the next xid, which it returns.
func (r *raw) frame(op proto.Op, req proto.Record) ([]byte, int32) {
	r.xid++
	return proto.AppendFrame(nil, &proto.RequestHeader{Xid: r.xid, Type: op}, req), r.xid
}

func (r *raw) readFrame(limit int) ([]byte, error) {
	r.nc.SetReadDeadline(time.Now().Add(waitLimit))
	return proto.ReadFrame(r.nc, nil, limit)
}

// call sends one request and reads until its reply, decoding the body into
// resp and returning the watch events that arrived before it. A reply with
// an error code returns that code.
func (r *raw) call(op proto.Op, req, resp proto.Record) ([]proto.WatcherEvent, error) {
	b, xid := r.frame(op, req)
	if err := r.write(b); err != nil {
		return nil, err
	}
	return r.await(xid, resp)
}

// await reads frames until the reply to xid.
func (r *raw) await(xid int32, resp proto.Record) ([]proto.WatcherEvent, error) {
	var events []proto.WatcherEvent
	for {
		frame, err := r.readFrame(proto.DefaultMaxBuffer)
		if err != nil {
			return events, err
		}
		d := proto.NewDecoder(frame)
		var h proto.ReplyHeader
		h.Decode(d)
		switch {
		case d.Err() != nil:
			return events, d.Err()
		case h.Xid == proto.XidNotification:
			var ev proto.WatcherEvent
			ev.Decode(d)
			events = append(events, ev)
		case h.Xid == xid:
			if h.Err != proto.OK {
				return events, h.Err
			}
			if resp != nil {
				resp.Decode(d)
			}
			return events, d.Err()
		case h.Xid < 0:
			// pings and other replies without a caller
		default:
			return events, fmt.Errorf("reply to xid %d while waiting for %d", h.Xid, xid)
		}
	}
}

// refused reports whether err is what an attacker should get: an error
// reply from the server, or a connection it closed or reset.
func refused(err error) bool {
	var code proto.Code
	var ne net.Error
	var big *proto.FrameTooLargeError
	switch {
	case err == nil:
		return false
	case errors.As(err, &big):
		// The server sent a frame above jute.maxbuffer: it did not refuse.
		return false
	case errors.As(err, &code):
		return code != proto.OK
	case errors.As(err, &ne) && ne.Timeout():
		// A read deadline passing is silence, not a refusal.
		return false
	}
	return true
}
