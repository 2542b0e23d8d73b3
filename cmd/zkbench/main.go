package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-zookeeper/zk"
)

// subcommands start servers of their own.
var subcommands = map[string]func(ctx context.Context, args []string, out io.Writer) error{
	"scale":      scaleMain,
	"throughput": throughputMain,
}

func main() {
	if len(os.Args) > 1 && subcommands[os.Args[1]] != nil {
		// SIGTERM too, so that the servers started are stopped on either.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := subcommands[os.Args[1]](ctx, os.Args[2:], os.Stdout)
		stop()
		if err != nil {
			if !errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(os.Stderr, "zkbench %s: %v\n", os.Args[1], err)
			}
			os.Exit(1)
		}
		return
	}
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: zkbench [flags], or zkbench scale|throughput [flags] (zkbench scale -h)\n")
		flag.PrintDefaults()
	}
	addr := flag.String("addr", "127.0.0.1:2181", "server addresses host:port, comma-separated; clients are spread over them round-robin")
	clients := flag.Int("clients", 16, "concurrent sessions, one goroutine each")
	duration := flag.Duration("duration", 10*time.Second, "how long each operation runs")
	size := flag.Int("size", 100, "payload bytes for create and set")
	ops := flag.String("ops", "create,set,get", "comma-separated operations: "+strings.Join(opNames, ", "))
	caFile := flag.String("tls-ca", "", "connect over TLS, trusting the CA certificates in this PEM file")
	certFile := flag.String("tls-cert", "", "with -tls-ca: the client certificate to present, PEM")
	keyFile := flag.String("tls-key", "", "with -tls-cert: its private key, PEM")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := config{addrs: strings.Split(*addr, ","), clients: *clients, duration: *duration, size: *size, ops: strings.Split(*ops, ",")}
	tc, err := clientTLS(*caFile, *certFile, *keyFile)
	if err == nil {
		cfg.tls = tc
		err = run(ctx, cfg, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkbench:", err)
		os.Exit(1)
	}
}

type config struct {
	addrs    []string
	clients  int
	duration time.Duration
	size     int
	ops      []string
	tls      *tls.Config // nil for plain TCP
}

// opFunc performs one request for client c; i counts that client's requests
// of this operation.
type opFunc func(c *client, i int) error

type client struct {
	conn  *zk.Conn
	dir   string   // this client's parent node
	nodes []string // nodes created so far, which set/get/delete cycle over
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	l, err := startLoad(cfg)
	if err != nil {
		return err
	}
	defer l.close()

	tw := tabwriter.NewWriter(out, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "op\tops\tops/s\tp50\tp99\tmax\terrors\t\n")
	for _, op := range cfg.ops {
		if ctx.Err() != nil {
			break
		}
		r := l.measure(ctx, op)
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%v\t%v\t%v\t%d\t\n", op, len(r.lat), opsPerSec(r),
			r.quantile(0.50), r.quantile(0.99), r.quantile(1), r.errors)
		if r.firstErr != nil {
			fmt.Fprintf(os.Stderr, "zkbench: %s: first error: %v\n", op, r.firstErr)
		}
	}
	return tw.Flush()
}

// load is cfg's sessions, their nodes and the operations they issue, ready
// to measure one operation after another.
type load struct {
	cfg  config
	cs   []*client
	root string
	ops  map[string]opFunc
}

// opNames are the operations startLoad knows, in the order that leaves
// each something to work on.
var opNames = []string{"create", "set", "get", "exists", "children", "delete"}

// check reports what is wrong with cfg's numbers and operations.
func (cfg config) check() error {
	if cfg.clients < 1 || cfg.duration <= 0 || cfg.size < 0 {
		return errors.New("-clients must be ≥1, -duration > 0 and -size ≥ 0")
	}
	for _, op := range cfg.ops {
		if !slices.Contains(opNames, op) {
			return fmt.Errorf("unknown operation %q", op)
		}
	}
	return nil
}

// startLoad checks cfg and opens its sessions (see setup).
func startLoad(cfg config) (*load, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	payload := make([]byte, cfg.size)
	for i := range payload {
		payload[i] = 'x'
	}
	table := map[string]opFunc{
		"create": func(c *client, i int) error {
			p, err := c.conn.Create(fmt.Sprintf("%s/n%d", c.dir, i), payload, zk.FlagPersistent, zk.WorldACL(zk.PermAll))
			if err == nil {
				c.nodes = append(c.nodes, p)
			}
			return err
		},
		"set": func(c *client, i int) error {
			_, err := c.conn.Set(c.nodes[i%len(c.nodes)], payload, -1)
			return err
		},
		"get": func(c *client, i int) error {
			_, _, err := c.conn.Get(c.nodes[i%len(c.nodes)])
			return err
		},
		"exists": func(c *client, i int) error {
			_, _, err := c.conn.Exists(c.nodes[i%len(c.nodes)])
			return err
		},
		"children": func(c *client, i int) error {
			kids, _, err := c.conn.Children(c.dir + "/list")
			if err == nil && len(kids) != listSize {
				err = fmt.Errorf("listed %d children, want %d", len(kids), listSize)
			}
			return err
		},
		"delete": func(c *client, i int) error {
			if i >= len(c.nodes) {
				return errDone
			}
			return c.conn.Delete(c.nodes[i], -1)
		},
	}
	cs, root, err := setup(cfg, payload)
	if err != nil {
		return nil, err
	}
	return &load{cfg: cfg, cs: cs, root: root, ops: table}, nil
}

// measure runs op, one of cfg.ops, on every session for cfg.duration.
func (l *load) measure(ctx context.Context, op string) result {
	return measure(ctx, l.cs, l.cfg.duration, l.ops[op])
}

// close removes the nodes and closes the sessions.
func (l *load) close() { teardown(l.cs, l.root) }

// errDone ends a client's run early: delete has nothing left to delete.
var errDone = errors.New("nothing left")

// setup opens one session per client, pinned to one server round-robin so
// that an ensemble's load spreads evenly (go-zk given the whole list would
// pick servers at random), and a parent node each, with one child so that set
// and get have something to work on without a create phase, and a directory
// of listSize children for children to list.
func setup(cfg config, payload []byte) ([]*client, string, error) {
	quiet := zk.WithLogger(log.New(io.Discard, "", 0))
	cs := make([]*client, cfg.clients)
	root := fmt.Sprintf("/zkbench-%d", time.Now().UnixNano())
	for i := range cs {
		addr := cfg.addrs[i%len(cfg.addrs)]
		dial := zk.WithDialer(net.DialTimeout)
		if cfg.tls != nil {
			dial = zk.WithDialer(tlsDialer(cfg.tls))
		}
		conn, _, err := zk.Connect([]string{addr}, 10*time.Second, quiet, dial)
		if err != nil {
			teardown(cs[:i], "")
			return nil, "", fmt.Errorf("connect %s: %w", addr, err)
		}
		cs[i] = &client{conn: conn, dir: fmt.Sprintf("%s/c%d", root, i)}
	}
	acl := zk.WorldACL(zk.PermAll)
	if _, err := cs[0].conn.Create(root, nil, zk.FlagPersistent, acl); err != nil {
		teardown(cs, "")
		return nil, "", fmt.Errorf("create %s: %w", root, err)
	}
	for _, c := range cs {
		seed := c.dir + "/seed"
		if _, err := c.conn.Create(c.dir, nil, zk.FlagPersistent, acl); err != nil {
			teardown(cs, root)
			return nil, "", fmt.Errorf("create %s: %w", c.dir, err)
		}
		if _, err := c.conn.Create(seed, payload, zk.FlagPersistent, acl); err != nil {
			teardown(cs, root)
			return nil, "", fmt.Errorf("create %s: %w", seed, err)
		}
		c.nodes = []string{seed}
		ops := []any{&zk.CreateRequest{Path: c.dir + "/list", Acl: acl}}
		for j := range listSize {
			ops = append(ops, &zk.CreateRequest{Path: fmt.Sprintf("%s/list/n%d", c.dir, j), Acl: acl})
		}
		if _, err := c.conn.Multi(ops...); err != nil {
			teardown(cs, root)
			return nil, "", fmt.Errorf("create %s/list: %w", c.dir, err)
		}
	}
	return cs, root, nil
}

// listSize is how many children the children operation lists: a fixed
// directory made at setup, so that every server does the same work per
// request whatever the create rate it reached before.
const listSize = 100

// teardown removes the benchmark's nodes and closes the sessions.
func teardown(cs []*client, root string) {
	if root != "" && len(cs) > 0 {
		// Clients on other servers of an ensemble wrote most of the tree;
		// sync brings cs[0]'s server up to date before it lists children.
		cs[0].conn.Sync(root)
		deleteTree(cs[0].conn, root)
	}
	for _, c := range cs {
		c.conn.Close()
	}
}

func deleteTree(conn *zk.Conn, path string) {
	kids, _, err := conn.Children(path)
	if err != nil {
		return
	}
	for _, k := range kids {
		deleteTree(conn, path+"/"+k)
	}
	conn.Delete(path, -1)
}

type result struct {
	lat      []time.Duration // every successful request, sorted after the run
	elapsed  time.Duration
	errors   int
	firstErr error
}

// measure runs op on every client until the duration ends, keeping every
// latency sample: at tens of thousands of requests per second for seconds that
// is a few MB, and exact quantiles beat a histogram's buckets.
func measure(ctx context.Context, cs []*client, d time.Duration, op opFunc) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu  sync.Mutex
		all result
		wg  sync.WaitGroup
	)
	start := time.Now()
	for _, c := range cs {
		wg.Go(func() {
			var r result
			for i := 0; ctx.Err() == nil; i++ {
				t0 := time.Now()
				err := op(c, i)
				if errors.Is(err, errDone) {
					break
				}
				if err != nil {
					r.errors++
					if r.firstErr == nil {
						r.firstErr = err
					}
					continue
				}
				r.lat = append(r.lat, time.Since(t0))
			}
			mu.Lock()
			defer mu.Unlock()
			all.lat = append(all.lat, r.lat...)
			all.errors += r.errors
			if all.firstErr == nil {
				all.firstErr = r.firstErr
			}
		})
	}
	wg.Wait()
	all.elapsed = time.Since(start)
	slices.Sort(all.lat)
	return all
}

// quantile returns the q-th latency by the nearest-rank method.
func (r result) quantile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(r.lat)))) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)].Round(time.Microsecond)
}

// clientTLS builds the TLS settings of -tls-ca, -tls-cert and -tls-key; nil
// when -tls-ca is not given.
func clientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	if caFile == "" {
		if certFile != "" || keyFile != "" {
			return nil, errors.New("-tls-cert and -tls-key need -tls-ca")
		}
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate", caFile)
	}
	tc := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// tlsDialer dials TCP and finishes the TLS handshake within the timeout
// go-zk gives, verifying the server's certificate for the host dialed.
func tlsDialer(tc *tls.Config) zk.Dialer {
	return func(network, addr string, timeout time.Duration) (net.Conn, error) {
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: tc}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return d.DialContext(ctx, network, addr)
	}
}
