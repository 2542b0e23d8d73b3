package raftnode

import (
	"fmt"
	"hash/crc32"
	"os"

	"go.etcd.io/etcd/server/v3/etcdserver/api/snap"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// snapCRC is the table etcd's snap package checksums snapshot files with.
var snapCRC = crc32.MakeTable(crc32.Castagnoli)

// readSnap reads a snapshot file written by etcd's Snapshotter and checks
// it as snap.Read does. snap.Read unmarshals the file twice (the snappb
// envelope, then the raftpb.Snapshot in it), and each proto.Unmarshal
// copies the state machine data: at a million znodes that is two fresh
// 100 MB allocations, paid for in page faults, on every start. Here the
// returned snapshot's Data is a sub-slice of the one buffer the file is
// read into.
func readSnap(path string) (*raftpb.Snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("raftnode: read snapshot file: %w", err)
	}
	s, err := parseSnap(b)
	if err != nil {
		return nil, fmt.Errorf("raftnode: snapshot file %s: %w", path, err)
	}
	return s, nil
}

// parseSnap decodes the contents of a snapshot file. It follows protobuf's
// rules as proto.Unmarshal would apply them to the two messages, field by
// field: the last of a repeated scalar field wins, repeated message fields
// merge, unknown fields and fields of an unexpected wire type are skipped.
func parseSnap(b []byte) (*raftpb.Snapshot, error) {
	if len(b) == 0 {
		return nil, snap.ErrEmptySnapshot
	}
	// message snapshot { optional uint32 crc = 1; optional bytes data = 2; }
	var (
		crc  uint32
		body []byte
	)
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, p []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			crc = uint32(v)
		case num == 2 && typ == protowire.BytesType:
			body = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decode snapshot envelope: %w", err)
	}
	if len(body) == 0 || crc == 0 {
		return nil, snap.ErrEmptySnapshot
	}
	if got := crc32.Update(0, snapCRC, body); got != crc {
		return nil, fmt.Errorf("%w: file says %08x, data has %08x", snap.ErrCRCMismatch, crc, got)
	}
	// message Snapshot { optional bytes data = 1; optional SnapshotMetadata metadata = 2; }
	s := &raftpb.Snapshot{}
	err = eachField(body, func(num protowire.Number, typ protowire.Type, _ uint64, p []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			s.Data = p
		case num == 2 && typ == protowire.BytesType:
			if s.Metadata == nil {
				s.Metadata = &raftpb.SnapshotMetadata{}
			}
			return proto.UnmarshalOptions{Merge: true}.Unmarshal(p, s.Metadata)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decode raft snapshot: %w", err)
	}
	return s, nil
}

// eachField calls f for every field of the protobuf message b in order,
// with the value of a varint field or the bytes (a sub-slice of b) of a
// length-delimited one.
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, v uint64, p []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		if !num.IsValid() {
			return fmt.Errorf("invalid field number %d", num)
		}
		b = b[n:]
		var (
			v uint64
			p []byte
		)
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			p, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, typ, v, p); err != nil {
			return err
		}
	}
	return nil
}
