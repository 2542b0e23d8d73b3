package config

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Parse(strings.NewReader(text), "zoo.cfg")
	if err != nil {
		t.Fatalf("Parse:\n%s\nerror: %v", text, err)
	}
	return c
}

func TestParseKeys(t *testing.T) {
	const base = "dataDir=/data\n"
	tests := []struct {
		name  string
		text  string
		check func(c *Config) bool
	}{
		{"tickTime default", base, func(c *Config) bool { return c.TickTime == 3*time.Second }},
		{"tickTime", base + "tickTime=2000", func(c *Config) bool { return c.TickTime == 2*time.Second }},
		{"dataDir", base, func(c *Config) bool { return c.DataDir == "/data" && c.DataLogDir == "/data" }},
		{"dataLogDir", base + "dataLogDir=/log", func(c *Config) bool { return c.DataLogDir == "/log" }},
		{"clientPort", base + "clientPort=2181", func(c *Config) bool { return c.ClientPort == 2181 && c.ClientAddr() == ":2181" }},
		{"clientPortAddress", base + "clientPort=2181\nclientPortAddress=10.0.0.1", func(c *Config) bool {
			return c.ClientPortAddress == "10.0.0.1" && c.ClientAddr() == "10.0.0.1:2181"
		}},
		{"maxClientCnxns default", base, func(c *Config) bool { return c.MaxClientCnxns == 60 }},
		{"maxClientCnxns", base + "maxClientCnxns=0", func(c *Config) bool { return c.MaxClientCnxns == 0 }},
		{"session timeouts default", base + "tickTime=2000", func(c *Config) bool {
			return c.MinSessionTimeout == 4*time.Second && c.MaxSessionTimeout == 40*time.Second
		}},
		{"session timeouts", base + "minSessionTimeout=1000\nmaxSessionTimeout=9000", func(c *Config) bool {
			return c.MinSessionTimeout == time.Second && c.MaxSessionTimeout == 9*time.Second
		}},
		{"session timeout -1 is default", base + "minSessionTimeout=-1", func(c *Config) bool { return c.MinSessionTimeout == 6*time.Second }},
		{"initLimit syncLimit", base + "initLimit=10\nsyncLimit=5", func(c *Config) bool { return c.InitLimit == 10 && c.SyncLimit == 5 }},
		{"electionAlg 3", base + "electionAlg=3", func(c *Config) bool { return true }},
		{"snapCount default", base, func(c *Config) bool { return c.SnapCount == 100000 }},
		{"snapCount", base + "snapCount=5000", func(c *Config) bool {
			return c.SnapCount == 5000 && c.Props["zookeeper.snapCount"] == "5000"
		}},
		{"snapCount at least 2", base + "snapCount=1", func(c *Config) bool { return c.SnapCount == 2 }},
		{"snapRetainCount default", base, func(c *Config) bool { return c.SnapRetainCount == 3 }},
		{"snapRetainCount", base + "autopurge.snapRetainCount=7", func(c *Config) bool { return c.SnapRetainCount == 7 }},
		{"snapRetainCount below 3", base + "autopurge.snapRetainCount=1", func(c *Config) bool { return c.SnapRetainCount == 3 }},
		{"purgeInterval hours", base + "autopurge.purgeInterval=24", func(c *Config) bool { return c.PurgeInterval == 24*time.Hour }},
		{"purgeInterval off", base, func(c *Config) bool { return c.PurgeInterval == 0 }},
		{"whitelist default", base, func(c *Config) bool { return maps.Equal(c.FourLetterWords, map[string]bool{"srvr": true}) }},
		{"whitelist list", base + "4lw.commands.whitelist=ruok, stat ,,conf", func(c *Config) bool {
			return maps.Equal(c.FourLetterWords, map[string]bool{"srvr": true, "ruok": true, "stat": true, "conf": true})
		}},
		{"whitelist star", base + "4lw.commands.whitelist=*", func(c *Config) bool {
			return c.FourLetterWords["mntr"] && c.FourLetterWords["wchp"] && c.FourLetterWords["isro"] && c.Allowed("dump")
		}},
		{"standaloneEnabled default", base, func(c *Config) bool { return c.StandaloneEnabled }},
		{"reconfigEnabled", base + "reconfigEnabled=TRUE", func(c *Config) bool { return c.ReconfigEnabled }},
		{"peerType default", base, func(c *Config) bool { return c.PeerType == "participant" }},
		{"peerType", base + "peerType=Observer", func(c *Config) bool { return c.PeerType == "observer" }},
		{"extendedTypesEnabled", base + "extendedTypesEnabled=true", func(c *Config) bool { return c.ExtendedTypesEnabled }},
		{"superDigest", base + "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=", func(c *Config) bool {
			return c.SuperDigest == "super:D/InIHSb7yEEbrWz8b9l71RjZJU="
		}},
		{"jute.maxbuffer default", base, func(c *Config) bool { return c.JuteMaxBuffer == 1048575 }},
		{"jute.maxbuffer is JVM only", base + "jute.maxbuffer=10", func(c *Config) bool {
			return c.JuteMaxBuffer == 1048575 && c.Props["zookeeper.jute.maxbuffer"] == "10"
		}},
		{"containers default", base, func(c *Config) bool {
			return c.ContainerCheckInterval == time.Minute && c.ContainerMaxPerMinute == 10000 && c.ContainerMaxNeverUsedInterval == 0
		}},
		{"containers", base + "znode.container.checkIntervalMs=500\nznode.container.maxPerMinute=5\nznode.container.maxNeverUsedIntervalMs=9000", func(c *Config) bool {
			return c.ContainerCheckInterval == 500*time.Millisecond && c.ContainerMaxPerMinute == 5 && c.ContainerMaxNeverUsedInterval == 9*time.Second
		}},
		{"unknown key becomes property", base + "admin.serverPort=9090", func(c *Config) bool {
			v, ok := c.Property("zookeeper.admin.serverPort")
			return ok && v == "9090"
		}},
		{"known key without field", base + "secureClientPort=2281\nsyncEnabled=false\nmetricsProvider.httpPort=7000", func(c *Config) bool {
			return c.Other["secureClientPort"] == "2281" && c.Other["syncEnabled"] == "false" &&
				c.Other["metricsProvider.httpPort"] == "7000" && len(c.Props) == 0
		}},
		{"secure client address", base + "secureClientPort=2281\nsecureClientPortAddress=10.0.0.1", func(c *Config) bool {
			a, ok := c.SecureClientAddr()
			return ok && a == "10.0.0.1:2281"
		}},
		{"secure client port on all interfaces", base + "secureClientPort=2281", func(c *Config) bool {
			a, ok := c.SecureClientAddr()
			return ok && a == ":2281"
		}},
		{"no secure client port", base + "secureClientPort=0", func(c *Config) bool {
			_, ok := c.SecureClientAddr()
			return !ok
		}},
		{"last value wins", base + "tickTime=abc\ntickTime=100", func(c *Config) bool { return c.TickTime == 100*time.Millisecond }},
		{"dynamicConfigFile", base + "dynamicConfigFile=/conf/zoo.cfg.dynamic", func(c *Config) bool {
			return c.DynamicConfigFile == "/conf/zoo.cfg.dynamic"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c := mustParse(t, tt.text); !tt.check(c) {
				t.Errorf("unexpected config for %q:\n%s", tt.text, c)
			}
		})
	}
}

func TestPropertiesSyntax(t *testing.T) {
	text := "# comment\n" +
		"  ! another comment \\\n" +
		"dataDir : /da\\\n" +
		"     ta\n" +
		"\n" +
		"tickTime 2500\n" +
		"clientPort=\t2182  \n" +
		"weird\\ key\\=x = v\\u0041\\tz\n" +
		"empty\n" +
		"a=b=c\r\n" +
		"maxClientCnxns:7\r"
	c := mustParse(t, text)
	if c.DataDir != "/data" || c.TickTime != 2500*time.Millisecond || c.ClientPort != 2182 || c.MaxClientCnxns != 7 {
		t.Errorf("got %+v", c)
	}
	want := map[string]string{"zookeeper.weird key=x": "vA\tz", "zookeeper.empty": "", "zookeeper.a": "b=c"}
	if !maps.Equal(c.Props, want) {
		t.Errorf("Props = %q, want %q", c.Props, want)
	}
}

func errOf(t *testing.T, text string) string {
	t.Helper()
	_, err := Parse(strings.NewReader(text), "zoo.cfg")
	if err == nil {
		t.Fatalf("Parse(%q) succeeded, want an error", text)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("error %v is a %T, want *Error", err, err)
	}
	return err.Error()
}

func TestParseErrors(t *testing.T) {
	const base = "dataDir=/data\n"
	tests := []struct{ text, want string }{
		{base + "\n\ntickTime=abc", `zoo.cfg:4: tickTime: "abc" is not an integer`},
		{"tickTime=2000\n", `zoo.cfg: dataDir is not set`},
		{base + "tickTime=0", `zoo.cfg:2: tickTime is not set`},
		{base + "tickTime=-5", `zoo.cfg:2: tickTime: -5 must not be negative`},
		{base + "minSessionTimeout=5000\nmaxSessionTimeout=4000", `zoo.cfg:2: minSessionTimeout 5000 must not be larger than maxSessionTimeout 4000`},
		{base + "tickTime=1000\nmaxSessionTimeout=1000", `zoo.cfg:3: minSessionTimeout 2000 must not be larger than maxSessionTimeout 1000`},
		{base + "clientPort=x", `zoo.cfg:2: clientPort: "x" is not an integer`},
		{base + "clientPort=70000", `zoo.cfg:2: clientPort: port 70000 is out of range`},
		{base + "clientPortAddress=127.0.0.1", `zoo.cfg:2: clientPortAddress is set but clientPort is not set`},
		{base + "maxClientCnxns=99999999999", `zoo.cfg:2: maxClientCnxns: "99999999999" is not an integer`},
		{base + "initLimit=1.5", `zoo.cfg:2: initLimit: "1.5" is not an integer`},
		{base + "electionAlg=1", `zoo.cfg:2: electionAlg: 1 is not supported, only 3 is`},
		{base + "peerType=voter", `zoo.cfg:2: peerType: unrecognised peer type "voter"`},
		{base + "standaloneEnabled=yes", `zoo.cfg:2: standaloneEnabled: "yes" is not a boolean`},
		{base + "syncEnabled=1", `zoo.cfg:2: syncEnabled: "1" is not a boolean`},
		{base + "secureClientPort=tls", `zoo.cfg:2: secureClientPort: "tls" is not an integer`},
		{base + "secureClientPort=65536", `zoo.cfg:2: secureClientPort: port 65536 is out of range`},
		{base + "secureClientPort=0\nsecureClientPortAddress=::1", `zoo.cfg:3: secureClientPortAddress is set but secureClientPort is not set`},
		{base + "quorum.auth.serverRequireSasl=true", `zoo.cfg:2: quorum.auth.serverRequireSasl: needs quorum.auth.enableSasl=true`},
		{base + "snapCount=many", `zoo.cfg:2: snapCount: "many" is not an integer`},
		{base + "extendedTypesEnabled=on", `zoo.cfg:2: extendedTypesEnabled: "on" is not a boolean`},
		{base + "znode.container.maxPerMinute=0", `zoo.cfg:2: znode.container.maxPerMinute: 0 must be positive`},
		{base + "x=\\u12", `zoo.cfg: line 2: malformed \uxxxx encoding`},
		{base + "server.x=h:1:2", `zoo.cfg:2: server.x: "x" is not a server id`},
		{base + "server.1=h:1", `zoo.cfg:2: server.1: "h:1" does not have the form host:quorumPort:electionPort`},
		{base + "server.1=h:1:2:3:4", `zoo.cfg:2: server.1: "h:1:2:3:4" does not have the form`},
		{base + "server.1=h:a:2", `zoo.cfg:2: server.1: quorum port of "h:a:2": "a" is not a port number`},
		{base + "server.1=h:1:99999", `zoo.cfg:2: server.1: election port of "h:1:99999": port 99999 is out of range`},
		{base + "server.1=h:2888:2888", `zoo.cfg:2: server.1: quorum port and election port must differ, both are 2888`},
		{base + "server.1=h:1:2:leader", `zoo.cfg:2: server.1: unrecognised peer type "leader"`},
		{base + "server.1=h:1:2;c:d", `zoo.cfg:2: server.1: client port of "h:1:2;c:d": "d" is not a port number`},
		{base + "server.1=h:1:2;a;b", `zoo.cfg:2: server.1: "h:1:2;a;b" does not have the form`},
		{base + "server.1=h:1:2|g:1:2", `zoo.cfg:2: server.1: "h:1:2|g:1:2" lists several addresses`},
		{base + "server.1=[::1:1:2", `zoo.cfg:2: server.1: "[::1:1:2": "[::1:1:2" starts with '[' but has no matching ']'`},
		{base + "server.1=::1:1:2", `zoo.cfg:2: server.1: "::1:1:2" does not have the form`},
		{base + "initLimit=5\nsyncLimit=2\nserver.1=a:1:2\nserver.01=b:1:2", `zoo.cfg:5: server.01: duplicate server id 1, also given by server.1 on line 4`},
		{base + "initLimit=5\nsyncLimit=2\nserver.1=a:1:2\nserver.1=b:1:2", `zoo.cfg:5: server.1: duplicate server id 1, also given by server.1 on line 4`},
		{base + "server.1=a:1:2:observer", `zoo.cfg:2: server.1: observers without participants is an invalid configuration`},
		{base + "server.1=a:1:2\nserver.2=b:1:2:observer", `zoo.cfg:3: server.2: observers with a single participant`},
		{base + "standaloneEnabled=false", `zoo.cfg:2: standaloneEnabled=false needs at least one participant`},
		{base + "syncLimit=2\nserver.1=a:1:2\nserver.2=b:1:2", `zoo.cfg: initLimit is not set`},
		{base + "initLimit=2\nserver.1=a:1:2\nserver.2=b:1:2", `zoo.cfg: syncLimit is not set`},
		{base + "dynamicConfigFile=/d\nserver.1=a:1:2", `zoo.cfg:3: server.1: must be in a separate dynamic config file`},
		{base + "group.1=1:2:3", `zoo.cfg:2: group.1: hierarchical quorums`},
	}
	for _, tt := range tests {
		if got := errOf(t, tt.text); !strings.HasPrefix(got, tt.want) {
			t.Errorf("Parse(%q)\n error %q\n  want %q", tt.text, got, tt.want)
		}
	}
}

func TestQuorum(t *testing.T) {
	c := mustParse(t, `
dataDir=/data
initLimit=10
syncLimit=5
peerType=observer
server.3=zk3.example.com:2888:3888:observer;2181
server.1=zk1.example.com:2888:3888;10.0.0.1:2181
server.2=[fe80::1]:2888:3888:PARTICIPANT;[::1]:2182
server.4=zk4:2888:3888:
server.5= zk5:2888:3888:observer ;
`)
	want := []Server{
		{ID: 1, Host: "zk1.example.com", QuorumPort: 2888, ElectionPort: 3888, ClientHost: "10.0.0.1", ClientPort: 2181},
		{ID: 2, Host: "fe80::1", QuorumPort: 2888, ElectionPort: 3888, ClientHost: "::1", ClientPort: 2182},
		{ID: 3, Host: "zk3.example.com", QuorumPort: 2888, ElectionPort: 3888, Observer: true, ClientHost: "0.0.0.0", ClientPort: 2181},
		{ID: 4, Host: "zk4", QuorumPort: 2888, ElectionPort: 3888},
		{ID: 5, Host: "zk5", QuorumPort: 2888, ElectionPort: 3888, Observer: true},
	}
	if !reflect.DeepEqual(c.Servers, want) {
		t.Errorf("Servers =\n%+v\nwant\n%+v", c.Servers, want)
	}
	if c.Standalone() {
		t.Error("three participants are not standalone")
	}
	if c.PeerType != "observer" || c.MyID != 0 {
		t.Errorf("Parse must leave peerType and MyID alone: %q %d", c.PeerType, c.MyID)
	}
	if got := c.Servers[1].String(); got != "[fe80::1]:2888:3888:participant;[::1]:2182" {
		t.Errorf("String() = %q", got)
	}
	if got := c.Servers[0].QuorumAddr() + " " + c.Servers[1].ElectionAddr(); got != "zk1.example.com:2888 [fe80::1]:3888" {
		t.Errorf("addrs = %q", got)
	}
	if _, ok := c.Self(); ok {
		t.Error("Self without myid")
	}
}

func TestStandalone(t *testing.T) {
	tests := []struct {
		servers    string
		standalone bool
	}{
		{"", true},
		{"server.1=a:1:2", true},
		{"server.1=a:1:2;2181", true},
		{"standaloneEnabled=false\nserver.1=a:1:2", false},
		{"server.1=a:1:2\nserver.2=b:1:2", false},
		{"server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2:observer", false},
		{"standaloneEnabled=false\nserver.1=a:1:2\nserver.2=b:1:2:observer", false},
	}
	for _, tt := range tests {
		c := mustParse(t, "dataDir=/d\ninitLimit=5\nsyncLimit=2\n"+tt.servers)
		if got := c.Standalone(); got != tt.standalone {
			t.Errorf("Standalone() = %v for %q", got, tt.servers)
		}
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	if c.TickTime != 2*time.Second || c.ClientAddr() != "127.0.0.1:2181" ||
		c.DataDir != filepath.Join(os.TempDir(), "zookit") || c.DataLogDir != c.DataDir ||
		c.MinSessionTimeout != 4*time.Second || c.MaxSessionTimeout != 40*time.Second ||
		!c.Standalone() || c.Path != "" || c.MaxClientCnxns != 60 || c.SnapCount != 100000 {
		t.Errorf("Default() = %+v", c)
	}
	if !maps.Equal(c.FourLetterWords, map[string]bool{"srvr": true}) || !c.Allowed("srvr") || c.Allowed("ruok") {
		t.Errorf("Default whitelist = %v", c.FourLetterWords)
	}
	back, err := Parse(strings.NewReader(c.String()), "default")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("Default does not round-trip:\n%+v\n%+v", back, c)
	}
}

func TestAllowed(t *testing.T) {
	c := mustParse(t, "dataDir=/d\n4lw.commands.whitelist=ruok,stat")
	for cmd, want := range map[string]bool{"ruok": true, "stat": true, "srvr": true, "mntr": false, "isro": false, "": false} {
		if got := c.Allowed(cmd); got != want {
			t.Errorf("Allowed(%q) = %v", cmd, got)
		}
	}
	// readonlymode.enabled is a JVM property: in zoo.cfg it is zookeeper.readonlymode.enabled and does nothing.
	c = mustParse(t, "dataDir=/d\nreadonlymode.enabled=true")
	if c.Allowed("isro") {
		t.Error("isro allowed by the zoo.cfg key")
	}
	c.Props["readonlymode.enabled"] = "true"
	if !c.Allowed("isro") || c.Allowed("ruok") {
		t.Error("readonlymode.enabled must allow isro and only that")
	}
}

func TestParseJVMFlags(t *testing.T) {
	got := ParseJVMFlags(" -Xmx1g -Dk=v\t-Dk2=a=b -Dflag -D -Dk=w -cp x.jar -Djute.maxbuffer=4194304 ")
	want := map[string]string{"k": "w", "k2": "a=b", "flag": "", "jute.maxbuffer": "4194304"}
	if !maps.Equal(got, want) {
		t.Errorf("ParseJVMFlags = %q, want %q", got, want)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// setup writes zoo.cfg (with dataDir set to a fresh directory) and, when
// myid is not "", the myid file.
func setup(t *testing.T, cfg, myid string) (path, dataDir string) {
	t.Helper()
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	path = filepath.Join(dir, "zoo.cfg")
	writeFile(t, path, "dataDir="+dataDir+"\n"+cfg)
	if myid != "" {
		writeFile(t, filepath.Join(dataDir, "myid"), myid)
	}
	return path, dataDir
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadJVMFlags(t *testing.T) {
	path, _ := setup(t, "snapCount=10\nextendedTypesEnabled=false\n", "")
	c, err := Load(path, envOf(map[string]string{
		"SERVER_JVMFLAGS": "-Xmx1g -Dzookeeper.extendedTypesEnabled=true -Dzookeeper.snapCount=99 " +
			"-Dzookeeper.DigestAuthenticationProvider.superDigest=super:abc= -Djute.maxbuffer=1",
		"JVMFLAGS": "-Djute.maxbuffer=4194304 -Dreadonlymode.enabled=true -Dznode.container.checkIntervalMs=100",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != path {
		t.Errorf("Path = %q", c.Path)
	}
	if c.SnapCount != 10 || c.ExtendedTypesEnabled {
		t.Errorf("the file must win over -D flags: snapCount %d extendedTypes %v", c.SnapCount, c.ExtendedTypesEnabled)
	}
	if c.SuperDigest != "super:abc=" {
		t.Errorf("SuperDigest = %q", c.SuperDigest)
	}
	if c.JuteMaxBuffer != 4194304 {
		t.Errorf("JVMFLAGS must win over SERVER_JVMFLAGS: JuteMaxBuffer = %d", c.JuteMaxBuffer)
	}
	if !c.Allowed("isro") || c.ContainerCheckInterval != 100*time.Millisecond {
		t.Errorf("isro %v, container interval %v", c.Allowed("isro"), c.ContainerCheckInterval)
	}

	_, err = Load(path, envOf(map[string]string{"JVMFLAGS": "-Djute.maxbuffer=big"}))
	if err == nil || !strings.HasPrefix(err.Error(), `JVMFLAGS: -Djute.maxbuffer: "big" is not an integer`) {
		t.Errorf("bad flag: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.cfg"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

const three = "initLimit=5\nsyncLimit=2\n" +
	"server.1=a:2888:3888;2181\nserver.2=b:2888:3888\nserver.3=c:2888:3888:observer;10.0.0.3:2183\nserver.4=d:2888:3888\n"

func TestLoadMyID(t *testing.T) {
	tests := []struct {
		name, cfg, myid string
		check           func(c *Config) bool
	}{
		{"participant with client port", three, "1\n", func(c *Config) bool {
			s, ok := c.Self()
			return ok && s.ID == 1 && c.MyID == 1 && c.ClientAddr() == ":2181" && c.PeerType == "participant"
		}},
		{"static client port fills the line", "clientPort=2190\n" + three, "2", func(c *Config) bool {
			s, _ := c.Self()
			return s.ClientHost == "0.0.0.0" && s.ClientPort == 2190 && c.ClientAddr() == ":2190"
		}},
		{"observer line wins over peerType", "peerType=participant\n" + three, " 3 \nignored", func(c *Config) bool {
			return c.PeerType == "observer" && c.ClientAddr() == "10.0.0.3:2183"
		}},
		{"peerType observer but line is participant", "peerType=observer\n" + three, "4", func(c *Config) bool {
			return c.PeerType == "participant"
		}},
		{"agreeing static address", "clientPort=2183\nclientPortAddress=10.0.0.3\n" + three, "3", func(c *Config) bool {
			return c.ClientAddr() == "10.0.0.3:2183"
		}},
		{"one server is standalone without myid", "server.1=a:2888:3888;2181\n", "", func(c *Config) bool {
			return c.Standalone() && c.MyID == 0
		}},
		{"one server reads myid for its client port", "server.1=a:2888:3888;2181\n", "1", func(c *Config) bool {
			return c.Standalone() && c.ClientAddr() == ":2181"
		}},
		{"no servers ignores myid", "clientPort=1\n", "junk", func(c *Config) bool { return c.MyID == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, _ := setup(t, tt.cfg, tt.myid)
			c, err := Load(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config:\n%s", c)
			}
		})
	}
}

func TestLoadMyIDErrors(t *testing.T) {
	tests := []struct {
		name, cfg, myid, want string
	}{
		{"missing", three, "", "zoo.cfg: myid file is missing: open DATA/myid: "},
		{"not a number", three, "one\n", `DATA/myid:1: myid: "one" is not a number`},
		{"empty", three, "\n", `DATA/myid:1: myid: "" is not a number`},
		{"zero", three, "0", `DATA/myid:1: myid: server id 0 is out of range 1-255`},
		{"too big", three, "256", `DATA/myid:1: myid: server id 256 is out of range 1-255`},
		{"255 with extended types", "extendedTypesEnabled=true\n" + three, "255", `DATA/myid:1: myid: server id 255 is out of range 1-254`},
		{"not in list", three, "7", "zoo.cfg: myid: server id 7 from DATA/myid is not in the server list (1, 2, 3, 4)"},
		{"client port conflict", "clientPort=2182\n" + three, "1", "zoo.cfg:2: clientPort: client address :2182 differs from 0.0.0.0:2181 on the server.1 line"},
		{"client address conflict", "clientPort=2183\nclientPortAddress=10.9.9.9\n" + three, "3", "zoo.cfg:2: clientPort: client address 10.9.9.9:2183 differs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, dataDir := setup(t, tt.cfg, tt.myid)
			_, err := Load(path, nil)
			want := strings.ReplaceAll(tt.want, "DATA", dataDir)
			want = strings.ReplaceAll(want, "zoo.cfg", path)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %v\nwant %s", err, want)
			}
		})
	}
	path, _ := setup(t, three, "")
	if _, err := Load(path, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing myid should wrap fs.ErrNotExist: %v", err)
	}
}

func TestLoadDynamicConfigFile(t *testing.T) {
	dir := t.TempDir()
	dyn := filepath.Join(dir, "zoo.cfg.dynamic.100000000")
	writeFile(t, dyn, "server.1=a:2888:3888;2181\nserver.2=b:2888:3888;2181\nserver.3=c:2888:3888;2181\n")
	path, _ := setup(t, "initLimit=5\nsyncLimit=2\ndynamicConfigFile="+dyn+"\n", "2")
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Servers) != 3 || c.MyID != 2 || c.Standalone() || c.ClientPort != 2181 {
		t.Errorf("got %s", c)
	}

	writeFile(t, dyn, "server.1=a:2888:3888\ntickTime=5\n")
	if _, err := Load(path, nil); err == nil || !strings.HasPrefix(err.Error(), dyn+":2: tickTime: unrecognised parameter") {
		t.Errorf("error %v", err)
	}
	writeFile(t, dyn, "version=100000000\n")
	if _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), "must not contain version") {
		t.Errorf("error %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	texts := []string{
		"dataDir=/data\n",
		`tickTime=2000
dataDir=/var/lib/zoo keeper\tx
dataLogDir=C:\\logs\\zk
clientPort=2181
clientPortAddress=::1
maxClientCnxns=0
minSessionTimeout=3000
maxSessionTimeout=60000
initLimit=10
syncLimit=5
autopurge.snapRetainCount=5
autopurge.purgeInterval=12
standaloneEnabled=false
reconfigEnabled=true
peerType=observer
4lw.commands.whitelist=ruok,srvr,stat
snapCount=5000
extendedTypesEnabled=true
DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
znode.container.checkIntervalMs=1000
znode.container.maxPerMinute=100
znode.container.maxNeverUsedIntervalMs=30000
admin.enableServer=false
weird\ key\:x=va=lue
sslQuorum=true
secureClientPort=2281
server.1=127.0.0.1:2888:3888;2181
server.2=[::1]:2889:3889:participant;[::1]:2182
server.3=host3:2890:3890:observer;0.0.0.0:2183
`,
	}
	for _, text := range texts {
		c := mustParse(t, text)
		rendered := c.String()
		back, err := Parse(strings.NewReader(rendered), "rendered")
		if err != nil {
			t.Fatalf("Parse(String()) failed: %v\n%s", err, rendered)
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("round trip differs\nfirst: %+v\nback:  %+v\nrendered:\n%s", c, back, rendered)
		}
	}
}

func TestStringShowsJVMOnlyProperties(t *testing.T) {
	path, _ := setup(t, "", "")
	c, err := Load(path, envOf(map[string]string{"JVMFLAGS": "-Djute.maxbuffer=4096 -Dreadonlymode.enabled=true -Dzookeeper.skipACL=yes"}))
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	for _, want := range []string{"# -Djute.maxbuffer=4096\n", "# -Dreadonlymode.enabled=true\n", "\nskipACL=yes\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if !slices.IsSorted(lines[len(lines)-2:]) {
		t.Errorf("flags not sorted: %q", lines)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("dataDir=/d\nclientPort=2181\n")
	f.Add("dataDir=/d\ninitLimit=5\nsyncLimit=2\nserver.1=a:1:2;2181\nserver.2=[::1]:3:4:observer;h:5\nserver.3=c:5:6\n")
	f.Add("dataDir /d\\\n x\n4lw.commands.whitelist=*\nsnapCount=\\u0031\n# c\n! c\nk:v\n")
	f.Add("dataDir=/d\nserver.1=[::1]:1\nserver.2=h:1:2|g:3:4\nmaxSessionTimeout=1\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(strings.NewReader(text), "fuzz")
		if err != nil {
			return
		}
		c.Standalone()
		c.Allowed("ruok")
		c.ClientAddr()
		c.Self()
		rendered := c.String()
		back, err := Parse(strings.NewReader(rendered), "rendered")
		if err != nil {
			t.Fatalf("Parse(String()) failed: %v\ninput:\n%q\nrendered:\n%s", err, text, rendered)
		}
		// Properties a zoo.cfg cannot set are rendered as comments and lost.
		if again := withoutComments(back.String()); again != withoutComments(rendered) {
			t.Fatalf("String is not stable:\n%s\n---\n%s", rendered, again)
		}
	})
}

func withoutComments(cfg string) string {
	var keep []string
	for _, l := range strings.Split(cfg, "\n") {
		if !strings.HasPrefix(l, "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func TestLoadDefaultWithFlags(t *testing.T) {
	c, err := Load("", envOf(map[string]string{"SERVER_JVMFLAGS": "-Dzookeeper.extendedTypesEnabled=true"}))
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if !c.ExtendedTypesEnabled || c.Path != "" || c.ClientAddr() != d.ClientAddr() || c.DataDir != d.DataDir || c.TickTime != d.TickTime {
		t.Fatalf("Load(\"\") = %+v, want the default with extended types", c)
	}
}
