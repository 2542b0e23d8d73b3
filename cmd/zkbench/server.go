package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/zookit/zookit/internal/debianzk"
	"github.com/zookit/zookit/internal/freeport"
)

// target is one of the servers compared: how to start it and how to read
// its live heap.
type target struct {
	name, title string
	command     func(cfgPath string) *exec.Cmd
	config      map[string]string // zoo.cfg keys of its own; "$ADMIN" stands for the admin port
	liveHeap    func(ctx context.Context, in *instance, p *proc) (int64, error)
}

// serverFlags are the flags that choose the servers compared and where
// they keep their data, shared by the subcommands that start servers.
type serverFlags struct {
	only, zkserver, apache, jvmFlags, dir string
	keep                                  bool
}

func (sf *serverFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&sf.only, "only", "", "run one side only: zkserver or apache")
	fs.StringVar(&sf.zkserver, "zkserver", "", "zkserver binary; empty builds ./cmd/zkserver into a temporary directory")
	fs.StringVar(&sf.apache, "apache", "", "classpath of Apache ZooKeeper's server; empty finds Debian's (/usr/share/java/zookeeper.jar and its dependencies)")
	fs.StringVar(&sf.jvmFlags, "jvmflags", "", "extra java flags for ZooKeeper, e.g. -Xmx2g (Debian's zkServer.sh passes none)")
	fs.StringVar(&sf.dir, "dir", os.TempDir(), "directory for the servers' data directories (the disk under test)")
	fs.BoolVar(&sf.keep, "keep", false, "keep the data directories and server logs")
}

// targets returns the servers -only leaves, Apache ZooKeeper first, so that
// ratios read zkserver/ZooKeeper; cleanup removes the zkserver it built.
func (sf *serverFlags) targets(ctx context.Context) (ts []target, cleanup func(), err error) {
	cleanup = func() {}
	if sf.only != "" && sf.only != "zkserver" && sf.only != "apache" {
		return nil, nil, fmt.Errorf("-only %q: want zkserver or apache", sf.only)
	}
	if sf.only != "zkserver" {
		t, err := apacheTarget(sf.apache, sf.jvmFlags)
		if err != nil {
			return nil, nil, err
		}
		ts = append(ts, t)
	}
	if sf.only != "apache" {
		t, c, err := zkserverTarget(ctx, sf.zkserver)
		if err != nil {
			return nil, nil, err
		}
		ts, cleanup = append(ts, t), c
	}
	return ts, cleanup, nil
}

// workDir makes a directory for one server's run under parent. done
// removes it, unless the run failed or keep is set: then it says where it
// is kept.
func workDir(parent, prefix string, keep bool) (dir string, done func(failed bool), err error) {
	dir, err = os.MkdirTemp(parent, prefix)
	if err != nil {
		return "", nil, err
	}
	return dir, func(failed bool) {
		if failed || keep {
			progress("data and logs kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	}, nil
}

// apacheTarget runs Debian's Apache ZooKeeper as zkServer.sh
// start-foreground would, from the classpath cp ("" for Debian's). Its
// live heap is the total of jcmd GC.class_histogram, which counts the live
// objects only, after a full collection.
func apacheTarget(cp, jvmFlags string) (target, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return target{}, fmt.Errorf("java not found (Debian package default-jre-headless): %w", err)
	}
	// jcmd must come from the same JDK as the java it attaches to. Only the
	// live heap needs it, so it is looked for there.
	jcmd := "jcmd"
	if real, err := filepath.EvalSymlinks(java); err == nil {
		if j := filepath.Join(filepath.Dir(real), "jcmd"); isExecutable(j) {
			jcmd = j
		}
	}
	if cp == "" {
		var missing []string
		if cp, missing = debianzk.ServerClasspath(); len(missing) > 0 {
			return target{}, fmt.Errorf("Apache ZooKeeper not found (Debian package zookeeper): no %s", strings.Join(missing, ", "))
		}
	}
	return target{
		name:  "apache",
		title: "Apache ZooKeeper",
		command: func(cfgPath string) *exec.Cmd {
			args := append(strings.Fields(jvmFlags), "-cp", cp, debianzk.ServerMain, cfgPath)
			return exec.Command(java, args...)
		},
		config: map[string]string{"admin.enableServer": "false"},
		liveHeap: func(ctx context.Context, _ *instance, p *proc) (int64, error) {
			if _, err := exec.LookPath(jcmd); err != nil {
				return 0, fmt.Errorf("jcmd not found (Debian package default-jdk-headless): %w", err)
			}
			out, err := exec.CommandContext(ctx, jcmd, strconv.Itoa(p.cmd.Process.Pid), "GC.class_histogram").Output()
			if err != nil {
				return 0, fmt.Errorf("jcmd GC.class_histogram: %w", err)
			}
			return histogramTotal(out)
		},
	}, nil
}

// histogramTotal reads the byte count of a class histogram's last line,
// "Total <instances> <bytes>".
func histogramTotal(out []byte) (int64, error) {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) != 3 || f[0] != "Total" {
		return 0, fmt.Errorf("no Total line in the class histogram: %q", lines[len(lines)-1])
	}
	return strconv.ParseInt(f[2], 10, 64)
}

// zkserverTarget runs bin, or ./cmd/zkserver built into a temporary
// directory when bin is "", with its AdminServer on 127.0.0.1 serving Go's
// profiles: its live heap is HeapAlloc after the runtime.GC that
// /debug/pprof/heap?gc=1 runs first. cleanup removes what was built.
func zkserverTarget(ctx context.Context, bin string) (t target, cleanup func(), err error) {
	cleanup = func() {}
	if bin == "" {
		dir, err := os.MkdirTemp("", "zkbench-zkserver-")
		if err != nil {
			return t, nil, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		bin = filepath.Join(dir, "zkserver")
		progress("building zkserver")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/zookit/zookit/cmd/zkserver").CombinedOutput(); err != nil {
			cleanup()
			return t, nil, fmt.Errorf("go build ./cmd/zkserver (run zkbench inside the module, or give -zkserver): %w\n%s", err, out)
		}
	}
	return target{
		name:    "zkserver",
		title:   "zkserver",
		command: func(cfgPath string) *exec.Cmd { return exec.Command(bin, "start-foreground", cfgPath) },
		config: map[string]string{
			"admin.enableServer":  "true",
			"admin.serverAddress": "127.0.0.1",
			"admin.serverPort":    "$ADMIN",
			"admin.pprof":         "true",
		},
		liveHeap: func(ctx context.Context, in *instance, _ *proc) (int64, error) {
			return heapAlloc(ctx, "http://"+in.adminAddr+"/debug/pprof/heap?gc=1&debug=1")
		},
	}, cleanup, nil
}

// heapAlloc reads "# HeapAlloc = N" from the text heap profile at url.
func heapAlloc(ctx context.Context, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, cmpOr(sc.Err(), fmt.Errorf("GET %s: no # HeapAlloc line", url))
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// instance is one server of a target: its directory, which holds its
// zoo.cfg, log and data directory, and its addresses.
type instance struct {
	target
	dir, cfgPath    string
	addr, adminAddr string
}

// newInstances writes the zoo.cfg and data directory of n servers of t,
// each under dir/server<id>, on free 127.0.0.1 ports: one is a standalone
// server, more an ensemble, every zoo.cfg listing each server as
// server.<id>=127.0.0.1:<quorum port>:<election port>, with the id in the
// server's myid. extra holds zoo.cfg keys every server gets.
func newInstances(dir string, t target, n int, extra map[string]string) ([]*instance, error) {
	// One set, so that no server's port is another's: client, admin,
	// quorum and election port for each.
	ports, err := freeport.Ports(4 * n)
	if err != nil {
		return nil, err
	}
	port := func(i, k int) string { return strconv.Itoa(ports[4*i+k]) }
	common := map[string]string{
		"tickTime":               "2000",
		"clientPortAddress":      "127.0.0.1",
		"4lw.commands.whitelist": "mntr,ruok,srvr",
	}
	if n > 1 {
		common["initLimit"], common["syncLimit"] = "10", "5"
		for i := range n {
			common[fmt.Sprintf("server.%d", i+1)] = fmt.Sprintf("127.0.0.1:%s:%s", port(i, 2), port(i, 3))
		}
	}
	maps.Copy(common, extra)
	ins := make([]*instance, n)
	for i := range ins {
		in := &instance{target: t, dir: filepath.Join(dir, fmt.Sprintf("server%d", i+1)),
			addr:      net.JoinHostPort("127.0.0.1", port(i, 0)),
			adminAddr: net.JoinHostPort("127.0.0.1", port(i, 1)),
		}
		in.cfgPath = filepath.Join(in.dir, "zoo.cfg")
		cfg := maps.Clone(common)
		cfg["dataDir"] = filepath.Join(in.dir, "data")
		cfg["clientPort"] = port(i, 0)
		for k, v := range t.config {
			cfg[k] = strings.ReplaceAll(v, "$ADMIN", port(i, 1))
		}
		if err := os.MkdirAll(cfg["dataDir"], 0o755); err != nil {
			return nil, err
		}
		if n > 1 {
			if err := os.WriteFile(filepath.Join(cfg["dataDir"], "myid"), []byte(strconv.Itoa(i+1)+"\n"), 0o644); err != nil {
				return nil, err
			}
		}
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(cfg)) {
			fmt.Fprintf(&b, "%s=%s\n", k, cfg[k])
		}
		if err := os.WriteFile(in.cfgPath, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		ins[i] = in
	}
	return ins, nil
}

// proc is one run of a server process.
type proc struct {
	cmd              *exec.Cmd
	exited           chan struct{}
	started, readyAt time.Time
	stopOnce         sync.Once
	stopErr          error
}

// start launches the server with its output appended to dir/<name>.log.
// The -D flags zkServer.sh would pass from the environment are cleared, so
// that both servers read zoo.cfg alone.
func (in *instance) start(ctx context.Context) (*proc, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(in.dir, in.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	p := &proc{cmd: in.command(in.cfgPath), exited: make(chan struct{})}
	p.cmd.Dir = in.dir
	p.cmd.Env = append(os.Environ(), "SERVER_JVMFLAGS=", "JVMFLAGS=")
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	// Should zkbench die without stopping it, the server goes too.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", in.name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop sends SIGTERM and waits for the exit, killing the process if it
// takes more than a minute; later calls return the first one's answer.
func (p *proc) stop() error {
	p.stopOnce.Do(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(time.Minute):
			p.cmd.Process.Kill()
			<-p.exited
			p.stopErr = errors.New("no exit within a minute of SIGTERM; killed")
		}
	})
	return p.stopErr
}

// awaitReadable probes addr until a session opens and ready says yes, and
// records when in p.readyAt. Until the port accepts, a plain dial every
// 10ms probes, since once go-zk has failed to connect it waits a second
// before it tries again. Then a new session probe starts every 50ms, up to
// 8 at a time: a starting ZooKeeper may accept a connection and then
// neither answer nor close it (it fails closing it while its database is
// not loaded), which one probe at a time would wait out. Each probe costs
// the server a connection, so they are not made more often.
func (p *proc) awaitReadable(ctx context.Context, addr string, ready func(*zk.Conn) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for !accepts(ctx, addr) {
		select {
		case <-p.exited:
			return fmt.Errorf("server exited before it listened: %v", p.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("not listening: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	done := make(chan time.Time, 1)
	slots := make(chan struct{}, 8)
	launch := func() {
		select {
		case slots <- struct{}{}:
		default:
			return
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if probe(ctx, addr, ready) {
				select {
				case done <- time.Now():
				default:
				}
			}
		})
	}
	launch()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case p.readyAt = <-done:
			return nil
		case <-p.exited:
			return fmt.Errorf("server exited before it was readable: %v", p.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("not readable: %w", ctx.Err())
		case <-tick.C:
			launch()
		}
	}
}

// cluster is the running servers of one topology of a target.
type cluster struct {
	members []*instance
	procs   []*proc
}

// startCluster starts every server and waits until each opens a session,
// which in an ensemble takes an elected leader, a session being a quorum
// write. On error it stops what it started.
func startCluster(ctx context.Context, ins []*instance) (*cluster, error) {
	c := &cluster{members: ins}
	for _, in := range ins {
		p, err := in.start(ctx)
		if err != nil {
			return nil, errors.Join(err, c.stop())
		}
		c.procs = append(c.procs, p)
	}
	anySession := func(*zk.Conn) (bool, error) { return true, nil }
	for i, p := range c.procs {
		if err := p.awaitReadable(ctx, ins[i].addr, anySession); err != nil {
			return nil, errors.Join(fmt.Errorf("server %d (%s): %w", i+1, ins[i].dir, err), c.stop())
		}
	}
	return c, nil
}

// addrs are the client addresses, in server id order.
func (c *cluster) addrs() []string {
	as := make([]string, len(c.members))
	for i, in := range c.members {
		as[i] = in.addr
	}
	return as
}

// cpu is the CPU time all the servers have used.
func (c *cluster) cpu() (time.Duration, error) {
	var sum time.Duration
	for _, p := range c.procs {
		d, err := p.cpu()
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// stop stops every server at once, since each may take its time.
func (c *cluster) stop() error {
	errs := make([]error, len(c.procs))
	var wg sync.WaitGroup
	for i, p := range c.procs {
		wg.Go(func() { errs[i] = p.stop() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// accepts reports whether addr accepts a TCP connection.
func accepts(ctx context.Context, addr string) bool {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		nc.Close()
	}
	return err == nil
}

// probe opens one session to addr and asks ready every 10ms until it says
// yes (true), or the session fails or takes more than 2s to open (false).
func probe(ctx context.Context, addr string, ready func(*zk.Conn) (bool, error)) bool {
	conn, events, err := zk.Connect([]string{addr}, 30*time.Second, zk.WithLogger(log.New(io.Discard, "", 0)))
	if err != nil {
		return false
	}
	defer conn.Close()
	timeout := time.After(2 * time.Second)
	for {
		select {
		case ev := <-events:
			switch ev.State {
			case zk.StateHasSession:
				for {
					ok, err := ready(conn)
					if ok || err != nil {
						return ok
					}
					select {
					case <-ctx.Done():
						return false
					case <-time.After(10 * time.Millisecond):
					}
				}
			case zk.StateDisconnected, zk.StateExpired, zk.StateAuthFailed:
				return false
			}
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// cpu is the CPU time (user and system) the process has used, from
// /proc/<pid>/stat, whose figures are in clock ticks of USER_HZ, 100 on
// every Linux architecture Go runs on.
func (p *proc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("server CPU time: %w", err)
	}
	return statCPU(b)
}

// statCPU reads utime and stime, fields 14 and 15 of a /proc/<pid>/stat
// line, counted after the command name, which may hold spaces.
func statCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	var f []string
	if i >= 0 {
		f = strings.Fields(string(stat[i+1:]))
	}
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat line %q", stat)
	}
	var ticks int64
	for _, s := range f[11:13] {
		t, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected /proc stat line %q: %w", stat, err)
		}
		ticks += t
	}
	return time.Duration(ticks) * (time.Second / 100), nil
}

// snapshotCount reads mntr's zk_cnt_snapshottime, the snapshots written
// since the start, which both servers count; -1 when it cannot.
func snapshotCount(ctx context.Context, addr string) int {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return -1
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, "mntr"); err != nil {
		return -1
	}
	out, err := io.ReadAll(conn)
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(line, "zk_cnt_snapshottime\t"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	return -1
}

// settledSnapshot waits until the newest snapshot file under dir has kept
// its size for a second, at most a minute, and returns that size.
func settledSnapshot(ctx context.Context, dir string) (int64, error) {
	const still = 5
	size, same := int64(-1), 0
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(time.Minute); same < still && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
		s, err := newestSnapshot(dir)
		if err != nil {
			return 0, err
		}
		if s == size {
			same++
		} else {
			size, same = s, 0
		}
	}
	return size, nil
}

// newestSnapshot returns the size of the newest snapshot file under dir:
// ZooKeeper's version-2/snapshot.<zxid>, or zkserver's raft <term>-<index>.snap.
func newestSnapshot(dir string) (int64, error) {
	var newest fs.FileInfo
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasPrefix(d.Name(), "snapshot.") || strings.HasSuffix(d.Name(), ".snap")) {
			return err
		}
		info, err := d.Info()
		if err == nil && (newest == nil || info.ModTime().After(newest.ModTime())) {
			newest = info
		}
		return err
	})
	if err == nil && newest == nil {
		err = fmt.Errorf("no snapshot file under %s", dir)
	}
	if err != nil {
		return 0, err
	}
	return newest.Size(), nil
}
