package server

import (
	"strings"
	"testing"
	"time"

	"github.com/zookit/zookit/ensemble/config"
)

func TestUnhonouredSettingsRefused(t *testing.T) {
	base := "dataDir=" + t.TempDir() + "\nclientPort=0\n"
	for _, tc := range []struct {
		cfg     string
		refused string // "" when New must accept it
	}{
		{"", ""},
		{"localSessionsEnabled=false\n", ""},
		{"localSessionsEnabled=true\n", "localSessionsEnabled=true"},
		{"reconfigEnabled=true\n", ""},
		{"sslQuorumReloadCertFiles=true\n", "sslQuorumReloadCertFiles=true"},
		{"clientPortListenBacklog=-1\n", ""},
		{"clientPortListenBacklog=50\n", "clientPortListenBacklog=50"},
		{"syncEnabled=TRUE\n", ""},
		{"syncEnabled=false\n", "syncEnabled=false"},
		// ZooKeeper compares skipACL with "yes" and leaderServes with "no";
		// any other value is its default, and so is honoured.
		{"skipACL=true\n", ""},
		{"skipACL=yes\n", "zookeeper.skipACL=yes"},
		{"leaderServes=no\n", "zookeeper.leaderServes=no"},
		{"admin.enableServer=false\n", ""},
		{"admin.enableServer=true\n", ""},
		{"admin.forceHttps=false\n", ""},
		{"admin.forceHttps=true\n", "zookeeper.admin.forceHttps=true"},
		{"admin.portUnification=true\n", "zookeeper.admin.portUnification=true"},
		{"admin.needClientAuth=true\n", "zookeeper.admin.needClientAuth=true"},
		{"admin.httpVersion=11\n", ""},
		{"admin.httpVersion=2\n", "zookeeper.admin.httpVersion=2"},
		{"maxCnxns=0\n", ""},
		{"authProvider.1=org.apache.zookeeper.server.auth.DigestAuthenticationProvider\n", ""},
		{"authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n", ""},
		{"authProvider.1=com.example.LdapAuthenticationProvider\n", "zookeeper.authProvider.1"},
		{"enforceQuota=true\n", "zookeeper.enforceQuota=true"},
		// ZooKeeper ignores this zoo.cfg key: it reads -Dreadonlymode.enabled.
		{"readonlymode.enabled=true\n", "zookeeper.readonlymode.enabled"},
		// Tuning knobs of ZooKeeper's Java internals are ignored, as
		// ZooKeeper ignores a property nothing reads.
		{"nio.numWorkerThreads=8\n", ""},
	} {
		cfg, err := config.Parse(strings.NewReader(base+tc.cfg), "zoo.cfg")
		if err != nil {
			t.Fatalf("%q: %v", tc.cfg, err)
		}
		err = checkSettings(cfg)
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%q refused: %v", tc.cfg, err)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("%q: got %v, want an error naming %q", tc.cfg, err, tc.refused)
		}
	}
}

func TestNewRefusesUnhonouredSettings(t *testing.T) {
	cfg, err := config.Parse(strings.NewReader("dataDir="+t.TempDir()+"\nclientPort=0\n"), "zoo.cfg")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Props["zookeeper.localSessionsEnabled"] = "true"
	cfg.Other["localSessionsEnabled"] = "true"
	if s, err := New(cfg); err == nil {
		s.Close()
		t.Fatal("New accepted localSessionsEnabled=true, which zookit does not implement")
	}
}

func TestQuorumListenOnAllIPs(t *testing.T) {
	self := config.Server{ID: 1, Host: "zk1.example", QuorumPort: 2888, ElectionPort: 3888}
	for _, tc := range []struct {
		set              string
		quorum, election string
	}{
		{"", "zk1.example:2888", "zk1.example:3888"},
		{"false", "zk1.example:2888", "zk1.example:3888"},
		{"true", ":2888", ":3888"},
	} {
		cfg := &config.Config{Other: map[string]string{}}
		if tc.set != "" {
			cfg.Other["quorumListenOnAllIPs"] = tc.set
		}
		q, e := listenAddrs(cfg, self)
		if q != tc.quorum || e != tc.election {
			t.Errorf("quorumListenOnAllIPs=%q: bound %s and %s, want %s and %s", tc.set, q, e, tc.quorum, tc.election)
		}
	}
}

// The metricsProvider keys are read as ZooKeeper's Prometheus provider
// reads them, and a value zookit cannot honour is an error.
func TestMetricsSettings(t *testing.T) {
	base := "dataDir=" + t.TempDir() + "\nclientPort=0\n"
	const prom = "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n"
	for _, tc := range []struct {
		cfg  string
		want metricsSettings
		err  string
	}{
		{"", metricsSettings{addr: "0.0.0.0:7000", runtime: true, fsyncWarning: time.Second}, ""},
		{"metricsProvider.className=org.apache.zookeeper.metrics.impl.DefaultMetricsProvider\n", metricsSettings{addr: "0.0.0.0:7000", runtime: true, fsyncWarning: time.Second}, ""},
		{prom, metricsSettings{prometheus: true, addr: "0.0.0.0:7000", runtime: true, fsyncWarning: time.Second}, ""},
		{prom + "metricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort=7001\nmetricsProvider.exportJvmInfo=false\nfsync.warningthresholdms=50\n",
			metricsSettings{prometheus: true, addr: "127.0.0.1:7001", fsyncWarning: 50 * time.Millisecond}, ""},
		{"fsync.warningthresholdms=0\n", metricsSettings{}, "fsync.warningthresholdms"},
		{prom + "metricsProvider.httpPort=seven\n", metricsSettings{}, "metricsProvider.httpPort"},
		{"metricsProvider.className=com.example.StatsdProvider\n", metricsSettings{}, "metricsProvider.className"},
	} {
		cfg, err := config.Parse(strings.NewReader(base+tc.cfg), "zoo.cfg")
		if err != nil {
			t.Fatalf("%q: %v", tc.cfg, err)
		}
		got, err := readMetricsSettings(cfg)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: %v, want an error naming %s", tc.cfg, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("%q: %+v, %v; want %+v", tc.cfg, got, err, tc.want)
		}
	}
}
