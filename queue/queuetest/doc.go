// Package queuetest holds queue tests that need only a server address, so
// that package queue runs them against the in-process server and package
// interop against zkserver and Apache ZooKeeper. It never starts a server
// itself.
package queuetest
