// Package cachetest holds cache tests that need only a server address, so
// that package cache runs them against the in-process server and package
// interop against zkserver and Apache ZooKeeper. It never starts a server
// itself.
package cachetest
