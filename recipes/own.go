package recipes

import (
	"bytes"
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-zookeeper/zk"
)

// Recognising our own write after a lost reply.
//
// A create or multi whose connection drops may have been applied without
// its reply arriving; retrying it blindly reports zk.ErrNodeExists for our
// own node or makes a second sequential node. Before the first attempt the
// Client notes z0, the largest zxid it has read in any reply (zxidSeen):
// every transaction an attempt caused has a zxid > z0, and every one the
// Client had already heard of has a zxid <= z0. A retry then treats a node
// as the earlier attempt's when
//
//   - its czxid is > z0 (it was made after the call began),
//   - its data equals ours,
//   - for ephemeral modes, its owner is the current session (a node of an
//     earlier session is not ours, and goes with that session), and
//   - no other call of this Client has returned it (claims), since calls
//     running side by side in one session write alike.
//
// This proves that the node was made after the call began, with our data,
// by this session (ephemeral modes) or by anyone (persistent modes). Two
// cases stay ambiguous. Another client writing identical data to the same
// persistent path, or under the same sequential name, between z0 (which is
// only as fresh as the last reply this Client read) and the retry's look
// is taken for ours. Our node changed by someone before the retry looked is
// reported as zk.ErrNodeExists. Where two creators may write identical
// data, CreateProtected is the exact mechanism: its unique name tells
// their nodes apart. Nodes made through Conn or Retry are not claimed.

// isOwnNode reports whether the existing node full is the one an earlier
// attempt of this call created (see above).
func (c *Client) isOwnNode(conn zkConn, full string, data []byte, mode CreateMode, z0 int64) (bool, error) {
	got, st, err := conn.Get(full)
	if errors.Is(err, zk.ErrNoNode) {
		// Gone again: whoever made it, it is not ours to report.
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return st.Czxid > z0 && c.ownedBy(conn, full, st, got, data, mode), nil
}

// ownedBy checks everything but the zxid: data, ephemeral owner, claims.
func (c *Client) ownedBy(conn zkConn, full string, st *zk.Stat, got, data []byte, mode CreateMode) bool {
	return bytes.Equal(got, data) &&
		(!mode.IsEphemeral() || st.EphemeralOwner == conn.SessionID()) &&
		!c.claims.has(full, st.Czxid)
}

// seqDigits is the width of the sequence number the server appends.
const seqDigits = 10

// seqChild is a child named <base><10 digits>.
type seqChild struct {
	path string
	seq  int64
}

// seqChildren returns the children of full's parent that a sequential
// create of full may have made, newest first: within one parent, sequence
// numbers are handed out in the order the children were created.
func seqChildren(conn zkConn, full string) ([]seqChild, error) {
	i := strings.LastIndex(full, "/")
	parent, base := full[:i], full[i+1:]
	if parent == "" {
		parent = "/"
	}
	kids, _, err := conn.Children(parent)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []seqChild
	for _, k := range kids {
		if len(k) != len(base)+seqDigits || !strings.HasPrefix(k, base) {
			continue
		}
		digits := k[len(base):]
		if strings.Trim(digits, "0123456789") != "" {
			continue
		}
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, seqChild{path: joinPath(parent, k), seq: n})
	}
	slices.SortFunc(out, func(a, b seqChild) int { return cmp.Compare(b.seq, a.seq) })
	return out, nil
}

// findOwnSequential looks for the node an earlier attempt of a sequential
// create of full made, reading the candidates' stats newest first until one
// is older than the call. It returns the server path, or "" when there is
// none and the create must be made again.
func (c *Client) findOwnSequential(conn zkConn, full string, data []byte, mode CreateMode, z0 int64) (string, error) {
	kids, err := seqChildren(conn, full)
	if err != nil {
		return "", err
	}
	for _, k := range kids {
		got, st, err := conn.Get(k.path)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return "", err
		}
		if st.Czxid <= z0 {
			return "", nil
		}
		if c.ownedBy(conn, k.path, st, got, data, mode) {
			return k.path, nil
		}
	}
	return "", nil
}

// multiCommitted reports whether an earlier attempt of the multi ops (with
// server paths) committed, and if so rebuilds the responses it can: the
// paths of creates and the stats of sets.
//
// A committed multi is one transaction, so every change it made carries
// the same zxid Z: the czxid of each node it created, the mzxid of each
// node it set. The proof is that Z > z0 exists and every create's node
// (found by name, or for a sequential create among the parent's children
// with czxid Z) has our data and owner and czxid Z, every set's node has
// mzxid Z and our data, and every delete's node is gone. A later change
// to any of these nodes makes the proof fail, which reports the retry's
// failure as it is. Checks leave no trace, and a multi of only deletes and
// checks leaves nothing to find Z by: such a multi is reported as its
// retry failed, though the first attempt may have committed.
func (c *Client) multiCommitted(conn zkConn, ops []any, z0 int64) ([]zk.MultiResponse, bool, error) {
	res := make([]zk.MultiResponse, len(ops))
	var z int64
	same := func(zxid int64) bool {
		if z == 0 && zxid > z0 {
			z = zxid
		}
		return zxid == z
	}
	// Creates by name and sets fix Z.
	for i, op := range ops {
		var full string
		var data []byte
		switch o := op.(type) {
		case *zk.CreateRequest:
			if CreateMode(o.Flags).IsSequential() {
				continue
			}
			full, data = o.Path, o.Data
		case *zk.SetDataRequest:
			full, data = o.Path, o.Data
		default:
			continue
		}
		got, st, err := conn.Get(full)
		if errors.Is(err, zk.ErrNoNode) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		switch o := op.(type) {
		case *zk.CreateRequest:
			if !same(st.Czxid) || !c.ownedBy(conn, full, st, got, data, CreateMode(o.Flags)) {
				return nil, false, nil
			}
			res[i].String = full
		case *zk.SetDataRequest:
			if !same(st.Mzxid) || !bytes.Equal(got, data) {
				return nil, false, nil
			}
			res[i].Stat = st
		}
	}
	if z == 0 {
		return nil, false, nil
	}
	// Sequential creates: the nodes with czxid Z under the same name, in
	// the order the ops made them, which is ascending sequence.
	made := map[string][]string{}
	for i, op := range ops {
		switch o := op.(type) {
		case *zk.CreateRequest:
			mode := CreateMode(o.Flags)
			if !mode.IsSequential() {
				continue
			}
			if _, ok := made[o.Path]; !ok {
				found, err := c.nodesOf(conn, o.Path, z)
				if err != nil {
					return nil, false, err
				}
				made[o.Path] = found
			}
			if len(made[o.Path]) == 0 {
				return nil, false, nil
			}
			p := made[o.Path][0]
			made[o.Path] = made[o.Path][1:]
			got, st, err := conn.Get(p)
			if errors.Is(err, zk.ErrNoNode) {
				return nil, false, nil
			}
			if err != nil {
				return nil, false, err
			}
			if st.Czxid != z || !c.ownedBy(conn, p, st, got, o.Data, mode) {
				return nil, false, nil
			}
			res[i].String = p
		case *zk.DeleteRequest:
			ok, _, err := conn.Exists(o.Path)
			if err != nil {
				return nil, false, err
			}
			if ok {
				return nil, false, nil
			}
		}
	}
	return res, true, nil
}

// nodesOf returns the children a sequential create of full may have made in
// transaction z, oldest first.
func (c *Client) nodesOf(conn zkConn, full string, z int64) ([]string, error) {
	kids, err := seqChildren(conn, full)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range kids {
		ok, st, err := conn.Exists(k.path)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if st.Czxid < z {
			break
		}
		if st.Czxid == z {
			out = append(out, k.path)
		}
	}
	slices.Reverse(out)
	return out, nil
}

// claims remembers the nodes that creates of this Client returned while
// other creates of it were in flight, so that a retry of one call does not
// take a node another call returned for its own. A node returned before a
// call began needs no entry: its reply's zxid, which is its czxid or later,
// was read before that call noted its z0, so the czxid test rules it out.
// The set therefore empties whenever no create is in flight.
type claims struct {
	mu     sync.Mutex
	active int
	// paths maps a node to the zxid seen when it was returned: a node of
	// that name with a larger czxid was made after the returned one was
	// deleted, and is not claimed.
	paths map[string]int64
}

// begin registers a call; it must come before the call notes z0. The
// returned func ends it.
func (cl *claims) begin() (end func()) {
	cl.mu.Lock()
	cl.active++
	cl.mu.Unlock()
	return func() {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		cl.active--
		if cl.active == 0 {
			cl.paths = nil
		}
	}
}

// add records a node a call is about to return, with the largest zxid
// read so far, which is at least the node's czxid; the call itself is
// still active.
func (cl *claims) add(full string, zxid int64) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.active < 2 {
		return
	}
	if cl.paths == nil {
		cl.paths = map[string]int64{}
	}
	cl.paths[full] = zxid
}

// has reports whether the node full with the given czxid was returned by
// another call.
func (cl *claims) has(full string, czxid int64) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	zxid, ok := cl.paths[full]
	return ok && czxid <= zxid
}
