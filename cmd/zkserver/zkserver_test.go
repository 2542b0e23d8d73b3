package main

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/ensemble/tlsconf"
	"github.com/zookit/zookit/ensemble/tlsconf/tlstest"
	"github.com/zookit/zookit/internal/syncbuf"
)

// binary builds zkserver once for the tests that run it as a process.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "zkserver-bin")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "zkserver")
	b, err := exec.Command("go", "build", "-o", out, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, b)
	}
	return out, nil
})

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeConfig(t *testing.T) (cfg, dataDir string, port int) {
	t.Helper()
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	port = freePort(t)
	cfg = filepath.Join(dir, "zoo.cfg")
	text := fmt.Sprintf("tickTime=500\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n", dataDir, port)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, dataDir, port
}

func zkserver(t *testing.T, args ...string) (string, int) {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "ZOOCFGDIR=")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func TestStartStatusStop(t *testing.T) {
	cfg, dataDir, port := writeConfig(t)
	if out, code := zkserver(t, "status", cfg); code != 1 || !strings.Contains(out, "Error contacting service. It is probably not running.") {
		t.Fatalf("status before start: %d %q", code, out)
	}
	if out, code := zkserver(t, "start", cfg); code != 0 || !strings.Contains(out, "STARTED") {
		t.Fatalf("start: %d %q", code, out)
	}
	t.Cleanup(func() { zkserver(t, "stop", cfg) })
	if _, err := os.Stat(filepath.Join(dataDir, "zookeeper_server.pid")); err != nil {
		t.Fatalf("pid file: %v", err)
	}
	if out, code := zkserver(t, "start", cfg); code != 1 || !strings.Contains(out, "already running as process") {
		t.Fatalf("second start: %d %q", code, out)
	}
	out, code := zkserver(t, "status", cfg)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("Client port found: %d.", port)) || !strings.Contains(out, "Mode: standalone") {
		t.Fatalf("status: %d %q", code, out)
	}
	if out, code := zkserver(t, "restart", cfg); code != 0 || !strings.Contains(out, "STOPPED") || !strings.Contains(out, "STARTED") {
		t.Fatalf("restart: %d %q", code, out)
	}
	if out, code := zkserver(t, "stop", cfg); code != 0 || !strings.Contains(out, "STOPPED") {
		t.Fatalf("stop: %d %q", code, out)
	}
	if out, code := zkserver(t, "status", cfg); code != 1 {
		t.Fatalf("status after stop: %d %q", code, out)
	}
}

func TestBadConfigNamesKeyAndLine(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "zoo.cfg")
	os.WriteFile(cfg, []byte("dataDir="+dir+"\ntickTime=abc\n"), 0o644)
	out, code := zkserver(t, "start-foreground", cfg)
	if code == 0 || !strings.Contains(out, "zoo.cfg:2") || !strings.Contains(out, "tickTime") {
		t.Fatalf("bad config: %d %q", code, out)
	}
}

func TestVersion(t *testing.T) {
	if out, code := zkserver(t, "version"); code != 0 || !strings.Contains(out, "version") {
		t.Fatalf("version: %d %q", code, out)
	}
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// process is a zkserver start-foreground process that a test runs.
type process struct {
	cmd  *exec.Cmd
	logs syncbuf.Buffer
	done chan struct{} // closed once the process has exited
	err  error         // how it exited; set before done is closed
}

// startForeground runs start-foreground on cfg until the test ends.
func startForeground(t *testing.T, cfg string) *process {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: exec.Command(bin, "start-foreground", cfg), done: make(chan struct{})}
	p.cmd.Stderr = &p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("server log:\n%s", p.logs.String())
		}
	})
	return p
}

// kill sends SIGKILL and waits until the process is gone.
func (p *process) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func waitServing(t *testing.T, port int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok := zk.FLWRuok([]string{fmt.Sprintf("127.0.0.1:%d", port)}, time.Second); len(ok) == 1 && ok[0] {
			return
		}
	}
	t.Fatal("server did not come up")
}

// TestKill9LosesNoAcknowledgedWrite writes from several clients, kills the
// server with SIGKILL mid-stream, restarts it and checks that every write
// the server acknowledged is there.
func TestKill9LosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs a server process; skipped in -short mode")
	}
	cfg, _, port := writeConfig(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	srv := startForeground(t, cfg)
	waitServing(t, port)
	setup, _, err := zk.Connect([]string{addr}, 5*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := setup.Create("/crash", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	setup.Close()

	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := zk.Connect([]string{addr}, 5*time.Second, zk.WithLogger(nopLogger{}))
			if err != nil {
				return
			}
			defer c.Close()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p, err := c.Create(fmt.Sprintf("/crash/w%d-%d", w, i), []byte("x"), 0, zk.WorldACL(zk.PermAll))
				if err != nil {
					return
				}
				mu.Lock()
				acked = append(acked, p)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	srv.kill()
	close(stop)
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}

	startForeground(t, cfg)
	waitServing(t, port)
	c, _, err := zk.Connect([]string{addr}, 5*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kids, _, err := c.Children("/crash")
	if err != nil {
		t.Fatal(err)
	}
	have := make(map[string]bool, len(kids))
	for _, k := range kids {
		have["/crash/"+k] = true
	}
	for _, p := range acked {
		if !have[p] {
			t.Fatalf("acknowledged write %s lost after kill -9 (%d acknowledged, %d present)", p, n, len(kids))
		}
	}
	t.Logf("%d acknowledged writes, all present after kill -9 (%d nodes)", n, len(kids))
}

// A server with only a secure client port starts, answers status over TLS
// (with its own zookeeper.ssl.* settings, as zkServer.sh does) and serves
// TLS clients; one with both ports serves both. A key store it cannot open
// stops it at start with the property named.
func TestSecureClientPort(t *testing.T) {
	ca := tlstest.NewCA(t, "ca")
	cert := ca.Server(t, "zk")
	client := ca.Client(t, pkix.Name{CommonName: "client"})
	for _, plain := range []bool{false, true} {
		dir := t.TempDir()
		secure := freePort(t)
		text := fmt.Sprintf("tickTime=500\ndataDir=%s\nsecureClientPort=%d\n", filepath.Join(dir, "data"), secure)
		text += tlstest.ZooCfg(cert.Stores(t, tlsconf.Client, tlsconf.JKS, dir, "changeit"))
		port := 0
		if plain {
			port = freePort(t)
			text += fmt.Sprintf("clientPort=%d\nclientPortAddress=127.0.0.1\nsecureClientPortAddress=127.0.0.1\n", port)
		}
		cfg := filepath.Join(dir, "zoo.cfg")
		os.WriteFile(cfg, []byte(text), 0o644)
		if out, code := zkserver(t, "start", cfg); code != 0 || !strings.Contains(out, "STARTED") {
			t.Fatalf("start: %d %q", code, out)
		}
		t.Cleanup(func() { zkserver(t, "stop", cfg) })
		out, code := zkserver(t, "status", cfg)
		wantStatus := fmt.Sprintf("Client port found: %d. Client address: localhost. Client SSL: true.", secure)
		if plain {
			wantStatus = fmt.Sprintf("Client port found: %d. Client address: 127.0.0.1. Client SSL: false.", port)
		}
		if code != 0 || !strings.Contains(out, wantStatus) || !strings.Contains(out, "Mode: standalone") {
			t.Fatalf("status: %d %q, want %q", code, out, wantStatus)
		}
		dial := func(network, addr string, timeout time.Duration) (net.Conn, error) {
			d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: client.ClientConfig("127.0.0.1")}
			return d.Dial(network, addr)
		}
		c, _, err := zk.Connect([]string{fmt.Sprintf("127.0.0.1:%d", secure)}, 4*time.Second, zk.WithDialer(dial), zk.WithLogInfo(false))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Create("/over-tls", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if out, code := zkserver(t, "stop", cfg); code != 0 || !strings.Contains(out, "STOPPED") {
			t.Fatalf("stop: %d %q", code, out)
		}
	}

	dir := t.TempDir()
	text := fmt.Sprintf("dataDir=%s\nsecureClientPort=%d\n", dir, freePort(t)) +
		tlstest.ZooCfg(cert.Stores(t, tlsconf.Client, tlsconf.PKCS12, dir, "right")) + "ssl.keyStore.password=wrong\n"
	cfg := filepath.Join(dir, "zoo.cfg")
	os.WriteFile(cfg, []byte(text), 0o644)
	if out, code := zkserver(t, "start-foreground", cfg); code == 0 || !strings.Contains(out, "zookeeper.ssl.keyStore.location") || !strings.Contains(out, "wrong password") {
		t.Fatalf("wrong key store password: %d %q", code, out)
	}
}
