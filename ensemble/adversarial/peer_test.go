package adversarial

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"net"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	gproto "google.golang.org/protobuf/proto"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/peer"
	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/server"
	"github.com/zookit/zookit/ensemble/tlsconf"
	"github.com/zookit/zookit/ensemble/tlsconf/tlstest"
	"github.com/zookit/zookit/ensemble/tree"
)

// The quorum port's wire format, as package peer's doc describes it: a
// hello of magic, version, sender id and receiver id, then frames of
// [uint32 length][kind][payload].
func peerHello(from, to uint64) []byte {
	b := append([]byte("ZKPT\x01"), binary.BigEndian.AppendUint64(nil, from)...)
	return binary.BigEndian.AppendUint64(b, to)
}

func peerFrame(kind byte, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
	return append(append(b, kind), payload...)
}

// serverLine is member id's line of the configuration.
func serverLine(t *testing.T, sc *scene, id uint64) config.Server {
	t.Helper()
	for _, s := range sc.victim.Config().Servers {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no server.%d", id)
	return config.Server{}
}

// status reads a member's election-port status line, which anyone may
// read: "myid=3 mode=follower leader=1 term=2 zxid=0x1c".
func status(t *testing.T, s config.Server) (leader, term, zxid uint64) {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.ElectionAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	var id uint64
	var mode string
	if _, err := fmt.Sscanf(string(line), "myid=%d mode=%s leader=%d term=%d zxid=0x%x", &id, &mode, &leader, &term, &zxid); err != nil {
		t.Fatalf("status line %q: %v", line, err)
	}
	return leader, term, zxid
}

// forge sends msgs to member to over a quorum connection whose hello
// claims to come from member from, then waits for the server to close it,
// which it must: after the last frame, or at the first it refuses.
func forge(t *testing.T, sc *scene, from, to uint64, msgs ...*raftpb.Message) {
	t.Helper()
	nc := dialFrom(t, attackerIP, serverLine(t, sc, to).QuorumAddr())
	if sc.forger != nil {
		tc := tls.Client(nc, sc.forger)
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return // refused at the handshake
		}
		nc = tc
	}
	b := peerHello(from, to)
	for _, m := range msgs {
		payload, err := gproto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, peerFrame(peer.KindRaft, payload)...)
	}
	if _, err := nc.Write(b); err != nil {
		if refused(err) {
			return
		}
		t.Fatal(err)
	}
	nc.(interface{ CloseWrite() error }).CloseWrite()
	requireClosed(t, nc, 10*time.Second)
}

// quorumTLS runs the ensemble as an operator who read issue 10 would:
// mutual TLS on the quorum links (sslQuorum, PEM ssl.quorum.* stores) with
// every certificate bound to its server.N. The attacker gets a certificate
// of the ensemble's own CA that names no member: the strongest forger short
// of a stolen member key. Without quorum TLS the quorum port is
// unauthenticated, as ZooKeeper's is without quorum authentication, and a
// forged snapshot stops every member: the package doc of peer says so.
func quorumTLS(t *testing.T, sc *scene) []ensembletest.Option {
	ca := tlstest.NewCA(t, "ensemble-ca")
	stores := map[uint64]map[string]string{}
	for id := uint64(1); id <= 3; id++ {
		name := peer.ServerIDName(id)
		stores[id] = ca.Server(t, name, name).Stores(t, tlsconf.Quorum, tlsconf.PEM, t.TempDir(), "secret")
	}
	sc.forger = ca.Server(t, "intruder", peer.ServerIDName(9)).ClientConfig("127.0.0.1")
	return []ensembletest.Option{ensembletest.WithConfig(func(cfg *config.Config) {
		cfg.Other["sslQuorum"] = "true"
		maps.Copy(cfg.Props, stores[cfg.MyID])
		cfg.Props[server.RequireServerIDNameProperty] = "true"
	})}
}

// requireClosed waits for the server to close nc, draining what it sends.
func requireClosed(t *testing.T, nc net.Conn, within time.Duration) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(within))
	if _, err := io.Copy(io.Discard, nc); err != nil && !refused(err) {
		t.Fatalf("connection %s → %s not closed by the server within %v: %v", nc.LocalAddr(), nc.RemoteAddr(), within, err)
	}
}

// forgedPeer: an attacker on the network claims, in turn, to be each
// other member, and sends every server the raft messages that, unchecked,
// panic it or rewrite its log: issue 10's heartbeat (term 1000, commit
// 1e6), an append and a snapshot far ahead, and an append aimed exactly
// at the follower's log (its last index and term read from the election
// port) that would commit a transaction deleting the bystander's first
// acknowledged node. Every server must stay up and keep every
// acknowledged write, and the leader must go on leading; the connection
// is closed on the attacker.
func forgedPeer(t *testing.T, sc *scene) {
	leader := sc.cluster.WaitLeader()
	victimOf := fmt.Sprintf("%s/b%06d", bystanderDir, 0)
	evil := (&tree.Txn{Op: proto.OpDelete, Req: &proto.PathInt{Path: victimOf, N: -1}, Time: time.Now().UnixMilli()}).Marshal()
	for _, m := range sc.members {
		to := m.Config().MyID
		leader, term, zxid := status(t, serverLine(t, sc, to))
		from := to%3 + 1
		if leader != to {
			from = leader
		}
		msg := func(typ raftpb.MessageType, term uint64) *raftpb.Message {
			return &raftpb.Message{Type: typ.Enum(), From: new(from), To: new(to), Term: new(term)}
		}
		heartbeat := msg(raftpb.MsgHeartbeat, 1000)
		heartbeat.Commit = new(uint64(1_000_000))
		farAppend := msg(raftpb.MsgApp, 1000)
		farAppend.Index, farAppend.LogTerm, farAppend.Commit = new(uint64(1_000_000)), new(uint64(1000)), new(uint64(1_000_001))
		farAppend.Entries = []*raftpb.Entry{{Index: new(uint64(1_000_001)), Term: new(uint64(1000)), Data: evil}}
		snap := msg(raftpb.MsgSnap, 1000)
		snap.Snapshot = &raftpb.Snapshot{Data: []byte("not a tree"), Metadata: &raftpb.SnapshotMetadata{
			Index: new(uint64(1_000_000)), Term: new(uint64(1000)),
			ConfState: &raftpb.ConfState{Voters: []uint64{1, 2, 3}},
		}}
		aimed := msg(raftpb.MsgApp, term)
		aimed.Index, aimed.LogTerm, aimed.Commit = new(zxid), new(term), new(zxid+1)
		aimed.Entries = []*raftpb.Entry{{Index: new(zxid + 1), Term: new(term), Data: evil}}
		for _, m := range []*raftpb.Message{heartbeat, farAppend, snap, aimed} {
			forge(t, sc, from, to, m)
		}
	}
	requireRunning(t, sc.members...)
	if now := sc.cluster.WaitLeader(); now != leader {
		t.Errorf("leadership moved from server %d to server %d", leader.ID, now.ID)
	}
}

// peerPort: connections that never finish their hello are closed by the
// hello deadline; a flood of such connections from many addresses does
// not keep a real member out (the victim is killed and restarted during
// the flood and must rejoin); a frame announcing more than the raft frame
// bound is refused before its payload.
func peerPort(t *testing.T, sc *scene) {
	others := []config.Server{}
	for _, m := range sc.members {
		if m != sc.victim {
			others = append(others, serverLine(t, sc, m.Config().MyID))
		}
	}
	// Half a hello, and nothing at all.
	half := dialFrom(t, attackerIP, others[0].QuorumAddr())
	if _, err := half.Write(peerHello(victimID, others[0].ID)[:7]); err != nil {
		t.Fatal(err)
	}
	silent := dialFrom(t, attackerIP, others[1].QuorumAddr())
	began := time.Now()

	// A 512 MiB + 1 frame after a hello that claims to be the victim.
	big := dialFrom(t, attackerIP, others[0].QuorumAddr())
	hdr := append(peerHello(victimID, others[0].ID), binary.BigEndian.AppendUint32(nil, peer.DefaultMaxRaftFrame+1)...)
	if _, err := big.Write(append(hdr, peer.KindRaft)); err != nil {
		t.Fatal(err)
	}
	requireClosed(t, big, 10*time.Second)

	// Checked before the flood, whose cap refuses the oldest pending
	// connections first: these must go by their deadline.
	for _, nc := range []net.Conn{half, silent} {
		requireClosed(t, nc, peer.DefaultHelloTimeout+5*time.Second-time.Since(began))
	}
	if waited := time.Since(began); waited < peer.DefaultHelloTimeout/2 {
		t.Errorf("connections without a hello closed after %v, before the hello deadline", waited)
	}

	// The flood: from ten addresses, far more connections than the
	// pending caps hold, renewed while the victim restarts.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	opened, refusedN := 0, 0
	for i := range 10 {
		ip := fmt.Sprintf("127.0.0.%d", 10+i)
		wg.Go(func() {
			d := dialer(ip)
			var conns []net.Conn
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for {
				for _, s := range others {
					c, err := d.Dial("tcp", s.QuorumAddr())
					mu.Lock()
					if err != nil {
						refusedN++
					} else {
						opened++
						conns = append(conns, c)
					}
					mu.Unlock()
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	sc.victim.Restart()
	sc.cluster.WaitLeader()
	requireUp(t, sc.victim)
	close(stop)
	wg.Wait()
	t.Logf("flood: %d connections opened, %d dials failed", opened, refusedN)
	if opened <= peer.DefaultMaxPending {
		t.Errorf("the flood opened %d connections, not more than the %d pending ones a server holds", opened, peer.DefaultMaxPending)
	}
}
