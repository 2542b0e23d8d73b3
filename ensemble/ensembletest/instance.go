package ensembletest

import (
	"fmt"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/server"
)

// instance is one server's lifecycle, shared by standalone servers and
// cluster members: load the configuration, serve on a fixed client
// address, stop keeping the data, start again.
type instance struct {
	load       func() (*config.Config, error) // a fresh configuration for every start
	configure  []func(*config.Config)
	serverOpts []server.Option
	log        *zap.Logger
	addr       string
	// secureAddr is where TLS clients are served; "" for none.
	secureAddr string
	onStart    func(*server.Server)

	cfg    *config.Config
	srv    *server.Server
	exited chan struct{} // closed when Serve returns
	err    error         // what Serve returned; written before exited closes
}

func (in *instance) start() error {
	cfg, err := in.load()
	if err != nil {
		return err
	}
	for _, f := range in.configure {
		f(cfg)
	}
	srv, err := server.New(cfg, append(in.serverOpts[:len(in.serverOpts):len(in.serverOpts)], server.WithLogger(in.log))...)
	if err != nil {
		return err
	}
	ln, err := listen(in.addr)
	if err != nil {
		srv.Close()
		return err
	}
	var secure net.Listener
	if in.secureAddr != "" {
		if secure, err = listen(in.secureAddr); err != nil {
			ln.Close()
			srv.Close()
			return err
		}
	}
	in.cfg, in.srv = cfg, srv
	exited := make(chan struct{})
	in.exited = exited
	go func() {
		// Serve's error is the one reported: both end together, at a
		// stop or a storage failure.
		done := make(chan struct{})
		if secure != nil {
			go func() {
				srv.ServeTLS(secure)
				close(done)
			}()
		} else {
			close(done)
		}
		in.err = srv.Serve(ln)
		<-done
		close(exited)
	}()
	if in.onStart != nil {
		in.onStart(srv)
	}
	return nil
}

// listen listens on addr; the port may still be held briefly after a
// stop.
func listen(addr string) (net.Listener, error) {
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("listen on %s: %w", addr, err)
}

// stop closes the server, keeping its data directory; a hard stop skips
// the leadership hand-over, as a crash would. Safe to call twice.
func (in *instance) stop(hard bool) {
	if in.srv == nil {
		return
	}
	if hard {
		in.srv.HardStop()
	} else {
		in.srv.Close()
	}
	<-in.exited
	in.srv = nil
}

// Exited is closed when the current run's Serve returns: after a stop, or
// by itself when the server stops serving on a storage failure.
func (in *instance) Exited() <-chan struct{} { return in.exited }

// ServeErr is what the current run's Serve returned once Exited is
// closed (server.ErrClosed after a stop), and nil before.
func (in *instance) ServeErr() error {
	select {
	case <-in.exited:
		return in.err
	default:
		return nil
	}
}

// Addr is the client address, "127.0.0.1:port".
func (in *instance) Addr() string { return in.addr }

// SecureAddr is the TLS client address, "127.0.0.1:port", or "" when the
// server was not started WithTLS.
func (in *instance) SecureAddr() string { return in.secureAddr }

// Server is the running server, or nil while stopped.
func (in *instance) Server() *server.Server { return in.srv }

// Config is the configuration of the current (or last) run.
func (in *instance) Config() *config.Config { return in.cfg }
