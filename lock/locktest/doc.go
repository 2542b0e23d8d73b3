// Package locktest holds lock tests that take only a server address, so that
// the same bodies run against the in-process ensemble (package lock's tests)
// and against Apache ZooKeeper and zkserver (package interop's tests).
package locktest
