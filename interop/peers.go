package interop

import (
	"archive/zip"
	"bufio"
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
)

// EnvStrict names the environment variable that turns a missing peer from a
// skip into a failure; CI sets it to 1.
const EnvStrict = "ZOOKIT_INTEROP"

// SuperAuth is the digest credential of the super user both servers are
// started with (the superDigest below is sha1 of it).
const SuperAuth = "super:test"

// Where Debian's packages put things.
const (
	javaDir   = "/usr/share/java"
	zkConfDir = "/etc/zookeeper/conf"
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

// Peer is a program or library outside Go that a test needs.
type Peer string

// The peers Require knows how to find.
const (
	ZooKeeper Peer = "Apache ZooKeeper 3.8 server"
	ZkCli     Peer = "zkCli.sh"
	CliMt     Peer = "cli_mt"
	Curator   Peer = "Apache Curator 5.4"
)

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
			need(false, f, "zookeeper, libcurator-client-java, libcurator-framework-java, libcurator-recipes-java")
		}
	default:
		m = append(m, "unknown peer")
	}
	return m
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// ZooKeeperClasspath returns the classpath zkEnv.sh would use, spelled out:
// Debian's zookeeper.jar carries its dependencies (jute, netty, slf4j, jetty...)
// in its manifest Class-Path, so those are listed too, and slf4j-simple is
// appended so that the server logs to stderr. The second result lists the
// named jars that are absent.
func ZooKeeperClasspath() (string, []string) {
	return classpath(filepath.Join(javaDir, "zookeeper.jar"), filepath.Join(javaDir, "slf4j-simple.jar"))
}

// CuratorClasspath returns the classpath for a Curator 5.4 program: the three
// Curator jars and their manifest dependencies (guava, zookeeper...).
func CuratorClasspath() (string, []string) {
	return classpath(
		filepath.Join(javaDir, "curator-recipes.jar"),
		filepath.Join(javaDir, "curator-framework.jar"),
		filepath.Join(javaDir, "curator-client.jar"),
		filepath.Join(javaDir, "zookeeper.jar"),
		filepath.Join(javaDir, "slf4j-simple.jar"),
	)
}

// classpath expands jars with their manifest Class-Path entries, keeping the
// order and dropping duplicates; the config dir comes first as in zkEnv.sh.
// The named jars must exist. Manifest entries that do not are left out, as the
// JVM itself ignores them (Debian's zookeeper.jar names an absent jline.jar).
func classpath(jars ...string) (string, []string) {
	entries := []string{zkConfDir}
	var missing []string
	seen := map[string]bool{}
	var add func(jar string, required bool)
	add = func(jar string, required bool) {
		if seen[jar] {
			return
		}
		seen[jar] = true
		deps, err := manifestClassPath(jar)
		if err != nil {
			if required {
				missing = append(missing, jar)
			}
			return
		}
		entries = append(entries, jar)
		for _, d := range deps {
			add(d, false)
		}
	}
	for _, j := range jars {
		add(j, true)
	}
	return strings.Join(entries, string(os.PathListSeparator)), missing
}

// manifestClassPath reads the Class-Path attribute of a jar's manifest.
func manifestClassPath(jar string) ([]string, error) {
	zr, err := zip.OpenReader(jar)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", jar, err)
	}
	defer zr.Close()
	f, err := zr.Open("META-INF/MANIFEST.MF")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", jar, err)
	}
	defer f.Close()
	// Manifest lines wrap at 72 bytes; a continuation line starts with a space.
	var attr, cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, " ") {
			cur += line[1:]
			continue
		}
		if strings.HasPrefix(cur, "Class-Path:") {
			attr = cur
		}
		cur = line
	}
	if strings.HasPrefix(cur, "Class-Path:") {
		attr = cur
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", jar, err)
	}
	return strings.Fields(strings.TrimPrefix(attr, "Class-Path:")), nil
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
}

// StartApacheZooKeeper runs Apache ZooKeeper 3.8 standalone in the foreground
// and returns its client address; the server is killed when the test ends.
func StartApacheZooKeeper(t testing.TB, opts Options) string {
	t.Helper()
	Require(t, ZooKeeper)
	cp, _ := ZooKeeperClasspath()
	return startServer(t, opts, "zookeeper", func(cfg string) *exec.Cmd {
		args := append(jvmFlags(opts), "-cp", cp, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg)
		return exec.Command("java", args...)
	})
}

// StartZookit runs `zkserver start-foreground` built from this module and
// returns its client address; the server is killed when the test ends.
func StartZookit(t testing.TB, opts Options) string {
	t.Helper()
	bin := zkserverBinary(t)
	return startServer(t, opts, "zkserver", func(cfg string) *exec.Cmd {
		return exec.Command(bin, "start-foreground", cfg)
	})
}

func jvmFlags(opts Options) []string {
	return append(slices.Clone(serverJVMFlags), opts.JVMFlags...)
}

// Starter is the signature StartApacheZooKeeper and StartZookit share, so a
// test can run the same body against either.
type Starter func(t testing.TB, opts Options) string

// startServer writes a zoo.cfg for a fresh data dir and free port, starts the
// command made for it and waits until the server answers ruok.
func startServer(t testing.TB, opts Options, name string, command func(cfg string) *exec.Cmd) string {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	tick := opts.TickTime
	if tick == 0 {
		tick = 2000
	}
	cfg := map[string]string{
		"tickTime":               strconv.Itoa(tick),
		"dataDir":                filepath.Join(dir, "data"),
		"clientPort":             strconv.Itoa(port),
		"clientPortAddress":      "127.0.0.1",
		"admin.enableServer":     "false",
		"4lw.commands.whitelist": "*",
	}
	for k, v := range opts.Config {
		cfg[k] = v
	}
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
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := command(cfgPath)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SERVER_JVMFLAGS="+strings.Join(jvmFlags(opts), " "))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("%s log (%s):\n%s", name, logPath, tail(logPath, 8<<10))
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	for !serving(ctx, addr) {
		select {
		case <-exited:
			t.Fatalf("%s exited before it was ready: %v\n%s", name, cmd.ProcessState, tail(logPath, 8<<10))
		case <-ctx.Done():
			t.Fatalf("%s was not serving within %v\n%s", name, hangGuard, tail(logPath, 8<<10))
		case <-time.After(100 * time.Millisecond):
		}
	}
	return addr
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

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
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
