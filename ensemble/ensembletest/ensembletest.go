package ensembletest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/server"
)

// Option changes the configuration of a test server.
type Option func(*options)

type options struct {
	configure []func(*config.Config)
	verbose   bool
}

// WithConfig lets a test adjust the configuration before start.
func WithConfig(f func(*config.Config)) Option {
	return func(o *options) { o.configure = append(o.configure, f) }
}

// WithLogs sends the server's logs to the test log.
func WithLogs() Option { return func(o *options) { o.verbose = true } }

// Server is a standalone server running inside the test process.
type Server struct {
	t    testing.TB
	cfg  *config.Config
	log  *zap.Logger
	addr string
	srv  *server.Server
	done chan error
}

// Start runs a standalone server on a free port with a temporary data
// directory; it stops when the test ends. The defaults are ZooKeeper's
// test-friendly ones: tickTime 200ms, every four-letter word allowed, TTL
// nodes enabled, containers checked every second, the super user
// "super:test".
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("ensembletest: listen: %v", err)
	}
	// The configuration is a zoo.cfg text, so tests exercise the same
	// parsing as deployments.
	cfgText := fmt.Sprintf(`tickTime=200
dataDir=%s
clientPortAddress=127.0.0.1
clientPort=%d
4lw.commands.whitelist=*
extendedTypesEnabled=true
znode.container.checkIntervalMs=1000
`, t.TempDir(), ln.Addr().(*net.TCPAddr).Port)
	cfg, err := config.Parse(strings.NewReader(cfgText), "ensembletest.cfg")
	if err != nil {
		ln.Close()
		t.Fatalf("ensembletest: config: %v", err)
	}
	cfg.SuperDigest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
	for _, f := range o.configure {
		f(cfg)
	}
	s := &Server{t: t, cfg: cfg, log: zap.NewNop()}
	if o.verbose {
		s.log = zaptest.NewLogger(t)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) serve(ln net.Listener) {
	s.t.Helper()
	srv, err := server.New(s.cfg, server.WithLogger(s.log))
	if err != nil {
		ln.Close()
		s.t.Fatalf("ensembletest: start server: %v", err)
	}
	s.srv = srv
	s.done = make(chan error, 1)
	go func() { s.done <- srv.Serve(ln) }()
}

// Addr is the client address, "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr }

// Config is the configuration the server runs with.
func (s *Server) Config() *config.Config { return s.cfg }

// Server is the running server, or nil while stopped.
func (s *Server) Server() *server.Server { return s.srv }

// Stop closes the server, keeping its data directory. Safe to call twice.
func (s *Server) Stop() {
	if s.srv == nil {
		return
	}
	s.srv.Close()
	<-s.done
	s.srv = nil
}

// Restart stops the server if it runs and starts it again on the same
// address from the same data directory.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var ln net.Listener
	var err error
	// The port was just released; another process may hold it briefly.
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("ensembletest: relisten on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// ExpireSession ends the session now, as if its timeout had passed.
func (s *Server) ExpireSession(id int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.srv.ExpireSession(ctx, id)
}
