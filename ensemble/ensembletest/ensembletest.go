package ensembletest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/server"
	"github.com/zookit/zookit/ensemble/tlsconf"
	"github.com/zookit/zookit/ensemble/tlsconf/tlstest"
	"github.com/zookit/zookit/internal/freeport"
)

// Option changes the configuration of a test server.
type Option func(*options)

type options struct {
	configure  []func(*config.Config)
	verbose    bool
	tls        *tlsOptions
	serverOpts []server.Option
}

// WithServerOptions passes options to server.New at every start
// (server.WithHandshakeTimeout, say); the logger is ensembletest's.
func WithServerOptions(opts ...server.Option) Option {
	return func(o *options) { o.serverOpts = append(o.serverOpts, opts...) }
}

type tlsOptions struct {
	cert  *tlstest.Cert
	typ   tlsconf.StoreType
	props map[string]string
}

// WithTLS also serves clients over TLS, on a second free port set as
// secureClientPort (see Server.SecureAddr). The zoo.cfg names cert as the
// key store and its CA as the trust store, written as stores of type typ
// ("" for PEM) with the password "zookit"; props add or override system
// properties, zookeeper.ssl.clientAuth or
// zookeeper.X509AuthenticationProvider.superUser say. Only Start takes it:
// the stores go to the test's temporary directory.
func WithTLS(cert *tlstest.Cert, typ tlsconf.StoreType, props map[string]string) Option {
	return func(o *options) { o.tls = &tlsOptions{cert: cert, typ: cmp.Or(typ, tlsconf.PEM), props: props} }
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
	var tlsCfg string
	ports := FreePorts(t, 2)
	if o.tls != nil {
		props := o.tls.cert.Stores(t, tlsconf.Client, o.tls.typ, t.TempDir(), "zookit")
		maps.Copy(props, o.tls.props)
		tlsCfg = fmt.Sprintf("secureClientPort=%d\nsecureClientPortAddress=127.0.0.1\n%s", ports[1], tlstest.ZooCfg(props))
	}
	in := standalone(t.TempDir(), ports[0], o.logger(t), o, tlsCfg)
	if o.tls != nil {
		in.secureAddr = fmt.Sprintf("127.0.0.1:%d", ports[1])
	}
	s := &Server{t: t, instance: in}
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
	if o.tls != nil {
		return nil, errors.New("ensembletest: WithTLS needs Start")
	}
	ports, err := freeport.Ports(1)
	if err != nil {
		return nil, fmt.Errorf("ensembletest: %w", err)
	}
	dir, err := os.MkdirTemp("", "ensembletest")
	if err != nil {
		return nil, fmt.Errorf("ensembletest: %w", err)
	}
	s := &Standalone{instance: standalone(dir, ports[0], zap.NewNop(), o, ""), dir: dir}
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
// keeping its data in dir; extra is more of its zoo.cfg.
func standalone(dir string, port int, log *zap.Logger, o options, extra string) instance {
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
`, dir, port) + extra
	return instance{
		load: func() (*config.Config, error) {
			cfg, err := config.Parse(strings.NewReader(text), "ensembletest.cfg")
			if err != nil {
				return nil, err
			}
			cfg.SuperDigest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
			return cfg, nil
		},
		configure:  o.configure,
		serverOpts: o.serverOpts,
		log:        log,
		addr:       fmt.Sprintf("127.0.0.1:%d", port),
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
