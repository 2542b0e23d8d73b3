package interop

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// ElectionPeer is java/ElectionPeer.java compiled against Debian's Curator
// 5.4.
type ElectionPeer struct {
	classpath string
}

// CompileElectionPeer compiles ElectionPeer.java into dir.
func CompileElectionPeer(ctx context.Context, dir string) (*ElectionPeer, error) {
	cp, err := CompileJava(ctx, dir, "ElectionPeer")
	if err != nil {
		return nil, err
	}
	return &ElectionPeer{classpath: cp}, nil
}

// Command runs ElectionPeer with args (see the usage in ElectionPeer.java).
func (p *ElectionPeer) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "java", append([]string{"-cp", p.classpath, "ElectionPeer"}, args...)...)
}

// PeerLine is a line a peer printed, split into fields, with the time it
// was read: failover measurements take both sides' times from here.
type PeerLine struct {
	Fields []string
	At     time.Time
}

// PeerProcess is a running peer that speaks ElectionPeer's line protocol:
// event lines on stdout, commands on stdin. cmd/electionbench's Go
// candidates speak it too, so that both sides are driven and timed alike.
type PeerProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan PeerLine
	quit   chan struct{} // closed by Kill: lines are no longer delivered
	stop   sync.Once
	exited chan struct{}
	err    error // cmd.Wait's, once exited is closed

	mu     sync.Mutex
	stderr bytes.Buffer
}

// StartPeer starts cmd, which must not have its stdio set.
func StartPeer(cmd *exec.Cmd) (*PeerProcess, error) {
	p := &PeerProcess{cmd: cmd, lines: make(chan PeerLine, 64), quit: make(chan struct{}), exited: make(chan struct{})}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	p.stdin = stdin
	// An io.Pipe rather than StdoutPipe: Wait then returns only after every
	// line has been read, so none is lost to a process that exits.
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, writerFunc(p.writeStderr)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := PeerLine{Fields: strings.Fields(sc.Text()), At: time.Now()}
			select {
			case p.lines <- line:
			case <-p.quit:
			}
		}
		// Drain, so that the process never blocks on a full pipe.
		io.Copy(io.Discard, pr)
	}()
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		close(p.exited)
	}()
	return p, nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func (p *PeerProcess) writeStderr(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

// Lines delivers the peer's stdout lines in order; it is closed once the
// process has exited and every line has been delivered.
func (p *PeerProcess) Lines() <-chan PeerLine { return p.lines }

// Send writes one command line to the peer's stdin.
func (p *PeerProcess) Send(format string, args ...any) error {
	_, err := fmt.Fprintf(p.stdin, format+"\n", args...)
	return err
}

// Await reads lines until one starts with fields and returns it. Lines
// before it are dropped; an ERROR line, the end of the process or of ctx
// is an error.
func (p *PeerProcess) Await(ctx context.Context, fields ...string) (PeerLine, error) {
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return PeerLine{}, fmt.Errorf("peer exited (%v) awaiting %q\nstderr:\n%s", p.Wait(), fields, p.Stderr())
			}
			if len(l.Fields) > 0 && l.Fields[0] == "ERROR" {
				return l, fmt.Errorf("peer: %s", strings.Join(l.Fields, " "))
			}
			if len(l.Fields) >= len(fields) && slices.Equal(l.Fields[:len(fields)], fields) {
				return l, nil
			}
		case <-ctx.Done():
			return PeerLine{}, fmt.Errorf("awaiting %q: %w\nstderr:\n%s", fields, ctx.Err(), p.Stderr())
		}
	}
}

// Exit asks the peer to exit and waits until it has; a peer that has not
// exited by the end of ctx is killed.
func (p *PeerProcess) Exit(ctx context.Context) error {
	p.Send("exit")
	p.stdin.Close()
	select {
	case <-p.exited:
		return p.err
	case <-ctx.Done():
		p.Kill()
		return fmt.Errorf("peer did not exit: %w", ctx.Err())
	}
}

// Kill sends SIGKILL, as a crash would, and waits until the process is
// gone. Lines it printed but nobody read are dropped. Safe to call twice.
func (p *PeerProcess) Kill() {
	p.stop.Do(func() { close(p.quit) })
	p.cmd.Process.Kill() // fails only when it has already exited
	<-p.exited
}

// Wait waits for the process to exit and returns how it ended.
func (p *PeerProcess) Wait() error {
	<-p.exited
	return p.err
}

// Stderr is what the peer wrote to stderr so far, for failure messages.
func (p *PeerProcess) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return lastBytes(p.stderr.String(), 8<<10)
}
