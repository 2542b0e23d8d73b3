package server

import (
	"strings"
	"testing"

	"github.com/zookit/zookit/ensemble/config"
	"github.com/zookit/zookit/ensemble/peer"
)

func TestReadLimits(t *testing.T) {
	parse := func(text string) *config.Config {
		t.Helper()
		cfg, err := config.Parse(strings.NewReader("tickTime=2000\ndataDir=/tmp/x\nclientPort=2181\n"+text), "zoo.cfg")
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	l, err := readLimits(parse(""))
	if err != nil {
		t.Fatal(err)
	}
	want := limits{
		globalOutstanding: DefaultGlobalOutstandingLimit, connOutstanding: DefaultMaxOutstandingPerConn,
		maxReply: config.DefaultJuteMaxBuffer, outboundPause: config.DefaultJuteMaxBuffer,
		outboundClose: DefaultMaxOutboundBytesPerConn, authCount: DefaultMaxAuthIdentities,
		authBytes: config.DefaultJuteMaxBuffer, watchCount: DefaultMaxWatchesPerConn,
		watchBytes: DefaultMaxWatchBytesPerConn,
	}
	if l != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", l, want)
	}
	// zoo.cfg keys become zookeeper.* properties; a 5-voter ensemble
	// shares globalOutstandingLimit as ZooKeeper does.
	l, err = readLimits(parse(`globalOutstandingLimit=1000
maxOutstandingPerConnection=7
maxWatchesPerConnection=9
maxRaftFrame=67108864
initLimit=5
syncLimit=2
server.1=a:1:2
server.2=b:1:2
server.3=c:1:2
server.4=d:1:2
server.5=e:1:2
`))
	if err != nil {
		t.Fatal(err)
	}
	if l.globalOutstanding != 250 || l.connOutstanding != 7 || l.watchCount != 9 || l.raftFrame != 64<<20 {
		t.Errorf("from zoo.cfg: %+v", l)
	}
	if l.raftFrame == 0 || l.raftFrame == peer.DefaultMaxRaftFrame {
		t.Error("maxRaftFrame did not reach the limits")
	}
}
