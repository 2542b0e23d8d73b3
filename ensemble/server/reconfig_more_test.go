package server_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
)

// writeOK fails unless a create through the cluster succeeds within a
// bound, retrying while an election runs.
func writeOK(t *testing.T, addrs []string, path string) {
	t.Helper()
	c, _ := connectAny(t, addrs)
	defer c.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := c.Create(path, nil, 0, zk.WorldACL(zk.PermAll))
		if err == nil || errors.Is(err, zk.ErrNodeExists) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("create %s: %v", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// After a reconfig every member restarts from its own data: the membership
// comes from the log, not from zoo.cfg (members 1 to 3 list only
// themselves there), so the grown ensemble comes back whole.
func TestReconfigSurvivesRestart(t *testing.T) {
	cl := reconfigCluster(t)
	admin := superClient(t, cl.Member(1).Addr())
	m := cl.AddMember()
	st, err := admin.IncrementalReconfig([]string{m.Line}, nil, -1)
	if err != nil {
		t.Fatal(err)
	}
	admin.Close()
	writeOK(t, cl.Addrs(), "/before")
	for _, x := range cl.Members() {
		x.Kill()
	}
	for _, x := range cl.Members() {
		x.Restart()
	}
	cl.WaitLeader()
	writeOK(t, cl.Addrs(), "/after")
	for _, x := range cl.Members() {
		checkConfig(t, x.Addr(), []uint64{1, 2, 3, 4}, st.Mzxid)
		if got := syncedData(t, x.Addr(), "/after"); got != "" {
			t.Errorf("server %d: /after holds %q", x.ID, got)
		}
	}
}

// Participants that are not running cannot catch up: three of them would
// leave the new configuration of six without a synced majority, so the
// reconfig fails with NEWCONFIGNOQUORUM, the configuration stays, and the
// ensemble keeps taking writes. (One would not: three of four is a
// majority, and ZooKeeper accepts that too.)
func TestReconfigNoQuorum(t *testing.T) {
	cl := reconfigCluster(t)
	// go-zk has no error for NEWCONFIGNOQUORUM: speak the wire.
	admin := dialRaw(t, cl.Member(2).Addr(), 0)
	if h, _ := admin.call(proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("super:" + superPass)}); h.Err != proto.OK {
		t.Fatal(h.Err)
	}
	p := ensembletest.FreePorts(t, 9)
	var ghosts []string
	for i := range 3 {
		ghosts = append(ghosts, fmt.Sprintf("server.%d=127.0.0.1:%d:%d;127.0.0.1:%d", 7+i, p[3*i], p[3*i+1], p[3*i+2]))
	}
	// While the joiners are given initLimit ticks to catch up, a second
	// reconfig is refused: one runs at a time.
	other := dialRaw(t, cl.Member(3).Addr(), 0)
	if h, _ := other.call(proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("super:" + superPass)}); h.Err != proto.OK {
		t.Fatal(h.Err)
	}
	admin.nc.SetDeadline(time.Now().Add(30 * time.Second))
	xid := admin.send(proto.OpReconfig, &proto.ReconfigRequest{JoiningServers: strings.Join(ghosts, ","), CurConfigID: -1})
	// The probe names a version no configuration has: until the first
	// reconfig runs it is refused with BADVERSION and changes nothing;
	// once it runs, "in progress" is checked first.
	probe := &proto.ReconfigRequest{LeavingServers: "3", CurConfigID: 1 << 62}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		h, _ := other.call(proto.OpReconfig, probe)
		if h.Err == proto.ErrReconfigInProgress {
			break
		}
		if h.Err != proto.ErrBadVersion || time.Now().After(deadline) {
			t.Fatalf("a reconfig while another runs: %v, want RECONFIGINPROGRESS", h.Err)
		}
	}
	if h, _ := admin.reply(); h.Xid != xid || h.Err != proto.ErrNewConfigNoQuorum {
		t.Fatalf("adding servers that never run: xid %d %v, want NEWCONFIGNOQUORUM", h.Xid, h.Err)
	}
	checkConfig(t, cl.Member(3).Addr(), []uint64{1, 2, 3}, 0)
	writeOK(t, cl.Addrs(), "/still")
}

// A non-incremental reconfig (newMembers) that turns a participant into an
// observer: the member reports it, and the configuration says so.
func TestReconfigNewMembersRole(t *testing.T) {
	cl := reconfigCluster(t)
	admin := superClient(t, cl.Member(1).Addr())
	cfg := syncedData(t, cl.Member(1).Addr(), "/zookeeper/config")
	var members []string
	for _, line := range strings.Split(cfg, "\n") {
		if !strings.HasPrefix(line, "server.") {
			continue
		}
		if strings.HasPrefix(line, "server.3=") {
			// host:quorum:election[:role];client → observer
			spec, client, _ := strings.Cut(line, ";")
			spec = strings.TrimSuffix(spec, ":participant")
			line = spec + ":observer;" + client
		}
		members = append(members, line)
	}
	st, err := admin.Reconfig(members, -1)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for mode := modeOf(t, cl.Member(3).Addr()); mode != "observer"; mode = modeOf(t, cl.Member(3).Addr()) {
		if time.Now().After(deadline) {
			t.Fatalf("server 3 reports %q, want observer", mode)
		}
		time.Sleep(100 * time.Millisecond)
	}
	text := syncedData(t, cl.Member(2).Addr(), "/zookeeper/config")
	if !strings.Contains(text, ":observer;") || !strings.HasSuffix(text, fmt.Sprintf("version=%x", st.Mzxid)) {
		t.Errorf("config after the role change:\n%s", text)
	}
	writeOK(t, cl.Addrs(), "/observed")
}

// modeOf is what srvr's Mode line says at addr.
func modeOf(t *testing.T, addr string) string {
	t.Helper()
	for line := range strings.Lines(fourLetter(t, addr, "srvr")) {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "Mode: "); ok {
			return m
		}
	}
	return ""
}
