package interop

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Console drives an interactive line-oriented program (zkCli.sh, cli_mt):
// commands go to its stdin, and Expect reads its merged stdout and stderr line
// by line. Neither shell prints a prompt when stdin is not a terminal, so the
// test waits for the output each command must produce before sending the next.
type Console struct {
	t     testing.TB
	name  string
	stdin io.WriteCloser
	lines chan string
	log   []string
}

// StartConsole starts name with args; it is killed when the test ends.
func StartConsole(t testing.TB, name string, args ...string) *Console {
	t.Helper()
	return StartConsoleEnv(t, nil, name, args...)
}

// StartConsoleEnv is StartConsole with env added to the environment
// (CLIENT_JVMFLAGS for zkCli.sh, say).
func StartConsoleEnv(t testing.TB, env []string, name string, args ...string) *Console {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = t.TempDir()
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	w.Close()
	c := &Console{t: t, name: name, stdin: stdin, lines: make(chan string, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(c.lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
		r.Close()
		<-done
	})
	return c
}

// Send writes one command line.
func (c *Console) Send(line string) {
	c.t.Helper()
	c.log = append(c.log, "> "+line)
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		c.t.Fatalf("%s: send %q: %v\n%s", c.name, line, err, c.Output())
	}
}

// Expect consumes output up to and including the first line matching the
// regular expression and returns that line's submatches. The program exiting
// or staying silent past the hang guard fails the test with the output so far.
func (c *Console) Expect(pattern string) []string {
	c.t.Helper()
	re := regexp.MustCompile(pattern)
	guard := time.NewTimer(hangGuard)
	defer guard.Stop()
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("%s exited while waiting for /%s/\n%s", c.name, pattern, c.Output())
			}
			c.log = append(c.log, line)
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-guard.C:
			c.t.Fatalf("%s: no line matched /%s/ within %v\n%s", c.name, pattern, hangGuard, c.Output())
		}
	}
}

// Run sends a command and waits for each pattern in order.
func (c *Console) Run(line string, patterns ...string) {
	c.t.Helper()
	c.Send(line)
	for _, p := range patterns {
		c.Expect(p)
	}
}

// Output is everything sent and read so far, for failure messages.
func (c *Console) Output() string {
	return fmt.Sprintf("--- %s session ---\n%s", c.name, strings.Join(c.log, "\n"))
}
