package main

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// optionSpec describes one single-letter option of a command, as zkCli.sh
// declares them with Apache Commons CLI.
type optionSpec struct {
	name   string
	hasArg bool
	desc   string
}

// cmdLine is a parsed command: the option values and the other arguments,
// the command name first.
type cmdLine struct {
	opts  map[string]string
	order []string // option names in the order given
	args  []string
}

func (c *cmdLine) set(name, value string) {
	c.opts[name] = value
	c.order = append(c.order, name)
}

func (c *cmdLine) has(name string) bool { _, ok := c.opts[name]; return ok }

// version is the -v option as an expected version; -1 (any) without it.
func (c *cmdLine) version() (int32, error) {
	if !c.has("v") {
		return -1, nil
	}
	return parseInt(c.opts["v"])
}

// parseError is a command line Commons CLI would reject; zkCli.sh prints
// the exception as Java's Throwable.toString does.
type parseError struct {
	class, msg string
}

func (e *parseError) Error() string { return "org.apache.commons.cli." + e.class + ": " + e.msg }

// parseOptions parses tokens as Commons CLI's DefaultParser does: options
// may appear anywhere, "--" ends them, "-xy" is -x -y (or -x with value y
// if -x takes one), and an option's value may be a negative number.
func parseOptions(specs []optionSpec, tokens []string) (*cmdLine, error) {
	find := func(n string) *optionSpec {
		for i := range specs {
			if specs[i].name == n {
				return &specs[i]
			}
		}
		return nil
	}
	cl := &cmdLine{opts: map[string]string{}}
	for i := 0; i < len(tokens); i++ {
		t := tokens[i]
		switch {
		case t == "--":
			cl.args = append(cl.args, tokens[i+1:]...)
			return cl, nil
		case t == "-" || !strings.HasPrefix(t, "-"):
			cl.args = append(cl.args, t)
			continue
		}
		name := t[1:]
		if o := find(name); o != nil {
			if !o.hasArg {
				cl.set(o.name, "")
				continue
			}
			if i+1 >= len(tokens) || !isOptionValue(tokens[i+1], find) {
				return nil, &parseError{"MissingArgumentException", "Missing argument for option: " + o.name}
			}
			i++
			cl.set(o.name, tokens[i])
			continue
		}
		o := find(name[:1])
		if o == nil || strings.HasPrefix(t, "--") {
			return nil, &parseError{"UnrecognizedOptionException", "Unrecognized option: " + t}
		}
		if o.hasArg {
			cl.set(o.name, name[1:])
			continue
		}
		for j := 0; j < len(name); j++ {
			o := find(name[j : j+1])
			if o == nil {
				return nil, &parseError{"UnrecognizedOptionException", "Unrecognized option: " + t}
			}
			if !o.hasArg {
				cl.set(o.name, "")
				continue
			}
			if j+1 < len(name) {
				cl.set(o.name, name[j+1:])
				break
			}
			if i+1 >= len(tokens) || !isOptionValue(tokens[i+1], find) {
				return nil, &parseError{"MissingArgumentException", "Missing argument for option: " + o.name}
			}
			i++
			cl.set(o.name, tokens[i])
		}
	}
	return cl, nil
}

// isOptionValue is Commons CLI's test for a token that can be an option's
// value: anything that is not itself an option, or a negative number.
func isOptionValue(t string, find func(string) *optionSpec) bool {
	if !strings.HasPrefix(t, "-") || t == "-" {
		return true
	}
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		return true
	}
	return find(t[1:]) == nil && find(t[1:2]) == nil
}

// optionsHelp renders specs as Commons CLI's HelpFormatter.printOptions
// does with its defaults, for the commands whose usage lists them.
func optionsHelp(specs []optionSpec) string {
	sorted := append([]optionSpec(nil), specs...)
	sort.Slice(sorted, func(i, j int) bool { return strings.ToLower(sorted[i].name) < strings.ToLower(sorted[j].name) })
	lefts := make([]string, len(sorted))
	width := 0
	for i, o := range sorted {
		lefts[i] = " -" + o.name
		if o.hasArg {
			lefts[i] += " <arg>"
		}
		width = max(width, len(lefts[i]))
	}
	var b strings.Builder
	for i, o := range sorted {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%-*s   %s", width, lefts[i], o.desc)
	}
	return b.String() + "\n"
}

// argsPattern splits a shell line as zkCli.sh does: a
// token is a run of non-blanks, or a single- or double-quoted string,
// whose quotes are dropped.
var argsPattern = regexp.MustCompile(`\s*([^"']\S*|"[^"]*"|'[^']*')\s*`)

func splitLine(line string) []string {
	var args []string
	for _, m := range argsPattern.FindAllStringSubmatch(line, -1) {
		v := m[1]
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		args = append(args, v)
	}
	return args
}
