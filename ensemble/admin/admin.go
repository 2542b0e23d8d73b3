package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	stdlog "log"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/config"
)

// Defaults of the settings, ZooKeeper's except for Enabled.
const (
	DefaultAddress     = "0.0.0.0"
	DefaultPort        = 8080
	DefaultCommandURL  = "/commands"
	DefaultIdleTimeout = 30 * time.Second
)

// maxHeaderBytes is Jetty's default request header size.
const maxHeaderBytes = 8 << 10

// Result is what one command answers.
type Result struct {
	// Command is the primary name, whichever name ran it.
	Command string
	// Data marshals to a JSON object whose fields the response carries
	// before "command" and "error"; nil for none.
	Data any
	// Error is the response's "error", "" for null.
	Error string
}

// Commands is what the AdminServer needs of a ZooKeeper server.
type Commands interface {
	// AdminCommands lists the primary names of the commands.
	AdminCommands() []string
	// RunAdminCommand runs the command called name, a primary name or an
	// alias; false when there is none. No command of zookit's takes
	// ZooKeeper's keyword arguments (set_trace_mask's traceMask is the only
	// one in 3.8), so the query string is not read.
	RunAdminCommand(name string) (Result, bool)
}

// Settings are the admin.* keys of a configuration.
type Settings struct {
	Enabled     bool
	Addr        string // host:port to listen on
	CommandURL  string // with no trailing "/"; "" when commands are at the root
	IdleTimeout time.Duration
	// Pprof serves Go's runtime profiles at /debug/pprof/ (zookit's own
	// admin.pprof): what a JVM's jcmd tells of ZooKeeper, such as the
	// live heap after a forced collection, zkbench scale reads here.
	Pprof bool
}

// Read takes the settings from cfg's zookeeper.admin.* properties, which
// zoo.cfg's admin.* keys set. A value the key cannot take is an error,
// where ZooKeeper would quietly use its default.
func Read(cfg *config.Config) (Settings, error) {
	s := Settings{CommandURL: DefaultCommandURL, IdleTimeout: DefaultIdleTimeout}
	prop := func(k string) (string, bool) {
		v, ok := cfg.Property("zookeeper.admin." + k)
		return strings.TrimSpace(v), ok
	}
	boolean := func(k string) (bool, error) {
		v, ok := prop(k)
		switch strings.ToLower(v) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		if ok {
			return false, fmt.Errorf("admin: admin.%s=%s: want true or false", k, v)
		}
		return false, nil
	}
	var err error
	if s.Enabled, err = boolean("enableServer"); err != nil {
		return Settings{}, err
	}
	if s.Pprof, err = boolean("pprof"); err != nil {
		return Settings{}, err
	}
	host := DefaultAddress
	if v, ok := prop("serverAddress"); ok {
		host = v
	}
	port := DefaultPort
	if v, ok := prop("serverPort"); ok {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 65535 {
			return Settings{}, fmt.Errorf("admin: admin.serverPort=%s: want a port number", v)
		}
		port = p
	}
	s.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	if v, ok := prop("commandURL"); ok {
		if !strings.HasPrefix(v, "/") {
			return Settings{}, fmt.Errorf("admin: admin.commandURL=%s: want a path starting with /", v)
		}
		s.CommandURL = v
	}
	s.CommandURL = strings.TrimRight(s.CommandURL, "/")
	if v, ok := prop("idleTimeout"); ok {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return Settings{}, fmt.Errorf("admin: admin.idleTimeout=%s: want a positive number of milliseconds", v)
		}
		s.IdleTimeout = time.Duration(ms) * time.Millisecond
	}
	return s, nil
}

// NewServer is an HTTP server for cmds with set's command URL and
// timeouts and bounded request headers, and Go's profiles when set.Pprof;
// the caller serves it on its listeners and closes it.
func NewServer(cmds Commands, set Settings, log *zap.Logger) *http.Server {
	h := Handler(cmds, set.CommandURL)
	if set.Pprof {
		h = withPprof(h)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: set.IdleTimeout,
		ReadTimeout:       set.IdleTimeout,
		WriteTimeout:      set.IdleTimeout,
		IdleTimeout:       set.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          ErrorLog(log),
	}
}

// ErrorLog is where net/http reports what goes wrong with a connection (a
// failed accept, a recovered panic): warnings, since no request causes one
// in the normal course.
func ErrorLog(log *zap.Logger) *stdlog.Logger {
	// Only an invalid level fails, and WarnLevel is valid.
	l, _ := zap.NewStdLogAt(log, zap.WarnLevel)
	return l
}

// Handler serves cmds under commandURL ("" for the root, else a path
// starting with "/" and not ending with one): the list of commands at
// commandURL itself, a command at commandURL/<name>, and 404 elsewhere.
func Handler(cmds Commands, commandURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, commandURL)
		switch {
		case !ok || (rest != "" && rest[0] != '/'):
			http.NotFound(w, r)
		case rest == "" || rest == "/":
			list(w, cmds, commandURL)
		default:
			run(w, cmds, rest[1:])
		}
	})
}

// pprofPrefix is where net/http/pprof's handlers expect to be served.
const pprofPrefix = "/debug/pprof/"

// withPprof serves net/http/pprof under pprofPrefix and everything else
// with h, whose paths it leaves as they come: a ServeMux in front would
// clean and redirect them.
func withPprof(h http.Handler) http.Handler {
	prof := http.NewServeMux()
	prof.HandleFunc(pprofPrefix, pprof.Index)
	prof.HandleFunc(pprofPrefix+"cmdline", pprof.Cmdline)
	prof.HandleFunc(pprofPrefix+"profile", pprof.Profile)
	prof.HandleFunc(pprofPrefix+"symbol", pprof.Symbol)
	prof.HandleFunc(pprofPrefix+"trace", pprof.Trace)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, pprofPrefix) {
			prof.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// list links every command by its primary name, as ZooKeeper's does.
func list(w http.ResponseWriter, cmds Commands, commandURL string) {
	var b bytes.Buffer
	for _, name := range cmds.AdminCommands() {
		fmt.Fprintf(&b, "<a href=\"%s\">%s</a>\n<br/>\n", html.EscapeString(commandURL+"/"+name), html.EscapeString(name))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

func run(w http.ResponseWriter, cmds Commands, name string) {
	res, ok := cmds.RunAdminCommand(name)
	if !ok {
		res = Result{Command: name, Error: "Unknown command: " + name}
	}
	body, err := encode(res)
	if err != nil {
		body = []byte(`{"error": "Exception writing command response to JSON"}`)
	}
	// ZooKeeper answers 200 for every command, failed or unknown: the
	// outcome is in "error".
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(body, '\n'))
}

// encode renders res as ZooKeeper's JSON: the fields of res.Data, then
// "command" and "error", indented.
func encode(res Result) ([]byte, error) {
	data := []byte("{}")
	if res.Data != nil {
		var err error
		if data, err = json.Marshal(res.Data); err != nil {
			return nil, fmt.Errorf("admin: %s: %w", res.Command, err)
		}
	}
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		// A command that failed may have no data at all.
		data = []byte("{}")
	}
	if len(data) < 2 || data[0] != '{' {
		return nil, errors.New("admin: " + res.Command + ": data is not a JSON object")
	}
	var b bytes.Buffer
	b.Write(data[:len(data)-1])
	if len(bytes.TrimSpace(data[1:len(data)-1])) > 0 {
		b.WriteByte(',')
	}
	cmd, _ := json.Marshal(res.Command)
	b.WriteString(`"command":`)
	b.Write(cmd)
	b.WriteString(`,"error":`)
	if res.Error == "" {
		b.WriteString("null")
	} else {
		e, _ := json.Marshal(res.Error)
		b.Write(e)
	}
	b.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("admin: %s: %w", res.Command, err)
	}
	return out.Bytes(), nil
}
