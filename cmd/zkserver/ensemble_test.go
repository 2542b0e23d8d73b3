package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/internal/freeport"
)

// threeServers writes zoo.cfg and myid for a three-server ensemble on
// 127.0.0.1 and returns the config paths and client addresses.
func threeServers(t *testing.T) (cfgs, addrs []string) {
	t.Helper()
	ports, err := freeport.Ports(9)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := 1; i <= 3; i++ {
		q, e, c := ports[3*i-3], ports[3*i-2], ports[3*i-1]
		lines = append(lines, fmt.Sprintf("server.%d=127.0.0.1:%d:%d;127.0.0.1:%d", i, q, e, c))
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", c))
	}
	base := t.TempDir()
	for i := 1; i <= 3; i++ {
		dir := filepath.Join(base, fmt.Sprintf("s%d", i))
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "myid"), []byte(fmt.Sprint(i)), 0o644)
		cfg := filepath.Join(dir, "zoo.cfg")
		text := fmt.Sprintf("tickTime=200\ninitLimit=10\nsyncLimit=2\ndataDir=%s\n4lw.commands.whitelist=*\n%s\n", dir, strings.Join(lines, "\n"))
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfgs = append(cfgs, cfg)
	}
	return cfgs, addrs
}

// startThree starts the processes of a three-server ensemble and returns
// them once one leads. A port is free when chosen, not reserved: when
// another process takes one first, the server that needed it exits, and
// the ensemble starts again on new ports.
func startThree(t *testing.T) (cfgs, addrs []string, procs []*process, leader int) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		cfgs, addrs = threeServers(t)
		procs = make([]*process, 3)
		for i, cfg := range cfgs {
			procs[i] = startForeground(t, cfg)
		}
		leader, taken := awaitLeader(t, cfgs, procs, attempt < 3)
		if !taken {
			return cfgs, addrs, procs, leader
		}
		for _, p := range procs {
			p.kill()
		}
	}
}

// awaitLeader waits until one of procs leads and the others follow, and
// returns which leads. Two servers can elect a leader before the third has
// heard from it, so a leader alone is not yet a serving ensemble. With
// retry, a server that exits because its port is taken makes it return
// taken instead.
func awaitLeader(t *testing.T, cfgs []string, procs []*process, retry bool) (leader int, taken bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for i, p := range procs {
			if !p.exited() {
				continue
			}
			if retry && strings.Contains(p.logs.String(), "address already in use") {
				t.Logf("server %d found a port taken; starting again on new ports", i+1)
				return 0, true
			}
			t.Fatalf("server %d exited: %v", i+1, p.err)
		}
		leader, followers := -1, 0
		for i, cfg := range cfgs {
			switch mode(t, cfg) {
			case "leader":
				leader = i
			case "follower":
				followers++
			}
		}
		if leader >= 0 && followers == len(cfgs)-1 {
			return leader, false
		}
	}
	t.Fatal("the three processes did not settle on a leader and two followers")
	return 0, false
}

func mode(t *testing.T, cfg string) string {
	t.Helper()
	out, code := zkserver(t, "status", cfg)
	if code != 0 {
		return ""
	}
	for _, l := range strings.Split(out, "\n") {
		if m, ok := strings.CutPrefix(l, "Mode: "); ok {
			return m
		}
	}
	return ""
}

// TestEnsembleProcesses runs three zkserver processes from zoo.cfg files,
// SIGKILLs the leader under writes, and checks that writes continue and
// that the restarted server catches up with every acknowledged write.
func TestEnsembleProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three server processes; skipped in -short mode")
	}
	cfgs, addrs, procs, leader := startThree(t)
	c, _, err := zk.Connect(addrs, 5*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var acked []string
	write := func(n int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for written := 0; written < n; {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d writes succeeded within 60s", written, n)
			}
			p, err := c.Create("/n-", nil, zk.FlagSequence, zk.WorldACL(zk.PermAll))
			if err != nil {
				continue // connection loss while the ensemble elects; go-zk reconnects
			}
			acked = append(acked, p)
			written++
		}
	}
	write(100)
	procs[leader].kill()
	write(100)
	procs[leader] = startForeground(t, cfgs[leader])
	waitServing(t, portOf(addrs[leader]))
	r, _, err := zk.Connect([]string{addrs[leader]}, 5*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var kids []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := r.Sync("/"); err != nil {
			continue
		}
		if kids, _, err = r.Children("/"); err == nil && len(kids) >= len(acked)+1 {
			break
		}
	}
	have := map[string]bool{}
	for _, k := range kids {
		have["/"+k] = true
	}
	for _, p := range acked {
		if !have[p] {
			t.Fatalf("restarted server lacks acknowledged write %s (%d of %d present)", p, len(kids)-1, len(acked))
		}
	}
}

func portOf(addr string) int {
	var p int
	fmt.Sscanf(addr[strings.LastIndex(addr, ":")+1:], "%d", &p)
	return p
}
