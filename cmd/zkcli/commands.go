package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/zookit/zookit/ensemble/proto"
	"github.com/zookit/zookit/internal/zkwire"
)

// command is one of zkCli.sh's CliCommands.
type command struct {
	syntax string
	specs  []optionSpec
	// listOptions: the usage message lists the options too (get and set
	// declare theirs for help).
	listOptions bool
	run         func(s *Shell, ctx context.Context, c *command, raw []string) error
}

// usageErr is the error for a command used wrongly: its usage.
func (c *command) usageErr(name string) error {
	msg := name + " " + c.syntax
	if c.listOptions {
		msg += "\n" + optionsHelp(c.specs)
	}
	return failf("%s", msg)
}

func (c *command) parse(raw []string) (*cmdLine, error) {
	cl, err := parseOptions(c.specs, raw)
	if err != nil {
		return nil, failf("%v", err)
	}
	return cl, nil
}

// parseN parses raw and wants at least n arguments, the command's name
// included.
func (c *command) parseN(raw []string, n int) (*cmdLine, error) {
	cl, err := c.parse(raw)
	if err != nil {
		return nil, err
	}
	if len(cl.args) < n {
		return nil, c.usageErr(raw[0])
	}
	return cl, nil
}

// compat rewrites the old "cmd path watch" form to "cmd -w path" as
// zkCli.sh does: the third token of the line becomes -w.
func (c *command) compat(s *Shell, raw []string, cl *cmdLine, warning string) (*cmdLine, error) {
	if len(cl.args) <= 2 {
		return cl, nil
	}
	raw = slices.Clone(raw)
	raw[2] = "-w"
	fmt.Fprintln(s.errOut, warning)
	return c.parse(raw)
}

// zkErr turns a client error into zkCli.sh's message for it; path is the
// path the command was given, for errors that carry none.
func zkErr(err error, path string) error {
	var pe *zkwire.PathError
	var oe *zkwire.OpError
	switch {
	case errors.As(err, &pe):
		return failf("%s", pe.Reason)
	case errors.As(err, &oe):
		return failf("%s", wrapperMessage(oe.Code, oe.Path))
	case errors.Is(err, context.DeadlineExceeded):
		return failf("%s", wrapperMessage(proto.ErrConnectionLoss, path))
	}
	return failf("%v", err)
}

// maxTTL is the largest TTL a znode may have (EphemeralType.TTL).
const maxTTL = 0xFFFFFFFFFF

var commands = map[string]*command{
	"ls": {
		syntax: "[-s] [-w] [-R] path",
		specs:  []optionSpec{{"?", false, "help"}, {"s", false, "stat"}, {"w", false, "watch"}, {"R", false, "recurse"}},
		run:    runLs,
	},
	"create": {
		syntax: "[-s] [-e] [-c] [-t ttl] path [data] [acl]",
		specs:  []optionSpec{{"e", false, "ephemeral"}, {"s", false, "sequential"}, {"c", false, "container"}, {"t", true, "ttl"}},
		run:    runCreate,
	},
	"get": {
		syntax: "[-s] [-w] [-b] [-x] path",
		specs: []optionSpec{{"s", false, "Print znode stats additionally"}, {"w", false, "Watch for changes on the znode"},
			{"b", false, "Output data in base64 format"}, {"x", false, "Output data in hexdump format"}},
		listOptions: true,
		run:         runGet,
	},
	"set": {
		syntax: "path data [-s] [-v version] [-b]",
		specs: []optionSpec{{"s", false, "Print znode stats additionally"}, {"v", true, "Set with an expected version"},
			{"b", false, "Supply data in base64 format"}},
		listOptions: true,
		run:         runSet,
	},
	"stat": {
		syntax: "[-w] path",
		specs:  []optionSpec{{"w", false, "watch"}},
		run:    runStat,
	},
	"delete": {
		syntax: "[-v version] path",
		specs:  []optionSpec{{"v", true, "version"}},
		run:    runDelete,
	},
	"deleteall": {
		syntax: "path [-b batch size]",
		specs:  []optionSpec{{"b", true, "batch size"}},
		run:    runDeleteAll,
	},
	"getAcl": {
		syntax: "[-s] path",
		specs:  []optionSpec{{"s", false, "stats"}},
		run:    runGetACL,
	},
	"setAcl": {
		syntax: "[-s] [-v version] [-R] path acl",
		specs:  []optionSpec{{"s", false, "stats"}, {"v", true, "version"}, {"R", false, "recursive"}},
		run:    runSetACL,
	},
	"addauth":              {syntax: "scheme auth", run: runAddAuth},
	"whoami":               {syntax: "", run: runWhoAmI},
	"sync":                 {syntax: "path", run: runSync},
	"getEphemerals":        {syntax: "path", run: runGetEphemerals},
	"getAllChildrenNumber": {syntax: "path", run: runGetAllChildrenNumber},
	"version":              {syntax: "", run: runVersion},
	"close":                {syntax: "", run: runClose},
	"addWatch": {
		syntax: "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE",
		specs:  []optionSpec{{"m", true, ""}},
		run:    runAddWatch,
	},
	"removewatches": {
		syntax: "path [-c|-d|-a] [-l]",
		specs: []optionSpec{{"c", false, "child watcher type"}, {"d", false, "data watcher type"},
			{"a", false, "any watcher type"}, {"l", false, "remove locally when there is no server connection"}},
		run: runRemoveWatches,
	},
	"reconfig": {
		syntax: "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]",
		specs: []optionSpec{{"s", false, "stats"}, {"v", true, "required current config version"},
			{"file", true, "path of config file to parse for membership"},
			{"members", true, "comma-separated list of config strings for non-incremental reconfig"},
			{"add", true, "comma-separated list of config strings for new servers"},
			{"remove", true, "comma-separated list of server IDs to remove"}},
		run: runReconfig,
	},
	"setquota":  {syntax: "-n|-b|-N|-B val path", specs: quotaSpecsWithArgs, run: runSetQuota},
	"listquota": {syntax: "path", run: runListQuota},
	"delquota":  {syntax: "[-n|-b|-N|-B] path", specs: quotaSpecsFlags, run: runDelQuota},
	"config": {
		syntax: "[-c] [-w] [-s]",
		specs:  []optionSpec{{"s", false, "stats"}, {"w", false, "watch"}, {"c", false, "client connection string"}},
		run:    runConfig,
	},
}

func runLs(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parse(raw)
	if err != nil {
		return err
	}
	if cl.has("?") {
		fmt.Fprintf(s.out, "usage: ls [options] path\n%s", optionsHelp(c.specs))
	}
	if cl, err = c.compat(s, raw, cl, "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead."); err != nil {
		return err
	}
	if len(cl.args) < 2 {
		return c.usageErr("ls")
	}
	path, watch := cl.args[1], cl.has("w")
	if cl.has("R") {
		return visitTree(ctx, s.client, path, watch, func(p string) error {
			fmt.Fprintln(s.out, p)
			return nil
		})
	}
	kids, st, err := s.client.Children(ctx, path, watch)
	if err != nil {
		return zkErr(err, path)
	}
	slices.Sort(kids)
	fmt.Fprintf(s.out, "[%s]\n", strings.Join(kids, ", "))
	if cl.has("s") {
		printStat(s.out, st)
	}
	return nil
}

// visitTree visits path and then, level by level below each node, its
// descendants in sorted order, as zkCli.sh's ls -R and setAcl -R walk.
// With watch set it leaves a data watch on path and a child watch on every
// node.
func visitTree(ctx context.Context, c *zkwire.Client, path string, watch bool, visit func(string) error) error {
	if _, _, err := c.Get(ctx, path, watch); err != nil {
		return zkErr(err, path)
	}
	if err := visit(path); err != nil {
		return err
	}
	var walk func(string) error
	walk = func(p string) error {
		kids, _, err := c.Children(ctx, p, watch)
		if errors.Is(err, proto.ErrNoNode) {
			return nil // deleted since its parent was listed
		}
		if err != nil {
			return zkErr(err, p)
		}
		slices.Sort(kids)
		for i, k := range kids {
			kids[i] = childPath(p, k)
			if err := visit(kids[i]); err != nil {
				return err
			}
		}
		for _, k := range kids {
			if err := walk(k); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(path)
}

func childPath(parent, child string) string {
	if parent == "/" {
		return "/" + child
	}
	return parent + "/" + child
}

func runCreate(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 2)
	if err != nil {
		return err
	}
	e, seq, cont, hasTTL := cl.has("e"), cl.has("s"), cl.has("c"), cl.has("t")
	if cont && (e || seq) {
		return failf("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.")
	}
	var ttl int64
	if hasTTL {
		if ttl, err = strconv.ParseInt(cl.opts["t"], 10, 64); err != nil {
			return failf("-t argument must be a long value")
		}
	}
	if hasTTL && e {
		return failf("TTLs cannot be used with Ephemeral znodes")
	}
	if hasTTL && cont {
		return failf("TTLs cannot be used with Container znodes")
	}
	var mode int32
	switch {
	case e && seq:
		mode = zkwire.EphemeralSequential
	case e:
		mode = zkwire.Ephemeral
	case seq && hasTTL:
		mode = zkwire.PersistentSequentialWithTTL
	case seq:
		mode = zkwire.PersistentSequential
	case cont:
		mode = zkwire.Container
	case hasTTL:
		mode = zkwire.PersistentWithTTL
	}
	if hasTTL && (ttl <= 0 || ttl > maxTTL) {
		return failf("ttl must be positive and cannot be larger than: %d", maxTTL)
	}
	path := cl.args[1]
	var data []byte
	if len(cl.args) > 2 {
		data = []byte(cl.args[2])
	}
	acl := zkwire.OpenACL
	if len(cl.args) > 3 {
		acl = parseACL(cl.args[3], s.errOut)
	}
	created, _, err := s.client.Create(ctx, path, data, acl, mode, ttl)
	switch {
	case errors.Is(err, proto.ErrEphemeralOnLocal):
		fmt.Fprintln(s.errOut, "Unable to create ephemeral node on a local session")
	case errors.Is(err, proto.ErrInvalidACL):
		fmt.Fprintln(s.errOut, keeperMessage(proto.ErrInvalidACL, path))
	}
	if err != nil {
		return zkErr(err, path)
	}
	fmt.Fprintf(s.errOut, "Created %s\n", created)
	return nil
}

func runGet(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 2)
	if err != nil {
		return err
	}
	if cl, err = c.compat(s, raw, cl, "'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead."); err != nil {
		return err
	}
	path := cl.args[1]
	data, st, err := s.client.Get(ctx, path, cl.has("w"))
	if err != nil {
		return zkErr(err, path)
	}
	if data == nil {
		data = []byte("null")
	}
	text := strings.ToValidUTF8(string(data), string(utf8.RuneError))
	switch {
	case cl.has("x"):
		text = hexDump(data)
	case cl.has("b"):
		text = base64.StdEncoding.EncodeToString(data)
	}
	fmt.Fprintln(s.out, text)
	if cl.has("s") {
		printStat(s.out, st)
	}
	return nil
}

func runSet(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 3)
	if err != nil {
		return err
	}
	path, data := cl.args[1], []byte(cl.args[2])
	if cl.has("b") {
		if data, err = base64.StdEncoding.DecodeString(cl.args[2]); err != nil {
			return failf("java.lang.IllegalArgumentException: %v", err)
		}
	}
	version, err := cl.version()
	if err != nil {
		return err
	}
	st, err := s.client.Set(ctx, path, data, version)
	if err != nil {
		return zkErr(err, path)
	}
	if cl.has("s") {
		printStat(s.out, st)
	}
	return nil
}

func runStat(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 2)
	if err != nil {
		return err
	}
	if cl, err = c.compat(s, raw, cl, "'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead."); err != nil {
		return err
	}
	path := cl.args[1]
	st, err := s.client.Exists(ctx, path, cl.has("w"))
	if err != nil {
		return zkErr(err, path)
	}
	printStat(s.out, st)
	return nil
}

func runDelete(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 2)
	if err != nil {
		return err
	}
	if len(cl.args) > 2 {
		fmt.Fprintln(s.errOut, "'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.")
	}
	version, err := cl.version()
	if err != nil {
		return err
	}
	path := cl.args[1]
	if err := s.client.Delete(ctx, path, version); err != nil {
		return zkErr(err, path)
	}
	return nil
}

func runDeleteAll(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 2)
	if err != nil {
		return err
	}
	batch := int64(1000)
	if cl.has("b") {
		if batch, err = strconv.ParseInt(cl.opts["b"], 10, 32); err != nil {
			return failf("-b argument must be an int value")
		}
	}
	path := cl.args[1]
	if err := zkwire.ValidatePath(path); err != nil {
		return zkErr(err, path)
	}
	// Breadth first from path, then deleted from the end: leaves first.
	tree := []string{path}
	for i := 0; i < len(tree); i++ {
		kids, _, err := s.client.Children(ctx, tree[i], false)
		if err != nil {
			return zkErr(err, tree[i])
		}
		for _, k := range kids {
			tree = append(tree, childPath(tree[i], k))
		}
	}
	slices.Reverse(tree)
	if batch <= 0 {
		for _, p := range tree {
			if err := s.client.Delete(ctx, p, -1); err != nil {
				return zkErr(err, p)
			}
		}
		return nil
	}
	for len(tree) > 0 {
		n := min(int(batch), len(tree))
		if err := s.client.DeleteAll(ctx, tree[:n]); err != nil {
			fmt.Fprintln(s.errOut, "Failed to delete some node(s) in the subtree!")
			return nil
		}
		tree = tree[n:]
	}
	return nil
}

func runGetACL(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 2)
	if err != nil {
		return err
	}
	path := cl.args[1]
	acl, st, err := s.client.GetACL(ctx, path)
	if err != nil {
		return zkErr(err, path)
	}
	for _, a := range acl {
		printACL(s.out, a)
	}
	if cl.has("s") {
		printStat(s.out, st)
	}
	return nil
}

func runSetACL(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 3)
	if err != nil {
		return err
	}
	path := cl.args[1]
	acl := parseACL(cl.args[2], s.errOut)
	version, err := cl.version()
	if err != nil {
		return err
	}
	if cl.has("R") {
		// Each node's failure is printed, without a newline, as zkCli.sh
		// does, and the walk goes on.
		return visitTree(ctx, s.client, path, false, func(p string) error {
			if _, err := s.client.SetACL(ctx, p, acl, version); err != nil {
				var oe *zkwire.OpError
				if errors.As(err, &oe) {
					fmt.Fprint(s.out, keeperMessage(oe.Code, oe.Path))
				} else {
					fmt.Fprint(s.out, err)
				}
			}
			return nil
		})
	}
	st, err := s.client.SetACL(ctx, path, acl, version)
	if err != nil {
		return zkErr(err, path)
	}
	if cl.has("s") {
		printStat(s.out, st)
	}
	return nil
}

func runAddAuth(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 2)
	if err != nil {
		return err
	}
	var auth []byte
	if len(cl.args) >= 3 {
		auth = []byte(cl.args[2])
	}
	// As in zkCli.sh, a refused auth is not the command's error: the
	// session ends and the AuthFailed event says so.
	err = s.client.AddAuth(ctx, cl.args[1], auth)
	if err != nil && !errors.Is(err, proto.ErrAuthFailed) {
		return zkErr(err, "")
	}
	return nil
}

func runWhoAmI(s *Shell, ctx context.Context, c *command, raw []string) error {
	ids, err := s.client.WhoAmI(ctx)
	if err != nil {
		return zkErr(err, "")
	}
	fmt.Fprintln(s.out, "Auth scheme: User")
	for _, id := range ids {
		fmt.Fprintf(s.out, "%s: %s\n", id.Scheme, id.ID)
	}
	return nil
}

func runSync(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 2)
	if err != nil {
		return err
	}
	path := cl.args[1]
	err = s.client.Sync(ctx, path)
	var oe *zkwire.OpError
	switch {
	case err == nil:
		fmt.Fprintln(s.out, "Sync is OK")
	case errors.As(err, &oe):
		fmt.Fprintf(s.out, "Sync has failed. rc=%d\n", int32(oe.Code))
	default:
		return zkErr(err, path)
	}
	return nil
}

func runGetEphemerals(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parse(raw)
	if err != nil {
		return err
	}
	path := "/"
	if len(cl.args) >= 2 {
		path = cl.args[1]
	}
	eph, err := s.client.Ephemerals(ctx, path)
	if err != nil {
		return zkErr(err, path)
	}
	fmt.Fprintf(s.out, "[%s]\n", strings.Join(eph, ", "))
	return nil
}

func runGetAllChildrenNumber(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 2)
	if err != nil {
		return err
	}
	path := cl.args[1]
	n, err := s.client.AllChildrenNumber(ctx, path)
	if err != nil {
		return zkErr(err, path)
	}
	fmt.Fprintln(s.out, n)
	return nil
}

func runVersion(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parse(raw)
	if err != nil {
		return err
	}
	if len(cl.args) > 1 {
		return c.usageErr("version")
	}
	fmt.Fprintf(s.out, "ZooKeeper CLI version: %s\n", s.version)
	return nil
}

func runClose(s *Shell, ctx context.Context, c *command, raw []string) error {
	if err := s.client.Close(); err != nil {
		return failf("%v", err)
	}
	s.printer.wait()
	return nil
}

func runAddWatch(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parse(raw)
	if err != nil {
		return err
	}
	if len(cl.args) != 2 {
		return c.usageErr("addWatch")
	}
	mode := zkwire.AddWatchPersistentRecursive
	if cl.has("m") {
		switch strings.ToUpper(cl.opts["m"]) {
		case "PERSISTENT":
			mode = zkwire.AddWatchPersistent
		case "PERSISTENT_RECURSIVE":
		default:
			return c.usageErr("addWatch")
		}
	}
	path := cl.args[1]
	if err := s.client.AddWatch(ctx, path, mode); err != nil {
		return zkErr(err, path)
	}
	return nil
}

func runRemoveWatches(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parseN(raw, 2)
	if err != nil {
		return err
	}
	t := zkwire.WatchAny
	switch {
	case cl.has("c"):
		t = zkwire.WatchChildren
	case cl.has("d"):
		t = zkwire.WatchData
	}
	path := cl.args[1]
	if err := s.client.RemoveWatches(ctx, path, t, cl.has("l")); err != nil {
		return zkErr(err, path)
	}
	return nil
}

func runConfig(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parse(raw)
	if err != nil {
		return err
	}
	data, st, err := s.client.Config(ctx, cl.has("w"))
	if err != nil {
		return zkErr(err, zkwire.ConfigNode)
	}
	if data == nil {
		data = []byte("null")
	}
	text := string(data)
	if cl.has("c") {
		text = clientConfig(text)
	}
	fmt.Fprintln(s.out, text)
	if cl.has("s") {
		printStat(s.out, st)
	}
	return nil
}

// clientConfig is "<version> <host:port,...>" for a dynamic config: the
// client address of every server line, as config -c prints it.
func clientConfig(cfg string) string {
	version := ""
	var addrs []string
	for _, line := range strings.Split(cfg, "\n") {
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if key == "version" {
			version = value
		}
		if !strings.HasPrefix(key, "server.") {
			continue
		}
		_, client, ok := strings.Cut(value, ";")
		if !ok {
			addrs = append(addrs, "")
			continue
		}
		if !strings.Contains(client, ":") {
			client = "0.0.0.0:" + client
		}
		addrs = append(addrs, client)
	}
	return version + " " + strings.Join(addrs, ",")
}

func runReconfig(s *Shell, ctx context.Context, c *command, raw []string) error {
	cl, err := c.parse(raw)
	if err != nil {
		return err
	}
	nonIncremental := cl.has("file") || cl.has("members")
	incremental := cl.has("add") || cl.has("remove")
	if !nonIncremental && !incremental {
		return c.usageErr("reconfig")
	}
	version := int64(-1)
	if cl.has("v") {
		if version, err = strconv.ParseInt(cl.opts["v"], 16, 64); err != nil {
			return failf("-v must be followed by a long (configuration version)")
		}
	}
	if nonIncremental && incremental {
		return failf("Can't use -file or -members together with -add or -remove (mixing incremental and non-incremental modes is not allowed)")
	}
	if cl.has("file") && cl.has("members") {
		return failf("Can't use -file and -members together (conflicting non-incremental modes)")
	}
	if cl.has("file") {
		return failf("reconfig -file is not supported by zkcli; give the servers with -members")
	}
	data, st, err := s.client.Reconfig(ctx, strings.ToLower(cl.opts["add"]), strings.ToLower(cl.opts["remove"]),
		strings.ToLower(cl.opts["members"]), version)
	if err != nil {
		return zkErr(err, "")
	}
	fmt.Fprintf(s.out, "Committed new configuration:\n%s\n", data)
	if cl.has("s") {
		printStat(s.out, st)
	}
	return nil
}
