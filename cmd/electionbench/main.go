package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/election"
	"github.com/zookit/zookit/interop"
	"github.com/zookit/zookit/recipes"
)

// hang bounds every wait beyond the failover itself, so that a wedged
// candidate fails the run instead of hanging it.
const hang = 60 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == "candidate" {
		if err := candidate(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "electionbench candidate:", err)
			os.Exit(1)
		}
		return
	}
	addr := flag.String("addr", "127.0.0.1:2181", "server address host:port")
	rounds := flag.Int("rounds", 10, "failovers measured per implementation and way of going")
	warmup := flag.Int("warmup", 2, "unmeasured close rounds first, so that close times are those of warm processes")
	session := flag.Duration("session", 4*time.Second, "session timeout of every candidate, Go and Java alike")
	jitter := flag.Duration("jitter", 2*time.Second, "kill: wait a random time up to this before each kill; at least the server's tickTime")
	ways := flag.String("ways", "close,kill", "how the leader goes, comma-separated: close (it closes its latch) or kill (SIGKILL)")
	path := flag.String("path", "/electionbench", "latch path; each run uses a child of it")
	curator := flag.Bool("curator", false, "also run Curator's LeaderLatch (needs java, javac and Debian's Curator jars)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var goes []string
	for _, w := range strings.Split(*ways, ",") {
		w = strings.TrimSpace(w)
		if w != "close" && w != "kill" {
			fmt.Fprintf(os.Stderr, "electionbench: bad way %q (close or kill)\n", w)
			os.Exit(2)
		}
		goes = append(goes, w)
	}
	if *rounds < 1 || *warmup < 0 || *jitter <= 0 {
		fmt.Fprintln(os.Stderr, "electionbench: -rounds must be at least 1, -warmup at least 0 and -jitter above 0")
		os.Exit(2)
	}
	b := &bench{addr: *addr, session: *session, jitter: *jitter, rounds: *rounds, warmup: *warmup}
	if err := b.run(ctx, *path, goes, *curator, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "electionbench:", err)
		os.Exit(1)
	}
}

type bench struct {
	addr            string
	session, jitter time.Duration
	rounds, warmup  int
}

// impl starts the nth candidate process of an implementation on a latch
// path and returns the id it announces itself with.
type impl struct {
	name  string
	start func(ctx context.Context, path string, n int) (p *interop.PeerProcess, id string, err error)
}

type result struct {
	impl, way string
	took      []time.Duration
}

func (b *bench) run(ctx context.Context, path string, ways []string, curator bool, out io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	sessionMs := strconv.FormatInt(b.session.Milliseconds(), 10)
	impls := []impl{{"zookit LeaderLatch", func(ctx context.Context, path string, n int) (*interop.PeerProcess, string, error) {
		id := fmt.Sprintf("c%d", n)
		p, err := interop.StartPeer(exec.CommandContext(ctx, self, "candidate", b.addr, path, sessionMs, id))
		return p, id, err
	}}}
	if curator {
		dir, err := os.MkdirTemp("", "electionbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		peer, err := interop.CompileElectionPeer(ctx, dir)
		if err != nil {
			return err
		}
		impls = append(impls, impl{"Curator LeaderLatch", func(ctx context.Context, path string, n int) (*interop.PeerProcess, string, error) {
			prefix := fmt.Sprintf("c%d", n)
			p, err := interop.StartPeer(peer.Command(ctx, b.addr, "latch", path, "1", sessionMs, prefix))
			return p, prefix + "-0", err
		}})
	}
	var results []result
	for _, im := range impls {
		for _, way := range ways {
			// A path of its own, so that no run waits behind the sessions
			// an earlier one left to expire.
			r := &rounds{bench: b, ctx: ctx, im: im, path: fmt.Sprintf("%s/%s-%s-%d", path, strings.Fields(im.name)[0], way, time.Now().UnixNano())}
			took, err := r.measure(way)
			r.killAll()
			if err != nil {
				return fmt.Errorf("%s, leader %s: %w", im.name, way, err)
			}
			results = append(results, result{im.name, way, took})
		}
	}
	fmt.Fprintf(out, "server %s, session timeout %v, %d rounds (close: after %d warm-up rounds); from the leader going to the next one's first guarded write\n",
		b.addr, b.session, b.rounds, b.warmup)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "implementation\tleader\tmin ms\tmedian ms\tp90 ms\tmax ms\t")
	for _, r := range results {
		slices.Sort(r.took)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", r.impl, r.way, ms(r.took[0]), ms(rank(r.took, 0.5)), ms(rank(r.took, 0.9)), ms(r.took[len(r.took)-1]))
	}
	return tw.Flush()
}

// rank is the nearest-rank q-quantile of sorted durations.
func rank(sorted []time.Duration, q float64) time.Duration {
	return sorted[int(math.Ceil(q*float64(len(sorted))))-1]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

// rounds is one implementation's failovers on one path.
type rounds struct {
	*bench
	ctx   context.Context
	im    impl
	path  string
	procs []*interop.PeerProcess
}

func (r *rounds) start(n int) (*interop.PeerProcess, string, error) {
	p, id, err := r.im.start(r.ctx, r.path, n)
	if err == nil {
		r.procs = append(r.procs, p)
	}
	return p, id, err
}

func (r *rounds) await(p *interop.PeerProcess, wait time.Duration, fields ...string) (interop.PeerLine, error) {
	ctx, cancel := context.WithTimeout(r.ctx, wait)
	defer cancel()
	return p.Await(ctx, fields...)
}

func (r *rounds) exit(p *interop.PeerProcess) error {
	ctx, cancel := context.WithTimeout(r.ctx, hang)
	defer cancel()
	if err := p.Exit(ctx); err != nil {
		return fmt.Errorf("%w\n%s", err, p.Stderr())
	}
	return nil
}

func (r *rounds) killAll() {
	for _, p := range r.procs {
		p.Kill()
	}
}

// measure starts a leader and a candidate joined behind it, then times the
// failovers: from the leader going to the candidate announcing
// leadership.
func (r *rounds) measure(way string) ([]time.Duration, error) {
	leader, id, err := r.start(0)
	if err != nil {
		return nil, err
	}
	if _, err := r.await(leader, hang, "LEADER", id); err != nil {
		return nil, err
	}
	next, nextID, err := r.start(1)
	if err != nil {
		return nil, err
	}
	if _, err := r.await(next, hang, "READY"); err != nil {
		return nil, err
	}
	var took []time.Duration
	for n := 2; len(took) < r.rounds; n++ {
		if way == "kill" {
			// A round starts just after the server expired the last
			// leader's session, in step with its expiry ticks; a kill at
			// a random phase measures the failover a crash would see.
			select {
			case <-time.After(rand.N(r.jitter)):
			case <-r.ctx.Done():
				return nil, r.ctx.Err()
			}
		}
		gone := time.Now()
		if way == "kill" {
			leader.Kill()
		} else if err := leader.Send("close 0"); err != nil {
			return nil, err
		}
		led, err := r.await(next, 3*r.session+hang, "LEADER", nextID)
		if err != nil {
			return nil, err
		}
		if way == "kill" || n-2 >= r.warmup {
			took = append(took, led.At.Sub(gone))
		}
		if len(took) == r.rounds {
			break
		}
		if way == "kill" {
			// A killed leader is gone: a fresh process joins instead.
			if leader, id, err = r.start(n); err != nil {
				return nil, err
			}
			if _, err := r.await(leader, hang, "READY"); err != nil {
				return nil, err
			}
		} else {
			// The two processes take turns, so they warm up.
			if err := leader.Send("rejoin 0"); err != nil {
				return nil, err
			}
			if _, err := r.await(leader, hang, "JOINED", id); err != nil {
				return nil, err
			}
		}
		leader, id, next, nextID = next, nextID, leader, id
	}
	if err := r.exit(next); err != nil {
		return nil, err
	}
	if way == "close" {
		return took, r.exit(leader)
	}
	return took, nil
}

// candidate is one Go candidate process, speaking ElectionPeer's line
// protocol for a single latch participant on a session of its own, so
// that both implementations are driven and timed alike: READY once its
// node exists; LEADER <id> <node> after its first proof as leader (a
// marker created in a transaction that checks its node, then deleted),
// repeated every 10 ms while it leads; on stdin "close 0" closes the latch
// (CLOSED <id>), "rejoin 0" starts a new one (JOINED <id> <node>), "exit"
// or EOF closes it and exits.
func candidate(args []string) error {
	if len(args) != 4 {
		return errors.New("usage: electionbench candidate ADDR PATH SESSION_MS ID")
	}
	addr, path, id := args[0], args[1], args[3]
	sessionMs, err := strconv.Atoi(args[2])
	if err != nil {
		return err
	}
	ctx := context.Background()
	cctx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	c, err := recipes.New(cctx, []string{addr}, recipes.WithSessionTimeout(time.Duration(sessionMs)*time.Millisecond))
	if err != nil {
		return err
	}
	defer c.Close()
	l, err := join(c, path, id)
	if err != nil {
		return err
	}
	if err := warm(cctx, c, l.Path(), path); err != nil {
		return err
	}
	fmt.Println("READY")
	defer func() {
		if l != nil {
			l.close()
		}
	}()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd := strings.Fields(in.Text())
		switch {
		case len(cmd) == 0 || cmd[0] == "exit":
			return nil
		case cmd[0] == "close" && l != nil:
			if err := l.close(); err != nil {
				return err
			}
			l = nil
			fmt.Println("CLOSED", id)
		case cmd[0] == "rejoin" && l == nil:
			if l, err = join(c, path, id); err != nil {
				return err
			}
			fmt.Println("JOINED", id, l.Path())
		default:
			return fmt.Errorf("unexpected command %q", in.Text())
		}
	}
	return in.Err()
}

// latch is a candidate's LeaderLatch and the goroutine that proves its
// terms.
type latch struct {
	*election.LeaderLatch
	stop chan struct{}
	led  chan error
}

// join starts a latch and returns once its node exists.
func join(c *recipes.Client, path, id string) (*latch, error) {
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	l := &latch{LeaderLatch: election.NewLeaderLatch(c, path, id), stop: make(chan struct{}), led: make(chan error, 1)}
	for l.Path() == "" {
		select {
		case <-ctx.Done():
			l.Close(context.Background(), election.Silent)
			return nil, fmt.Errorf("no latch node: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	go func() { l.led <- lead(context.Background(), c, l.LeaderLatch, path, id, l.stop) }()
	return l, nil
}

// close stops proving, then closes the latch, which deletes its node.
func (l *latch) close() error {
	close(l.stop)
	err := <-l.led
	return errors.Join(err, l.Close(context.Background(), election.Silent))
}

// warm runs a proof's operations once on a scratch node, as ElectionPeer
// does for the JVM's sake, so that both sides do the same work before
// READY.
func warm(ctx context.Context, c *recipes.Client, node, path string) error {
	res, err := c.Multi(ctx,
		&zk.CheckVersionRequest{Path: node, Version: -1},
		&zk.CreateRequest{Path: path + "-warmup-", Flags: zk.FlagEphemeral | zk.FlagSequence})
	if err != nil {
		return err
	}
	return c.Delete(ctx, c.RelPath(res[1].String), -1)
}

// lead proves every term of l until stop is closed; it never abandons a
// proof in flight, so the marker is gone when it returns.
func lead(ctx context.Context, c *recipes.Client, l *election.LeaderLatch, path, id string, stop <-chan struct{}) error {
	wait, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-stop
		cancel()
	}()
	for {
		t, err := l.Await(wait)
		if wait.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if stopped, err := term(ctx, c, t, path, id, stop); stopped || err != nil {
			return err
		}
	}
}

// term proves t every 10 ms until it ends or stop is closed, announcing
// LEADER after the first proof and NOTLEADER at the end, as ElectionPeer
// does.
func term(ctx context.Context, c *recipes.Client, t *election.Leadership, path, id string, stop <-chan struct{}) (stopped bool, err error) {
	marker := path + "-leader"
	announced := false
	defer func() {
		if announced {
			fmt.Println("NOTLEADER", id)
		}
	}()
	for {
		_, err := t.Guard(ctx, &zk.CreateRequest{Path: marker, Flags: zk.FlagEphemeral})
		if errors.Is(err, election.ErrNotHeld) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("two leaders? create %s: %w", marker, err)
		}
		if err := c.Delete(ctx, marker, -1); err != nil {
			return false, err
		}
		if !announced {
			fmt.Println("LEADER", id, t.Path())
			announced = true
		}
		select {
		case <-stop:
			return true, nil
		case <-t.Done():
			return false, nil
		case <-time.After(10 * time.Millisecond):
		}
	}
}
