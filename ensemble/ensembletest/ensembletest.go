package ensembletest

import (
	"context"
	"fmt"
	"os"
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
	o := newOptions(opts)
	s := &Server{t: t, instance: standalone(t.TempDir(), FreePorts(t, 1)[0], o.logger(t), o)}
	if err := s.start(); err != nil {
		t.Fatalf("ensembletest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Standalone is a server started by Run.
type Standalone struct {
	instance
	dir string
}

// Run starts a server as Start does, for code that has no testing.TB, such
// as an Example: the caller must Close it. WithLogs has no effect.
func Run(opts ...Option) (*Standalone, error) {
	o := newOptions(opts)
	ports, err := freePorts(1)
	if err != nil {
		return nil, fmt.Errorf("ensembletest: %w", err)
	}
	dir, err := os.MkdirTemp("", "ensembletest")
	if err != nil {
		return nil, fmt.Errorf("ensembletest: %w", err)
	}
	s := &Standalone{instance: standalone(dir, ports[0], zap.NewNop(), o), dir: dir}
	if err := s.start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("ensembletest: %w", err)
	}
	return s, nil
}

// Close stops the server and removes its data directory.
func (s *Standalone) Close() {
	s.stop(false)
	os.RemoveAll(s.dir)
}

func newOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// standalone is the lifecycle of a standalone server on 127.0.0.1:port
// keeping its data in dir.
func standalone(dir string, port int, log *zap.Logger, o options) instance {
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
	return instance{
		load: func() (*config.Config, error) {
			cfg, err := config.Parse(strings.NewReader(text), "ensembletest.cfg")
			if err != nil {
				return nil, err
			}
			cfg.SuperDigest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
			return cfg, nil
		},
		configure: o.configure,
		log:       log,
		addr:      fmt.Sprintf("127.0.0.1:%d", port),
	}
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
