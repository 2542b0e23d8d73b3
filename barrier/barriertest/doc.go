// Package barriertest holds barrier tests that take only a server address,
// so that the same bodies run against the in-process ensemble (package
// barrier's tests) and against Apache ZooKeeper and zkserver (package
// interop's tests), and the member that interop runs beside Curator's.
package barriertest
