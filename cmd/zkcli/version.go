package main

import (
	"runtime/debug"
	"time"
)

// cliVersion is what version prints, in zkCli.sh's form "<version>-<commit>,
// built on <date> UTC": the ZooKeeper release whose shell zkcli follows,
// then zookit's commit and build time.
func cliVersion() string {
	commit, built := "unknown", "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value[:min(len(s.Value), 12)]
			case "vcs.time":
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					built = t.UTC().Format("2006-01-02 15:04") + " UTC"
				}
			}
		}
	}
	return "3.8.6-zookit-" + commit + ", built on " + built
}
