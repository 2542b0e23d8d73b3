package tree

import (
	"strings"
	"unicode/utf8"
)

// validatePath applies PathUtils.validatePath. Java checks UTF-16 code
// units: a rune outside the BMP is a surrogate pair there and is refused by
// the \ud800-\uf8ff range, and invalid UTF-8 decodes to U+FFFD, which the
// \ufff0-\uffff range refuses, so checking runes gives the same answer.
func validatePath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	if p == "/" {
		return true
	}
	if p[len(p)-1] == '/' {
		return false
	}
	if ascii, ok := validASCIIPath(p); ascii {
		return ok
	}
	return validRunes(p)
}

// validRunes is validatePath's check of a path's names, rune by rune.
func validRunes(p string) bool {
	// prev2 and prev1 are the two runes before c; the first '/' is prev1
	// for the first rune after it.
	prev2, prev1 := rune(-1), rune('/')
	for i := 1; i < len(p); {
		c, size := utf8.DecodeRuneInString(p[i:])
		next := rune(-1)
		if i+size < len(p) {
			next, _ = utf8.DecodeRuneInString(p[i+size:])
		}
		endOfName := next == -1 || next == '/'
		switch {
		case c == 0:
			return false
		case c == '/' && prev1 == '/':
			return false
		case c == '.' && prev1 == '.':
			if prev2 == '/' && endOfName {
				return false
			}
		case c == '.':
			if prev1 == '/' && endOfName {
				return false
			}
		case c == utf8.RuneError, c > 0xffff,
			c > 0 && c <= 0x1f,
			c >= 0x7f && c <= 0x9f,
			c >= 0xd800 && c <= 0xf8ff,
			c >= 0xfff0:
			return false
		}
		prev2, prev1 = prev1, c
		i += size
	}
	return true
}

// validASCIIPath is validatePath's fast path for the paths nearly every
// client uses, printable ASCII, checked a byte at a time; ascii is false
// for any other path, which needs the rune-by-rune check.
func validASCIIPath(p string) (ascii, ok bool) {
	start := 1 // of the current name
	for i := 1; i <= len(p); i++ {
		if i < len(p) {
			c := p[i]
			if c < 0x20 || c >= 0x7f {
				return false, false
			}
			if c != '/' {
				continue
			}
		}
		switch p[start:i] {
		case "", ".", "..":
			// Invalid whatever the bytes after it.
			return true, false
		}
		start = i + 1
	}
	return true, true
}

// specialPaths are the nodes ZooKeeper refuses to delete (DataTree.isSpecialPath).
func isSpecialPath(p string) bool {
	switch p {
	case "/", procPath, quotaPath, configPath:
		return true
	}
	return false
}

// splitPath gives the parent and the last component of p, the way DataTree
// does: the parent of "/a" is "", which names the root. ok is false when p
// has no slash.
func splitPath(p string) (parent, name string, ok bool) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", "", false
	}
	return p[:i], p[i+1:], true
}

// watchPath is the name a parent is watched under: the root's alias "" is
// watched as "/".
func watchPath(parent string) string {
	if parent == "" {
		return "/"
	}
	return parent
}
