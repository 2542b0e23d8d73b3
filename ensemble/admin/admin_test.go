package admin_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/admin/admintest"
	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/ensemble/server"
)

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// serveAdmin serves srv's AdminServer on a free 127.0.0.1 port and returns
// its base URL.
func serveAdmin(t *testing.T, srv *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeAdmin(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-errc; !errors.Is(err, server.ErrClosed) {
			t.Errorf("ServeAdmin returned %v after Close, want ErrClosed", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// get fetches url and decodes its JSON object, numbers kept exact.
func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, m := admintest.Get(t, url)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", url, ct)
	}
	return resp.StatusCode, m
}

// want is a command's fields as ZooKeeper 3.8 names them (Commands.java,
// ServerStats, ZooKeeperServerConf, ServerCnxn.getConnectionInfo), with
// their JSON types.
type want map[string]string

var serverStatsFields = want{
	"packets_sent": "number", "packets_received": "number", "data_dir_size": "number",
	"log_dir_size": "number", "provider_null": "bool", "server_state": "string",
	"last_processed_zxid": "number", "outstanding_requests": "number", "avg_latency": "number",
	"max_latency": "number", "min_latency": "number", "num_alive_client_connections": "number",
	"uptime": "number", "auth_failed_count": "number",
}

var briefConnFields = want{
	"remote_socket_address": "string", "interest_ops": "number", "outstanding_requests": "number",
	"packets_received": "number", "packets_sent": "number",
}

var fullConnFields = func() want {
	w := want{
		"session_id": "number", "last_operation": "string", "established": "number",
		"session_timeout": "number", "last_cxid": "number", "last_zxid": "number",
		"last_response_time": "number", "last_latency": "number", "min_latency": "number",
		"avg_latency": "number", "max_latency": "number",
	}
	for k, v := range briefConnFields {
		w[k] = v
	}
	return w
}()

var standaloneCommands = map[string]want{
	"ruok": {},
	"server_stats": {
		"version": "string", "read_only": "bool", "server_stats": "object", "node_count": "number",
	},
	"stats": {
		"version": "string", "read_only": "bool", "server_stats": "object", "node_count": "number",
		"connections": "array", "secure_connections": "array",
	},
	"monitor": {
		"version": "string", "server_state": "string", "avg_latency": "number", "max_latency": "number",
		"min_latency": "number", "packets_received": "number", "packets_sent": "number",
		"num_alive_connections": "number", "outstanding_requests": "number", "uptime": "number",
		"znode_count": "number", "watch_count": "number", "ephemerals_count": "number",
		"approximate_data_size": "number", "global_sessions": "number", "local_sessions": "number",
		"open_file_descriptor_count": "number", "max_file_descriptor_count": "number",
		"connection_drop_probability": "number", "auth_failed_count": "number",
		"request_throttle_wait_count": "number",
	},
	"configuration": {
		"client_port": "number", "data_dir": "string", "data_log_dir": "string", "tick_time": "number",
		"max_client_cnxns": "number", "min_session_timeout": "number", "max_session_timeout": "number",
		"server_id": "number", "client_port_listen_backlog": "number",
	},
	"connections": {"connections": "array", "secure_connections": "array"},
	"environment": {
		"zookeeper.version": "string", "host.name": "string", "os.name": "string", "os.arch": "string",
		"user.name": "string", "user.home": "string", "user.dir": "string",
	},
	"dirs":                  {"datadir_size": "number", "logdir_size": "number"},
	"watch_summary":         {"num_connections": "number", "num_paths": "number", "num_total_watches": "number"},
	"watches":               {"session_id_to_watched_paths": "object"},
	"watches_by_path":       {"path_to_session_ids": "object"},
	"dump":                  {"expiry_time_to_session_ids": "object", "session_id_to_ephemeral_paths": "object"},
	"leader":                {},
	"voting_view":           {"current_config": "object"},
	"observers":             {"synced_observers": "number", "observers": "array"},
	"is_read_only":          {"read_only": "bool"},
	"connection_stat_reset": {},
	"stat_reset":            {},
	"system_properties":     {"zookeeper.4lw.commands.whitelist": "string"},
	"initial_configuration": {"initial_configuration": "string"},
	"last_snapshot":         {"zxid": "string", "timestamp": "number"},
	"hash":                  {"digests": "array"},
}

// aliases are ZooKeeper's other names for the commands.
var aliases = map[string]string{
	"srvr": "server_stats", "stat": "stats", "mntr": "monitor", "conf": "configuration",
	"config": "configuration", "cons": "connections", "envi": "environment", "env": "environment",
	"wchs": "watch_summary", "wchc": "watches", "wchp": "watches_by_path", "lead": "leader",
	"obsr": "observers", "isro": "is_read_only", "crst": "connection_stat_reset",
	"srst": "stat_reset", "sysp": "system_properties", "icfg": "initial_configuration",
	"lsnp": "last_snapshot",
}

// checkFields fails unless obj has every field of w with its type.
func checkFields(t *testing.T, what string, obj map[string]any, w want) {
	t.Helper()
	for k, typ := range w {
		v, ok := obj[k]
		if !ok {
			t.Errorf("%s: no %q in %v", what, k, obj)
			continue
		}
		if got := admintest.Kind(v); got != typ {
			t.Errorf("%s: %q is a %s (%v), want a %s", what, k, got, v, typ)
		}
	}
}

func TestStandaloneCommands(t *testing.T) {
	// Only srvr is whitelisted: the AdminServer must not care, as
	// ZooKeeper's does not.
	s := ensembletest.Start(t, ensembletest.WithConfig(func(c *config.Config) {
		c.FourLetterWords = map[string]bool{"srvr": true}
	}))
	base := serveAdmin(t, s.Server()) + "/commands"
	sid := admintest.Activity(t, s.Addr()).SessionID()
	id := strconv.FormatInt(sid, 10)

	for name, w := range standaloneCommands {
		status, obj := get(t, base+"/"+name)
		if status != http.StatusOK {
			t.Errorf("%s: status %d", name, status)
		}
		if obj["command"] != name {
			t.Errorf("%s: command %v", name, obj["command"])
		}
		e, ok := obj["error"]
		if !ok {
			t.Errorf("%s: no error field", name)
		}
		if name == "leader" {
			if e != "server is not initialized" {
				t.Errorf("leader on a standalone server: error %v, want ZooKeeper's", e)
			}
		} else if e != nil {
			t.Errorf("%s: error %v", name, e)
		}
		checkFields(t, name, obj, w)
	}
	for alias, name := range aliases {
		if _, obj := get(t, base+"/"+alias); obj["command"] != name {
			t.Errorf("%s: command %v, want %s", alias, obj["command"], name)
		}
	}

	_, stats := get(t, base+"/stats")
	checkFields(t, "stats.server_stats", stats["server_stats"].(map[string]any), serverStatsFields)
	conns := stats["connections"].([]any)
	if len(conns) != 1 {
		t.Fatalf("stats: %d connections, want 1", len(conns))
	}
	checkFields(t, "stats.connections[0]", conns[0].(map[string]any), briefConnFields)
	if _, ok := conns[0].(map[string]any)["session_id"]; ok {
		t.Error("stats lists connections in full; ZooKeeper's are brief")
	}
	_, cons := get(t, base+"/connections")
	conn := cons["connections"].([]any)[0].(map[string]any)
	checkFields(t, "connections[0]", conn, fullConnFields)
	if conn["session_id"].(json.Number).String() != id {
		t.Errorf("connections: session_id %v, want %s", conn["session_id"], id)
	}

	_, wchc := get(t, base+"/watches")
	if p := wchc["session_id_to_watched_paths"].(map[string]any)[id]; fmt.Sprint(p) != "[/p]" {
		t.Errorf("watches of session %s: %v, want [/p]", id, p)
	}
	_, wchp := get(t, base+"/watches_by_path")
	if ids := wchp["path_to_session_ids"].(map[string]any)["/p"]; fmt.Sprint(ids) != "["+id+"]" {
		t.Errorf("watches on /p: %v, want [%s]", ids, id)
	}
	_, dump := get(t, base+"/dump")
	if p := dump["session_id_to_ephemeral_paths"].(map[string]any)[id]; fmt.Sprint(p) != "[/eph]" {
		t.Errorf("dump: ephemerals of %s: %v, want [/eph]", id, p)
	}
	expiring := 0
	for at, ids := range dump["expiry_time_to_session_ids"].(map[string]any) {
		if _, err := strconv.ParseInt(at, 10, 64); err != nil {
			t.Errorf("dump: expiry time %q is not a number of ms", at)
		}
		expiring += len(ids.([]any))
	}
	if expiring != 1 {
		t.Errorf("dump: %d sessions expire, want 1", expiring)
	}
	_, icfg := get(t, base+"/initial_configuration")
	if !strings.Contains(icfg["initial_configuration"].(string), "clientPort=") {
		t.Errorf("initial_configuration: %q", icfg["initial_configuration"])
	}
}

// mntrText parses the 4lw mntr into its keys, zk_ prefix dropped.
func mntrText(t *testing.T, srv *server.Server) map[string]string {
	t.Helper()
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(srv.FourLetterWord("mntr")))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			t.Fatalf("mntr line %q", sc.Text())
		}
		m[strings.TrimPrefix(k, "zk_")] = v
	}
	return m
}

func TestMonitorMatchesFourLetterMntr(t *testing.T) {
	s := ensembletest.Start(t)
	base := serveAdmin(t, s.Server()) + "/commands"
	admintest.Activity(t, s.Addr())
	text := mntrText(t, s.Server())
	_, obj := get(t, base+"/mntr")
	delete(obj, "command")
	delete(obj, "error")
	if len(obj) != len(text) {
		t.Errorf("JSON monitor has %d keys, 4lw mntr %d", len(obj), len(text))
	}
	// Counters that nothing changes between the two reads must agree;
	// every key of each must be in the other.
	stable := []string{"version", "server_state", "znode_count", "watch_count", "ephemerals_count",
		"approximate_data_size", "global_sessions", "local_sessions", "num_alive_connections"}
	for k, v := range text {
		j, ok := obj[k]
		if !ok {
			t.Errorf("JSON monitor has no %s", k)
			continue
		}
		if slices.Contains(stable, k) && fmt.Sprint(j) != v {
			t.Errorf("%s: JSON %v, 4lw %s", k, j, v)
		}
	}
	if obj["znode_count"].(json.Number).String() != "7" || obj["ephemerals_count"].(json.Number).String() != "1" {
		t.Errorf("monitor: znode_count %v ephemerals_count %v, want 7 and 1", obj["znode_count"], obj["ephemerals_count"])
	}
}

func TestResets(t *testing.T) {
	s := ensembletest.Start(t)
	base := serveAdmin(t, s.Server()) + "/commands"
	c := admintest.Activity(t, s.Addr())
	get(t, base+"/crst")
	_, cons := get(t, base+"/cons")
	if n := cons["connections"].([]any)[0].(map[string]any)["packets_received"]; n.(json.Number).String() != "0" {
		t.Errorf("packets_received after connection_stat_reset: %v", n)
	}
	get(t, base+"/srst")
	_, srvr := get(t, base+"/srvr")
	st := srvr["server_stats"].(map[string]any)
	if st["packets_received"].(json.Number).String() != "0" || st["max_latency"].(json.Number).String() != "0" {
		t.Errorf("server_stats after stat_reset: %v", st)
	}
	c.Close()
}

func TestUnknownCommandAndHTTP(t *testing.T) {
	s := ensembletest.Start(t)
	addr := serveAdmin(t, s.Server())
	status, obj := get(t, addr+"/commands/nosuch")
	if status != http.StatusOK || obj["command"] != "nosuch" || obj["error"] != "Unknown command: nosuch" || len(obj) != 2 {
		t.Errorf("unknown command: %d %v, want ZooKeeper's 200 {command, error: Unknown command: nosuch}", status, obj)
	}
	// A path below a command is no command either, as in ZooKeeper.
	if _, obj := get(t, addr+"/commands/ruok/x"); obj["error"] != "Unknown command: ruok/x" {
		t.Errorf("/commands/ruok/x: %v", obj)
	}

	for _, path := range []string{"/commands", "/commands/"} {
		resp, err := http.Get(addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, name := range s.Server().AdminCommands() {
			link := fmt.Sprintf("<a href=\"/commands/%s\">%s</a>\n<br/>\n", name, name)
			if !strings.Contains(string(body), link) {
				t.Errorf("GET %s: no %q in\n%s", path, link, body)
			}
		}
	}

	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/", http.StatusNotFound},
		{http.MethodGet, "/commandsx", http.StatusNotFound},
		{http.MethodPost, "/commands/ruok", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/commands/ruok", http.StatusMethodNotAllowed},
		{http.MethodHead, "/commands/ruok", http.StatusOK},
	} {
		req, _ := http.NewRequest(tc.method, addr+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}

	// Oversized headers are refused, not read without bound.
	req, _ := http.NewRequest(http.MethodGet, addr+"/commands/ruok", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d", resp.StatusCode)
	}

	// Garbage is answered or dropped; the server goes on.
	for _, junk := range []string{"\x00\x01\x02\r\n\r\n", "GET /commands/%zz HTTP/1.1\r\nHost: x\r\n\r\n", "GET " + strings.Repeat("/", 10000) + " HTTP/1.1\r\n\r\n"} {
		nc, err := net.Dial("tcp", strings.TrimPrefix(addr, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(nc, junk)
		io.Copy(io.Discard, nc)
		nc.Close()
	}
	if _, obj := get(t, addr+"/commands/ruok"); obj["error"] != nil {
		t.Errorf("ruok after garbage: %v", obj)
	}
}

func TestIdleTimeoutClosesSilentConnections(t *testing.T) {
	s := ensembletest.Start(t, ensembletest.WithConfig(func(c *config.Config) {
		c.Props["zookeeper.admin.idleTimeout"] = "200"
	}))
	addr := strings.TrimPrefix(serveAdmin(t, s.Server()), "http://")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Half a request line, then nothing: the server must hang up.
	io.WriteString(nc, "GET /comm")
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, nc); err != nil {
		t.Errorf("the server kept a silent connection open: %v", err)
	}
}

func TestEnsembleCommands(t *testing.T) {
	c := ensembletest.StartCluster(t, 3, 1)
	leader := c.WaitLeader()
	bases := map[uint64]string{}
	for _, m := range c.Members() {
		bases[m.ID] = serveAdmin(t, m.Server()) + "/commands"
	}
	var leaders []uint64
	for _, m := range c.Members() {
		_, obj := get(t, bases[m.ID]+"/leader")
		checkFields(t, "leader", obj, want{"is_leader": "bool", "leader_id": "number", "leader_ip": "string"})
		if obj["error"] != nil {
			t.Errorf("leader on server %d: error %v", m.ID, obj["error"])
		}
		if obj["leader_id"].(json.Number).String() != strconv.FormatUint(leader.ID, 10) || obj["leader_ip"] != "127.0.0.1" {
			t.Errorf("server %d: leader %v at %v, want %d", m.ID, obj["leader_id"], obj["leader_ip"], leader.ID)
		}
		if obj["is_leader"] == true {
			leaders = append(leaders, m.ID)
		}

		_, vv := get(t, bases[m.ID]+"/voting_view")
		cfg := vv["current_config"].(map[string]any)
		if len(cfg) != 3 {
			t.Errorf("voting_view on %d: %d voters, want 3 (observers do not vote)", m.ID, len(cfg))
		}
		for id, v := range cfg {
			checkFields(t, "voting_view "+id, v.(map[string]any), want{
				"server_addresses": "array", "election_addresses": "array", "client_address": "string", "learner_type": "string",
			})
			if v.(map[string]any)["learner_type"] != "participant" {
				t.Errorf("voter %s: %v", id, v)
			}
		}
		_, srvr := get(t, bases[m.ID]+"/srvr")
		wantState := "follower"
		switch {
		case m.Observer:
			wantState = "observer"
		case m.ID == leader.ID:
			wantState = "leader"
		}
		if st := srvr["server_stats"].(map[string]any)["server_state"]; st != wantState {
			t.Errorf("server %d: server_state %v, want %s", m.ID, st, wantState)
		}
		_, conf := get(t, bases[m.ID]+"/conf")
		if conf["server_id"].(json.Number).String() != strconv.FormatUint(m.ID, 10) {
			t.Errorf("server %d: conf server_id %v", m.ID, conf["server_id"])
		}
	}
	if !slices.Equal(leaders, []uint64{leader.ID}) {
		t.Errorf("is_leader on %v, want only %d", leaders, leader.ID)
	}

	// The leader replicates to the observer, server 4, once it has caught up.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		_, obs := get(t, bases[leader.ID]+"/observers")
		list := obs["observers"].([]any)
		if len(list) == 1 && obs["synced_observers"].(json.Number).String() == "1" {
			o := list[0].(map[string]any)
			checkFields(t, "observers[0]", o, want{"sid": "number", "remote_socket_address": "string", "last_zxid": "number"})
			if o["sid"].(json.Number).String() != "4" {
				t.Errorf("observer %v, want sid 4", o)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("observers on the leader: %v", obs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, m := range c.Members() {
		if m.ID == leader.ID {
			continue
		}
		if _, obs := get(t, bases[m.ID]+"/observers"); obs["synced_observers"].(json.Number).String() != "0" {
			t.Errorf("observers on %d, not the leader: %v", m.ID, obs)
		}
	}
}

// newServer starts a server from zoo.cfg text with a free client port and
// runs ListenAndServe until the test ends.
func newServer(t *testing.T, extra string) (*server.Server, error) {
	t.Helper()
	port := ensembletest.FreePorts(t, 1)[0]
	text := fmt.Sprintf("tickTime=200\ndataDir=%s\nclientPortAddress=127.0.0.1\nclientPort=%d\n%s", t.TempDir(), port, extra)
	cfg, err := config.Parse(strings.NewReader(text), "zoo.cfg")
	if err != nil {
		t.Fatal(err)
	}
	return server.New(cfg)
}

func TestListenAndServe(t *testing.T) {
	port := ensembletest.FreePorts(t, 1)[0]
	adminAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	listen := fmt.Sprintf("admin.serverAddress=127.0.0.1\nadmin.serverPort=%d\n", port)
	run := func(srv *server.Server) chan error {
		errc := make(chan error, 1)
		go func() { errc <- srv.ListenAndServe() }()
		return errc
	}

	// Not enabled, or enabled with anything but true: no admin port.
	off, err := newServer(t, listen)
	if err != nil {
		t.Fatal(err)
	}
	errc := run(off)
	time.Sleep(200 * time.Millisecond)
	if nc, err := net.Dial("tcp", adminAddr); err == nil {
		nc.Close()
		t.Error("the admin port accepts while admin.enableServer is not set")
	}
	off.Close()
	<-errc

	on, err := newServer(t, listen+"admin.enableServer=true\nadmin.commandURL=/zk/\n")
	if err != nil {
		t.Fatal(err)
	}
	errc = run(on)
	deadline := time.Now().Add(10 * time.Second)
	for on.AdminAddr() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, obj := get(t, "http://"+adminAddr+"/zk/ruok"); obj["command"] != "ruok" || obj["error"] != nil {
		t.Errorf("ruok at admin.commandURL=/zk/: %v", obj)
	}
	on.Close()
	if err := <-errc; !errors.Is(err, server.ErrClosed) {
		t.Errorf("ListenAndServe after Close: %v", err)
	}
	if nc, err := net.Dial("tcp", adminAddr); err == nil {
		nc.Close()
		t.Error("the admin port still accepts after Close")
	}
}

func TestBadSettingsStopTheStart(t *testing.T) {
	for _, bad := range []string{
		"admin.enableServer=yes",
		"admin.serverPort=http",
		"admin.serverPort=70000",
		"admin.commandURL=commands",
		"admin.idleTimeout=0",
		"admin.idleTimeout=30s",
		"admin.pprof=yes",
		"admin.forceHttps=true",
		"admin.portUnification=true",
		"admin.needClientAuth=true",
	} {
		if srv, err := newServer(t, bad+"\n"); err == nil {
			srv.Close()
			t.Errorf("%s: accepted", bad)
		}
	}
}

func TestPprof(t *testing.T) {
	// heap asks a server started with extra settings for its heap profile,
	// and checks that the commands are still served beside it.
	heap := func(extra string) (int, string) {
		srv, err := newServer(t, extra)
		if err != nil {
			t.Fatal(err)
		}
		base := serveAdmin(t, srv)
		if _, obj := get(t, base+"/commands/ruok"); obj["command"] != "ruok" {
			t.Errorf("%q: ruok answers %v", extra, obj)
		}
		resp, body := admintest.GetBody(t, base+"/debug/pprof/heap?gc=1&debug=1")
		return resp.StatusCode, string(body)
	}
	if code, body := heap("admin.pprof=true\n"); code != http.StatusOK || !strings.Contains(body, "\n# HeapAlloc = ") {
		t.Errorf("admin.pprof=true: heap profile answers %d without # HeapAlloc:\n%.500s", code, body)
	}
	for _, off := range []string{"", "admin.pprof=false\n"} {
		if code, _ := heap(off); code != http.StatusNotFound {
			t.Errorf("%q: /debug/pprof/heap answers %d, want 404", off, code)
		}
	}
}

// setWatches opens a raw session on addr and sets exist watches on paths,
// in frames that stay under jute.maxbuffer.
func setWatches(t *testing.T, addr string, paths []string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(nc)
	send := func(b []byte) {
		frame := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
		if _, err := nc.Write(append(frame, b...)); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() []byte {
		b, err := proto.ReadFrame(r, nil, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	send(proto.Marshal(&proto.ConnectRequest{Timeout: 30000, Passwd: make([]byte, 16)}))
	recv()
	for xid := int32(1); len(paths) > 0; xid++ {
		n := min(len(paths), 20_000)
		e := proto.Encoder{}
		(&proto.RequestHeader{Xid: xid, Type: proto.OpSetWatches}).Encode(&e)
		(&proto.SetWatches{Exist: paths[:n]}).Encode(&e)
		send(e.Buf)
		var h proto.ReplyHeader
		if err := proto.Unmarshal(recv(), &h); err != nil || h.Err != proto.OK {
			t.Fatalf("setWatches: %+v %v", h, err)
		}
		paths = paths[n:]
	}
}

// The JSON of watches_by_path and watches over more than
// FourLetterWordMaxOutput bytes of watches is cut there as the 4lw is, and
// says so.
func TestWatchListsAreBounded(t *testing.T) {
	s := ensembletest.Start(t)
	base := serveAdmin(t, s.Server()) + "/commands"
	const n = 80_000
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("/watched/%06d", i)
	}
	setWatches(t, s.Addr(), paths)
	for _, cmd := range []string{"watches_by_path", "watches"} {
		resp, err := http.Get(base + "/" + cmd)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var obj map[string]any
		if err := json.Unmarshal(body, &obj); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		if want := fmt.Sprintf("output truncated at %d bytes", server.FourLetterWordMaxOutput); obj["error"] != want {
			t.Errorf("%s over %d watches: error %v, want %q", cmd, n, obj["error"], want)
		}
		// Indented JSON costs more per entry than the text; a few times
		// the bound is the most it may take.
		if len(body) > 4*server.FourLetterWordMaxOutput {
			t.Errorf("%s: %d bytes", cmd, len(body))
		}
	}
	_, byPath := get(t, base+"/watches_by_path")
	if got := len(byPath["path_to_session_ids"].(map[string]any)); got == 0 || got >= n {
		t.Errorf("watches_by_path lists %d of %d paths", got, n)
	}
	if _, m := get(t, base+"/mntr"); m["four_letter_words_truncated"].(json.Number).String() != "3" {
		t.Errorf("four_letter_words_truncated %v, want 3", m["four_letter_words_truncated"])
	}
}

// last_snapshot follows the snapshots raft writes: their zxid, in hex,
// and when they were written.
func TestLastSnapshot(t *testing.T) {
	s := ensembletest.Start(t, ensembletest.WithConfig(func(c *config.Config) { c.SnapCount = 10 }))
	base := serveAdmin(t, s.Server()) + "/commands"
	c, _, err := zk.Connect([]string{s.Addr()}, 10*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 30 {
		if _, err := c.Create(fmt.Sprintf("/n%d", i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, obj := get(t, base+"/lsnp")
		zxid, err := strconv.ParseInt(obj["zxid"].(string), 16, 64)
		if err != nil {
			t.Fatalf("last_snapshot zxid %v", obj["zxid"])
		}
		ts, _ := obj["timestamp"].(json.Number).Int64()
		if zxid >= 10 {
			if age := time.Since(time.Unix(ts, 0)); age < -time.Second || age > time.Minute {
				t.Errorf("last_snapshot at %d, %v ago", ts, age)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("last_snapshot still %v after 30 writes with snapCount=10", obj)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A server cut off from its quorum answers the commands that need a
// serving server with ZooKeeper's error, and the others as usual.
func TestNotServing(t *testing.T) {
	c := ensembletest.StartCluster(t, 3, 0)
	leader := c.WaitLeader()
	var lone *ensembletest.Member
	for _, m := range c.Members() {
		if m.ID != leader.ID {
			lone = m
			break
		}
	}
	base := serveAdmin(t, lone.Server()) + "/commands"
	var others []uint64
	for _, m := range c.Members() {
		if m != lone {
			others = append(others, m.ID)
		}
	}
	c.Partition([]uint64{lone.ID}, others)
	const notServing = "This ZooKeeper instance is not currently serving requests"
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, obj := get(t, base+"/srvr"); obj["error"] == notServing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("srvr kept answering on a server with no leader")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, cmd := range []string{"monitor", "stats", "connections", "dirs", "dump", "watch_summary", "watches", "watches_by_path"} {
		if _, obj := get(t, base+"/"+cmd); obj["error"] != notServing || obj["command"] != cmd {
			t.Errorf("%s without a leader: %v", cmd, obj)
		}
	}
	for _, cmd := range []string{"ruok", "configuration", "environment", "voting_view", "is_read_only"} {
		if _, obj := get(t, base+"/"+cmd); obj["error"] != nil {
			t.Errorf("%s without a leader: %v", cmd, obj)
		}
	}
	if _, obj := get(t, base+"/leader"); obj["leader_id"].(json.Number).String() != "-1" || obj["leader_ip"] != "" {
		t.Errorf("leader without a leader: %v", obj)
	}
	c.Heal()
}
