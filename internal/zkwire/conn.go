package zkwire

import (
	"bufio"
	"net"
	"sync"
	"time"

	"github.com/zookit/zookit/ensemble/proto"
)

// request is one outgoing packet and, for ordinary xids, the call waiting
// for its reply.
type request struct {
	xid  int32
	op   proto.Op
	body proto.Record
	resp proto.Record // decoded from a successful reply; nil if none
	// onReply runs in the reader, before any later frame is handled, so a
	// watch is recorded before an event for it can arrive.
	onReply func(proto.Code)
	done    chan error
}

// conn is one server connection: a writer goroutine drains out, the reader
// matches replies to pending by xid.
type conn struct {
	nc net.Conn
	r  *bufio.Reader

	mu      sync.Mutex
	out     []*request
	pending map[int32]*request
	auths   []chan error // waiters for auth replies, in send order; nil for replays
	err     error        // once set, nothing more is queued
	wake    chan struct{}
}

func newConn(nc net.Conn, r *bufio.Reader) *conn {
	return &conn{nc: nc, r: r, pending: map[int32]*request{}, wake: make(chan struct{}, 1)}
}

// enqueue queues rq for the writer; false if the connection already failed.
func (cn *conn) enqueue(rq *request) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.err != nil {
		return false
	}
	if rq.done != nil {
		cn.pending[rq.xid] = rq
	}
	cn.out = append(cn.out, rq)
	select {
	case cn.wake <- struct{}{}:
	default:
	}
	return true
}

func (cn *conn) enqueueAuth(a proto.AuthPacket, waiter chan error) bool {
	cn.mu.Lock()
	if cn.err != nil {
		cn.mu.Unlock()
		return false
	}
	cn.auths = append(cn.auths, waiter)
	cn.mu.Unlock()
	return cn.enqueue(&request{xid: proto.XidAuth, op: proto.OpAuth, body: &a})
}

func (cn *conn) popAuth() (chan error, bool) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if len(cn.auths) == 0 {
		return nil, false
	}
	w := cn.auths[0]
	cn.auths = cn.auths[1:]
	return w, true
}

func (cn *conn) take(xid int32) *request {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	rq := cn.pending[xid]
	delete(cn.pending, xid)
	return rq
}

// fail ends every call still waiting on this connection with err.
func (cn *conn) fail(err error) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.err == nil {
		cn.err = err
	}
	for xid, rq := range cn.pending {
		rq.done <- err
		delete(cn.pending, xid)
	}
	for _, w := range cn.auths {
		if w != nil {
			w <- err
		}
	}
	cn.auths, cn.out = nil, nil
}

// writeLoop sends queued requests in order and a ping whenever nothing was
// sent for pingEvery. It returns when a write fails, the client stops or
// the reader has given the connection up.
func (cn *conn) writeLoop(pingEvery time.Duration, stop, readerDone <-chan struct{}) {
	w := bufio.NewWriterSize(cn.nc, 64<<10)
	ping := time.NewTimer(pingEvery)
	defer ping.Stop()
	var frame []byte
	for {
		cn.mu.Lock()
		batch := cn.out
		cn.out = nil
		cn.mu.Unlock()
		if len(batch) == 0 {
			select {
			case <-cn.wake:
				continue
			case <-ping.C:
				batch = []*request{{xid: proto.XidPing, op: proto.OpPing, body: &proto.Empty{}}}
			case <-stop:
				return
			case <-readerDone:
				return
			}
		}
		for _, rq := range batch {
			frame = proto.AppendFrame(frame[:0], &proto.RequestHeader{Xid: rq.xid, Type: rq.op}, rq.body)
			if _, err := w.Write(frame); err != nil {
				return
			}
		}
		if err := w.Flush(); err != nil {
			return
		}
		ping.Reset(pingEvery)
	}
}
