package interop

import (
	"context"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// javaSources are the Java peers of the interop tests (and of
// cmd/lockbench), embedded so that they compile from any working directory.
//
//go:embed java/*.java
var javaSources embed.FS

// CompileJava compiles java/<name>.java, with the helpers every peer shares
// (java/Peers.java), into dir against Debian's Curator and ZooKeeper jars
// and returns the classpath to run it with; javac and the jars must be
// present (see Require(t, Curator)).
func CompileJava(ctx context.Context, dir, name string) (string, error) {
	cp, missing := CuratorClasspath()
	if len(missing) > 0 {
		return "", fmt.Errorf("curator jars missing: %v", missing)
	}
	var srcs []string
	for _, n := range []string{name, "Peers"} {
		source, err := javaSources.ReadFile("java/" + n + ".java")
		if err != nil {
			return "", err
		}
		src := filepath.Join(dir, n+".java")
		if err := os.WriteFile(src, source, 0o644); err != nil {
			return "", err
		}
		srcs = append(srcs, src)
	}
	args := append([]string{"-d", dir, "-cp", cp}, srcs...)
	if out, err := exec.CommandContext(ctx, "javac", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("javac %s.java: %w\n%s", name, err, out)
	}
	return dir + string(os.PathListSeparator) + cp, nil
}

// LockPeer is java/LockPeer.java compiled against Debian's Curator 5.4.
type LockPeer struct {
	classpath string
}

// CompileLockPeer compiles LockPeer.java into dir.
func CompileLockPeer(ctx context.Context, dir string) (*LockPeer, error) {
	cp, err := CompileJava(ctx, dir, "LockPeer")
	if err != nil {
		return nil, err
	}
	return &LockPeer{classpath: cp}, nil
}

// Command runs LockPeer with args (see the usage in LockPeer.java).
func (p *LockPeer) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "java", append([]string{"-cp", p.classpath, "LockPeer"}, args...)...)
}
