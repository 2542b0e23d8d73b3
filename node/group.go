package node

import (
	"context"
	"errors"
	"path"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/recipes"
)

// GroupMember is Curator's GroupMember: this process's membership, an
// ephemeral <path>/<id> with the payload as data, kept as a Persistent
// node.
type GroupMember struct {
	c    *recipes.Client
	path string
	node *Persistent
}

// NewGroupMember joins the group at path as id with payload, in the
// background (see Persistent).
func NewGroupMember(c *recipes.Client, groupPath, id string, payload []byte) *GroupMember {
	return &GroupMember{c: c, path: groupPath, node: NewPersistent(c, path.Join(groupPath, id), payload, recipes.Ephemeral)}
}

// WaitForInitialCreate waits until this member has joined once.
func (g *GroupMember) WaitForInitialCreate(ctx context.Context) error {
	return g.node.WaitForInitialCreate(ctx)
}

// SetPayload changes this member's payload.
func (g *GroupMember) SetPayload(ctx context.Context, payload []byte) error {
	return g.node.SetData(ctx, payload)
}

// Members reads the group: every member's id and payload. Unlike
// Curator's, which answers from a local cache, it asks the server, so it
// is as fresh as a read can be.
func (g *GroupMember) Members(ctx context.Context) (map[string][]byte, error) {
	ids, err := g.c.Children(ctx, g.path)
	if errors.Is(err, zk.ErrNoNode) {
		return map[string][]byte{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(ids))
	for _, id := range ids {
		data, _, err := g.c.Get(ctx, path.Join(g.path, id))
		if errors.Is(err, zk.ErrNoNode) {
			continue // left meanwhile
		}
		if err != nil {
			return nil, err
		}
		out[id] = data
	}
	return out, nil
}

// Close leaves the group.
func (g *GroupMember) Close(ctx context.Context) error { return g.node.Close(ctx) }
