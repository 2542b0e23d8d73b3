// Package zkwire is a ZooKeeper client speaking the wire protocol directly,
// for zookit's tools that need every opcode; recipes use go-zk through
// package recipes.
//
// A Client keeps one session across connections: it dials the servers of a
// connect string in turn, pipelines requests over one reader/writer
// goroutine pair per connection, pings at a third of the negotiated session
// timeout, and after a reconnect replays its auth packets and re-registers
// its watches (setWatches2) before any new request. Watch and session events
// arrive in order on Events.
//
// Decoding never panics on server bytes: frames are bounded by MaxBuffer and
// every record goes through package proto's checked decoder.
package zkwire
