package config

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults that ZooKeeper 3.8 hard-codes.
const (
	DefaultTickTime                = 3000 * time.Millisecond
	DefaultMaxClientCnxns          = 60
	DefaultSnapCount               = 100000
	DefaultJuteMaxBuffer           = 0xfffff
	DefaultContainerCheckInterval  = time.Minute
	DefaultContainerMaxPerMinute   = 10000
	minSnapRetainCount             = 3
	minSnapCount                   = 2
	maxServerID                    = 255
	maxServerIDWithExtendedTypes   = 254
	participant, observer          = "participant", "observer"
	whitelistProp                  = "zookeeper.4lw.commands.whitelist"
	snapCountProp                  = "zookeeper.snapCount"
	extendedTypesProp              = "zookeeper.extendedTypesEnabled"
	superDigestProp                = "zookeeper.DigestAuthenticationProvider.superDigest"
	juteMaxBufferProp              = "jute.maxbuffer"
	readOnlyProp                   = "readonlymode.enabled"
	containerCheckIntervalProp     = "znode.container.checkIntervalMs"
	containerMaxPerMinuteProp      = "znode.container.maxPerMinute"
	containerMaxNeverUsedProp      = "znode.container.maxNeverUsedIntervalMs"
	zookeeperPrefix                = "zookeeper."
	defaultStandaloneClientAddress = "127.0.0.1"
)

// fourLetterWords are the commands FourLetterCommands knows; "*" in the
// whitelist enables all of them.
var fourLetterWords = []string{
	"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr",
	"ruok", "srst", "srvr", "stat", "stmk", "telnet close", "wchc", "wchp", "wchs",
}

// Config is a parsed zoo.cfg with the system properties merged in.
type Config struct {
	Path string // file it came from ("" for Default)

	TickTime                             time.Duration // default 3000ms like ZooKeeper's code
	DataDir, DataLogDir                  string        // DataLogDir defaults to DataDir
	ClientPort                           int
	ClientPortAddress                    string // "" = all interfaces
	MaxClientCnxns                       int    // default 60, 0 = unlimited
	MinSessionTimeout, MaxSessionTimeout time.Duration
	InitLimit, SyncLimit                 int // in ticks
	SnapCount                            int // zookeeper.snapCount, default 100000, at least 2
	SnapRetainCount                      int // autopurge.snapRetainCount, default 3, values < 3 become 3
	PurgeInterval                        time.Duration
	FourLetterWords                      map[string]bool // enabled 4lw commands; see Allowed
	StandaloneEnabled                    bool
	ReconfigEnabled                      bool
	PeerType                             string   // "participant" or "observer"; the server list wins in Load
	DynamicConfigFile                    string   // servers come from this file instead (read by Load)
	Servers                              []Server // sorted by ID
	MyID                                 uint64   // from DataDir/myid, 0 when not read

	ExtendedTypesEnabled          bool          // zookeeper.extendedTypesEnabled (TTL nodes)
	SuperDigest                   string        // zookeeper.DigestAuthenticationProvider.superDigest
	JuteMaxBuffer                 int           // JVM property jute.maxbuffer
	ContainerCheckInterval        time.Duration // znode.container.checkIntervalMs
	ContainerMaxPerMinute         int           // znode.container.maxPerMinute
	ContainerMaxNeverUsedInterval time.Duration // znode.container.maxNeverUsedIntervalMs, 0 = never

	// Other holds the keys QuorumPeerConfig knows that have no field here
	// (secureClientPort, sslQuorum, syncEnabled, metricsProvider.*, …),
	// checked for type and kept as written.
	Other map[string]string
	// Props holds every system property: zookeeper.<key> for each key of the
	// file that QuorumPeerConfig does not know, and the -D flags.
	Props map[string]string
}

// Error is a configuration problem, located as precisely as possible.
type Error struct {
	File string // config file, myid file, or the environment variable of a -D flag
	Line int    // 0 when the problem is not on one line
	Key  string // key or property concerned, "" when several are
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// newConfig returns the values QuorumPeerConfig starts from.
func newConfig() *Config {
	return &Config{
		TickTime:               DefaultTickTime,
		MaxClientCnxns:         DefaultMaxClientCnxns,
		SnapCount:              DefaultSnapCount,
		SnapRetainCount:        minSnapRetainCount,
		FourLetterWords:        map[string]bool{"srvr": true},
		StandaloneEnabled:      true,
		PeerType:               participant,
		JuteMaxBuffer:          DefaultJuteMaxBuffer,
		ContainerCheckInterval: DefaultContainerCheckInterval,
		ContainerMaxPerMinute:  DefaultContainerMaxPerMinute,
		Other:                  map[string]string{},
		Props:                  map[string]string{},
	}
}

// Default is the configuration zookit runs with when given none: a
// standalone server on 127.0.0.1:2181 with its data in the temp directory.
func Default() *Config {
	c := newConfig()
	c.TickTime = 2000 * time.Millisecond
	c.DataDir = filepath.Join(os.TempDir(), "zookit")
	c.DataLogDir = c.DataDir
	c.ClientPort = 2181
	c.ClientPortAddress = defaultStandaloneClientAddress
	c.MinSessionTimeout = 2 * c.TickTime
	c.MaxSessionTimeout = 20 * c.TickTime
	return c
}

// Standalone applies ZooKeeper's rule: a server runs standalone when there
// are no server lines, or exactly one participant and standaloneEnabled.
func (c *Config) Standalone() bool {
	if len(c.Servers) == 0 {
		return true
	}
	participants, _ := c.roles()
	return participants == 1 && c.StandaloneEnabled
}

func (c *Config) roles() (participants, observers int) {
	for _, s := range c.Servers {
		if s.Observer {
			observers++
		} else {
			participants++
		}
	}
	return participants, observers
}

// Allowed reports whether the four-letter word cmd may run: it is in the
// whitelist, or it is srvr (zkServer.sh status needs it), or it is isro and
// readonlymode.enabled is set.
func (c *Config) Allowed(cmd string) bool {
	switch {
	case cmd == "srvr":
		return true
	case cmd == "isro" && c.ReadOnlyMode():
		return true
	}
	return c.FourLetterWords[cmd]
}

// ReadOnlyMode reports whether the system property readonlymode.enabled
// asks for read-only mode. It compares with "true" exactly, as
// FourLetterCommands does for isro, so that a server in read-only mode
// always answers isro (QuorumPeer would also take "TRUE").
func (c *Config) ReadOnlyMode() bool { return c.Props[readOnlyProp] == "true" }

// ClientAddr is the host:port to listen on for clients.
func (c *Config) ClientAddr() string {
	return net.JoinHostPort(c.ClientPortAddress, strconv.Itoa(c.ClientPort))
}

// SecureClientAddr is the host:port to listen on for TLS clients, from
// secureClientPort and secureClientPortAddress ("" = all interfaces); ok
// is false when secureClientPort is not set or 0, which ZooKeeper reads as
// not set.
func (c *Config) SecureClientAddr() (addr string, ok bool) {
	port := c.Other["secureClientPort"]
	if port == "" || port == "0" {
		return "", false
	}
	return net.JoinHostPort(c.Other["secureClientPortAddress"], port), true
}

// Self is this server's line in quorum mode.
func (c *Config) Self() (Server, bool) {
	if c.MyID == 0 {
		return Server{}, false
	}
	i, ok := slices.BinarySearchFunc(c.Servers, c.MyID, func(s Server, id uint64) int { return cmp.Compare(s.ID, id) })
	if !ok {
		return Server{}, false
	}
	return c.Servers[i], true
}

// Property returns a system property.
func (c *Config) Property(key string) (string, bool) {
	v, ok := c.Props[key]
	return v, ok
}

// String renders the configuration as a zoo.cfg that Parse reads back to the
// same values. System properties that a zoo.cfg cannot set (they lack the
// zookeeper. prefix) are shown as comments in -D form.
func (c *Config) String() string {
	var b strings.Builder
	put := func(k, v string) { fmt.Fprintf(&b, "%s=%s\n", escapeKey(k), escapeValue(v)) }
	putInt := func(k string, n int) { put(k, strconv.Itoa(n)) }
	ms := func(d time.Duration) int { return int(d / time.Millisecond) }

	putInt("tickTime", ms(c.TickTime))
	put("dataDir", c.DataDir)
	if c.DataLogDir != "" && c.DataLogDir != c.DataDir {
		put("dataLogDir", c.DataLogDir)
	}
	if c.ClientPort != 0 {
		putInt("clientPort", c.ClientPort)
	}
	if c.ClientPortAddress != "" {
		put("clientPortAddress", c.ClientPortAddress)
	}
	putInt("maxClientCnxns", c.MaxClientCnxns)
	putInt("minSessionTimeout", ms(c.MinSessionTimeout))
	putInt("maxSessionTimeout", ms(c.MaxSessionTimeout))
	if c.InitLimit != 0 {
		putInt("initLimit", c.InitLimit)
	}
	if c.SyncLimit != 0 {
		putInt("syncLimit", c.SyncLimit)
	}
	putInt("autopurge.snapRetainCount", c.SnapRetainCount)
	putInt("autopurge.purgeInterval", int(c.PurgeInterval/time.Hour))
	put("standaloneEnabled", strconv.FormatBool(c.StandaloneEnabled))
	put("reconfigEnabled", strconv.FormatBool(c.ReconfigEnabled))
	if c.PeerType != "" {
		put("peerType", c.PeerType)
	}
	if c.DynamicConfigFile != "" {
		put("dynamicConfigFile", c.DynamicConfigFile)
	}
	for _, k := range sortedKeys(c.Other) {
		put(k, c.Other[k])
	}

	// Properties ZooKeeper reads into settings are written from the fields,
	// so that a Config edited in Go renders what it says.
	fileProps := c.derivedProps()
	var flags []string
	if c.JuteMaxBuffer != DefaultJuteMaxBuffer {
		flags = append(flags, "-D"+juteMaxBufferProp+"="+strconv.Itoa(c.JuteMaxBuffer))
	}
	for k, v := range c.Props {
		if derivedPropNames[k] {
			continue
		}
		// A property is written as a zoo.cfg key only if the key would turn
		// back into that property.
		if name, ok := strings.CutPrefix(k, zookeeperPrefix); ok && becomesProperty(name) {
			fileProps[name] = v
		} else {
			flags = append(flags, "-D"+k+"="+escapeValue(v))
		}
	}
	for _, k := range sortedKeys(fileProps) {
		put(k, fileProps[k])
	}
	for _, s := range c.Servers {
		put("server."+strconv.FormatUint(s.ID, 10), s.String())
	}
	slices.Sort(flags)
	for _, f := range flags {
		fmt.Fprintf(&b, "# %s\n", f)
	}
	return b.String()
}

// derivedProps are the system properties that settle a Config field.
var derivedPropNames = map[string]bool{
	whitelistProp:                                true,
	snapCountProp:                                true,
	extendedTypesProp:                            true,
	superDigestProp:                              true,
	juteMaxBufferProp:                            true,
	containerCheckIntervalProp:                   true,
	containerMaxPerMinuteProp:                    true,
	containerMaxNeverUsedProp:                    true,
	zookeeperPrefix + containerCheckIntervalProp: true,
	zookeeperPrefix + containerMaxPerMinuteProp:  true,
	zookeeperPrefix + containerMaxNeverUsedProp:  true,
}

// derivedProps renders the fields that come from system properties as zoo.cfg
// keys, leaving out the ones that are at their default and were not given.
func (c *Config) derivedProps() map[string]string {
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	out := map[string]string{}
	if _, ok := c.Props[whitelistProp]; ok || !maps.Equal(c.FourLetterWords, c.defaultWhitelist()) {
		out[strings.TrimPrefix(whitelistProp, zookeeperPrefix)] = c.whitelistString()
	}
	if _, ok := c.Props[snapCountProp]; ok || c.SnapCount != DefaultSnapCount {
		out[strings.TrimPrefix(snapCountProp, zookeeperPrefix)] = strconv.Itoa(c.SnapCount)
	}
	if _, ok := c.Props[extendedTypesProp]; ok || c.ExtendedTypesEnabled {
		out[strings.TrimPrefix(extendedTypesProp, zookeeperPrefix)] = strconv.FormatBool(c.ExtendedTypesEnabled)
	}
	if c.SuperDigest != "" {
		out[strings.TrimPrefix(superDigestProp, zookeeperPrefix)] = c.SuperDigest
	}
	if _, ok := c.Props[c.containerProp(containerCheckIntervalProp)]; ok || c.ContainerCheckInterval != DefaultContainerCheckInterval {
		out[containerCheckIntervalProp] = ms(c.ContainerCheckInterval)
	}
	if _, ok := c.Props[c.containerProp(containerMaxPerMinuteProp)]; ok || c.ContainerMaxPerMinute != DefaultContainerMaxPerMinute {
		out[containerMaxPerMinuteProp] = strconv.Itoa(c.ContainerMaxPerMinute)
	}
	if _, ok := c.Props[c.containerProp(containerMaxNeverUsedProp)]; ok || c.ContainerMaxNeverUsedInterval != 0 {
		out[containerMaxNeverUsedProp] = ms(c.ContainerMaxNeverUsedInterval)
	}
	return out
}

// containerProp names the property a znode.container.* setting is read
// from. ZooKeeper reads only the unprefixed JVM property, so zoo.cfg could
// never set it; zookit also honours the zookeeper.-prefixed name that a zoo.cfg
// key turns into, and that one wins, as the file wins elsewhere.
func (c *Config) containerProp(name string) string {
	if _, ok := c.Props[zookeeperPrefix+name]; ok {
		return zookeeperPrefix + name
	}
	return name
}

// defaultWhitelist is the set FourLetterCommands builds when no whitelist
// is configured.
func (c *Config) defaultWhitelist() map[string]bool {
	w := map[string]bool{"srvr": true}
	if c.ReadOnlyMode() {
		w["isro"] = true
	}
	return w
}

func (c *Config) whitelistString() string {
	all := true
	for _, w := range fourLetterWords {
		all = all && c.FourLetterWords[w]
	}
	if all {
		return "*"
	}
	var on []string
	for w, ok := range c.FourLetterWords {
		if ok {
			on = append(on, w)
		}
	}
	slices.Sort(on)
	return strings.Join(on, ",")
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
