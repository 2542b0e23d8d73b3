package config

import (
	"fmt"
	"strings"
)

// entry is one key/value pair of a Java properties file and the line on
// which its logical line starts.
type entry struct {
	key, value string
	line       int
}

// isPropSpace reports the characters java.util.Properties treats as
// whitespace between and around keys.
func isPropSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// javaTrim trims like Java's String.trim, which strips every char <= ' '.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// readProperties parses text with java.util.Properties.load rules. Keys and
// values come back trimmed, as QuorumPeerConfig trims them, and in file
// order; a key given twice appears twice (see lastWins).
func readProperties(text string) ([]entry, error) {
	lines := splitLines(text)
	var out []entry
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		// A line ending in an odd number of backslashes continues on the
		// next line, whose leading whitespace is dropped.
		for endsWithContinuation(line) {
			line = line[:len(line)-1]
			if i+1 >= len(lines) {
				break
			}
			i++
			line += strings.TrimLeft(lines[i], " \t\f")
		}
		rawKey, rawValue := splitKeyValue(line)
		key, err := unescape(rawKey)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		value, err := unescape(rawValue)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		out = append(out, entry{key: javaTrim(key), value: javaTrim(value), line: start})
	}
	return out, nil
}

// lastWins drops the earlier entries of a key given twice, as loading into a
// java.util.Properties does, except for keys keep reports: those are kept so
// that duplicates can be refused.
func lastWins(entries []entry, keep func(key string) bool) []entry {
	last := map[string]int{}
	for i, e := range entries {
		last[e.key] = i
	}
	var out []entry
	for i, e := range entries {
		if last[e.key] == i || keep(e.key) {
			out = append(out, e)
		}
	}
	return out
}

// splitLines splits on \n, \r and \r\n, the line terminators Properties accepts.
func splitLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Split(text, "\n")
}

func endsWithContinuation(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitKeyValue cuts a logical line at the first unescaped '=', ':' or
// whitespace; whitespace and at most one separator before the value are
// skipped.
func splitKeyValue(line string) (key, value string) {
	end := len(line)
	hasSep := false
	escaped := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		if escaped {
			escaped = false
			continue
		}
		if c == '\\' {
			escaped = true
			continue
		}
		if c == '=' || c == ':' {
			end, hasSep = i, true
			break
		}
		if isPropSpace(c) {
			end = i
			break
		}
	}
	v := end
	if hasSep {
		v++
	}
	for ; v < len(line); v++ {
		c := line[v]
		if isPropSpace(c) {
			continue
		}
		if !hasSep && (c == '=' || c == ':') {
			hasSep = true
			continue
		}
		break
	}
	return line[:end], line[v:]
}

// unescape applies Properties escapes: \t \n \r \f, \uXXXX, and \x for any
// other x.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch c = s[i]; c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf(`malformed \uxxxx encoding in %q`, s)
			}
			var r rune
			for _, h := range []byte(s[i+1 : i+5]) {
				d, ok := hexDigit(h)
				if !ok {
					return "", fmt.Errorf(`malformed \uxxxx encoding in %q`, s)
				}
				r = r<<4 | d
			}
			b.WriteRune(r)
			i += 4
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func hexDigit(c byte) (rune, bool) {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0'), true
	case 'a' <= c && c <= 'f':
		return rune(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return rune(c-'A') + 10, true
	}
	return 0, false
}

// escapeKey and escapeValue write strings that readProperties reads back
// unchanged.
func escapeKey(s string) string { return escape(s, true) }

func escapeValue(s string) string { return escape(s, false) }

func escape(s string, key bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\f':
			b.WriteString(`\f`)
		case key && (c == '=' || c == ':' || c == ' '):
			b.WriteByte('\\')
			b.WriteByte(c)
		case key && i == 0 && (c == '#' || c == '!'):
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
