package main

import (
	"bytes"
	"maps"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/internal/syncbuf"
)

// term is a shell under test with its stdout and stderr captured apart.
type term struct {
	t        *testing.T
	s        *Shell
	out, err *syncbuf.Buffer
}

func newTerm(t *testing.T, server string) *term {
	t.Helper()
	tm := &term{t: t, out: &syncbuf.Buffer{}, err: &syncbuf.Buffer{}}
	tm.s = NewShell(Config{Server: server, Timeout: 10 * time.Second, WaitForConnection: true}, tm.out, tm.err)
	if err := tm.s.Connect(server); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tm.s.Close)
	tm.out.Reset()
	return tm
}

// run executes line and returns what it printed on stdout and stderr.
func (tm *term) run(line string) (string, string) {
	tm.t.Helper()
	tm.out.Reset()
	tm.err.Reset()
	tm.s.ExecuteLine(line)
	return tm.out.String(), tm.err.String()
}

// expect runs line and checks its stdout, stderr and exit code exactly.
func (tm *term) expect(line, wantOut, wantErr string, code int) {
	tm.t.Helper()
	out, errOut := tm.run(line)
	if out != wantOut || errOut != wantErr || tm.s.ExitCode() != code {
		tm.t.Errorf("%s:\nstdout %q\nwant   %q\nstderr %q\nwant   %q\nexit %d, want %d", line, out, wantOut, errOut, wantErr, tm.s.ExitCode(), code)
	}
}

// match runs line and checks its stdout against a regular expression.
func (tm *term) match(line, pattern string) string {
	tm.t.Helper()
	out, errOut := tm.run(line)
	if !regexp.MustCompile(pattern).MatchString(out) {
		tm.t.Errorf("%s: stdout %q does not match %q (stderr %q)", line, out, pattern, errOut)
	}
	return out
}

const statPattern = `cZxid = 0x[0-9a-f]+\nctime = \w{3} \w{3} \d\d \d\d:\d\d:\d\d \S+ \d{4}\nmZxid = 0x[0-9a-f]+\nmtime = .*\npZxid = 0x[0-9a-f]+\ncversion = -?\d+\ndataVersion = \d+\naclVersion = \d+\nephemeralOwner = 0x[0-9a-f]+\ndataLength = \d+\nnumChildren = \d+\n$`

func TestCommands(t *testing.T) {
	srv := ensembletest.Start(t)
	tm := newTerm(t, srv.Addr())

	tm.expect("create /a hello", "", "Created /a\n", 0)
	tm.expect("create /a hello", "", "Node already exists: /a\n", 1)
	tm.expect("create -s /a/s- x", "", "Created /a/s-0000000000\n", 0)
	tm.expect("create -e /a/e ''", "", "Created /a/e\n", 0)
	tm.expect("create -c -e /x", "", "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.\n", 1)
	tm.expect("create -t x /x", "", "-t argument must be a long value\n", 1)
	tm.expect("create -t 5 -e /x", "", "TTLs cannot be used with Ephemeral znodes\n", 1)
	tm.expect("create -t 0 /x", "", "ttl must be positive and cannot be larger than: 1099511627775\n", 1)
	tm.expect("create -t 60000 /ttl", "", "Created /ttl\n", 0)
	tm.expect("create -c /cont", "", "Created /cont\n", 0)
	tm.expect("create /a/e/x", "", "Ephemerals cannot have children: /a/e/x\n", 1)
	tm.expect("create x", "", "Path must start with / character\n", 1)
	tm.expect("create /bad/", "", "Path must not end with / character\n", 1)
	tm.expect("create", "", "create [-s] [-e] [-c] [-t ttl] path [data] [acl]\n", 1)
	tm.expect("create -z /a", "", "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -z\n", 1)
	tm.expect("create /acl x world:anyone:r,bogus", "", "bogus does not have the form scheme:id:perm\nCreated /acl\n", 0)
	tm.expect("create '/q q' \"two words\"", "", "Created /q q\n", 0)
	tm.expect("get '/q q'", "two words\n", "", 0)

	tm.expect("get /a", "hello\n", "", 0)
	tm.expect("get /a/e", "\n", "", 0)
	tm.expect("get -b /a", "aGVsbG8=\n", "", 0)
	tm.expect("get -x /a", "         +-------------------------------------------------+\n"+
		"         |  0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f |\n"+
		"+--------+-------------------------------------------------+----------------+\n"+
		"|00000000| 68 65 6c 6c 6f                                  |hello           |\n"+
		"+--------+-------------------------------------------------+----------------+\n", "", 0)
	tm.match("get -s /a", `^hello\n`+statPattern)
	tm.expect("get /nope", "", "Node does not exist: /nope\n", 1)
	tm.expect("get", "", "get [-s] [-w] [-b] [-x] path\n -b   Output data in base64 format\n -s   Print znode stats additionally\n"+
		" -w   Watch for changes on the znode\n -x   Output data in hexdump format\n\n", 1)

	tm.expect("set /a world", "", "", 0)
	tm.expect("set /a stale -v 0", "", "version No is not valid : /a\n", 1)
	tm.match("set -s -v 1 /a again", statPattern)
	tm.expect("set -b /a d29ybGQ=", "", "", 0)
	tm.expect("get /a", "world\n", "", 0)
	tm.expect("set -v x /a y", "", "java.lang.NumberFormatException: For input string: \"x\"\n", 1)
	tm.expect("set -v", "", "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v\n", 1)

	tm.expect("ls /a", "[e, s-0000000000]\n", "", 0)
	tm.match("ls -s /a", `^\[e, s-0000000000\]\n`+statPattern)
	tm.expect("ls -R /a", "/a\n/a/e\n/a/s-0000000000\n", "", 0)
	tm.expect("ls", "", "ls [-s] [-w] [-R] path\n", 1)
	tm.expect("ls /nope", "", "Node does not exist: /nope\n", 1)

	tm.match("stat /a", "^"+statPattern)
	tm.expect("stat /nope", "", "Node does not exist: /nope\n", 1)
	ephemeral := tm.match("stat /a/e", `ephemeralOwner = 0x[1-9a-f]`)
	if !strings.Contains(ephemeral, "ephemeralOwner = "+javaHex(tm.s.Client().SessionID())) {
		t.Errorf("ephemeralOwner is not this session: %s", ephemeral)
	}

	tm.expect("getAcl /a", "'world,'anyone\n: cdrwa\n", "", 0)
	tm.expect("getAcl /acl", "'world,'anyone\n: r\n", "", 0)
	tm.match("getAcl -s /a", `^'world,'anyone\n: cdrwa\n`+statPattern)
	tm.expect("addauth digest alice:secret", "", "", 0)
	tm.expect("setAcl /a auth:alice:secret:cdrwa", "", "", 0)
	tm.expect("getAcl /a", "'digest,'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=\n: cdrwa\n", "", 0)
	tm.expect("setAcl /acl world:anyone:cdrwa", "", "Insufficient permission : /acl\n", 1)
	tm.expect("setAcl /cont world:anyone:cdrwa -v 7", "", "version No is not valid : /cont\n", 1)
	tm.expect("setAcl -R /cont world:anyone:cdrwa", "", "", 0)
	// Apache names a digest user without its hash, zkserver with it.
	tm.match("whoami", `^Auth scheme: User\n(ip: 127\.0\.0\.1\ndigest: alice\S*\n|digest: alice\S*\nip: 127\.0\.0\.1\n)$`)

	tm.expect("getEphemerals /", "[/a/e]\n", "", 0)
	tm.expect("getEphemerals", "[/a/e]\n", "", 0)
	tm.expect("getAllChildrenNumber /a", "2\n", "", 0)
	tm.expect("getAllChildrenNumber", "", "getAllChildrenNumber path\n", 1)
	tm.expect("sync /a", "Sync is OK\n", "", 0)
	tm.expect("config", "\n", "", 0)
	tm.expect("reconfig -add 4=127.0.0.1:1:2;3", "", "KeeperErrorCode = Reconfig is disabled\n", 1)
	tm.expect("reconfig -members 1=a:1:2 -add 2=b:1:2", "", "Can't use -file or -members together with -add or -remove (mixing incremental and non-incremental modes is not allowed)\n", 1)
	tm.expect("reconfig -v zz -remove 1", "", "-v must be followed by a long (configuration version)\n", 1)
	tm.match("version", `^ZooKeeper CLI version: 3\.8\.6-zookit-\S+, built on .*\n$`)
	tm.expect("version x", "", "version \n", 1)

	tm.expect("delete /a", "", "Node not empty: /a\n", 1)
	tm.expect("delete -v 3 /acl", "", "version No is not valid : /acl\n", 1)
	tm.expect("delete /acl 0", "", "'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.\n", 0)
	tm.expect("deleteall /a -b x", "", "-b argument must be an int value\n", 1)
	tm.expect("deleteall /a -b 1", "", "", 0)
	tm.expect("stat /a", "", "Node does not exist: /a\n", 1)
	tm.expect("deleteall /nope", "", "Node does not exist: /nope\n", 1)

	tm.run("bogus")
	if tm.s.ExitCode() != exitCommandNotFound {
		t.Errorf("bogus: exit %d", tm.s.ExitCode())
	}
	if !strings.Contains(tm.err.String(), "Command not found: Command not found bogus") ||
		!strings.HasPrefix(tm.err.String(), "ZooKeeper -server host:port -client-configuration properties-file cmd args\n\taddWatch ") {
		t.Errorf("bogus command: %q", tm.err.String())
	}
}

func TestWatchCommands(t *testing.T) {
	srv := ensembletest.Start(t)
	tm := newTerm(t, srv.Addr())
	other := newTerm(t, srv.Addr())
	event := func(state, typ, path string) string {
		return "\nWATCHER::\n\nWatchedEvent state:" + state + " type:" + typ + " path:" + path + "\n"
	}
	tm.expect("create /w w", "", "Created /w\n", 0)
	tm.expect("get -w /w", "w\n", "", 0)
	tm.expect("set /w 1", event("SyncConnected", "NodeDataChanged", "/w"), "", 0)
	tm.expect("ls -w /w", "[]\n", "", 0)
	tm.expect("create /w/c", event("SyncConnected", "NodeChildrenChanged", "/w"), "Created /w/c\n", 0)
	tm.expect("stat -w /w/d", "", "Node does not exist: /w/d\n", 1)
	tm.expect("create /w/d", event("SyncConnected", "NodeCreated", "/w/d"), "Created /w/d\n", 0)
	tm.expect("ls /w watch", "[c, d]\n", "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead.\n", 0)
	tm.expect("removewatches /w -c", event("SyncConnected", "ChildWatchRemoved", "/w"), "", 0)
	tm.expect("removewatches /w", "", "KeeperErrorCode = No such watcher for /w\n", 1)

	tm.expect("addWatch -m bogus /w", "", "addWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE\n", 1)
	tm.expect("addWatch /w", "", "", 0)
	tm.expect("set /w/c x", event("SyncConnected", "NodeDataChanged", "/w/c"), "", 0)
	tm.expect("printwatches off", "", "", 0)
	tm.expect("printwatches", "printwatches is off\n", "", 0)
	tm.expect("set /w/c y", "", "", 0)
	tm.expect("printwatches on", "", "", 0)
	tm.expect("removewatches /w -a", event("SyncConnected", "PersistentWatchRemoved", "/w"), "", 0)
	tm.expect("addWatch -m persistent /w", "", "", 0)
	tm.expect("config -w", "\n", "", 0)

	// An event caused by another session arrives by itself.
	other.run("set /w z")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(tm.out.String(), "NodeDataChanged path:/w\n") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(tm.out.String(), event("SyncConnected", "NodeDataChanged", "/w")) {
		t.Errorf("no event for another session's write: %q", tm.out.String())
	}
}

func TestShellBuiltins(t *testing.T) {
	srv := ensembletest.Start(t)
	tm := newTerm(t, srv.Addr())
	tm.run("create /h h")
	tm.run("get /h")
	tm.expect("history", "0 - create /h h\n1 - get /h\n2 - history\n", "", 0)
	tm.expect("redo 1", "h\n", "", 0)
	tm.expect("redo 9", "", "Command index out of range\n", 1)
	tm.expect("redo 0x1", "h\n", "", 0)
	tm.run("redo 4")
	tm.expect("redo 6", "", "No redoing redos\n", 1)
	if got := tm.s.Prompt(); got != "[zk: "+srv.Addr()+"(CONNECTED) 8] " {
		t.Errorf("prompt %q", got)
	}
	tm.expect("close", "\nWATCHER::\n\nWatchedEvent state:Closed type:None path:null\n", "", 0)
	tm.expect("ls /", "Not connected\n", "", 0)
	if got := tm.s.Prompt(); got != "[zk: "+srv.Addr()+"(CLOSED) 10] " {
		t.Errorf("prompt after close %q", got)
	}
	tm.run("connect " + srv.Addr())
	if err := tm.s.Client().WaitConnected(t.Context()); err != nil {
		t.Fatal(err)
	}
	tm.expect("ls /h", "[]\n", "", 0)
	tm.expect("quit", "\nWATCHER::\n\nWatchedEvent state:Closed type:None path:null\n", "", 0)
	if !tm.s.Quit() {
		t.Error("quit did not quit")
	}
}

// TestReconnectKeepsSession restarts the server under the shell: the
// session and its watch survive, and the shell shows the disconnection.
func TestReconnectKeepsSession(t *testing.T) {
	srv := ensembletest.Start(t)
	tm := newTerm(t, srv.Addr())
	tm.run("create -e /eph")
	tm.run("get -w /eph")
	id := tm.s.Client().SessionID()
	srv.Restart()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(tm.out.String(), "state:SyncConnected") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(tm.out.String(), "WatchedEvent state:Disconnected type:None path:null") {
		t.Errorf("no Disconnected event: %q", tm.out.String())
	}
	if tm.s.Client().SessionID() != id {
		t.Fatalf("session changed")
	}
	tm.expect("set /eph x", "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/eph\n", "", 0)
}

func TestOneCommand(t *testing.T) {
	srv := ensembletest.Start(t)
	var out, errOut bytes.Buffer
	if code := run([]string{"-server", srv.Addr(), "-waitforconnection", "create", "/one", "1"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	if errOut.String() != "Created /one\n" {
		t.Errorf("stderr %q", errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"-server", srv.Addr(), "get", "/nope"}, nil, &out, &errOut); code != 1 {
		t.Errorf("exit %d for a missing node", code)
	}
	if !strings.HasPrefix(out.String(), "Connecting to "+srv.Addr()+"\n") || errOut.String() != "Node does not exist: /nope\n" {
		t.Errorf("stdout %q stderr %q", out.String(), errOut.String())
	}
	if code := run([]string{"-server", srv.Addr(), "nosuch"}, nil, &out, &errOut); code != 127 {
		t.Errorf("exit %d for an unknown command", code)
	}
}

func TestChrootAndFailover(t *testing.T) {
	srv := ensembletest.Start(t)
	root := newTerm(t, srv.Addr())
	root.run("create /app")
	tm := newTerm(t, "127.0.0.1:1,"+srv.Addr()+"/app")
	tm.expect("create /x", "", "Created /x\n", 0)
	root.expect("ls /app", "[x]\n", "", 0)
	tm.expect("ls /", "[x]\n", "", 0)
}

func TestClientConfiguration(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := dir + "/" + name
		if err := writeFile(p, text); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var out, errOut bytes.Buffer
	tls := write("tls.properties", "zookeeper.client.secure=true\nzookeeper.ssl.keyStore.location=/k\n")
	if code := run([]string{"-client-configuration", tls, "ls", "/"}, nil, &out, &errOut); code != exitInvalidUsage ||
		!strings.Contains(errOut.String(), "TLS is not supported") {
		t.Errorf("TLS configuration: exit %d, %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"-client-configuration", dir + "/missing", "ls", "/"}, nil, &out, &errOut); code != exitInvalidUsage {
		t.Errorf("missing file: exit %d, %q", code, errOut.String())
	}
	var cfg Config
	if err := readClientConfig(write("plain.properties", "# comment\nzookeeper.sasl.client=false\njute.maxbuffer=4096\n"), &cfg); err != nil || cfg.MaxBuffer != 4096 {
		t.Errorf("plain configuration: %+v %v", cfg, err)
	}
	// A reply larger than jute.maxbuffer drops the connection, as Java's
	// client does, rather than being read.
	srv := ensembletest.Start(t)
	big := newTerm(t, srv.Addr())
	big.run("create /big " + strings.Repeat("x", 5000))
	errOut.Reset()
	code := run([]string{"-server", srv.Addr(), "-timeout", "3000", "-client-configuration", write("small.properties", "jute.maxbuffer=4096\n"), "get", "/big"}, nil, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "ConnectionLoss") {
		t.Errorf("oversized reply: exit %d, %q", code, errOut.String())
	}
}

func TestParseOptions(t *testing.T) {
	specs := []optionSpec{{"s", false, ""}, {"v", true, ""}, {"w", false, ""}}
	for _, tc := range []struct {
		in   string
		opts map[string]string
		args []string
		err  string
	}{
		{"set /a x -v 5", map[string]string{"v": "5"}, []string{"set", "/a", "x"}, ""},
		{"set -sw -v -1 /a", map[string]string{"s": "", "w": "", "v": "-1"}, []string{"set", "/a"}, ""},
		{"set -v3 /a", map[string]string{"v": "3"}, []string{"set", "/a"}, ""},
		{"set -- -s", map[string]string{}, []string{"set", "-s"}, ""},
		{"set -q", nil, nil, "Unrecognized option: -q"},
		{"set -v -s", nil, nil, "Missing argument for option: v"},
	} {
		cl, err := parseOptions(specs, splitLine(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !maps.Equal(cl.opts, tc.opts) || strings.Join(cl.args, "|") != strings.Join(tc.args, "|") {
			t.Errorf("%q: %+v %v", tc.in, cl, err)
		}
	}
}

func writeFile(p, text string) error { return os.WriteFile(p, []byte(text), 0o600) }

func TestQuotaCommands(t *testing.T) {
	srv := ensembletest.Start(t)
	tm := newTerm(t, srv.Addr())
	tm.run("create /q")
	tm.run("create /q/a")
	tm.expect("setquota -n 4 /q/a", "", "", 0)
	tm.expect("listquota /q/a", "Output quota for /q/a count=4,bytes=-1=;byteHardLimit=-1;countHardLimit=-1\nOutput stat for /q/a count=0,bytes=0\n",
		"absolute path is /zookeeper/quota/q/a/zookeeper_limits\n", 0)
	tm.expect("setquota -N 2 /q/a", "", "", 0)
	tm.expect("listquota /q/a", "Output quota for /q/a count=4,bytes=-1=;byteHardLimit=-1;countHardLimit=2\nOutput stat for /q/a count=0,bytes=0\n",
		"absolute path is /zookeeper/quota/q/a/zookeeper_limits\n", 0)
	tm.expect("setquota -n 1 /q", "", "/q has a child /q/a which has a quota\n", 1)
	tm.run("create /q/a/b")
	tm.expect("setquota -n 1 /q/a/b", "", "/q/a/b has a parent /q/a which has a quota\n", 1)
	tm.expect("setquota /q", "", "org.apache.commons.cli.MissingOptionException: Missing required option: [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]\n", 1)
	tm.expect("setquota -n 1 -B 2 /q", "", "org.apache.commons.cli.AlreadySelectedException: The option 'B' was specified but an option from this group has already been selected: 'n'\n", 1)
	tm.expect("delquota -N /q/a", "", "", 0)
	tm.expect("listquota /q/a", "Output quota for /q/a count=4,bytes=-1=;byteHardLimit=-1;countHardLimit=-1\nOutput stat for /q/a count=0,bytes=0\n",
		"absolute path is /zookeeper/quota/q/a/zookeeper_limits\n", 0)
	tm.expect("delquota /q/a", "", "", 0)
	tm.expect("ls /zookeeper/quota", "[]\n", "", 0)
	tm.expect("delquota /q/a", "Quota does not exist for /q/a\n", "", 0)
	tm.expect("listquota /q/a", "", "absolute path is /zookeeper/quota/q/a/zookeeper_limits\nquota for /q/a does not exist.\n", 0)
}

// TestAuthFailedSession: a refused addauth ends the session, as in
// zkCli.sh, and connect opens a new one.
func TestAuthFailedSession(t *testing.T) {
	srv := ensembletest.Start(t)
	tm := newTerm(t, srv.Addr())
	tm.expect("addauth nosuchscheme x", "\nWATCHER::\n\nWatchedEvent state:AuthFailed type:None path:null\n", "", 0)
	tm.expect("ls /", "Not connected\n", "", 0)
	if got := tm.s.Prompt(); got != "[zk: "+srv.Addr()+"(AUTH_FAILED) 2] " {
		t.Errorf("prompt %q", got)
	}
	tm.run("connect")
	if err := tm.s.Client().WaitConnected(t.Context()); err != nil {
		t.Fatal(err)
	}
	tm.expect("ls /zookeeper", "[config, quota]\n", "", 0)
}
