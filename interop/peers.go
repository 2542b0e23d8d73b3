package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/ensembletest"
	"github.com/zookit/zookit/internal/debianzk"
)

// EnvStrict names the environment variable that turns a missing peer from a
// skip into a failure; CI sets it to 1.
const EnvStrict = "ZOOKIT_INTEROP"

// SuperAuth is the digest credential of the super user both servers are
// started with (the superDigest below is sha1 of it).
const SuperAuth = "super:test"

// Where Debian's packages put things.
const (
	zkCliPath = "/usr/share/zookeeper/bin/zkCli.sh"
	cliMtPath = "/usr/lib/zookeeper/bin/cli_mt"
)

// serverJVMFlags are the system properties both servers get: Apache ZooKeeper
// on its java command line, zkserver through SERVER_JVMFLAGS as zkServer.sh
// would pass them.
var serverJVMFlags = []string{
	"-Dzookeeper.extendedTypesEnabled=true",
	"-Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
}

// hangGuard bounds every wait on an external process so that a wedged peer
// fails the test with its output instead of hitting the global test timeout.
const hangGuard = 60 * time.Second

// startGuard bounds a server's start. A JVM that starts in seconds alone
// has taken over a minute while the race-enabled suite loads both cores.
const startGuard = 3 * time.Minute

// Peer is a program or library outside Go that a test needs.
type Peer string

// The peers Require knows how to find.
const (
	ZooKeeper Peer = "Apache ZooKeeper 3.8 server"
	ZkCli     Peer = "zkCli.sh"
	CliMt     Peer = "cli_mt"
	Curator   Peer = "Apache Curator 5.4"
	Kazoo     Peer = "Kazoo (Python)"
	// AdminServer is Apache ZooKeeper's AdminServer, whose Jetty needs the
	// servlet API that zookeeper.jar's manifest does not name.
	AdminServer Peer = "Apache ZooKeeper 3.8 AdminServer"
)

// kazooPython is the interpreter Debian's python3-kazoo installs for; a
// python3 earlier on PATH (pyenv, a venv) would not see the package.
const kazooPython = "/usr/bin/python3"

// KazooPython is the Python that can import kazoo.
func KazooPython() string { return kazooPython }

// Require skips the test when a peer is missing, naming the Debian package to
// install; with ZOOKIT_INTEROP=1 it fails instead.
func Require(t testing.TB, peers ...Peer) {
	t.Helper()
	var missing []string
	for _, p := range peers {
		for _, m := range p.missing() {
			missing = append(missing, fmt.Sprintf("%s: %s", p, m))
		}
	}
	if len(missing) > 0 {
		skipOrFail(t, "interop peers missing: "+strings.Join(missing, "; "))
	}
}

func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(EnvStrict) == "1" {
		t.Fatalf("%s (%s=1 makes this fatal)", msg, EnvStrict)
	}
	t.Skip(msg)
}

func (p Peer) missing() []string {
	var m []string
	need := func(ok bool, what, pkg string) {
		if !ok {
			m = append(m, fmt.Sprintf("%s not found (Debian package %s)", what, pkg))
		}
	}
	_, errJava := exec.LookPath("java")
	switch p {
	case ZooKeeper:
		need(errJava == nil, "java", "default-jre-headless")
		_, cpMissing := ZooKeeperClasspath()
		for _, f := range cpMissing {
			need(false, f, "zookeeper")
		}
	case AdminServer:
		m = append(m, ZooKeeper.missing()...)
		need(isFile(debianzk.ServletAPI), debianzk.ServletAPI, "libservlet-api-java")
	case ZkCli:
		need(errJava == nil, "java", "default-jre-headless")
		need(isFile(zkCliPath), zkCliPath, "zookeeper")
	case CliMt:
		need(CliMtPath() != "", cliMtPath, "zookeeper-bin")
	case Curator:
		_, errJavac := exec.LookPath("javac")
		need(errJava == nil, "java", "default-jre-headless")
		need(errJavac == nil, "javac", "default-jdk-headless")
		_, cpMissing := CuratorClasspath()
		for _, f := range cpMissing {
			need(false, f, "zookeeper, libcurator-client-java, libcurator-framework-java, libcurator-recipes-java, libcurator-discovery-java")
		}
	case Kazoo:
		need(isFile(kazooPython) && exec.Command(kazooPython, "-c", "import kazoo").Run() == nil, "kazoo for "+kazooPython, "python3-kazoo")
	default:
		m = append(m, "unknown peer")
	}
	return m
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// ZooKeeperClasspath is debianzk.ServerClasspath: the classpath zkEnv.sh
// would use, spelled out, and the named jars that are absent.
func ZooKeeperClasspath() (string, []string) { return debianzk.ServerClasspath() }

// CuratorClasspath returns the classpath for a Curator 5.4 program: the
// Curator jars (service discovery included) and their manifest dependencies
// (guava, zookeeper, jackson...).
func CuratorClasspath() (string, []string) {
	return debianzk.Classpath(
		filepath.Join(debianzk.JavaDir, "curator-recipes.jar"),
		filepath.Join(debianzk.JavaDir, "curator-x-discovery.jar"),
		filepath.Join(debianzk.JavaDir, "curator-framework.jar"),
		filepath.Join(debianzk.JavaDir, "curator-client.jar"),
		filepath.Join(debianzk.JavaDir, "zookeeper.jar"),
		filepath.Join(debianzk.JavaDir, "slf4j-simple.jar"),
	)
}

// ZkCliPath is Debian's zkCli.sh.
func ZkCliPath() string { return zkCliPath }

// CliMtPath finds the C client shell, or returns "" when it is absent.
func CliMtPath() string {
	if p, err := exec.LookPath("cli_mt"); err == nil {
		return p
	}
	if isFile(cliMtPath) {
		return cliMtPath
	}
	return ""
}

// Options tunes a server started by StartApacheZooKeeper or StartZookit.
type Options struct {
	// TickTime in milliseconds; 0 means 2000.
	TickTime int
	// Config holds extra zoo.cfg keys.
	Config map[string]string
	// JVMFlags are extra system properties such as
	// -Dznode.container.checkIntervalMs=100, given to both servers the way
	// the built-in ones are.
	JVMFlags []string
	// ServerConfig, when set, gives more zoo.cfg keys for the i-th server
	// (from 0, in server id order), for the ports that each server of an
	// ensemble needs its own of, admin.serverPort say: port is free, and
	// chosen in one set with the servers' own ports, so that it is none of
	// them. Config wins a key both set.
	ServerConfig func(i, port int) map[string]string
}

// StartApacheZooKeeper runs Apache ZooKeeper 3.8 standalone in the foreground
// and returns its client address; the server is killed when the test ends.
func StartApacheZooKeeper(t testing.TB, opts Options) string {
	t.Helper()
	return startServer(t, opts, "zookeeper", apacheCommand(t, opts))
}

// StartZookit runs `zkserver start-foreground` built from this module and
// returns its client address; the server is killed when the test ends.
func StartZookit(t testing.TB, opts Options) string {
	t.Helper()
	return startServer(t, opts, "zkserver", zookitCommand(t))
}

// StartApacheEnsemble runs an Apache ZooKeeper 3.8 quorum of voters
// participants and observers observers, one process each, and returns their
// client addresses in server id order (voters first); every server is killed
// when the test ends.
func StartApacheEnsemble(t testing.TB, voters, observers int, opts Options) []string {
	t.Helper()
	return startEnsemble(t, voters, observers, opts, "zookeeper", apacheCommand(t, opts))
}

// StartZookitEnsemble is StartApacheEnsemble with `zkserver start-foreground`
// processes built from this module.
func StartZookitEnsemble(t testing.TB, voters, observers int, opts Options) []string {
	t.Helper()
	return startEnsemble(t, voters, observers, opts, "zkserver", zookitCommand(t))
}

// apacheCommand runs QuorumPeerMain, which is standalone or a quorum member
// depending on zoo.cfg, as zkServer.sh start-foreground does.
func apacheCommand(t testing.TB, opts Options) func(cfg string) *exec.Cmd {
	t.Helper()
	Require(t, ZooKeeper)
	cp, _ := ZooKeeperClasspath()
	return func(cfg string) *exec.Cmd {
		args := append(jvmFlags(opts), "-cp", cp, debianzk.ServerMain, cfg)
		return exec.Command("java", args...)
	}
}

func zookitCommand(t testing.TB) func(cfg string) *exec.Cmd {
	t.Helper()
	bin := zkserverBinary(t)
	return func(cfg string) *exec.Cmd {
		return exec.Command(bin, "start-foreground", cfg)
	}
}

func jvmFlags(opts Options) []string {
	return append(slices.Clone(serverJVMFlags), opts.JVMFlags...)
}

// Starter is the signature StartApacheZooKeeper and StartZookit share, so a
// test can run the same body against either.
type Starter func(t testing.TB, opts Options) string

// EnsembleStarter is the signature StartApacheEnsemble and
// StartZookitEnsemble share.
type EnsembleStarter func(t testing.TB, voters, observers int, opts Options) []string

// startServer writes a zoo.cfg for a fresh data dir and free port, starts the
// command made for it and waits until the server answers ruok.
func startServer(t testing.TB, opts Options, name string, command func(cfg string) *exec.Cmd) string {
	t.Helper()
	dir := t.TempDir()
	ports := ensembletest.FreePorts(t, 2)
	port := strconv.Itoa(ports[0])
	addr := net.JoinHostPort("127.0.0.1", port)
	cfg := baseConfig(opts, dir)
	cfg["clientPort"], cfg["clientPortAddress"] = port, "127.0.0.1"
	if opts.ServerConfig != nil {
		maps.Copy(cfg, opts.ServerConfig(0, ports[1]))
	}
	p := launch(t, opts, name, dir, addr, cfg, command)
	awaitReady(t, []*process{p}, func(ctx context.Context) bool { return serving(ctx, addr) })
	return addr
}

// startEnsemble writes one data dir with myid and one zoo.cfg per server,
// listing every server with its quorum, election and client ports, starts
// them all and waits until each answers srvr with its role, one of them
// leading, and opens a session.
func startEnsemble(t testing.TB, voters, observers int, opts Options, name string, command func(cfg string) *exec.Cmd) []string {
	t.Helper()
	return newEnsemble(t, voters, observers, opts, name, command).addrs
}

// Ensemble is a running ensemble the harness started, which can grow.
type Ensemble struct {
	t       testing.TB
	opts    Options
	name    string
	command func(cfg string) *exec.Cmd
	base    string
	servers map[string]string // server.N lines, as each new server's zoo.cfg lists them
	addrs   []string
}

// StartGrowableEnsemble is StartZookitEnsemble (name "zkserver") or
// StartApacheEnsemble (name "zookeeper") returning the Ensemble, to which
// Add starts more servers.
func StartGrowableEnsemble(t testing.TB, name string, voters int, opts Options) *Ensemble {
	t.Helper()
	command := zookitCommand(t)
	if name == "zookeeper" {
		command = apacheCommand(t, opts)
	}
	return newEnsemble(t, voters, 0, opts, name, command)
}

// Addrs are the client addresses of the servers started, in id order.
func (e *Ensemble) Addrs() []string { return slices.Clone(e.addrs) }

func newEnsemble(t testing.TB, voters, observers int, opts Options, name string, command func(cfg string) *exec.Cmd) *Ensemble {
	t.Helper()
	n := voters + observers
	e := &Ensemble{t: t, opts: opts, name: name, command: command, base: t.TempDir(), servers: map[string]string{}}
	// One set, so that no server's client port is another's quorum port.
	ports := ensembletest.FreePorts(t, 4*n) // the last n for ServerConfig
	for i := range n {
		role := ""
		if i >= voters {
			role = ":observer"
		}
		e.addrs = append(e.addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[3*i])))
		e.servers[fmt.Sprintf("server.%d", i+1)] = fmt.Sprintf("127.0.0.1:%d:%d%s;%s", ports[3*i+1], ports[3*i+2], role, e.addrs[i])
	}
	procs := make([]*process, n)
	for i := range n {
		var extra map[string]string
		if opts.ServerConfig != nil {
			extra = opts.ServerConfig(i, ports[3*n+i])
		}
		procs[i] = e.launchServer(i+1, i >= voters, extra)
	}
	awaitReady(t, procs, func(ctx context.Context) bool {
		leaders := 0
		for i, addr := range e.addrs {
			want := []string{"leader", "follower"}
			if i >= voters {
				want = []string{"observer"}
			}
			m := Mode(ctx, addr)
			if !slices.Contains(want, m) {
				return false
			}
			if m == "leader" {
				leaders++
			}
		}
		// Sessions are opened only once every server reports its role: each
		// one is a quorum write.
		return leaders == 1 && !slices.ContainsFunc(e.addrs, func(a string) bool { return !serving(ctx, a) })
	})
	return e
}

// launchServer writes server id's data directory, myid and zoo.cfg (the
// servers so far) and starts it.
func (e *Ensemble) launchServer(id int, observer bool, extra map[string]string) *process {
	e.t.Helper()
	dir := filepath.Join(e.base, fmt.Sprintf("server%d", id))
	cfg := baseConfig(e.opts, dir)
	cfg["initLimit"], cfg["syncLimit"] = "10", "5"
	maps.Copy(cfg, e.servers)
	if observer {
		cfg["peerType"] = "observer"
	}
	maps.Copy(cfg, extra)
	if err := os.MkdirAll(cfg["dataDir"], 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg["dataDir"], "myid"), []byte(strconv.Itoa(id)+"\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return launch(e.t, e.opts, fmt.Sprintf("%s.%d", e.name, id), dir, e.addrs[id-1], cfg, e.command)
}

// Add starts the next server as a participant, with a zoo.cfg listing the
// servers so far and itself, as ZooKeeper's reconfiguration guide has a
// new server started, and returns its id, its client address and the spec
// that reconfig's joining list takes for it. It does not wait for the
// server: it serves once a reconfig has made it a member.
func (e *Ensemble) Add() (id int, addr, spec string) {
	e.t.Helper()
	p := ensembletest.FreePorts(e.t, 3)
	id = len(e.addrs) + 1
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p[0]))
	e.addrs = append(e.addrs, addr)
	line := fmt.Sprintf("127.0.0.1:%d:%d:participant;%s", p[1], p[2], addr)
	e.servers[fmt.Sprintf("server.%d", id)] = line
	e.launchServer(id, false, nil)
	return id, addr, fmt.Sprintf("server.%d=%s", id, line)
}

// Mode returns what the server at addr reports on the Mode line of srvr
// (standalone, leader, follower or observer), or "" when it is not serving.
func Mode(ctx context.Context, addr string) string {
	out, err := FourLetterWord(ctx, addr, "srvr")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(out) {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "Mode: "); ok {
			return m
		}
	}
	return ""
}

// baseConfig holds the zoo.cfg keys every server the harness starts gets.
func baseConfig(opts Options, dir string) map[string]string {
	tick := opts.TickTime
	if tick == 0 {
		tick = 2000
	}
	return map[string]string{
		"tickTime":               strconv.Itoa(tick),
		"dataDir":                filepath.Join(dir, "data"),
		"admin.enableServer":     "false",
		"4lw.commands.whitelist": "*",
	}
}

// process is one server the harness started.
type process struct {
	name    string
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
	// relaunch starts the server again, with the same configuration and
	// data directory, after Kill.
	relaunch func() *process
}

// running maps the client address of every live server the harness started
// to its process, for Kill; killed those Kill stopped, for Restart.
var running, killed sync.Map

// launch writes cfg (with opts.Config on top) to dir/zoo.cfg, starts the
// command made for it with its output in dir/<name>.log and kills it when the
// test ends.
func launch(t testing.TB, opts Options, name, dir, addr string, cfg map[string]string, command func(cfg string) *exec.Cmd) *process {
	t.Helper()
	maps.Copy(cfg, opts.Config)
	if err := os.MkdirAll(cfg["dataDir"], 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	// Sorted keys keep the file diffable between runs.
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		fmt.Fprintf(&b, "%s=%s\n", k, cfg[k])
	}
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &process{name: name, exited: make(chan struct{}), logPath: filepath.Join(dir, name+".log")}
	p.relaunch = func() *process { return launch(t, opts, name, dir, addr, maps.Clone(cfg), command) }
	logFile, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = command(cfgPath)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), "SERVER_JVMFLAGS="+strings.Join(jvmFlags(opts), " "))
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	running.Store(addr, p)
	t.Cleanup(func() {
		running.CompareAndDelete(addr, p)
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s log (%s):\n%s", name, p.logPath, tail(p.logPath, 8<<10))
		}
	})
	return p
}

// awaitReady polls ready until it holds, failing the test with the server
// log when a process exits first or startGuard passes.
func awaitReady(t testing.TB, procs []*process, ready func(ctx context.Context) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startGuard)
	defer cancel()
	// Each probe gets its own short deadline: a 4lw sent while Apache
	// ZooKeeper is still starting can leave its socket open (it logs a
	// NullPointerException closing it), and the next probe must follow.
	probe := func() bool {
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		defer pcancel()
		return ready(pctx)
	}
	for !probe() {
		for _, p := range procs {
			select {
			case <-p.exited:
				t.Fatalf("%s exited before it was ready: %v\n%s", p.name, p.cmd.ProcessState, tail(p.logPath, 8<<10))
			default:
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("not serving within %v (the logs follow)", startGuard)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Kill sends SIGKILL to the server the harness started at client address
// addr, as a crash would, and waits until it is gone.
func Kill(t testing.TB, addr string) {
	t.Helper()
	v, ok := running.LoadAndDelete(addr)
	if !ok {
		t.Fatalf("kill %s: no running server started by the harness", addr)
	}
	p := v.(*process)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.exited
	killed.Store(addr, p)
}

// Restart starts again the server Kill stopped at client address addr,
// with its configuration and data, and returns without waiting for it to
// serve.
func Restart(t testing.TB, addr string) {
	t.Helper()
	v, ok := killed.LoadAndDelete(addr)
	if !ok {
		t.Fatalf("restart %s: no server killed by the harness there", addr)
	}
	// The log of the first run stays in its file; the second appends none
	// to it, so keep it under another name.
	p := v.(*process)
	os.Rename(p.logPath, p.logPath+".1")
	p.relaunch()
}

// serving reports whether the server answers ruok with imok and also opens a
// session: Apache ZooKeeper says imok before it has loaded its database.
func serving(ctx context.Context, addr string) bool {
	if out, err := FourLetterWord(ctx, addr, "ruok"); err != nil || out != "imok" {
		return false
	}
	conn, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(log.New(io.Discard, "", 0)))
	if err != nil {
		return false
	}
	defer conn.Close()
	_, _, err = conn.Exists("/")
	return err == nil
}

// FourLetterWord sends a 4lw command and returns the reply, read until the
// server closes the connection.
func FourLetterWord(ctx context.Context, addr, word string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("4lw %s: %w", word, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, word); err != nil {
		return "", fmt.Errorf("4lw %s: %w", word, err)
	}
	out, err := io.ReadAll(conn)
	if err != nil {
		return "", fmt.Errorf("4lw %s: %w", word, err)
	}
	return string(out), nil
}

// tail returns the last n bytes of a log file, for failure messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return lastBytes(string(b), n)
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// zkserverBuild holds the one zkserver binary a test binary builds.
var zkserverBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// zkserverBinary builds ./cmd/zkserver once per test binary.
func zkserverBinary(t testing.TB) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if _, err := os.Stat(filepath.Join(root, "cmd", "zkserver")); errors.Is(err, fs.ErrNotExist) {
		skipOrFail(t, "cmd/zkserver not built yet")
	}
	b := &zkserverBuild
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "zookit-interop-")
		if b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "zkserver")
		cmd := exec.Command("go", "build", "-o", b.path, "github.com/zookit/zookit/cmd/zkserver")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build ./cmd/zkserver: %w\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Main runs the tests and then removes what the harness built for them; call
// it from TestMain in packages that use StartZookit.
func Main(m *testing.M) {
	code := m.Run()
	if zkserverBuild.dir != "" {
		os.RemoveAll(zkserverBuild.dir)
	}
	os.Exit(code)
}
