package interop

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// transcriptScript exercises every zkCli.sh command whose output does not
// depend on which program runs it. Left out: version (each names itself),
// usage after an unknown command (Debian's 3.8.0 lists get and set without
// the -b/-x options 3.8.6 added, and zkcli follows 3.8.6), and
// close/connect/quit (Java prints their session events from another thread,
// in no fixed order with the next command).
var transcriptScript = []string{
	"create /tx hello",
	"create /tx again",
	"create -s /tx/seq- s",
	"create -s /tx/seq- s",
	"create -e /tx/eph e",
	"create -c /tx/cont",
	"create -t 100000 /tx/ttl t",
	"create -t 0 /tx/ttl0",
	"create -c -s /tx/x",
	"create /tx/nodata",
	"get /tx/nodata",
	"create /tx/empty ''",
	"get /tx/empty",
	"create /tx/quoted \"two words\"",
	"get /tx/quoted",
	"create tx",
	"create /tx/",
	"create /tx/no/such",
	"create /tx/eph/child",
	"create /tx/acl a world:anyone:r,junk",
	"create -z /tx/x",
	"create",
	"ls /tx",
	"ls -s /tx",
	"ls -R /tx",
	"ls /nope",
	"get /tx",
	"get -s /tx",
	"get -w /tx",
	"set /tx world",
	"get /tx watch",
	"set /tx world2",
	"set -v 0 /tx stale",
	"set -s /tx again",
	"set /tx x -v 99",
	"stat /tx",
	"stat /nope",
	"stat -w /tx/new",
	"create /tx/new n",
	"ls -w /tx",
	"create /tx/c2 x",
	"getAcl /tx",
	"getAcl -s /tx/acl",
	"setAcl /tx/acl world:anyone:cdrwa",
	"addauth digest alice:secret",
	"setAcl /tx/new auth:alice:secret:cdrwa",
	"getAcl /tx/new",
	"setAcl -s /tx/cont world:anyone:cdrwa",
	"setAcl -v 9 /tx/cont world:anyone:cdrwa",
	"setAcl -R /tx/cont world:anyone:cdrw",
	"setquota -n 5 /tx/cont",
	"listquota /tx/cont",
	"setquota -B 100 /tx/cont",
	"listquota /tx/cont",
	"setquota -n 3 /tx",
	"setquota /tx",
	"setquota -n 1 -b 2 /tx",
	"setquota -n x /tx",
	"setquota -n 0 /tx",
	"setquota -b -1 /tx",
	"setquota -n 1 /zookeeper/quota/x",
	"setquota -n 1 /nope",
	"delquota -n /tx/cont",
	"listquota /tx/cont",
	"delquota /tx/cont",
	"listquota /tx/cont",
	"delquota /tx/cont",
	"ls /zookeeper/quota",
	"whoami",
	"getEphemerals /tx",
	"getAllChildrenNumber /tx",
	"getAllChildrenNumber /nope",
	"sync /tx",
	"config",
	"config -c",
	"reconfig -add 4=127.0.0.1:1:2;3",
	"reconfig -members 1=127.0.0.1:1:2 -remove 1",
	"reconfig -v zz -remove 1",
	"reconfig",
	"addWatch -m PERSISTENT /tx",
	"set /tx p",
	"create /tx/p1",
	"addWatch -m PERSISTENT_RECURSIVE /tx/new",
	"create /tx/new/k",
	"set /tx/new/k v",
	"delete /tx/new/k",
	"removewatches /tx/new",
	"removewatches /tx/new",
	"addWatch -m bogus /tx",
	"get -w /tx/c2",
	"ls -w /tx/c2",
	"removewatches /tx/c2 -d",
	"removewatches /tx/c2 -c",
	"printwatches off",
	"set /tx quiet",
	"printwatches",
	"printwatches on",
	"delete /tx",
	"delete -v 5 /tx/c2",
	"delete /tx/c2",
	"delete /tx/p1 0",
	"history",
	"redo 10",
	"redo 999",
	"deleteall /tx/new",
	"deleteall /tx -b 2",
	"deleteall /tx",
	"ls /",
}

// TestZkCliTranscript runs transcriptScript through Debian's zkCli.sh and
// through zkcli against one server and compares what they print, line by
// line. Each command is followed by "sync /": Java prints watch events on
// its event thread, and the sync callback runs there after them, so its
// "Sync is OK" closes a command's section. Normalizing removes only what
// differs from run to run: zxids, times, the session id, the JVM's log
// lines, and where inside a section Java's event thread printed an event.
// The zkCli.sh transcripts of the two servers are compared too; a
// difference there is a server difference, logged for the record.
func TestZkCliTranscript(t *testing.T) {
	Require(t, ZkCli)
	zkcli := zkcliBinary(t)
	java := map[string][]string{}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t, Options{})
			want := cliTranscript(t, ZkCliPath(), addr)
			got := cliTranscript(t, zkcli, addr)
			java[srv.name] = want
			if d := unifiedDiff("zkCli.sh", "zkcli", want, got); d != "" {
				t.Errorf("zkcli's transcript differs from zkCli.sh's against %s:\n%s", srv.name, d)
			}
		})
	}
	if d := unifiedDiff("apache", "zkserver", java["apache"], java["zkserver"]); d != "" && len(java) == 2 {
		t.Logf("zkCli.sh prints differently against zkserver than against Apache ZooKeeper (a server difference):\n%s", d)
	}
}

// TestZkCliOneCommand compares a one-command run: output and exit code.
func TestZkCliOneCommand(t *testing.T) {
	Require(t, ZkCli)
	zkcli := zkcliBinary(t)
	addr := StartZookit(t, Options{})
	for _, args := range [][]string{{"get", "/nope"}, {"ls", "/"}, {"nosuch"}} {
		wantOut, wantCode := oneCommand(t, ZkCliPath(), addr, args)
		gotOut, gotCode := oneCommand(t, zkcli, addr, args)
		if wantCode != gotCode {
			t.Errorf("%v: zkcli exits %d, zkCli.sh %d", args, gotCode, wantCode)
		}
		// The usage text of an unknown command lists get and set as
		// 3.8.6 has them; compare only the lines outside it.
		if d := unifiedDiff("zkCli.sh", "zkcli", withoutUsage(wantOut), withoutUsage(gotOut)); d != "" {
			t.Errorf("%v: output differs:\n%s", args, d)
		}
	}
}

func oneCommand(t *testing.T, bin, addr string, args []string) ([]string, int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-server", addr, "-waitforconnection"}, args...)...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return normalizeCli(strings.Split(strings.TrimRight(string(out), "\n"), "\n")), code
}

func withoutUsage(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "\t") && !strings.HasPrefix(l, "ZooKeeper -server ") {
			out = append(out, l)
		}
	}
	return out
}

// cliTranscript runs the script through bin against addr and returns its
// normalized output.
func cliTranscript(t *testing.T, bin, addr string) []string {
	t.Helper()
	c := StartConsole(t, bin, "-server", addr, "-waitforconnection")
	c.Send("sync /")
	c.Expect(`^Sync is OK$`)
	var all []string
	for _, line := range append(transcriptScript, "sync /") {
		start := len(c.log)
		c.Send(line)
		c.Send("sync /")
		marks := 1
		if strings.HasPrefix(line, "sync ") {
			marks = 2
		}
		for range marks {
			c.Expect(`^Sync is OK$`)
		}
		all = append(all, "> "+line)
		all = append(all, cliSection(c.log[start:])...)
	}
	return normalizeCli(all)
}

// cliSection takes one command's lines (without the "> " lines the console
// logs for what it sent) and moves its watch events to the end, in their
// order: Java's event thread prints them at any point of the section.
func cliSection(log []string) []string {
	var lines, events []string
	for i := 0; i < len(log); i++ {
		l := log[i]
		switch {
		case strings.HasPrefix(l, "> "):
		case l == "WATCHER::":
			events = append(events, l)
		case strings.HasPrefix(l, "WatchedEvent "):
			events = append(events, l)
		case l == "" && i+1 < len(log) && (log[i+1] == "WATCHER::" || strings.HasPrefix(log[i+1], "WatchedEvent ")):
		default:
			lines = append(lines, l)
		}
	}
	return append(lines, events...)
}

var (
	zxidLine  = regexp.MustCompile(`^([cmp]Zxid) = 0x[0-9a-f]+$`)
	timeLine  = regexp.MustCompile(`^([cm]time) = \w{3} \w{3} \d\d \d\d:\d\d:\d\d \S+ \d{4}$`)
	ownerLine = regexp.MustCompile(`^ephemeralOwner = 0x[0-9a-f]{9,}$`)
)

// normalizeCli drops the JVM's log lines and masks the values that differ
// between any two runs: zxids, times and the session id.
func normalizeCli(lines []string) []string {
	var out []string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "SLF4J: "):
			continue
		case zxidLine.MatchString(l):
			l = zxidLine.ReplaceAllString(l, "$1 = 0x<zxid>")
		case timeLine.MatchString(l) && !strings.Contains(l, " 1970"):
			l = timeLine.ReplaceAllString(l, "$1 = <time>")
		case ownerLine.MatchString(l):
			l = "ephemeralOwner = 0x<session>"
		}
		out = append(out, l)
	}
	return out
}

var zkcliBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// zkcliBinary builds ./cmd/zkcli once per test binary.
func zkcliBinary(t *testing.T) string {
	t.Helper()
	b := &zkcliBuild
	b.once.Do(func() {
		gomod, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			b.err = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		b.dir, b.err = os.MkdirTemp("", "zookit-zkcli-")
		if b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "zkcli")
		cmd := exec.Command("go", "build", "-o", b.path, "github.com/zookit/zookit/cmd/zkcli")
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build ./cmd/zkcli: %w\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}
