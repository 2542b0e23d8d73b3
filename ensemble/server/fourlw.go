package server

import (
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/zookit/zookit/ensemble/raftnode"
)

// truncated ends an answer that FourLetterWordMaxOutput cut short with a
// line that says so.
func (s *Server) truncated(b *strings.Builder, complete bool) {
	if !complete {
		s.stats.truncated4lw.Add(1)
		fmt.Fprintf(b, "(output truncated at %d bytes)\n", FourLetterWordMaxOutput)
	}
}

// notServing is ZooKeeper's answer, from the commands that report on the
// data, while a quorum server has no leader.
const notServing = "This ZooKeeper instance is not currently serving requests\n"

func isFourLetterWord(cmd string) bool {
	_, ok := byWord[cmd]
	return ok
}

// send4lw answers a four-letter word and closes, as ZooKeeper does.
func (c *conn) send4lw(cmd string) {
	c.s.log.Info("processing four-letter word", zap.String("cmd", cmd), zap.String("remote", c.remote))
	c.queueRaw([]byte(c.s.FourLetterWord(cmd)))
	c.closeAfterFlush()
}

// FourLetterWord is the answer to cmd that a client sending it to the
// client port gets, whitelist included; it still answers after a storage
// failure has closed the port.
func (s *Server) FourLetterWord(cmd string) string {
	var b strings.Builder
	if c := byWord[cmd]; c != nil && s.cfg.Allowed(cmd) {
		if c.serving && !s.answering() {
			b.WriteString(notServing)
			if cmd == "mntr" && s.storageErr() != nil {
				// Monitoring that parses mntr needs the reason, which the
				// not-serving line does not give.
				b.WriteString("zk_storage_failed\t1\n")
			}
		} else {
			s.exec(c, func(out output) { out.text(&b) })
		}
	} else {
		b.WriteString(cmd + " is not executed because it is not in the whitelist.\n")
	}
	return b.String()
}

// Serving reports whether the server answers clients: never once its
// storage failed; otherwise always when standalone, and while it knows a
// leader in a quorum.
func (s *Server) Serving() bool {
	return s.storageErr() == nil && (s.cfg.Standalone() || s.node.Leader() != 0)
}

// Mode is what srvr reports: standalone, leader, follower or observer.
func (s *Server) Mode() string { return s.modeOf(s.node) }

// modeOf is Mode with node n, for the election port's status line, which
// may be asked before New has set s.node.
func (s *Server) modeOf(n *raftnode.Node) string {
	switch {
	case s.cfg.Standalone():
		return "standalone"
	case s.readOnly.Load():
		return "read-only"
	case s.isObserver():
		return "observer"
	case n.IsLeader():
		return "leader"
	}
	return "follower"
}

func (s *Server) logDir() string {
	if s.cfg.DataLogDir != "" {
		return s.cfg.DataLogDir
	}
	return s.cfg.DataDir
}

func (s *Server) connList() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		l = append(l, c)
	}
	sort.Slice(l, func(i, j int) bool { return l[i].est.Before(l[j].est) })
	return l
}

// javaDouble prints a float the way Java's Double.toString does: "0.0",
// "1.25", "1.2E8", "NaN".
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if a := math.Abs(f); a != 0 && (a < 1e-3 || a >= 1e7) {
		// Java's computerized scientific notation: 1.0E7, 2.5E-4.
		mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'E', -1, 64), "E")
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		e, _ := strconv.Atoi(exp)
		return mant + "E" + strconv.Itoa(e)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// The four-letter words' texts follow ZooKeeper 3.8, so that scripts and
// monitoring that parse them keep working.

func (s *Server) writeSrvr(b *strings.Builder, d srvrData) {
	s.writeStatText(b, d, false, nil)
}

func (s *Server) writeStat(b *strings.Builder, d statData) {
	s.writeStatText(b, d.srvrData, true, d.all)
}

// writeStatText is srvr's text, and stat's, which lists the clients.
func (s *Server) writeStatText(b *strings.Builder, d srvrData, withClients bool, clients []connInfo) {
	fmt.Fprintf(b, "Zookeeper version: %s\n", d.Version)
	if d.ReadOnly {
		b.WriteString("READ-ONLY mode; serving only read-only clients\n")
	}
	if withClients {
		b.WriteString("Clients:\n")
		for _, c := range clients {
			c.write(b)
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	st := d.Stats
	fmt.Fprintf(b, "Latency min/avg/max: %d/%s/%d\n", st.MinLatency, javaDouble(st.AvgLatency), st.MaxLatency)
	fmt.Fprintf(b, "Received: %d\nSent: %d\nConnections: %d\n", st.PacketsReceived, st.PacketsSent, st.NumAliveClientConnections)
	fmt.Fprintf(b, "Outstanding: %d\nZxid: 0x%x\nMode: %s\nNode count: %d\n", st.OutstandingRequests, st.LastProcessedZxid, st.ServerState, d.NodeCount)
	if p := d.ProposalStats; p != nil {
		fmt.Fprintf(b, "Proposal sizes last/min/max: %d/%d/%d\n", p.Last, p.Min, p.Max)
	}
}

func (s *Server) outstanding() int64 { return s.inflight.Load() }

// write is ServerCnxn.dumpConnectionInfo.
func (c connInfo) write(b *strings.Builder) {
	fmt.Fprintf(b, " %s[%d](queued=%d,recved=%d,sent=%d", c.remote, c.InterestOps, c.Queued, c.Recved, c.Sent)
	if si := c.sessionInfo; si != nil {
		fmt.Fprintf(b, ",sid=0x%x,lop=%s,est=%d,to=%d", si.SessionID, si.LastOp, si.Established, si.Timeout)
		if si.LastCxid >= 0 {
			fmt.Fprintf(b, ",lcxid=0x%x", si.LastCxid)
		}
		fmt.Fprintf(b, ",lzxid=0x%x,lresp=%d,llat=%d,minlat=%d,avglat=%s,maxlat=%d",
			si.LastZxid, si.LastResponse, si.LastLatency, si.MinLatency, javaDouble(si.avgLatency), si.MaxLatency)
	}
	b.WriteString(")")
}

func (s *Server) writeCons(b *strings.Builder, d connsData) {
	for _, c := range d.all {
		c.write(b)
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func (s *Server) writeMntr(b *strings.Builder, m mntrLines) {
	for _, kv := range m {
		v := kv.value
		if f, ok := v.(float64); ok {
			v = javaDouble(f)
		}
		fmt.Fprintf(b, "zk_%s\t%v\n", kv.name, v)
	}
}

func (s *Server) writeConf(b *strings.Builder, d confData) {
	fmt.Fprintf(b, "clientPort=%d\nsecureClientPort=%d\n", d.ClientPort, d.secureClientPort)
	fmt.Fprintf(b, "dataDir=%s\ndataDirSize=%d\n", d.DataDir, d.dataDirSize)
	fmt.Fprintf(b, "dataLogDir=%s\ndataLogSize=%d\n", d.DataLogDir, d.dataLogSize)
	fmt.Fprintf(b, "tickTime=%d\nmaxClientCnxns=%d\n", d.TickTime, d.MaxClientCnxns)
	fmt.Fprintf(b, "minSessionTimeout=%d\nmaxSessionTimeout=%d\n", d.MinSessionTimeout, d.MaxSessionTimeout)
	fmt.Fprintf(b, "clientPortListenBacklog=%d\nserverId=%d\n", d.ClientPortListenBacklog, d.ServerID)
}

func (s *Server) writeEnvi(b *strings.Builder, p properties) {
	b.WriteString("Environment:\n")
	for _, kv := range p {
		fmt.Fprintf(b, "%s=%s\n", kv.key, kv.value)
	}
}

func (s *Server) writeDirs(b *strings.Builder, d dirsData) {
	fmt.Fprintf(b, "datadir_size: %d\nlogdir_size: %d\n", d.DataDirSize, d.LogDirSize)
}

func (s *Server) writeWchs(b *strings.Builder, d watchSummary) {
	fmt.Fprintf(b, "%d connections watching %d paths\nTotal watches:%d\n", d.Connections, d.Paths, d.Total)
}

func (s *Server) writeWchc(b *strings.Builder, d wchcData) {
	for _, id := range slices.Sorted(maps.Keys(d.Watches)) {
		fmt.Fprintf(b, "0x%x\n", id)
		for _, p := range d.Watches[id] {
			fmt.Fprintf(b, "\t%s\n", p)
		}
	}
	s.truncated(b, d.complete)
	b.WriteString("\n")
}

func (s *Server) writeWchp(b *strings.Builder, d wchpData) {
	for _, p := range slices.Sorted(maps.Keys(d.Watches)) {
		fmt.Fprintf(b, "%s\n", p)
		for _, id := range d.Watches[p] {
			fmt.Fprintf(b, "\t0x%x\n", id)
		}
	}
	s.truncated(b, d.complete)
	b.WriteString("\n")
}

// writeSessionSets is the session part of dump's text.
func writeSessionSets(b *strings.Builder, d dumpData) {
	const javaDate = "Mon Jan 02 15:04:05 MST 2006"
	b.WriteString("SessionTracker dump:\n")
	fmt.Fprintf(b, "Session Sets (%d)/(%d):\n", len(d.Expiry), d.sessions)
	for _, at := range slices.Sorted(maps.Keys(d.Expiry)) {
		ids := d.Expiry[at]
		fmt.Fprintf(b, "%d expire at %s:\n", len(ids), time.UnixMilli(at).Format(javaDate))
		for _, id := range ids {
			fmt.Fprintf(b, "\t0x%x\n", id)
		}
	}
}

func (s *Server) writeDump(b *strings.Builder, d dumpData) {
	writeSessionSets(b, d)
	complete := d.complete
	b.WriteString("ephemeral nodes dump:\n")
	fmt.Fprintf(b, "Sessions with Ephemerals (%d):\n", len(d.Ephemerals))
	for _, id := range slices.Sorted(maps.Keys(d.Ephemerals)) {
		fmt.Fprintf(b, "0x%x:\n", id)
		for _, p := range d.Ephemerals[id] {
			fmt.Fprintf(b, "\t%s\n", p)
		}
	}
	b.WriteString("Connections dump:\n")
	fmt.Fprintf(b, "Connections Sets (%d)/(%d):\n", min(len(d.conns), 1), len(d.conns))
	for _, c := range d.conns {
		if b.Len() > FourLetterWordMaxOutput {
			complete = false
			break
		}
		fmt.Fprintf(b, "\t%s\n", c)
	}
	s.truncated(b, complete)
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
