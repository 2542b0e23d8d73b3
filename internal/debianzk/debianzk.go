// Package debianzk finds what Debian's packages of Apache ZooKeeper and
// Curator install, and spells out the classpath a server or client started
// without zkServer.sh needs. The interop tests and zkbench's scale
// comparison share it; it only reads files and never starts anything.
package debianzk

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Where Debian's packages put things.
const (
	JavaDir = "/usr/share/java"
	ConfDir = "/etc/zookeeper/conf"
	// ServletAPI is what Jetty, and so ZooKeeper's AdminServer, needs.
	ServletAPI = "/usr/share/java/servlet-api.jar"
	// ServerMain is the class zkServer.sh runs, standalone or in a quorum
	// depending on zoo.cfg.
	ServerMain = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
)

// ServerClasspath returns the classpath zkEnv.sh would use, spelled out:
// Debian's zookeeper.jar carries its dependencies (jute, netty, slf4j, jetty...)
// in its manifest Class-Path, so those are listed too, and slf4j-simple is
// appended so that the server logs to stderr. The manifest leaves out
// netty-codec and netty-resolver, without which Netty's server and client
// (the only ones that speak TLS) fail on their first connection, so they
// are appended too. The second result lists the named jars that are absent.
// The servlet API comes last when it is installed: Jetty needs it, and
// without it ZooKeeper starts with no AdminServer (it only logs a warning).
func ServerClasspath() (string, []string) {
	cp, missing := Classpath(
		filepath.Join(JavaDir, "zookeeper.jar"),
		filepath.Join(JavaDir, "netty-codec.jar"),
		filepath.Join(JavaDir, "netty-resolver.jar"),
		filepath.Join(JavaDir, "slf4j-simple.jar"),
	)
	if st, err := os.Stat(ServletAPI); err == nil && st.Mode().IsRegular() {
		cp += string(os.PathListSeparator) + ServletAPI
	}
	return cp, missing
}

// Classpath expands jars with their manifest Class-Path entries, keeping the
// order and dropping duplicates; the config dir comes first as in zkEnv.sh.
// The named jars must exist; the second result lists those that do not.
// Manifest entries that do not exist are left out, as the JVM itself
// ignores them (Debian's zookeeper.jar names an absent jline.jar).
func Classpath(jars ...string) (string, []string) {
	entries := []string{ConfDir}
	var missing []string
	seen := map[string]bool{}
	var add func(jar string, required bool)
	add = func(jar string, required bool) {
		if seen[jar] {
			return
		}
		seen[jar] = true
		deps, err := manifestClassPath(jar)
		if err != nil {
			if required {
				missing = append(missing, jar)
			}
			return
		}
		entries = append(entries, jar)
		for _, d := range deps {
			add(d, false)
		}
	}
	for _, j := range jars {
		add(j, true)
	}
	return strings.Join(entries, string(os.PathListSeparator)), missing
}

// manifestClassPath reads the Class-Path attribute of a jar's manifest.
func manifestClassPath(jar string) ([]string, error) {
	zr, err := zip.OpenReader(jar)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", jar, err)
	}
	defer zr.Close()
	f, err := zr.Open("META-INF/MANIFEST.MF")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", jar, err)
	}
	defer f.Close()
	// Manifest lines wrap at 72 bytes; a continuation line starts with a space.
	var attr, cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, " ") {
			cur += line[1:]
			continue
		}
		if strings.HasPrefix(cur, "Class-Path:") {
			attr = cur
		}
		cur = line
	}
	if strings.HasPrefix(cur, "Class-Path:") {
		attr = cur
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("manifest of %s: %w", jar, err)
	}
	return strings.Fields(strings.TrimPrefix(attr, "Class-Path:")), nil
}
