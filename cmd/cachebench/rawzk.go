package main

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/zookit/zookit/ensemble/proto"
)

// addWatchRecursive is AddWatchMode.PERSISTENT_RECURSIVE.
const addWatchRecursive = 1

// Reply xids that are not requests.
const (
	xidWatch = -1
	xidPing  = -2
)

// rawConn is the least of a ZooKeeper client that the persistent recursive
// side of the benchmark needs, since go-zk has no addWatch: a session, a
// ping loop, pipelined requests and a stream of watch events. It does not
// reconnect.
type rawConn struct {
	conn net.Conn
	w    *bufio.Writer
	wmu  sync.Mutex
	done chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	xid     int32
	pending map[int32]*call
	err     error

	// Watch events queue without bound: the reader must never wait for
	// the consumer, whose getData replies it also reads.
	evMu   sync.Mutex
	evQ    []proto.WatcherEvent
	evWake chan struct{}
}

type call struct {
	resp proto.Record
	done chan error
}

// dialRaw opens a session on addr.
func dialRaw(addr string, timeout time.Duration) (*rawConn, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	req := &proto.ConnectRequest{Timeout: int32(timeout / time.Millisecond), Passwd: make([]byte, 16), HasReadOnly: true}
	if _, err := conn.Write(proto.AppendFrame(nil, req)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	r := bufio.NewReaderSize(conn, 1<<16)
	frame, err := proto.ReadFrame(r, nil, 1<<20)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(frame, &resp); err != nil || resp.SessionID == 0 {
		conn.Close()
		return nil, fmt.Errorf("handshake refused (session %x): %v", resp.SessionID, err)
	}
	c := &rawConn{
		conn:    conn,
		w:       bufio.NewWriter(conn),
		evWake:  make(chan struct{}, 1),
		done:    make(chan struct{}),
		pending: map[int32]*call{},
	}
	c.wg.Add(2)
	go c.readLoop(r)
	go c.pingLoop(time.Duration(resp.Timeout) * time.Millisecond / 3)
	return c, nil
}

func (c *rawConn) close() {
	c.mu.Lock()
	c.xid++
	xid := c.xid
	c.mu.Unlock()
	c.send(&proto.RequestHeader{Xid: xid, Type: proto.OpCloseSession})
	close(c.done)
	c.conn.Close()
	c.wg.Wait()
}

func (c *rawConn) send(recs ...proto.Record) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.w.Write(proto.AppendFrame(nil, recs...)); err != nil {
		return err
	}
	return c.w.Flush()
}

// do sends a request and waits for its reply, decoded into resp.
func (c *rawConn) do(op proto.Op, req, resp proto.Record) error {
	cl := &call{resp: resp, done: make(chan error, 1)}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.xid++
	xid := c.xid
	c.pending[xid] = cl
	// Sent under mu so that requests reach the server in xid order, as
	// ZooKeeper requires of a session.
	err := c.send(&proto.RequestHeader{Xid: xid, Type: op}, req)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%v: %w", op, err)
	}
	return <-cl.done
}

// nextEvents waits for watch events and returns those queued; nil after
// close.
func (c *rawConn) nextEvents() []proto.WatcherEvent {
	for {
		c.evMu.Lock()
		q := c.evQ
		c.evQ = nil
		c.evMu.Unlock()
		if len(q) > 0 {
			return q
		}
		select {
		case <-c.evWake:
		case <-c.done:
			return nil
		}
	}
}

func (c *rawConn) addWatch(path string, mode int32) error {
	return c.do(proto.OpAddWatch, &proto.PathInt{Path: path, N: mode}, &proto.Empty{})
}

func (c *rawConn) getData(path string) ([]byte, proto.Stat, error) {
	var r proto.GetDataResponse
	err := c.do(proto.OpGetData, &proto.PathWatch{Path: path}, &r)
	return r.Data, r.Stat, err
}

func (c *rawConn) children(path string) ([]string, error) {
	var r proto.ChildrenResponse
	err := c.do(proto.OpGetChildren, &proto.PathWatch{Path: path}, &r)
	return r.Children, err
}

func (c *rawConn) readLoop(r *bufio.Reader) {
	defer c.wg.Done()
	var buf []byte
	for {
		frame, err := proto.ReadFrame(r, buf, 1<<24)
		if err != nil {
			c.fail(fmt.Errorf("read: %w", err))
			return
		}
		buf = frame
		d := proto.NewDecoder(frame)
		var h proto.ReplyHeader
		h.Decode(d)
		switch h.Xid {
		case xidPing:
			continue
		case xidWatch:
			var ev proto.WatcherEvent
			ev.Decode(d)
			c.evMu.Lock()
			c.evQ = append(c.evQ, ev)
			c.evMu.Unlock()
			select {
			case c.evWake <- struct{}{}:
			default:
			}
			continue
		}
		c.mu.Lock()
		cl := c.pending[h.Xid]
		delete(c.pending, h.Xid)
		c.mu.Unlock()
		if cl == nil {
			continue
		}
		if h.Err != 0 {
			cl.done <- h.Err
			continue
		}
		cl.resp.Decode(d)
		cl.done <- d.Err()
	}
}

// fail ends every pending call with err.
func (c *rawConn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
	for xid, cl := range c.pending {
		cl.done <- err
		delete(c.pending, xid)
	}
}

func (c *rawConn) pingLoop(every time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.send(&proto.RequestHeader{Xid: xidPing, Type: proto.OpPing})
		case <-c.done:
			return
		}
	}
}
