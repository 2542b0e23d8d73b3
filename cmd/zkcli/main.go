// Command zkcli is zookit's zkCli.sh: ZooKeeper 3.8's shell, in Go, with
// its flags, commands, output and exit codes, so that no JVM is needed to
// look inside a server.
//
//	zkcli [-server host:port[,host:port...][/chroot]] [-timeout ms] [-r]
//	      [-waitforconnection] [-client-configuration file] [cmd args...]
//
// Without a command it is interactive: line editing, history kept in
// ~/.zkcli_history and tab completion of commands and znode paths.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chzyer/readline"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// invocation is what zkCli.sh's MyCommandOptions takes from the command
// line.
type invocation struct {
	server, timeout, clientConfig string
	readOnly, waitForConnection   bool
	command                       []string
}

// parseArgs reads the command line as zkCli.sh does: options it does not
// know are skipped, and the first argument that is not an option starts the
// command, which takes the rest.
func parseArgs(args []string) (*invocation, error) {
	inv := &invocation{server: "localhost:2181", timeout: "30000"}
	for i := 0; i < len(args); i++ {
		opt := args[i]
		value := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("Error: no argument found for option %s", opt)
			}
			i++
			return args[i], nil
		}
		var err error
		switch {
		case opt == "-server":
			inv.server, err = value()
		case opt == "-timeout":
			inv.timeout, err = value()
		case opt == "-r":
			inv.readOnly = true
		case opt == "-client-configuration":
			inv.clientConfig, err = value()
		case opt == "-waitforconnection":
			inv.waitForConnection = true
		case !strings.HasPrefix(opt, "-"):
			inv.command = args[i:]
			return inv, nil
		}
		if err != nil {
			return inv, err
		}
	}
	return inv, nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	inv, err := parseArgs(args)
	if err != nil {
		// zkCli.sh reports a missing option value and carries on with
		// what it has.
		fmt.Fprintln(stderr, err)
	}
	ms, err := strconv.Atoi(inv.timeout)
	if err != nil {
		fmt.Fprintf(stderr, "java.lang.NumberFormatException: For input string: \"%s\"\n", inv.timeout)
		return exitError
	}
	cfg := Config{Server: inv.server, Timeout: time.Duration(ms) * time.Millisecond,
		ReadOnly: inv.readOnly, WaitForConnection: inv.waitForConnection}
	if inv.clientConfig != "" {
		if err := readClientConfig(inv.clientConfig, &cfg); err != nil {
			fmt.Fprintln(stderr, err)
			return exitInvalidUsage
		}
	}

	fmt.Fprintf(stdout, "Connecting to %s\n", inv.server)
	if len(inv.command) > 0 {
		s := NewShell(cfg, stdout, stderr)
		if err := s.Connect(inv.server); err != nil {
			fmt.Fprintln(stderr, err)
			return exitError
		}
		s.Run(inv.command)
		if !s.Quit() {
			s.Close()
		}
		return s.ExitCode()
	}
	fmt.Fprintln(stdout, "Welcome to ZooKeeper!")
	if f, ok := stdin.(*os.File); ok && readline.IsTerminal(int(f.Fd())) {
		fmt.Fprintln(stdout, "JLine support is enabled")
		return interactive(cfg, f, stdout, stderr)
	}
	fmt.Fprintln(stdout, "JLine support is disabled")
	s := NewShell(cfg, stdout, stderr)
	if err := s.Connect(inv.server); err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for !s.Quit() && sc.Scan() {
		s.ExecuteLine(sc.Text())
	}
	if !s.Quit() {
		s.Close()
	}
	return s.ExitCode()
}

// interactive runs the shell with line editing on a terminal.
func interactive(cfg Config, stdin *os.File, stdout, stderr io.Writer) int {
	rl, err := readline.NewEx(&readline.Config{
		HistoryFile:     historyFile(),
		Stdin:           stdin,
		Stdout:          stdout,
		Stderr:          stderr,
		InterruptPrompt: "^C",
		EOFPrompt:       "",
	})
	if err != nil {
		fmt.Fprintf(stderr, "line editing: %v\n", err)
		return exitError
	}
	defer rl.Close()
	s := NewShell(cfg, rl.Stdout(), rl.Stderr())
	rl.Config.AutoComplete = &completer{s: s}
	if err := s.Connect(cfg.Server); err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}
	for !s.Quit() {
		rl.SetPrompt(s.Prompt())
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			continue
		}
		if err != nil {
			break
		}
		s.ExecuteLine(line)
	}
	if !s.Quit() {
		s.Close()
	}
	return s.ExitCode()
}

// historyFile is where the interactive history lives across runs:
// $ZKCLI_HISTORY, or ~/.zkcli_history.
func historyFile() string {
	if f := os.Getenv("ZKCLI_HISTORY"); f != "" {
		return f
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".zkcli_history")
}
