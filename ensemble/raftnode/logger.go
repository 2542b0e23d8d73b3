package raftnode

import (
	"go.etcd.io/raft/v3"
	"go.uber.org/zap"
)

// raftLogger routes raft's printf-style logging into zap, so the package logs
// through the one *zap.Logger it was given and never through raft's default
// stderr logger.
type raftLogger struct {
	*zap.SugaredLogger
}

var _ raft.Logger = raftLogger{}

func newRaftLogger(lg *zap.Logger) raftLogger {
	return raftLogger{lg.Named("raft").Sugar()}
}

func (l raftLogger) Warning(v ...any)                 { l.Warn(v...) }
func (l raftLogger) Warningf(format string, v ...any) { l.Warnf(format, v...) }
