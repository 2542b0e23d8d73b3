package config

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// kind is the type QuorumPeerConfig parses a known key as.
type kind int

const (
	kindString kind = iota
	kindInt
	kindLong
	kindBool
)

// otherKeys are the keys QuorumPeerConfig parses itself but zookit does not
// act on. They are type-checked like ZooKeeper does so that the same files
// are rejected, and kept in Config.Other.
var otherKeys = map[string]kind{
	"localSessionsEnabled":                    kindBool,
	"localSessionsUpgradingEnabled":           kindBool,
	"secureClientPort":                        kindInt,
	"secureClientPortAddress":                 kindString,
	"observerMasterPort":                      kindInt,
	"clientPortListenBacklog":                 kindInt,
	"connectToLearnerMasterLimit":             kindInt,
	"quorumListenOnAllIPs":                    kindBool,
	"syncEnabled":                             kindBool,
	"sslQuorum":                               kindBool,
	"portUnification":                         kindBool,
	"sslQuorumReloadCertFiles":                kindBool,
	"quorum.auth.enableSasl":                  kindBool,
	"quorum.auth.serverRequireSasl":           kindBool,
	"quorum.auth.learnerRequireSasl":          kindBool,
	"quorum.auth.learner.saslLoginContext":    kindString,
	"quorum.auth.server.saslLoginContext":     kindString,
	"quorum.auth.kerberos.servicePrincipal":   kindString,
	"quorum.cnxn.threads.size":                kindInt,
	"jvm.pause.info-threshold.ms":             kindLong,
	"jvm.pause.warn-threshold.ms":             kindLong,
	"jvm.pause.sleep.time.ms":                 kindLong,
	"jvm.pause.monitor":                       kindBool,
	"metricsProvider.className":               kindString,
	"multiAddress.enabled":                    kindBool,
	"multiAddress.reachabilityCheckTimeoutMs": kindInt,
	"multiAddress.reachabilityCheckEnabled":   kindBool,
	"oraclePath":                              kindString,
}

// fieldKeys are the known keys that map to Config fields.
var fieldKeys = []string{
	"dataDir", "dataLogDir", "clientPort", "clientPortAddress", "tickTime",
	"maxClientCnxns", "minSessionTimeout", "maxSessionTimeout", "initLimit",
	"syncLimit", "electionAlg", "peerType", "dynamicConfigFile",
	"autopurge.snapRetainCount", "autopurge.purgeInterval", "standaloneEnabled",
	"reconfigEnabled",
}

func otherKind(key string) (kind, bool) {
	if k, ok := otherKeys[key]; ok {
		return k, true
	}
	return kindString, strings.HasPrefix(key, "metricsProvider.")
}

// isQuorumKey reports the keys that describe the ensemble; ZooKeeper tests
// "group" and "weight" as bare prefixes.
func isQuorumKey(key string) bool {
	return strings.HasPrefix(key, "server.") || strings.HasPrefix(key, "group") || strings.HasPrefix(key, "weight")
}

func isServerKey(key string) bool { return strings.HasPrefix(key, "server.") }

// becomesProperty reports whether a zoo.cfg key k turns into the system
// property zookeeper.k.
func becomesProperty(key string) bool {
	_, other := otherKind(key)
	return key != "" && !other && !isQuorumKey(key) && !slices.Contains(fieldKeys, key)
}

// location says where a setting came from, for error messages.
type location struct {
	file string
	line int
	key  string
}

// parser carries what error messages need while a Config is built.
type parser struct {
	c         *Config
	name      string
	keyAt     map[string]location // where each key was given
	propAt    map[string]location // where each system property came from
	serverAt  map[uint64]location // where each server id was given
	fileProps map[string]string   // properties the file sets
	fileAt    map[string]location // and where
	min, max  int                 // session timeouts in ms as written, -1 when absent
	clientSet bool
}

func newParser(name string) *parser {
	return &parser{
		c: newConfig(), name: name,
		keyAt: map[string]location{}, propAt: map[string]location{}, serverAt: map[uint64]location{},
		fileProps: map[string]string{}, fileAt: map[string]location{},
		min: -1, max: -1,
	}
}

func (l location) err(err error) *Error {
	return &Error{File: l.file, Line: l.line, Key: l.key, Err: err}
}

// lineErr reports a problem on the line of key with a message that names the
// key itself.
func (p *parser) lineErr(key, msg string) *Error {
	l, ok := p.keyAt[key]
	if !ok {
		l = location{file: p.name}
	}
	l.key = ""
	return l.err(errors.New(msg))
}

// errf reports a problem with a key of the file.
func (p *parser) errf(key, format string, args ...any) *Error {
	l, ok := p.keyAt[key]
	if !ok {
		l = location{file: p.name, key: key}
	}
	return l.err(fmt.Errorf(format, args...))
}

// propErrf reports a problem with a system property, at the file line or the
// -D flag it came from.
func (p *parser) propErrf(name, format string, args ...any) *Error {
	l, ok := p.propAt[name]
	if !ok {
		l = location{file: p.name, key: name}
	}
	return l.err(fmt.Errorf(format, args...))
}

// Parse reads a zoo.cfg from r; name is used in error messages. It neither
// reads the myid file nor the environment, so Servers come out as written,
// MyID is 0 and only the file's properties are in Props.
func Parse(r io.Reader, name string) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	p := newParser(name)
	if err := p.file(string(data)); err != nil {
		return nil, err
	}
	p.props(nil)
	if err := p.finish(); err != nil {
		return nil, err
	}
	if p.c.DynamicConfigFile == "" {
		if err := p.quorum(); err != nil {
			return nil, err
		}
	}
	return p.c, nil
}

// Load reads the zoo.cfg at path as zkServer.sh would start ZooKeeper with
// it: the -D flags of env("SERVER_JVMFLAGS") and then env("JVMFLAGS") become
// system properties (a later flag wins), the file's own zookeeper.<key>
// settings override them, servers come from dynamicConfigFile when it is
// set, and DataDir/myid identifies this server. A nil env stands for an
// empty environment. An empty path loads the embedded default, so the -D
// flags apply to it as well.
func Load(path string, env func(string) string) (*Config, error) {
	text, name := Default().String(), "default"
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		text, name = string(data), path
	}
	p := newParser(name)
	p.c.Path = path
	if err := p.file(text); err != nil {
		return nil, err
	}
	p.props(env)
	if err := p.finish(); err != nil {
		return nil, err
	}
	if p.c.DynamicConfigFile != "" {
		if err := p.dynamic(p.c.DynamicConfigFile); err != nil {
			return nil, err
		}
	}
	if err := p.quorum(); err != nil {
		return nil, err
	}
	if err := p.myid(); err != nil {
		return nil, err
	}
	return p.c, nil
}

// props merges the system properties: the -D flags of the environment, in
// the order zkServer.sh puts them on the java command line, then the file's,
// which win because QuorumPeerConfig sets them after the JVM started.
func (p *parser) props(env func(string) string) {
	if env != nil {
		for _, v := range []string{"SERVER_JVMFLAGS", "JVMFLAGS"} {
			for k, val := range ParseJVMFlags(env(v)) {
				p.c.Props[k] = val
				p.propAt[k] = location{file: v, key: "-D" + k}
			}
		}
	}
	maps.Copy(p.c.Props, p.fileProps)
	maps.Copy(p.propAt, p.fileAt)
}

// file applies the entries of a zoo.cfg, as the loop of
// QuorumPeerConfig.parseProperties does.
func (p *parser) file(text string) error {
	entries, err := readProperties(text)
	if err != nil {
		return &Error{File: p.name, Err: err}
	}
	entries = lastWins(entries, isServerKey)
	dynamic := slices.ContainsFunc(entries, func(e entry) bool { return e.key == "dynamicConfigFile" })
	for _, e := range entries {
		p.keyAt[e.key] = location{file: p.name, line: e.line, key: e.key}
		if err := p.apply(e, dynamic); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) apply(e entry, dynamic bool) error {
	c, k, v := p.c, e.key, e.value
	var err error
	switch k {
	case "dataDir":
		c.DataDir = v
	case "dataLogDir":
		c.DataLogDir = v
	case "clientPort":
		c.ClientPort, err = p.port(k, v)
	case "clientPortAddress":
		c.ClientPortAddress = v
		p.clientSet = true
	case "tickTime":
		var n int
		if n, err = p.nonNegative(k, v); err == nil {
			c.TickTime = time.Duration(n) * time.Millisecond
		}
	case "maxClientCnxns":
		c.MaxClientCnxns, err = p.nonNegative(k, v)
	case "minSessionTimeout":
		p.min, err = p.timeout(k, v)
	case "maxSessionTimeout":
		p.max, err = p.timeout(k, v)
	case "initLimit":
		c.InitLimit, err = p.nonNegative(k, v)
	case "syncLimit":
		c.SyncLimit, err = p.nonNegative(k, v)
	case "electionAlg":
		var n int
		if n, err = p.int(k, v); err == nil && n != 3 {
			err = p.errf(k, "%d is not supported, only 3 is", n)
		}
	case "peerType":
		switch strings.ToLower(v) {
		case participant, observer:
			c.PeerType = strings.ToLower(v)
		default:
			err = p.errf(k, "unrecognised peer type %q, want participant or observer", v)
		}
	case "dynamicConfigFile":
		c.DynamicConfigFile = v
	case "autopurge.snapRetainCount":
		c.SnapRetainCount, err = p.int(k, v)
		c.SnapRetainCount = max(c.SnapRetainCount, minSnapRetainCount)
	case "autopurge.purgeInterval":
		// Hours, as 3.8 reads it; zero or less turns purging off.
		var n int
		if n, err = p.int(k, v); err == nil {
			c.PurgeInterval = time.Duration(max(n, 0)) * time.Hour
		}
	case "standaloneEnabled":
		c.StandaloneEnabled, err = p.bool(k, v)
	case "reconfigEnabled":
		c.ReconfigEnabled, err = p.bool(k, v)
	default:
		return p.applyOther(e, dynamic)
	}
	return err
}

func (p *parser) applyOther(e entry, dynamic bool) error {
	k, v := e.key, e.value
	if isQuorumKey(k) {
		if dynamic {
			return p.errf(k, "must be in a separate dynamic config file, because dynamicConfigFile is set")
		}
		return p.member(e, p.keyAt[k])
	}
	if kd, ok := otherKind(k); ok {
		var err error
		switch kd {
		case kindInt:
			_, err = p.int(k, v)
		case kindLong:
			_, err = p.long(k, v)
		case kindBool:
			_, err = p.bool(k, v)
		}
		p.c.Other[k] = v
		return err
	}
	name := zookeeperPrefix + k
	p.fileProps[name] = v
	p.fileAt[name] = p.keyAt[k]
	return nil
}

// member adds a server.N line; group and weight lines (hierarchical quorums)
// are refused.
func (p *parser) member(e entry, at location) error {
	idText, ok := strings.CutPrefix(e.key, "server.")
	if !ok {
		return at.err(errors.New("hierarchical quorums (group and weight) are not supported by zookit"))
	}
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil {
		return at.err(fmt.Errorf("%q is not a server id", idText))
	}
	s, err := parseServer(id, e.value)
	if err != nil {
		return at.err(err)
	}
	if prev, dup := p.serverAt[id]; dup {
		return at.err(fmt.Errorf("duplicate server id %d, also given by %s on line %d", id, prev.key, prev.line))
	}
	p.serverAt[id] = at
	i, _ := slices.BinarySearchFunc(p.c.Servers, id, func(s Server, id uint64) int { return cmp.Compare(s.ID, id) })
	p.c.Servers = slices.Insert(p.c.Servers, i, s)
	return nil
}

func (p *parser) int(key, v string) (int, error) {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, p.errf(key, "%q is not an integer", v)
	}
	return int(n), nil
}

func (p *parser) long(key, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, p.errf(key, "%q is not an integer", v)
	}
	return n, nil
}

func (p *parser) nonNegative(key, v string) (int, error) {
	n, err := p.int(key, v)
	if err == nil && n < 0 {
		err = p.errf(key, "%d must not be negative", n)
	}
	return n, err
}

// timeout reads a session timeout; -1 is ZooKeeper's "use the default".
func (p *parser) timeout(key, v string) (int, error) {
	n, err := p.int(key, v)
	if err == nil && n < -1 {
		err = p.errf(key, "%d must not be negative", n)
	}
	return n, err
}

func (p *parser) port(key, v string) (int, error) {
	n, err := p.int(key, v)
	if err == nil && (n < 0 || n > 65535) {
		err = p.errf(key, "port %d is out of range 0-65535", n)
	}
	return n, err
}

// bool accepts what QuorumPeerConfig.parseBoolean accepts.
func (p *parser) bool(key, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, p.errf(key, "%q is not a boolean, choose true or false", v)
}

// finish derives the settings ZooKeeper reads from system properties and
// checks what does not depend on the server list.
func (p *parser) finish() error {
	c := p.c
	if err := p.derive(); err != nil {
		return err
	}
	if p.otherBool("quorum.auth.serverRequireSasl") && !p.otherBool("quorum.auth.enableSasl") {
		return p.errf("quorum.auth.serverRequireSasl", "needs quorum.auth.enableSasl=true")
	}
	if p.otherBool("quorum.auth.learnerRequireSasl") && !p.otherBool("quorum.auth.enableSasl") {
		return p.errf("quorum.auth.learnerRequireSasl", "needs quorum.auth.enableSasl=true")
	}
	if p.otherBool("quorum.auth.serverRequireSasl") && !p.otherBool("quorum.auth.learnerRequireSasl") {
		return p.errf("quorum.auth.serverRequireSasl", "needs quorum.auth.learnerRequireSasl=true")
	}
	if c.DataDir == "" {
		return &Error{File: p.name, Err: errors.New("dataDir is not set")}
	}
	if c.DataLogDir == "" {
		c.DataLogDir = c.DataDir
	}
	// 3.8 treats clientPort=0 as not set.
	if c.ClientPort == 0 && p.clientSet {
		return p.lineErr("clientPortAddress", "clientPortAddress is set but clientPort is not set")
	}
	if v, ok := c.Other["secureClientPort"]; ok {
		if _, err := p.port("secureClientPort", v); err != nil {
			return err
		}
	}
	if _, ok := c.Other["secureClientPortAddress"]; ok {
		if _, set := c.SecureClientAddr(); !set {
			return p.lineErr("secureClientPortAddress", "secureClientPortAddress is set but secureClientPort is not set")
		}
	}
	if c.TickTime == 0 {
		return p.lineErr("tickTime", "tickTime is not set")
	}
	tick := int(c.TickTime / time.Millisecond)
	if p.min == -1 {
		p.min = 2 * tick
	}
	if p.max == -1 {
		p.max = 20 * tick
	}
	if p.min > p.max {
		key := "minSessionTimeout"
		if _, ok := p.keyAt[key]; !ok {
			key = "maxSessionTimeout"
		}
		return p.lineErr(key, fmt.Sprintf("minSessionTimeout %d must not be larger than maxSessionTimeout %d", p.min, p.max))
	}
	c.MinSessionTimeout = time.Duration(p.min) * time.Millisecond
	c.MaxSessionTimeout = time.Duration(p.max) * time.Millisecond
	return nil
}

func (p *parser) otherBool(key string) bool { return strings.EqualFold(p.c.Other[key], "true") }

// derive computes the fields ZooKeeper reads from system properties.
func (p *parser) derive() error {
	c := p.c
	c.FourLetterWords = c.defaultWhitelist()
	if list, ok := c.Props[whitelistProp]; ok {
		for _, w := range strings.Split(list, ",") {
			switch w = javaTrim(w); w {
			case "":
			case "*":
				for _, known := range fourLetterWords {
					c.FourLetterWords[known] = true
				}
			default:
				c.FourLetterWords[w] = true
			}
		}
	}
	var err error
	if c.SnapCount, err = p.intProp(snapCountProp, DefaultSnapCount); err != nil {
		return err
	}
	c.SnapCount = max(c.SnapCount, minSnapCount)
	if v, ok := c.Props[extendedTypesProp]; ok {
		switch strings.ToLower(v) {
		case "true":
			c.ExtendedTypesEnabled = true
		case "false":
		default:
			return p.propErrf(extendedTypesProp, "%q is not a boolean, choose true or false", v)
		}
	}
	c.SuperDigest = c.Props[superDigestProp]
	if c.JuteMaxBuffer, err = p.intProp(juteMaxBufferProp, DefaultJuteMaxBuffer); err != nil {
		return err
	}
	if c.JuteMaxBuffer <= 0 {
		return p.propErrf(juteMaxBufferProp, "%d must be positive", c.JuteMaxBuffer)
	}
	interval, err := p.containerInt(containerCheckIntervalProp, int(DefaultContainerCheckInterval/time.Millisecond))
	if err != nil {
		return err
	}
	c.ContainerCheckInterval = time.Duration(interval) * time.Millisecond
	if c.ContainerMaxPerMinute, err = p.containerInt(containerMaxPerMinuteProp, DefaultContainerMaxPerMinute); err != nil {
		return err
	}
	neverUsed, err := p.containerInt(containerMaxNeverUsedProp, 0)
	if err != nil {
		return err
	}
	c.ContainerMaxNeverUsedInterval = time.Duration(neverUsed) * time.Millisecond
	return nil
}

func (p *parser) intProp(name string, def int) (int, error) {
	v, ok := p.c.Props[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, p.propErrf(name, "%q is not an integer", v)
	}
	return int(n), nil
}

// containerInt reads a znode.container.* setting, which ContainerManager
// needs positive (maxPerMinute divides a minute) and never negative.
func (p *parser) containerInt(name string, def int) (int, error) {
	key := p.c.containerProp(name)
	n, err := p.intProp(key, def)
	if err == nil && (n < 0 || n == 0 && name != containerMaxNeverUsedProp) {
		err = p.propErrf(key, "%d must be positive", n)
	}
	return n, err
}

// quorum checks the server list as QuorumPeerConfig.parseDynamicConfig and
// checkValidity do.
func (p *parser) quorum() error {
	c := p.c
	participants, observers := c.roles()
	firstObserver := func() location {
		for _, s := range c.Servers {
			if s.Observer {
				return p.serverAt[s.ID]
			}
		}
		return location{file: p.name}
	}
	switch {
	case participants == 0 && !c.StandaloneEnabled:
		return p.lineErr("standaloneEnabled", "standaloneEnabled=false needs at least one participant server.N line")
	case participants == 0 && observers > 0:
		return firstObserver().err(errors.New("observers without participants is an invalid configuration"))
	case participants == 1 && c.StandaloneEnabled && observers > 0:
		return firstObserver().err(errors.New("observers with a single participant and standaloneEnabled=true is an invalid configuration"))
	}
	if c.Standalone() {
		return nil
	}
	if c.InitLimit == 0 {
		return &Error{File: p.name, Err: errors.New("initLimit is not set (quorum mode needs it)")}
	}
	if c.SyncLimit == 0 {
		return &Error{File: p.name, Err: errors.New("syncLimit is not set (quorum mode needs it)")}
	}
	return nil
}

// dynamic reads the server list from a dynamic config file, which may hold
// only server lines.
func (p *parser) dynamic(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return p.errf("dynamicConfigFile", "%w", err)
	}
	entries, err := readProperties(string(data))
	if err != nil {
		return &Error{File: path, Err: err}
	}
	entries = lastWins(entries, isServerKey)
	for _, e := range entries {
		at := location{file: path, line: e.line, key: e.key}
		switch {
		case e.key == "version":
			return at.err(errors.New("a dynamic config file must not contain version"))
		case isQuorumKey(e.key):
			if err := p.member(e, at); err != nil {
				return err
			}
		default:
			return at.err(errors.New("unrecognised parameter in a dynamic config file"))
		}
	}
	return nil
}

// myid reads DataDir/myid, required in quorum mode and read whenever there
// are server lines so that a one-server ensemble learns its client port, and
// then reconciles the client address and peer type with this server's line.
func (p *parser) myid() error {
	c := p.c
	if len(c.Servers) == 0 {
		return nil
	}
	path := filepath.Join(c.DataDir, "myid")
	f, err := os.Open(path)
	if err != nil {
		switch {
		case !errors.Is(err, fs.ErrNotExist):
			return &Error{File: p.name, Err: fmt.Errorf("read myid: %w", err)}
		case c.Standalone():
			return nil
		}
		return &Error{File: p.name, Err: fmt.Errorf("myid file is missing: %w", err)}
	}
	defer f.Close()
	first, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return &Error{File: path, Err: fmt.Errorf("read myid: %w", err)}
	}
	first = strings.TrimSpace(first)
	id, err := strconv.ParseUint(first, 10, 64)
	if err != nil {
		return &Error{File: path, Line: 1, Key: "myid", Err: fmt.Errorf("%q is not a number", first)}
	}
	limit := uint64(maxServerID)
	if c.ExtendedTypesEnabled {
		limit = maxServerIDWithExtendedTypes
	}
	if id < 1 || id > limit {
		why := ""
		if c.ExtendedTypesEnabled {
			why = " (extendedTypesEnabled keeps 255 for TTL nodes)"
		}
		return &Error{File: path, Line: 1, Key: "myid", Err: fmt.Errorf("server id %d is out of range 1-%d%s", id, limit, why)}
	}
	c.MyID = id
	self, ok := c.Self()
	if !ok {
		if c.Standalone() {
			return nil
		}
		ids := make([]string, len(c.Servers))
		for i, s := range c.Servers {
			ids[i] = strconv.FormatUint(s.ID, 10)
		}
		return &Error{File: p.name, Key: "myid", Err: fmt.Errorf("server id %d from %s is not in the server list (%s)", id, path, strings.Join(ids, ", "))}
	}
	if err := p.reconcileClient(self); err != nil {
		return err
	}
	// The server list wins over peerType, as in setupPeerType.
	c.PeerType = participant
	if self.Observer {
		c.PeerType = observer
	}
	return nil
}

// reconcileClient follows setupClientPort: the client address of this
// server's line must agree with clientPort/clientPortAddress and replaces
// them; a line without one gets the static address.
func (p *parser) reconcileClient(self Server) error {
	c := p.c
	i := slices.IndexFunc(c.Servers, func(s Server) bool { return s.ID == self.ID })
	if self.ClientPort == 0 {
		if c.ClientPort != 0 {
			c.Servers[i].ClientHost = cmp.Or(c.ClientPortAddress, "0.0.0.0")
			c.Servers[i].ClientPort = c.ClientPort
		}
		return nil
	}
	if c.ClientPort != 0 {
		anyLocal := c.ClientPortAddress == "" || c.ClientPortAddress == "0.0.0.0" || c.ClientPortAddress == "::"
		if c.ClientPort != self.ClientPort || !anyLocal && c.ClientPortAddress != self.ClientHost {
			return p.errf("clientPort", "client address %s differs from %s on the server.%d line",
				c.ClientAddr(), self.ClientHost+":"+strconv.Itoa(self.ClientPort), self.ID)
		}
	}
	c.ClientPort = self.ClientPort
	if self.ClientHost != "0.0.0.0" {
		c.ClientPortAddress = self.ClientHost
	}
	return nil
}
