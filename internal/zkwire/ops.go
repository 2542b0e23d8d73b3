package zkwire

import (
	"context"
	"fmt"

	"github.com/zookit/zookit/ensemble/proto"
)

// OpError is a request that failed with a ZooKeeper error code, from the
// server or (CONNECTIONLOSS, SESSIONEXPIRED) from the client. It unwraps to
// the proto.Code, so errors.Is(err, proto.ErrNoNode) works.
type OpError struct {
	Op   proto.Op
	Path string // as the caller gave it; "" for requests without one
	Code proto.Code
}

func (e *OpError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("zkwire: %v: %v", e.Op, e.Code)
	}
	return fmt.Sprintf("zkwire: %v %s: %v", e.Op, e.Path, e.Code)
}

func (e *OpError) Unwrap() error { return e.Code }

// ConfigNode is where the ensemble publishes its dynamic configuration. It
// is never under a chroot.
const ConfigNode = "/zookeeper/config"

// call sends one request on the current connection, waiting for one if the
// client is between connections, and waits for the reply.
func (c *Client) call(ctx context.Context, op proto.Op, path string, body, resp proto.Record, onReply func(proto.Code)) error {
	cn, err := c.connection(ctx)
	if err != nil {
		if oe, ok := err.(*OpError); ok {
			return &OpError{Op: op, Path: path, Code: oe.Code}
		}
		return err
	}
	return c.roundTrip(ctx, cn, op, path, body, resp, onReply)
}

func (c *Client) roundTrip(ctx context.Context, cn *conn, op proto.Op, path string, body, resp proto.Record, onReply func(proto.Code)) error {
	c.mu.Lock()
	c.xid++
	rq := &request{xid: c.xid, op: op, body: body, resp: resp, onReply: onReply, done: make(chan error, 1)}
	c.mu.Unlock()
	if !cn.enqueue(rq) {
		return &OpError{Op: op, Path: path, Code: proto.ErrConnectionLoss}
	}
	select {
	case err := <-rq.done:
		if err == nil {
			return nil
		}
		if code, ok := err.(proto.Code); ok {
			return &OpError{Op: op, Path: path, Code: code}
		}
		if oe, ok := err.(*OpError); ok {
			return &OpError{Op: op, Path: path, Code: oe.Code}
		}
		return fmt.Errorf("%v %s: %w", op, path, err)
	case <-ctx.Done():
		return fmt.Errorf("%v %s: %w", op, path, ctx.Err())
	}
}

// Create modes (CreateMode), the flags of Create.
const (
	Persistent                  int32 = 0
	Ephemeral                   int32 = 1
	PersistentSequential        int32 = 2
	EphemeralSequential         int32 = 3
	Container                   int32 = 4
	PersistentWithTTL           int32 = 5
	PersistentSequentialWithTTL int32 = 6
)

// OpenACL is world:anyone with every permission (Ids.OPEN_ACL_UNSAFE).
var OpenACL = []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "anyone"}}}

// Create makes a znode with the given mode; ttl is used by the TTL modes
// only. It returns the path created (with its sequence suffix) and its
// Stat.
func (c *Client) Create(ctx context.Context, path string, data []byte, acl []proto.ACL, mode int32, ttl int64) (string, proto.Stat, error) {
	check := path
	if mode == PersistentSequential || mode == EphemeralSequential || mode == PersistentSequentialWithTTL {
		check += "1"
	}
	if err := ValidatePath(check); err != nil {
		return "", proto.Stat{}, err
	}
	req := &proto.CreateRequest{Path: c.serverPath(path), Data: data, ACL: acl, Flags: mode}
	op := proto.OpCreate2
	switch mode {
	case Container:
		op = proto.OpCreateContainer
	case PersistentWithTTL, PersistentSequentialWithTTL:
		op, req.TTL, req.HasTTL = proto.OpCreateTTL, ttl, true
	}
	var resp proto.Create2Response
	if err := c.call(ctx, op, path, req, &resp, nil); err != nil {
		return "", proto.Stat{}, err
	}
	return c.clientPath(resp.Path), resp.Stat, nil
}

// Delete removes a znode if its version matches (-1: any).
func (c *Client) Delete(ctx context.Context, path string, version int32) error {
	if err := ValidatePath(path); err != nil {
		return err
	}
	return c.call(ctx, proto.OpDelete, path, &proto.PathInt{Path: c.serverPath(path), N: version}, nil, nil)
}

// DeleteAll deletes paths, in order, in one multi: all or none. A failure
// names the first path that failed.
func (c *Client) DeleteAll(ctx context.Context, paths []string) error {
	req := &proto.MultiRequest{}
	for _, p := range paths {
		if err := ValidatePath(p); err != nil {
			return err
		}
		req.Ops = append(req.Ops, proto.MultiOp{Op: proto.OpDelete, Req: &proto.PathInt{Path: c.serverPath(p), N: -1}})
	}
	var resp proto.MultiResponse
	if err := c.call(ctx, proto.OpMulti, "", req, &resp, nil); err != nil {
		return err
	}
	for i, r := range resp.Results {
		if r.Op == proto.OpError && r.Err != proto.OK && i < len(paths) {
			return &OpError{Op: proto.OpDelete, Path: paths[i], Code: r.Err}
		}
	}
	return nil
}

// Exists returns a znode's Stat. With watch set, a watch is left whether or
// not the node exists.
func (c *Client) Exists(ctx context.Context, path string, watch bool) (proto.Stat, error) {
	if err := ValidatePath(path); err != nil {
		return proto.Stat{}, err
	}
	sp := c.serverPath(path)
	var resp proto.StatResponse
	err := c.call(ctx, proto.OpExists, path, &proto.PathWatch{Path: sp, Watch: watch}, &resp, c.register(watch, func(code proto.Code) map[string]bool {
		switch code {
		case proto.OK:
			return c.watches.data
		case proto.ErrNoNode:
			return c.watches.exist
		}
		return nil
	}, sp))
	return resp.Stat, err
}

// register returns the reply hook that records a watch in the set pick
// chooses for the reply's code, or nil when no watch was asked for.
func (c *Client) register(watch bool, pick func(proto.Code) map[string]bool, serverPath string) func(proto.Code) {
	if !watch {
		return nil
	}
	return func(code proto.Code) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if m := pick(code); m != nil {
			m[serverPath] = true
		}
	}
}

func (c *Client) onOK(m func() map[string]bool) func(proto.Code) map[string]bool {
	return func(code proto.Code) map[string]bool {
		if code == proto.OK {
			return m()
		}
		return nil
	}
}

// Get returns a znode's data and Stat, leaving a data watch if asked.
func (c *Client) Get(ctx context.Context, path string, watch bool) ([]byte, proto.Stat, error) {
	if err := ValidatePath(path); err != nil {
		return nil, proto.Stat{}, err
	}
	return c.getData(ctx, path, c.serverPath(path), watch)
}

func (c *Client) getData(ctx context.Context, path, sp string, watch bool) ([]byte, proto.Stat, error) {
	var resp proto.GetDataResponse
	err := c.call(ctx, proto.OpGetData, path, &proto.PathWatch{Path: sp, Watch: watch}, &resp,
		c.register(watch, c.onOK(func() map[string]bool { return c.watches.data }), sp))
	return resp.Data, resp.Stat, err
}

// Set replaces a znode's data if its version matches (-1: any).
func (c *Client) Set(ctx context.Context, path string, data []byte, version int32) (proto.Stat, error) {
	if err := ValidatePath(path); err != nil {
		return proto.Stat{}, err
	}
	var resp proto.StatResponse
	err := c.call(ctx, proto.OpSetData, path, &proto.SetDataRequest{Path: c.serverPath(path), Data: data, Version: version}, &resp, nil)
	return resp.Stat, err
}

// Children returns a znode's children (in the server's order) and its Stat,
// leaving a child watch if asked.
func (c *Client) Children(ctx context.Context, path string, watch bool) ([]string, proto.Stat, error) {
	if err := ValidatePath(path); err != nil {
		return nil, proto.Stat{}, err
	}
	sp := c.serverPath(path)
	resp := proto.ChildrenResponse{WithStat: true}
	err := c.call(ctx, proto.OpGetChildren2, path, &proto.PathWatch{Path: sp, Watch: watch}, &resp,
		c.register(watch, c.onOK(func() map[string]bool { return c.watches.child }), sp))
	return resp.Children, resp.Stat, err
}

// GetACL returns a znode's ACL and Stat.
func (c *Client) GetACL(ctx context.Context, path string) ([]proto.ACL, proto.Stat, error) {
	if err := ValidatePath(path); err != nil {
		return nil, proto.Stat{}, err
	}
	var resp proto.GetACLResponse
	err := c.call(ctx, proto.OpGetACL, path, &proto.PathRequest{Path: c.serverPath(path)}, &resp, nil)
	return resp.ACL, resp.Stat, err
}

// SetACL replaces a znode's ACL if its ACL version matches (-1: any).
func (c *Client) SetACL(ctx context.Context, path string, acl []proto.ACL, version int32) (proto.Stat, error) {
	if err := ValidatePath(path); err != nil {
		return proto.Stat{}, err
	}
	var resp proto.StatResponse
	err := c.call(ctx, proto.OpSetACL, path, &proto.SetACLRequest{Path: c.serverPath(path), ACL: acl, Version: version}, &resp, nil)
	return resp.Stat, err
}

// Sync waits until the connected server has caught up with the leader.
func (c *Client) Sync(ctx context.Context, path string) error {
	if err := ValidatePath(path); err != nil {
		return err
	}
	return c.call(ctx, proto.OpSync, path, &proto.PathRequest{Path: c.serverPath(path)}, &proto.PathRequest{}, nil)
}

// AddAuth authenticates the session with scheme and auth, and replays the
// pair on every later connection. A refusal ends the session with state
// AuthFailed, as the server closes the connection.
func (c *Client) AddAuth(ctx context.Context, scheme string, auth []byte) error {
	cn, err := c.connection(ctx)
	if err != nil {
		return err
	}
	a := proto.AuthPacket{Scheme: scheme, Auth: auth}
	waiter := make(chan error, 1)
	if !cn.enqueueAuth(a, waiter) {
		return &OpError{Op: proto.OpAuth, Code: proto.ErrConnectionLoss}
	}
	select {
	case err := <-waiter:
		if err != nil {
			if code, ok := err.(proto.Code); ok {
				return &OpError{Op: proto.OpAuth, Code: code}
			}
			return err
		}
	case <-ctx.Done():
		return fmt.Errorf("auth: %w", ctx.Err())
	}
	c.mu.Lock()
	c.auths = append(c.auths, a)
	c.mu.Unlock()
	return nil
}

// WhoAmI lists the identities the server holds for this connection.
func (c *Client) WhoAmI(ctx context.Context) ([]proto.ID, error) {
	var resp proto.WhoAmIResponse
	err := c.call(ctx, proto.OpWhoAmI, "", &proto.Empty{}, &resp, nil)
	return resp.ClientInfo, err
}

// Ephemerals lists the session's ephemeral nodes under prefix, as full
// server paths (as Java's client returns them).
func (c *Client) Ephemerals(ctx context.Context, prefix string) ([]string, error) {
	if err := ValidatePath(prefix); err != nil {
		return nil, err
	}
	var resp proto.ChildrenResponse
	err := c.call(ctx, proto.OpGetEphemerals, prefix, &proto.PathRequest{Path: c.serverPath(prefix)}, &resp, nil)
	return resp.Children, err
}

// AllChildrenNumber counts every descendant of path.
func (c *Client) AllChildrenNumber(ctx context.Context, path string) (int32, error) {
	if err := ValidatePath(path); err != nil {
		return 0, err
	}
	var resp proto.IntResponse
	err := c.call(ctx, proto.OpGetAllChildrenNumber, path, &proto.PathRequest{Path: c.serverPath(path)}, &resp, nil)
	return resp.N, err
}

// AddWatch sets a persistent or persistent-recursive watch on path.
func (c *Client) AddWatch(ctx context.Context, path string, mode AddWatchMode) error {
	if err := ValidatePath(path); err != nil {
		return err
	}
	sp := c.serverPath(path)
	return c.call(ctx, proto.OpAddWatch, path, &proto.PathInt{Path: sp, N: int32(mode)}, &proto.IntResponse{},
		c.register(true, c.onOK(func() map[string]bool {
			if mode == AddWatchPersistentRecursive {
				return c.watches.recursive
			}
			return c.watches.persistent
		}), sp))
}

// RemoveWatches removes the session's watches of type t on path, on the
// server and here, and delivers a removal event for each kind removed. With
// local set the watches are dropped here even if the server cannot be
// told (it is unreachable, or no longer has them).
func (c *Client) RemoveWatches(ctx context.Context, path string, t WatcherType, local bool) error {
	return c.removeWatches(ctx, proto.OpRemoveWatches, path, t, local)
}

// CheckWatches asks whether the server holds watches of type t on path;
// ErrNoWatcher if not.
func (c *Client) CheckWatches(ctx context.Context, path string, t WatcherType) error {
	if err := ValidatePath(path); err != nil {
		return err
	}
	return c.call(ctx, proto.OpCheckWatches, path, &proto.PathInt{Path: c.serverPath(path), N: int32(t)}, nil, nil)
}

func (c *Client) removeWatches(ctx context.Context, op proto.Op, path string, t WatcherType, local bool) error {
	if err := ValidatePath(path); err != nil {
		return err
	}
	sp := c.serverPath(path)
	err := c.call(ctx, op, path, &proto.PathInt{Path: sp, N: int32(t)}, nil, nil)
	if err != nil && !local {
		return err
	}
	c.mu.Lock()
	evs := c.watches.remove(sp, t)
	c.mu.Unlock()
	for _, e := range evs {
		c.events.push(Event{Type: e, State: StateSyncConnected, Path: path})
	}
	if local && len(evs) > 0 {
		return nil
	}
	return err
}

// Config reads the ensemble's dynamic configuration (/zookeeper/config,
// outside any chroot), leaving a data watch if asked.
func (c *Client) Config(ctx context.Context, watch bool) ([]byte, proto.Stat, error) {
	return c.getData(ctx, ConfigNode, ConfigNode, watch)
}

// Reconfig asks for a membership change: servers joining and leaving, or a
// whole new member list, if the configuration is still fromConfig (-1:
// any). It returns the new configuration.
func (c *Client) Reconfig(ctx context.Context, joining, leaving, members string, fromConfig int64) ([]byte, proto.Stat, error) {
	var resp proto.GetDataResponse
	req := &proto.ReconfigRequest{JoiningServers: joining, LeavingServers: leaving, NewMembers: members, CurConfigID: fromConfig}
	err := c.call(ctx, proto.OpReconfig, "", req, &resp, nil)
	return resp.Data, resp.Stat, err
}
