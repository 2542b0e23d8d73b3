// Package proto is ZooKeeper's client wire protocol: jute encoding of the
// records in zookeeper.jute, length-prefixed framing, opcodes and error codes.
//
// It is a leaf package with no I/O beyond the io.Reader/io.Writer it is
// handed. Decoding must never panic or allocate more than the frame holds,
// whatever bytes a client sends: every length is checked against the bytes
// that remain.
package proto
