package ensembletest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/zookit/zookit/ensemble/config"
)

// Option changes the configuration of a test server.
type Option func(*options)

type options struct {
	configure []func(*config.Config)
	verbose   bool
}

// WithConfig lets a test adjust the configuration before every start.
func WithConfig(f func(*config.Config)) Option {
	return func(o *options) { o.configure = append(o.configure, f) }
}

// WithLogs sends the servers' logs to the test log.
func WithLogs() Option { return func(o *options) { o.verbose = true } }

func (o *options) logger(t testing.TB) *zap.Logger {
	if o.verbose {
		return zaptest.NewLogger(t)
	}
	return zap.NewNop()
}

// Server is a standalone server running inside the test process.
type Server struct {
	instance
	t testing.TB
}

// Start runs a standalone server on a free port with a temporary data
// directory; it stops when the test ends. The defaults are ZooKeeper's
// test-friendly ones: tickTime 200ms, every four-letter word allowed, TTL
// nodes enabled, containers checked every second, the super user
// "super:test". Session timeouts may be up to 30 s (not 20 ticks), so that
// a loaded test machine does not expire sessions that tests do not mean to
// expire; tests of expiry ask for short timeouts or call ExpireSession.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	port := FreePorts(t, 1)[0]
	dir := t.TempDir()
	// The configuration is a zoo.cfg text, so tests exercise the same
	// parsing as deployments.
	text := fmt.Sprintf(`tickTime=200
maxSessionTimeout=30000
dataDir=%s
clientPortAddress=127.0.0.1
clientPort=%d
4lw.commands.whitelist=*
extendedTypesEnabled=true
znode.container.checkIntervalMs=1000
`, dir, port)
	s := &Server{t: t, instance: instance{
		load: func() (*config.Config, error) {
			cfg, err := config.Parse(strings.NewReader(text), "ensembletest.cfg")
			if err != nil {
				return nil, err
			}
			cfg.SuperDigest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
			return cfg, nil
		},
		configure: o.configure,
		log:       o.logger(t),
		addr:      fmt.Sprintf("127.0.0.1:%d", port),
	}}
	if err := s.start(); err != nil {
		t.Fatalf("ensembletest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Stop closes the server, keeping its data directory. Safe to call twice.
func (s *Server) Stop() { s.stop(false) }

// Restart stops the server if it runs and starts it again on the same
// address from the same data directory.
func (s *Server) Restart() {
	s.t.Helper()
	s.stop(false)
	if err := s.start(); err != nil {
		s.t.Fatalf("ensembletest: restart: %v", err)
	}
}

// ExpireSession ends the session now, as if its timeout had passed.
func (s *Server) ExpireSession(id int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.srv.ExpireSession(ctx, id)
}
