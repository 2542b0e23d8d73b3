package interop

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// lockPeerSource is Curator's side of the lock interop tests and of
// cmd/lockbench, embedded so that it compiles from any working directory.
//
//go:embed java/LockPeer.java
var lockPeerSource []byte

// LockPeer is java/LockPeer.java compiled against Debian's Curator 5.4.
type LockPeer struct {
	classpath string
}

// CompileLockPeer compiles LockPeer.java into dir; javac and the Curator
// jars must be present (see Require(t, Curator)).
func CompileLockPeer(ctx context.Context, dir string) (*LockPeer, error) {
	cp, missing := CuratorClasspath()
	if len(missing) > 0 {
		return nil, fmt.Errorf("curator jars missing: %v", missing)
	}
	src := filepath.Join(dir, "LockPeer.java")
	if err := os.WriteFile(src, lockPeerSource, 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, "javac", "-d", dir, "-cp", cp, src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("javac LockPeer.java: %w\n%s", err, out)
	}
	return &LockPeer{classpath: dir + string(os.PathListSeparator) + cp}, nil
}

// Command runs LockPeer with args (see the usage in LockPeer.java).
func (p *LockPeer) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "java", append([]string{"-cp", p.classpath, "LockPeer"}, args...)...)
}
