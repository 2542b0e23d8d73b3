package zookit_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zookit/zookit/internal/syncbuf"
)

// The README's walkthrough runs as written: each ```sh block is typed into
// a terminal, and the HTML comment before it (invisible on the rendered
// page) says how to run it and what must come out:
//
//	start terminal=T [port=H:P]  run the block in the background as terminal T
//	run [expect=S;T] [status=any]  run the block to its end; it must succeed
//	                               and print each of S, T
//	wait terminal=T,U [expect=S] wait until they exit, successfully
//	wait-output terminal=T,U expect=S   wait until one of them prints S
//	interrupt terminal=T,U | match=S    Ctrl-C them, or the last one that printed S
//
// It needs the README's ports (2181-2183, 2888-2890, 3888-3890) and
// /tmp/zk1../tmp/zk3, and skips when 2181 is taken.
func TestWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("the walkthrough builds and runs every command of the README: not in -short")
	}
	if ln, err := net.Listen("tcp", "127.0.0.1:2181"); err != nil {
		t.Skipf("the walkthrough needs port 2181, which is taken: %v", err)
	} else {
		ln.Close()
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	steps := parseWalkthrough(t, string(readme))
	w := &walk{t: t, env: append(os.Environ(), "TMPDIR="+t.TempDir()), terms: map[string]*terminal{}}
	t.Cleanup(w.cleanup)
	for _, s := range steps {
		t.Logf("%s %v", s.verb, s.args)
		w.do(s)
	}
}

type step struct {
	verb  string
	args  map[string]string
	block string
}

var (
	directive = regexp.MustCompile(`^<!-- walkthrough: (\S+)(.*?) -->$`)
	argument  = regexp.MustCompile(`(\w+)=("[^"]*"|\S+)`)
)

func parseWalkthrough(t *testing.T, readme string) []step {
	_, section, ok := strings.Cut(readme, "\n## Walkthrough\n")
	if !ok {
		t.Fatal("README.md has no Walkthrough section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	lines := strings.Split(section, "\n")
	var steps []step
	for i := 0; i < len(lines); i++ {
		m := directive.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		s := step{verb: m[1], args: map[string]string{}}
		for _, a := range argument.FindAllStringSubmatch(m[2], -1) {
			s.args[a[1]] = strings.Trim(a[2], `"`)
		}
		if s.verb == "start" || s.verb == "run" {
			if i+1 >= len(lines) || lines[i+1] != "```sh" {
				t.Fatalf("README: %q is not followed by a ```sh block", lines[i])
			}
			end := i + 2
			for end < len(lines) && lines[end] != "```" {
				end++
			}
			s.block = strings.Join(lines[i+2:end], "\n")
			i = end
		}
		steps = append(steps, s)
	}
	if len(steps) == 0 {
		t.Fatal("README: the Walkthrough has no walkthrough directives")
	}
	return steps
}

type walk struct {
	t     *testing.T
	env   []string
	terms map[string]*terminal
	order []*terminal
}

// terminal is a block running in the background, in a process group of its
// own so that an interrupt reaches every process it started, as Ctrl-C does.
type terminal struct {
	name string
	cmd  *exec.Cmd
	out  syncbuf.Buffer
	done chan struct{}
	err  error
}

const stepTimeout = 3 * time.Minute

func (w *walk) do(s step) {
	t := w.t
	switch s.verb {
	case "start":
		term := &terminal{name: s.args["terminal"], done: make(chan struct{})}
		term.cmd = exec.Command("bash", "-c", s.block)
		term.cmd.Env, term.cmd.Stdout, term.cmd.Stderr = w.env, &term.out, &term.out
		term.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := term.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { term.err = term.cmd.Wait(); close(term.done) }()
		w.terms[term.name] = term
		w.order = append(w.order, term)
		if port := s.args["port"]; port != "" {
			w.until(fmt.Sprintf("%s listening on %s", term.name, port), func() bool {
				c, err := net.DialTimeout("tcp", port, time.Second)
				if err == nil {
					c.Close()
				}
				return err == nil
			}, term)
		}
	case "run":
		ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", s.block)
		cmd.Env = w.env
		out, err := cmd.CombinedOutput()
		if err != nil && s.args["status"] != "any" {
			t.Fatalf("%s\n%s\n%v", s.block, out, err)
		}
		for _, want := range strings.Split(s.args["expect"], ";") {
			if !strings.Contains(string(out), want) {
				t.Fatalf("%s\nprinted no %q:\n%s", s.block, want, out)
			}
		}
	case "wait":
		for _, term := range w.named(s.args["terminal"]) {
			w.until(term.name+" exits", func() bool { return term.exited() }, term)
			if term.err != nil || !strings.Contains(term.out.String(), s.args["expect"]) {
				t.Fatalf("terminal %s: %v, want success and %q:\n%s", term.name, term.err, s.args["expect"], term.out.String())
			}
		}
	case "wait-output":
		terms := w.named(s.args["terminal"])
		w.until(fmt.Sprintf("%q in %s", s.args["expect"], s.args["terminal"]), func() bool {
			for _, term := range terms {
				if strings.Contains(term.out.String(), s.args["expect"]) {
					return true
				}
			}
			return false
		}, terms...)
	case "interrupt":
		var terms []*terminal
		if match := s.args["match"]; match != "" {
			terms = []*terminal{w.lastToPrint(match)}
		} else {
			terms = w.named(s.args["terminal"])
		}
		for _, term := range terms {
			syscall.Kill(-term.cmd.Process.Pid, syscall.SIGINT)
			w.until(term.name+" exits after Ctrl-C", func() bool { return term.exited() }, term)
		}
	default:
		t.Fatalf("README: unknown walkthrough directive %q", s.verb)
	}
}

func (w *walk) named(list string) []*terminal {
	var terms []*terminal
	for _, name := range strings.Split(list, ",") {
		term, ok := w.terms[name]
		if !ok {
			w.t.Fatalf("README: no terminal %q started", name)
		}
		terms = append(terms, term)
	}
	return terms
}

// lastToPrint is the running terminal whose latest line holding match is
// the latest of all: lines carry their time first, as the demos print.
func (w *walk) lastToPrint(match string) *terminal {
	var best *terminal
	var bestLine string
	for _, term := range w.order {
		if term.exited() {
			continue
		}
		for _, line := range strings.Split(term.out.String(), "\n") {
			if strings.Contains(line, match) && line > bestLine {
				best, bestLine = term, line
			}
		}
	}
	if best == nil {
		w.t.Fatalf("no running terminal printed %q", match)
	}
	return best
}

func (t *terminal) exited() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// until waits for cond, failing with the terminals' output after
// stepTimeout.
func (w *walk) until(what string, cond func() bool, show ...*terminal) {
	w.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, term := range show {
				fmt.Fprintf(&b, "--- terminal %s:\n%s\n", term.name, term.out.String())
			}
			w.t.Fatalf("waited %v for %s:\n%s", stepTimeout, what, b.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cleanup stops what a failed walkthrough left running: its terminals and
// the ensemble of step 4.
func (w *walk) cleanup() {
	for _, term := range w.order {
		if !term.exited() {
			syscall.Kill(-term.cmd.Process.Pid, syscall.SIGKILL)
			<-term.done
		}
		if w.t.Failed() {
			w.t.Logf("--- terminal %s:\n%s", term.name, term.out.String())
		}
	}
	if _, err := os.Stat("zkserver"); err == nil {
		for i := 1; i <= 3; i++ {
			exec.Command("./zkserver", "stop", fmt.Sprintf("/tmp/zk%d.cfg", i)).Run()
		}
	}
}
