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
	load      func() (*config.Config, error) // a fresh configuration for every start
	configure []func(*config.Config)
	log       *zap.Logger
	addr      string
	onStart   func(*server.Server)

	cfg  *config.Config
	srv  *server.Server
	done chan error
}

func (in *instance) start() error {
	cfg, err := in.load()
	if err != nil {
		return err
	}
	for _, f := range in.configure {
		f(cfg)
	}
	srv, err := server.New(cfg, server.WithLogger(in.log))
	if err != nil {
		return err
	}
	// The port may still be held briefly after a stop.
	var ln net.Listener
	for range 50 {
		if ln, err = net.Listen("tcp", in.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		srv.Close()
		return fmt.Errorf("listen on %s: %w", in.addr, err)
	}
	in.cfg, in.srv = cfg, srv
	in.done = make(chan error, 1)
	go func() { in.done <- srv.Serve(ln) }()
	if in.onStart != nil {
		in.onStart(srv)
	}
	return nil
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
	<-in.done
	in.srv = nil
}

// Addr is the client address, "127.0.0.1:port".
func (in *instance) Addr() string { return in.addr }

// Server is the running server, or nil while stopped.
func (in *instance) Server() *server.Server { return in.srv }

// Config is the configuration of the current (or last) run.
func (in *instance) Config() *config.Config { return in.cfg }
