package zkwire

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf16"
)

// DefaultPort is the port a connect string's host gets when it names none.
const DefaultPort = 2181

// ParseConnectString splits "host:port,host:port/chroot" into server
// addresses and a chroot ("" for none), as ZooKeeper's ConnectStringParser
// does: a host without a port gets DefaultPort and a chroot of "/" is none.
func ParseConnectString(s string) (servers []string, chroot string, err error) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		chroot = s[i:]
		s = s[:i]
		if chroot == "/" {
			chroot = ""
		} else if err := ValidatePath(chroot); err != nil {
			return nil, "", fmt.Errorf("chroot: %w", err)
		}
	}
	for _, h := range strings.Split(s, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		host, port := h, strconv.Itoa(DefaultPort)
		if strings.HasPrefix(h, "[") {
			if end := strings.IndexByte(h, ']'); end > 0 {
				host = h[1:end]
				if rest := h[end+1:]; strings.HasPrefix(rest, ":") && len(rest) > 1 {
					port = rest[1:]
				}
			}
		} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
			if i < len(h)-1 {
				port = h[i+1:]
			}
			host = h[:i]
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return nil, "", fmt.Errorf("bad port in %q: %w", h, err)
		}
		servers = append(servers, net.JoinHostPort(host, port))
	}
	if len(servers) == 0 {
		return nil, "", errors.New("connect string names no server")
	}
	return servers, chroot, nil
}

// PathError is a path the client refuses before sending, with the reason
// ZooKeeper's client gives (PathUtils.validatePath).
type PathError struct {
	Reason string
}

func (e *PathError) Error() string { return e.Reason }

// ValidatePath checks a znode path as ZooKeeper's client does before
// sending it. Java checks UTF-16 code units, so the ranges here apply to
// those units.
func ValidatePath(p string) error {
	switch {
	case p == "":
		return &PathError{"Path length must be > 0"}
	case p[0] != '/':
		return &PathError{"Path must start with / character"}
	case p == "/":
		return nil
	case p[len(p)-1] == '/':
		return &PathError{"Path must not end with / character"}
	}
	u := utf16.Encode([]rune(p))
	reason := ""
	last := uint16('/')
	for i := 1; i < len(u); last, i = u[i], i+1 {
		c := u[i]
		atEnd := i+1 == len(u) || u[i+1] == '/'
		switch {
		case c == 0:
			reason = fmt.Sprintf("null character not allowed @%d", i)
		case c == '/' && last == '/':
			reason = fmt.Sprintf("empty node name specified @%d", i)
		case c == '.' && last == '.':
			if u[i-2] == '/' && atEnd {
				reason = fmt.Sprintf("relative paths not allowed @%d", i)
			}
		case c == '.':
			if u[i-1] == '/' && atEnd {
				reason = fmt.Sprintf("relative paths not allowed @%d", i)
			}
		case c > 0 && c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0:
			reason = fmt.Sprintf("invalid character @%d", i)
		}
		if reason != "" {
			return &PathError{fmt.Sprintf("Invalid path string \"%s\" caused by %s", p, reason)}
		}
	}
	return nil
}
