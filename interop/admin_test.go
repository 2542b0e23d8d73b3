package interop

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/admin/admintest"
)

// adminCompared are the AdminServer commands both servers have, by
// primary name.
var adminCompared = []string{
	"ruok", "server_stats", "stats", "monitor", "configuration", "connections", "environment",
	"dirs", "watch_summary", "watches", "watches_by_path", "dump", "leader", "voting_view",
	"observers", "is_read_only", "connection_stat_reset", "stat_reset", "system_properties",
	"initial_configuration", "last_snapshot", "hash",
}

// adminLeftOut are Apache ZooKeeper's commands that zookit does not have;
// the package doc of ensemble/admin says why.
var adminLeftOut = []string{
	"get_trace_mask", "observer_connection_stat_reset",
	"set_trace_mask", "zabstate",
}

// The known differences in the fields, as paths: a.b for a field of an
// object, a[] for the elements of an array, a.* for the values of an
// object keyed by data.
var (
	adminApacheOnly = map[string][]string{
		// A raft learner is no connection of its own: no connection time
		// or packet counts.
		"observers": {"observers[].established", "observers[].queued_packets", "observers[].queued_packets_size",
			"observers[].packets_received", "observers[].packets_sent", "observers[].requests"},
		// The JVM's, where zookit has Go's.
		"environment": {"java.version", "java.vendor", "java.home", "java.class.path",
			"java.library.path", "java.io.tmpdir", "java.compiler", "os.version",
			"os.memory.free", "os.memory.max", "os.memory.total"},
	}
	adminZookitOnly = map[string][]string{
		"environment": {"go.version", "os.cpus"},
		// zookit's own limits (ensemble/server's package doc).
		"monitor": {"large_responses_rejected", "watches_rejected", "outbound_limit_disconnects",
			"four_letter_words_truncated"},
	}
	// adminOpenKeys are the commands whose keys are each server's own:
	// the metrics (TestMntrKeys compares them, with the list of those left
	// out; their types must still agree here), and the JVM's system
	// properties against the zookeeper.* properties zkserver was given.
	adminOpenKeys = map[string]bool{"monitor": true, "system_properties": true}
)

// adminDataKeyed are the objects whose keys are data (session ids,
// paths, times, server ids), not field names.
var adminDataKeyed = map[string]bool{
	"session_id_to_watched_paths": true, "path_to_session_ids": true,
	"expiry_time_to_session_ids": true, "session_id_to_ephemeral_paths": true, "current_config": true,
}

// adminGet fetches an AdminServer command and decodes its JSON object.
func adminGet(t *testing.T, base, name string) map[string]any {
	t.Helper()
	resp, m := admintest.Get(t, base+"/"+name)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s/%s: status %d", base, name, resp.StatusCode)
	}
	return m
}

// jsonShape maps every field path under prefix to its type.
func jsonShape(prefix string, v any, out map[string]string) {
	if prefix != "" {
		out[prefix] = admintest.Kind(v)
	}
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		last := prefix[strings.LastIndex(prefix, ".")+1:]
		for k, e := range x {
			if adminDataKeyed[last] {
				k = "*"
			}
			jsonShape(join(k), e, out)
		}
	case []any:
		for _, e := range x {
			jsonShape(prefix+"[]", e, out)
		}
	}
}

// compareAdmin fails unless apache's and zookit's answers to cmd have the
// same field paths with the same types, the known differences aside.
func compareAdmin(t *testing.T, cmd string, apache, zookit map[string]any) {
	t.Helper()
	a, z := map[string]string{}, map[string]string{}
	jsonShape("", apache, a)
	jsonShape("", zookit, z)
	for _, k := range slices.Sorted(maps.Keys(z)) {
		at, ok := a[k]
		switch {
		case !ok && !slices.Contains(adminZookitOnly[cmd], k) && !adminOpenKeys[cmd]:
			t.Errorf("%s: zookit has %s (%s), Apache ZooKeeper does not", cmd, k, z[k])
		case ok && at != z[k]:
			t.Errorf("%s: %s is a %s in Apache ZooKeeper, a %s in zookit", cmd, k, at, z[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if _, ok := z[k]; !ok && !slices.Contains(adminApacheOnly[cmd], k) && !adminOpenKeys[cmd] {
			t.Errorf("%s: Apache ZooKeeper has %s (%s), zookit does not", cmd, k, a[k])
		}
	}
	// A listed difference that is gone must leave the list.
	for _, k := range adminApacheOnly[cmd] {
		if _, ok := z[k]; ok {
			t.Errorf("%s: zookit now has %s; drop it from adminApacheOnly", cmd, k)
		}
	}
	for _, k := range adminZookitOnly[cmd] {
		if _, ok := a[k]; ok {
			t.Errorf("%s: Apache ZooKeeper has %s too; drop it from adminZookitOnly", cmd, k)
		}
	}
}

// adminOptions enable the AdminServer of n servers on their own free
// 127.0.0.1 ports and return their command URLs.
func adminOptions(n int) (Options, []string) {
	bases := make([]string, n) // filled in as the harness starts each server
	return Options{
		Config: map[string]string{"admin.enableServer": "true", "admin.serverAddress": "127.0.0.1"},
		ServerConfig: func(i, port int) map[string]string {
			bases[i] = fmt.Sprintf("http://127.0.0.1:%d/commands", port)
			return map[string]string{"admin.serverPort": strconv.Itoa(port)}
		},
	}, bases
}

// adminDigestLogged writes to a node of its own until the server's hash
// command lists a digest (one every 128 zxids), so that the shapes of the
// list's elements are compared too.
func adminDigestLogged(t *testing.T, addr, base string) {
	t.Helper()
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(quietLogger))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Create("/h", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if d, _ := adminGet(t, base, "hash")["digests"].([]any); len(d) > 0 {
			return
		}
		if i == 300 {
			t.Fatalf("%s: no digest after 300 writes", base)
		}
		if _, err := c.Set("/h", []byte{byte(i)}, -1); err != nil {
			t.Fatal(err)
		}
	}
}

// adminList is the primary names a command listing links.
func adminList(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var names []string
	for line := range strings.Lines(string(body)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), `<a href="/commands/`); ok {
			names = append(names, rest[:strings.Index(rest, `"`)])
		}
	}
	return names
}

// TestAdminServerShapes asks Apache ZooKeeper's AdminServer and zkserver's
// for every command, each server with one session holding an ephemeral
// node and a watch, and compares the JSON field names and types.
func TestAdminServerShapes(t *testing.T) {
	Require(t, AdminServer)
	apacheOpts, apacheBase := adminOptions(1)
	zookitOpts, zookitBase := adminOptions(1)
	apacheAddr := StartApacheZooKeeper(t, apacheOpts)
	zookitAddr := StartZookit(t, zookitOpts)
	admintest.Activity(t, apacheAddr)
	admintest.Activity(t, zookitAddr)
	adminDigestLogged(t, apacheAddr, apacheBase[0])
	adminDigestLogged(t, zookitAddr, zookitBase[0])

	apacheNames, zookitNames := adminList(t, apacheBase[0]), adminList(t, zookitBase[0])
	if want := slices.Sorted(slices.Values(append(slices.Clone(adminCompared), adminLeftOut...))); !slices.Equal(apacheNames, want) {
		t.Errorf("Apache ZooKeeper lists %v, want %v", apacheNames, want)
	}
	if want := slices.Sorted(slices.Values(slices.Clone(adminCompared))); !slices.Equal(zookitNames, want) {
		t.Errorf("zkserver lists %v, want %v", zookitNames, want)
	}
	for _, cmd := range adminCompared {
		compareAdmin(t, cmd, adminGet(t, apacheBase[0], cmd), adminGet(t, zookitBase[0], cmd))
	}
	for _, cmd := range append(adminLeftOut, "no_such_command") {
		got := adminGet(t, zookitBase[0], cmd)
		if got["error"] != "Unknown command: "+cmd {
			t.Errorf("zkserver %s: %v", cmd, got)
		}
	}
	compareAdmin(t, "no_such_command", adminGet(t, apacheBase[0], "no_such_command"), adminGet(t, zookitBase[0], "no_such_command"))
}

// TestAdminServerEnsembleShapes compares leader, voting_view and observers
// between ensembles of three voters and an observer of each, server by
// server of the same role.
func TestAdminServerEnsembleShapes(t *testing.T) {
	Require(t, AdminServer)
	apacheOpts, apacheBases := adminOptions(4)
	zookitOpts, zookitBases := adminOptions(4)
	apacheAddrs := StartApacheEnsemble(t, 3, 1, apacheOpts)
	zookitAddrs := StartZookitEnsemble(t, 3, 1, zookitOpts)
	byRole := func(addrs, bases []string) map[string]string {
		m := map[string]string{}
		for i, a := range addrs {
			m[Mode(t.Context(), a)] = bases[i]
		}
		return m
	}
	apache, zookit := byRole(apacheAddrs, apacheBases), byRole(zookitAddrs, zookitBases)
	for _, role := range []string{"leader", "follower", "observer"} {
		if apache[role] == "" || zookit[role] == "" {
			t.Fatalf("no %s: Apache ZooKeeper %v, zkserver %v", role, apache, zookit)
		}
		for _, cmd := range []string{"leader", "voting_view", "observers"} {
			a, z := adminGet(t, apache[role], cmd), adminGet(t, zookit[role], cmd)
			compareAdmin(t, cmd, a, z)
			if cmd == "leader" && a["is_leader"] != z["is_leader"] {
				t.Errorf("%s: is_leader %v in Apache ZooKeeper, %v in zkserver", role, a["is_leader"], z["is_leader"])
			}
			if cmd == "observers" && fmt.Sprint(a["synced_observers"]) != fmt.Sprint(z["synced_observers"]) {
				t.Errorf("%s: synced_observers %v in Apache ZooKeeper, %v in zkserver", role, a["synced_observers"], z["synced_observers"])
			}
		}
	}
}
