// Package electiontest holds election tests that need only a server
// address, so that package election runs them against the in-process server
// and package interop runs the same bodies against zkserver and Apache
// ZooKeeper. It never starts a server itself.
package electiontest
