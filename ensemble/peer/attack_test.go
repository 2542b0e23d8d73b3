package peer_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/peer"
	"github.com/zookit/zookit/recipes"
)

// forge opens a quorum connection to addr claiming to be server from, as
// an attacker on the network can, and sends msgs on it.
func forge(t *testing.T, addr string, from, to uint64, msgs ...*raftpb.Message) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b := append([]byte("ZKPT\x01"), binary.BigEndian.AppendUint64(nil, from)...)
	b = binary.BigEndian.AppendUint64(b, to)
	for _, m := range msgs {
		payload, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
		b = append(b, peer.KindRaft)
		b = append(b, payload...)
	}
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	// The server closes its side once it has handed every frame on.
	conn.(*net.TCPConn).CloseWrite()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Fatalf("forged connection to %s: %v", addr, err)
	}
}

// The attack of issue 10, item 1, and its relatives, against every server
// of a three-server ensemble: each server stays up, clients keep working
// and every acknowledged write is still there.
func TestForgedPeerAgainstEnsemble(t *testing.T) {
	c := ensembletest.StartCluster(t, 3, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := recipes.New(ctx, c.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var acked []string
	write := func(prefix string) {
		for i := range 5 {
			p := fmt.Sprintf("/%s-%d", prefix, i)
			if _, err := cl.Create(ctx, p, nil, recipes.Persistent); err != nil {
				t.Fatalf("create %s: %v", p, err)
			}
			acked = append(acked, p[1:])
		}
	}
	write("before")

	for _, m := range c.Members() {
		to := m.ID
		from := to%3 + 1
		addr := ""
		for _, s := range m.Config().Servers {
			if s.ID == to {
				addr = s.QuorumAddr()
			}
		}
		msg := func(typ raftpb.MessageType, term uint64) *raftpb.Message {
			return &raftpb.Message{Type: typ.Enum(), From: new(from), To: new(to), Term: new(term)}
		}
		heartbeat := msg(raftpb.MsgHeartbeat, 1000)
		heartbeat.Commit = new(uint64(1_000_000))
		conf := msg(raftpb.MsgProp, 0)
		conf.Entries = []*raftpb.Entry{{Type: raftpb.EntryConfChange.Enum(), Data: []byte{0xff}}}
		forge(t, addr, from, to, heartbeat, msg(raftpb.MsgProp, 0), conf, msg(raftpb.MsgReadIndex, 0))
	}
	write("after")

	for _, m := range c.Members() {
		select {
		case <-m.Exited():
			t.Fatalf("server %d exited: %v", m.ID, m.ServeErr())
		default:
		}
		one, err := recipes.New(ctx, []string{m.Addr()})
		if err != nil {
			t.Fatalf("server %d: %v", m.ID, err)
		}
		if err := one.Sync(ctx, "/"); err != nil {
			t.Fatalf("sync on server %d: %v", m.ID, err)
		}
		got, err := one.Children(ctx, "/")
		one.Close()
		if err != nil {
			t.Fatalf("children on server %d: %v", m.ID, err)
		}
		for _, p := range acked {
			if !slices.Contains(got, p) {
				t.Errorf("server %d lost acknowledged node /%s", m.ID, p)
			}
		}
	}
}
