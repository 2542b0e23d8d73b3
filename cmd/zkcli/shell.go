package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/internal/zkwire"
)

// Exit codes of zkCli.sh (ExitCode, CliException, CommandNotFoundException).
const (
	exitOK              = 0
	exitError           = 1
	exitInvalidUsage    = 2
	exitCommandNotFound = 127
)

// Config is what the command line sets for the shell's sessions.
type Config struct {
	Server            string
	Timeout           time.Duration
	ReadOnly          bool
	WaitForConnection bool
	MaxBuffer         int // 0: jute.maxbuffer's default
}

// Shell is zkCli.sh's command interpreter: one session at a time, the
// numbered history of this run, and watch events printed as they come.
type Shell struct {
	cfg     Config
	out     io.Writer // both writers share one lock, so an event never
	errOut  io.Writer // lands in the middle of a command's line
	version string

	host         string
	client       *zkwire.Client
	printer      *printer
	printWatches atomic.Bool
	history      map[int]string
	count        int
	exitCode     int
	quit         bool
}

// NewShell returns a shell writing to out and errOut; it connects on
// Connect.
func NewShell(cfg Config, out, errOut io.Writer) *Shell {
	var mu sync.Mutex
	s := &Shell{
		cfg:     cfg,
		out:     &lockedWriter{mu: &mu, w: out},
		errOut:  &lockedWriter{mu: &mu, w: errOut},
		version: cliVersion(),
		history: map[int]string{},
	}
	s.printWatches.Store(true)
	return s
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// cliError is a failed command: its message goes to stderr and its code
// becomes the exit code.
type cliError struct {
	msg  string
	code int
}

func (e *cliError) Error() string { return e.msg }

func failf(format string, args ...any) error {
	return &cliError{msg: fmt.Sprintf(format, args...), code: exitError}
}

// ExitCode is the code zkCli.sh would exit with now: that of the last
// command.
func (s *Shell) ExitCode() int { return s.exitCode }

// Quit reports whether the user asked to quit.
func (s *Shell) Quit() bool { return s.quit }

// Prompt is zkCli.sh's prompt: the connect string, the state and the
// number of the next command.
func (s *Shell) Prompt() string {
	state := "CLOSED"
	if s.client != nil {
		state = s.client.State().String()
	}
	return fmt.Sprintf("[zk: %s(%s) %d] ", s.host, state, s.count)
}

// Client is the current session's client, nil before Connect.
func (s *Shell) Client() *zkwire.Client { return s.client }

// Connect closes the current session, if it is alive, and opens one to
// host.
func (s *Shell) Connect(host string) error {
	if s.client != nil {
		// Like zkCli.sh, close only a live session; one that expired or
		// failed authentication ends without a Closed event.
		if !s.client.State().Alive() {
			s.printer.muted.Store(true)
		}
		s.client.Close()
		s.printer.wait()
	}
	s.host = host
	c, err := zkwire.New(host, zkwire.Config{SessionTimeout: s.cfg.Timeout, ReadOnly: s.cfg.ReadOnly, MaxBuffer: s.cfg.MaxBuffer})
	if err != nil {
		return failf("%v", err)
	}
	s.client, s.printer = c, newPrinter(s, c)
	if s.cfg.WaitForConnection {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
		defer cancel()
		if err := c.WaitConnected(ctx); err != nil {
			c.Close()
			s.printer.wait()
			return failf("%s", keeperMessage(proto.ErrConnectionLoss, ""))
		}
		s.printer.catchUp()
	}
	return nil
}

// Close ends the session without printing its Closed event, as a
// one-command run exits without closing.
func (s *Shell) Close() {
	if s.client == nil {
		return
	}
	s.printer.muted.Store(true)
	s.client.Close()
	s.printer.wait()
}

// printMessage is how zkCli.sh prints watch events: a blank line first.
func (s *Shell) printMessage(msg string) { fmt.Fprintf(s.out, "\n%s\n", msg) }

// printer prints a client's events and counts them, so that a command can
// wait until every event it caused is on the screen.
type printer struct {
	mu      sync.Mutex
	cond    *sync.Cond
	printed uint64
	done    bool
	c       *zkwire.Client
	muted   atomic.Bool // set when the client is closed silently
}

func newPrinter(s *Shell, c *zkwire.Client) *printer {
	p := &printer{c: c}
	p.cond = sync.NewCond(&p.mu)
	go func() {
		for ev := range c.Events() {
			if s.printWatches.Load() && !p.muted.Load() {
				s.printMessage("WATCHER::")
				s.printMessage(eventString(ev))
			}
			p.mu.Lock()
			p.printed++
			p.cond.Broadcast()
			p.mu.Unlock()
		}
		p.mu.Lock()
		p.done = true
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
	return p
}

// catchUp waits until every event queued so far has been printed.
func (p *printer) catchUp() {
	n := p.c.EventCount()
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.printed < n && !p.done {
		p.cond.Wait()
	}
}

// wait waits until the client's event stream has ended.
func (p *printer) wait() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.done {
		p.cond.Wait()
	}
}

// eventString is Java's WatchedEvent.toString; session events have no
// path, which Java prints as null.
func eventString(ev zkwire.Event) string {
	path := ev.Path
	if ev.Type == zkwire.EventNone && path == "" {
		path = "null"
	}
	return fmt.Sprintf("WatchedEvent state:%v type:%v path:%s", ev.State, ev.Type, path)
}

// ExecuteLine runs one line typed at the prompt and numbers it in the
// history. A blank line is skipped, like an empty one; zkCli.sh would run
// the previous command again for it, which no one means.
func (s *Shell) ExecuteLine(line string) {
	args := splitLine(line)
	if len(args) == 0 {
		return
	}
	s.history[s.count] = line
	s.processCmd(args)
	s.count++
}

// Run runs one command given on the command line.
func (s *Shell) Run(args []string) { s.processCmd(args) }

func (s *Shell) processCmd(args []string) {
	err := s.processZKCmd(args)
	if s.client != nil {
		s.printer.catchUp()
	}
	if s.quit {
		return
	}
	var ce *cliError
	switch {
	case err == nil:
		s.exitCode = exitOK
	case errors.As(err, &ce):
		s.exitCode = ce.code
		fmt.Fprintln(s.errOut, ce.msg)
	default:
		s.exitCode = exitError
		fmt.Fprintln(s.errOut, err)
	}
}

func (s *Shell) processZKCmd(args []string) error {
	if len(args) == 0 {
		s.usage()
		return failf("No command entered")
	}
	name := args[0]
	cmd, builtin := commands[name], builtins[name]
	if cmd == nil && !builtin {
		s.usage()
		return &cliError{msg: "Command not found: Command not found " + name, code: exitCommandNotFound}
	}
	switch name {
	case "quit":
		s.quit = true
		if s.client != nil {
			s.client.Close()
			s.printer.wait()
		}
		return nil
	case "redo":
		if len(args) >= 2 {
			if err := s.redo(args[1]); err != nil {
				return err
			}
		}
	case "history":
		for i := max(s.count-10, 0); i <= s.count; i++ {
			line, ok := s.history[i]
			if !ok {
				line = "null"
			}
			fmt.Fprintf(s.out, "%d - %s\n", i, line)
		}
	case "printwatches":
		if len(args) == 1 {
			state := "off"
			if s.printWatches.Load() {
				state = "on"
			}
			fmt.Fprintf(s.out, "printwatches is %s\n", state)
		} else {
			s.printWatches.Store(args[1] == "on")
		}
	case "connect":
		host := s.host
		if len(args) >= 2 {
			host = args[1]
		}
		if err := s.Connect(host); err != nil {
			return err
		}
	}
	if s.client == nil || !s.client.State().Alive() {
		fmt.Fprintln(s.out, "Not connected")
		return nil
	}
	if cmd == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	return cmd.run(s, ctx, cmd, args)
}

// redo runs a numbered command of the history again, under the number of
// the redo.
func (s *Shell) redo(arg string) error {
	i, err := javaDecode(arg)
	if err != nil {
		return err
	}
	if int64(s.count) <= i || i < 0 {
		return failf("Command index out of range")
	}
	line := s.history[int(i)]
	args := splitLine(line)
	if len(args) > 0 && args[0] == "redo" {
		return failf("No redoing redos")
	}
	s.history[s.count] = line
	s.processCmd(args)
	return nil
}

// javaDecode parses an int as Java's Integer.decode: decimal, 0x/#
// hexadecimal or 0 octal, with an optional sign.
func javaDecode(s string) (int64, error) {
	t, neg := s, false
	if strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		neg, t = t[0] == '-', t[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(t, "0x"), strings.HasPrefix(t, "0X"):
		base, t = 16, t[2:]
	case strings.HasPrefix(t, "#"):
		base, t = 16, t[1:]
	case strings.HasPrefix(t, "0") && len(t) > 1:
		base, t = 8, t[1:]
	}
	v, err := strconv.ParseInt(t, base, 32)
	if err != nil || strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
		return 0, numberFormat(s)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// numberFormat is what Java reports for a number it cannot parse; zkCli.sh
// lets that exception escape, and zkcli prints it as the error instead.
func numberFormat(s string) error {
	return failf("java.lang.NumberFormatException: For input string: \"%s\"", s)
}

// parseInt is Integer.parseInt.
func parseInt(s string) (int32, error) {
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, numberFormat(s)
	}
	return int32(v), nil
}

// usage prints zkCli.sh's usage: the invocation and every command.
func (s *Shell) usage() {
	var b strings.Builder
	b.WriteString("ZooKeeper -server host:port -client-configuration properties-file cmd args\n")
	for _, name := range commandNames() {
		fmt.Fprintf(&b, "\t%s %s\n", name, optionStr(name))
	}
	io.WriteString(s.errOut, b.String())
}

// commandNames lists every command, sorted as Java sorts strings.
func commandNames() []string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func optionStr(name string) string {
	if c := commands[name]; c != nil {
		return c.syntax
	}
	return builtinSyntax[name]
}

// builtins are the commands ZooKeeperMain handles itself.
var builtins = map[string]bool{"connect": true, "history": true, "redo": true, "printwatches": true, "quit": true}

var builtinSyntax = map[string]string{"connect": "host:port", "history": "", "redo": "cmdno", "printwatches": "on|off", "quit": ""}
