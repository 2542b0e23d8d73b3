package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Server is one server.N line.
type Server struct {
	ID           uint64
	Host         string // quorum host
	QuorumPort   int
	ElectionPort int
	Observer     bool   // ":observer" role
	ClientHost   string // from ";[host:]port"; "0.0.0.0" when only a port is given, "" when no client part
	ClientPort   int    // 0 when absent
}

const serverGrammar = "host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]"

// String renders the value of the server's line the way ZooKeeper writes it
// to /zookeeper/config.
func (s Server) String() string {
	role := "participant"
	if s.Observer {
		role = "observer"
	}
	v := fmt.Sprintf("%s:%d:%d:%s", bracketHost(s.Host), s.QuorumPort, s.ElectionPort, role)
	if s.ClientPort != 0 {
		v += ";" + net.JoinHostPort(s.ClientHost, strconv.Itoa(s.ClientPort))
	}
	return v
}

// QuorumAddr is host:quorumPort, the address peers replicate on.
func (s Server) QuorumAddr() string {
	return net.JoinHostPort(s.Host, strconv.Itoa(s.QuorumPort))
}

// ElectionAddr is host:electionPort.
func (s Server) ElectionAddr() string {
	return net.JoinHostPort(s.Host, strconv.Itoa(s.ElectionPort))
}

func bracketHost(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// parseServer reads the value of a server.N line with the grammar of
// QuorumServer.initializeWithAddressString.
func parseServer(id uint64, value string) (Server, error) {
	s := Server{ID: id}
	bad := fmt.Errorf("%q does not have the form %s", value, serverGrammar)
	parts := javaSplit(value, ";")
	if len(parts) == 0 || len(parts) > 2 {
		return s, bad
	}
	if strings.Contains(parts[0], "|") {
		return s, fmt.Errorf("%q lists several addresses with '|'; zookit supports one address per server", value)
	}
	if len(parts) == 2 {
		host, port, err := hostAndPort(javaTrim(parts[1]))
		if err != nil {
			return s, fmt.Errorf("client address of %q: %w", value, err)
		}
		switch len(port) {
		case 0:
			s.ClientHost = "0.0.0.0"
			port = []string{host}
		case 1:
			s.ClientHost = host
		default:
			return s, bad
		}
		if s.ClientHost == "" {
			return s, bad
		}
		if s.ClientPort, err = parsePort(port[0]); err != nil {
			return s, fmt.Errorf("client port of %q: %w", value, err)
		}
	}
	host, rest, err := hostAndPort(javaTrim(parts[0]))
	if err != nil {
		return s, fmt.Errorf("%q: %w", value, err)
	}
	if host == "" || len(rest) < 2 || len(rest) > 3 {
		return s, bad
	}
	s.Host = host
	if s.QuorumPort, err = parsePort(rest[0]); err != nil {
		return s, fmt.Errorf("quorum port of %q: %w", value, err)
	}
	if s.ElectionPort, err = parsePort(rest[1]); err != nil {
		return s, fmt.Errorf("election port of %q: %w", value, err)
	}
	if s.QuorumPort == s.ElectionPort {
		return s, fmt.Errorf("quorum port and election port must differ, both are %d", s.QuorumPort)
	}
	if len(rest) == 3 {
		switch strings.ToLower(javaTrim(rest[2])) {
		case "observer":
			s.Observer = true
		case "participant":
		default:
			return s, fmt.Errorf("unrecognised peer type %q, want participant or observer", rest[2])
		}
	}
	return s, nil
}

// hostAndPort splits "host:a:b" or "[v6]:a:b" into the host and the
// colon-separated fields after it, like ZooKeeper's ConfigUtils.getHostAndPort.
func hostAndPort(s string) (string, []string, error) {
	if rest, ok := strings.CutPrefix(s, "["); ok {
		host, after, ok := strings.Cut(rest, "]")
		if !ok {
			return "", nil, fmt.Errorf("%q starts with '[' but has no matching ']'", s)
		}
		if after == "" {
			return host, nil, nil
		}
		fields, ok := strings.CutPrefix(after, ":")
		if !ok || fields == "" {
			return "", nil, fmt.Errorf("%q has no port after ']:'", s)
		}
		return host, javaSplit(fields, ":"), nil
	}
	f := javaSplit(s, ":")
	if len(f) == 0 {
		return "", nil, nil
	}
	return f[0], f[1:], nil
}

// javaSplit splits like Java's String.split, which drops trailing empty
// strings; ZooKeeper's grammar inherits that ("h:1:2:" is "h:1:2").
func javaSplit(s, sep string) []string {
	f := strings.Split(s, sep)
	for len(f) > 0 && f[len(f)-1] == "" {
		f = f[:len(f)-1]
	}
	return f
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(javaTrim(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d is out of range 1-65535", n)
	}
	return n, nil
}

// ParseServer reads one server line, key "server.N" and its value, with the
// grammar of zoo.cfg; reconfig's joining servers and new members are such
// lines.
func ParseServer(key, value string) (Server, error) {
	idText, ok := strings.CutPrefix(strings.TrimSpace(key), "server.")
	if !ok {
		return Server{}, fmt.Errorf("%q is not a server.N key", key)
	}
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil || id == 0 {
		return Server{}, fmt.Errorf("%q is not a server id", idText)
	}
	return parseServer(id, value)
}
