package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/server"
	"github.com/zookit/zookit/ensemble/tlsconf"
)

const usage = "Usage: zkserver [--config <conf-dir>] {start|start-foreground|stop|restart|status|version} [zoo.cfg]"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, env func(string) string, stdout, stderr io.Writer) int {
	confDir := env("ZOOCFGDIR")
	if len(args) >= 2 && args[0] == "--config" {
		confDir, args = args[1], args[2:]
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	if cmd == "version" {
		fmt.Fprintf(stdout, "zookit zkserver, ZooKeeper-compatible, version %s\n", server.Version)
		return 0
	}
	cfgPath := configPath(confDir, env("ZOOCFG"), rest)
	cfg, err := config.Load(cfgPath, env)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	switch cmd {
	case "start-foreground":
		return foreground(cfg, stderr)
	case "start":
		return start(cfg, cfgPath, env, stdout)
	case "stop":
		return stop(cfg, stdout)
	case "restart":
		if code := stop(cfg, stdout); code != 0 {
			return code
		}
		return start(cfg, cfgPath, env, stdout)
	case "status":
		return status(cfg, stdout)
	}
	fmt.Fprintln(stderr, usage)
	return 2
}

// configPath resolves the config argument as zkServer.sh does: a path, or a
// name inside the config directory.
func configPath(confDir, name string, rest []string) string {
	if len(rest) > 0 {
		p := rest[0]
		if _, err := os.Stat(p); err != nil && confDir != "" {
			return filepath.Join(confDir, p)
		}
		return p
	}
	if confDir == "" {
		return ""
	}
	if name == "" {
		name = "zoo.cfg"
	}
	return filepath.Join(confDir, name)
}

func newLogger(w zapcore.WriteSyncer) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), w, zap.InfoLevel)
	return zap.New(core)
}

func foreground(cfg *config.Config, stderr io.Writer) int {
	log := newLogger(zapcore.AddSync(stderr))
	defer log.Sync()
	if cfg.Path == "" {
		log.Info("no config file given: using the embedded standalone default", zap.String("dataDir", cfg.DataDir), zap.String("clientAddr", cfg.ClientAddr()))
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		log.Error("cannot create dataDir", zap.Error(err))
		return 1
	}
	srv, err := server.New(cfg, server.WithLogger(log))
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case s := <-sig:
		log.Info("shutting down", zap.String("signal", s.String()))
		srv.Close()
		return 0
	case err := <-errc:
		srv.Close()
		if errors.Is(err, server.ErrClosed) {
			return 0
		}
		log.Error("server stopped", zap.Error(err))
		return 1
	}
}

func pidFile(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "zookeeper_server.pid") }

func readPid(cfg *config.Config) (int, bool) {
	b, err := os.ReadFile(pidFile(cfg))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid, err == nil
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func start(cfg *config.Config, cfgPath string, env func(string) string, stdout io.Writer) int {
	fmt.Fprint(stdout, "Starting zookeeper ... ")
	if pid, ok := readPid(cfg); ok && alive(pid) {
		fmt.Fprintf(stdout, "already running as process %d.\n", pid)
		return 1
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		fmt.Fprintf(stdout, "FAILED TO START: %v\n", err)
		return 1
	}
	logDir := env("ZOO_LOG_DIR")
	if logDir == "" {
		logDir = cfg.DataDir
	}
	out, err := os.OpenFile(filepath.Join(logDir, "zookeeper.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintf(stdout, "FAILED TO START: %v\n", err)
		return 1
	}
	defer out.Close()
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stdout, "FAILED TO START: %v\n", err)
		return 1
	}
	args := []string{"start-foreground"}
	if cfgPath != "" {
		args = append(args, cfgPath)
	}
	c := exec.Command(self, args...)
	c.Stdout, c.Stderr = out, out
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		fmt.Fprintf(stdout, "SERVER DID NOT START: %v\n", err)
		return 1
	}
	pid := c.Process.Pid
	c.Process.Release()
	if err := os.WriteFile(pidFile(cfg), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		fmt.Fprintln(stdout, "FAILED TO WRITE PID")
		return 1
	}
	// Unlike zkServer.sh's fixed sleep, wait until the server answers.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if !alive(pid) {
			break
		}
		if _, err := fourLetter(cfg, "srvr"); err == nil {
			fmt.Fprintln(stdout, "STARTED")
			return 0
		}
	}
	fmt.Fprintf(stdout, "FAILED TO START (see %s)\n", out.Name())
	return 1
}

func stop(cfg *config.Config, stdout io.Writer) int {
	fmt.Fprint(stdout, "Stopping zookeeper ... ")
	pid, ok := readPid(cfg)
	if !ok {
		fmt.Fprintf(stdout, "no zookeeper to stop (could not find file %s)\n", pidFile(cfg))
		return 0
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(30 * time.Second); alive(pid) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if alive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	os.Remove(pidFile(cfg))
	fmt.Fprintln(stdout, "STOPPED")
	return 0
}

// statusAddr is where zkServer.sh status looks: clientPortAddress (default
// localhost) and clientPort, or the client part of this server's line, or
// else secureClientPortAddress and secureClientPort, over TLS.
func statusAddr(cfg *config.Config) (host string, port int, secure bool) {
	host, port = cfg.ClientPortAddress, cfg.ClientPort
	if self, ok := cfg.Self(); ok && port == 0 {
		port = self.ClientPort
		if self.ClientHost != "" && self.ClientHost != "0.0.0.0" {
			host = self.ClientHost
		}
	}
	if addr, ok := cfg.SecureClientAddr(); ok && port == 0 {
		h, p, _ := net.SplitHostPort(addr)
		host, secure = h, true
		port, _ = strconv.Atoi(p)
	}
	if host == "" || host == "0.0.0.0" {
		host = "localhost"
	}
	return host, port, secure
}

// fourLetter asks the server a four-letter word; over TLS it is a client
// with the server's own zookeeper.ssl.* settings, as zkServer.sh's
// FourLetterWordMain is.
func fourLetter(cfg *config.Config, cmd string) (string, error) {
	host, port, secure := statusAddr(cfg)
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if secure {
		settings, err := tlsconf.Load(cfg, tlsconf.Client)
		if err != nil {
			return "", err
		}
		tc := settings.ClientConfig()
		tc.ServerName = host
		c = tls.Client(c, tc)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

func status(cfg *config.Config, stdout io.Writer) int {
	host, port, secure := statusAddr(cfg)
	fmt.Fprintf(stdout, "Client port found: %d. Client address: %s. Client SSL: %t.\n", port, host, secure)
	out, err := fourLetter(cfg, "srvr")
	if err == nil {
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "Mode: ") {
				fmt.Fprintln(stdout, line)
				return 0
			}
		}
	}
	fmt.Fprintln(stdout, "Error contacting service. It is probably not running.")
	return 1
}
