package sasl

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"
)

// LoginModule is one entry of a JAAS section.
type LoginModule struct {
	Class   string // e.g. org.apache.zookeeper.server.auth.DigestLoginModule
	Flag    string // required, requisite, sufficient or optional
	Options map[string]string
}

// JAAS is a parsed JAAS configuration file: its sections by name.
type JAAS map[string][]LoginModule

// DigestLoginModule is the class of ZooKeeper's DIGEST-MD5 login module.
const DigestLoginModule = "org.apache.zookeeper.server.auth.DigestLoginModule"

// maxJAAS bounds the file read: a configuration is a few lines.
const maxJAAS = 1 << 20

// LoadJAAS reads and parses the JAAS file at path.
func LoadJAAS(path string) (JAAS, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sasl: read JAAS configuration: %w", err)
	}
	if len(b) > maxJAAS {
		return nil, fmt.Errorf("sasl: JAAS configuration %s is over %d bytes", path, maxJAAS)
	}
	j, err := ParseJAAS(string(b))
	if err != nil {
		return nil, fmt.Errorf("sasl: %s: %w", path, err)
	}
	return j, nil
}

// ParseJAAS parses the text of a JAAS configuration file: sections
// `Name { Class Flag key=value ...; ... };`, with // and /* */ comments and
// values quoted or bare.
func ParseJAAS(text string) (JAAS, error) {
	toks, err := tokenize(text)
	if err != nil {
		return nil, err
	}
	j := JAAS{}
	next := func() (token, bool) {
		if len(toks) == 0 {
			return token{}, false
		}
		t := toks[0]
		toks = toks[1:]
		return t, true
	}
	for len(toks) > 0 {
		name, _ := next()
		if open, ok := next(); name.quoted || !ok || open.text != "{" || open.quoted {
			return nil, fmt.Errorf("line %d: want a section name and {", name.line)
		}
		if _, dup := j[name.text]; dup {
			return nil, fmt.Errorf("line %d: section %s appears twice", name.line, name.text)
		}
		var mods []LoginModule
		for {
			t, ok := next()
			if !ok {
				return nil, fmt.Errorf("section %s is not closed", name.text)
			}
			if t.text == "}" && !t.quoted {
				if semi, ok := next(); !ok || semi.text != ";" {
					return nil, fmt.Errorf("line %d: want ; after } of section %s", t.line, name.text)
				}
				break
			}
			flag, ok := next()
			if !ok || flag.quoted || !validFlag(flag.text) {
				return nil, fmt.Errorf("line %d: login module %s wants a flag (required, requisite, sufficient or optional)", t.line, t.text)
			}
			m := LoginModule{Class: t.text, Flag: flag.text, Options: map[string]string{}}
			for {
				k, ok := next()
				if !ok {
					return nil, fmt.Errorf("login module %s is not ended by ;", m.Class)
				}
				if k.text == ";" && !k.quoted {
					break
				}
				eq, ok1 := next()
				v, ok2 := next()
				if k.quoted || !ok1 || eq.text != "=" || eq.quoted || !ok2 {
					return nil, fmt.Errorf("line %d: want key=value in login module %s", k.line, m.Class)
				}
				m.Options[k.text] = v.text
			}
			mods = append(mods, m)
		}
		j[name.text] = mods
	}
	return j, nil
}

func validFlag(f string) bool {
	switch strings.ToLower(f) {
	case "required", "requisite", "sufficient", "optional":
		return true
	}
	return false
}

type token struct {
	text   string
	quoted bool
	line   int
}

// tokenize splits JAAS text into words, quoted strings and the
// punctuation { } ; =.
func tokenize(s string) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n':
			line++
			i++
		case unicode.IsSpace(rune(c)):
			i++
		case strings.HasPrefix(s[i:], "//"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("line %d: comment not closed", line)
			}
			line += strings.Count(s[i:i+2+end], "\n")
			i += end + 4
		case strings.ContainsRune("{};=", rune(c)):
			toks = append(toks, token{text: string(c), line: line})
			i++
		case c == '"':
			var b strings.Builder
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				if s[i] == '\n' {
					line++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("line %d: quoted string not closed", line)
			}
			i++
			toks = append(toks, token{text: b.String(), quoted: true, line: line})
		default:
			start := i
			for i < len(s) && !unicode.IsSpace(rune(s[i])) && !strings.ContainsRune("{};=\"", rune(s[i])) && !strings.HasPrefix(s[i:], "//") && !strings.HasPrefix(s[i:], "/*") {
				i++
			}
			toks = append(toks, token{text: s[start:i], line: line})
		}
	}
	return toks, nil
}

// ErrNoSection is returned for a section the configuration lacks.
var ErrNoSection = errors.New("sasl: no such JAAS section")

// DigestUsers returns the users and passwords of the DigestLoginModule of
// section: its user_<name> options. A section with any other login
// module is an error, naming it: zookit authenticates DIGEST-MD5 only.
func (j JAAS) DigestUsers(section string) (map[string]string, error) {
	mods, ok := j[section]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoSection, section)
	}
	users := map[string]string{}
	for _, m := range mods {
		if m.Class != DigestLoginModule {
			return nil, fmt.Errorf("sasl: JAAS section %s: login module %s is not supported; only %s (DIGEST-MD5) is", section, m.Class, DigestLoginModule)
		}
		for k, v := range m.Options {
			if name, ok := strings.CutPrefix(k, "user_"); ok && name != "" {
				users[name] = v
			}
		}
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("sasl: JAAS section %s names no user_<name> option", section)
	}
	return users, nil
}
