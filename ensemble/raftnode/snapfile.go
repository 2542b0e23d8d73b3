package raftnode

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"

	"go.etcd.io/etcd/client/pkg/v3/fileutil"

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

// errEncode marks a snapshot the state machine failed to write out, which
// is not a storage failure: the WAL still holds every entry, and the node
// tries again later.
var errEncode = errors.New("raftnode: state machine snapshot failed")

// snapSyncEvery is how much of a snapshot file is written between syncs. A
// file of hundreds of megabytes flushed in one fsync would hold the disk
// while the WAL's own fsyncs, which every write waits for, queue behind it.
const snapSyncEvery = 16 << 20

// writeSnap writes the snapshot of st with metadata md to path, in the
// format of etcd's Snapshotter (which readSnap and snap.Read read), without
// holding the state's encoding in memory: the envelope's lengths come from
// st.Size, the data streams from st.WriteTo, and the CRC, which protobuf
// lets follow the data, is written last. The file appears under path only
// once complete and synced.
func writeSnap(path string, md *raftpb.SnapshotMetadata, st Frozen) (err error) {
	mdBytes, err := proto.Marshal(md)
	if err != nil {
		return fmt.Errorf("raftnode: encode snapshot metadata: %w", err)
	}
	size := st.Size()
	// message Snapshot { bytes data = 1; SnapshotMetadata metadata = 2; }
	dataHead := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.BytesType), uint64(size))
	tail := protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.BytesType), uint64(len(mdBytes)))
	tail = append(tail, mdBytes...)
	// message snapshot { uint32 crc = 1; bytes data = 2; }
	head := protowire.AppendTag(nil, 2, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(len(dataHead)+size+len(tail)))

	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return fmt.Errorf("raftnode: create snapshot file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	file := &syncingWriter{f: f}
	buf := bufio.NewWriterSize(file, 1<<20)
	crc := crc32.New(snapCRC)
	body := io.MultiWriter(buf, crc)
	buf.Write(head)
	body.Write(dataHead)
	n, werr := st.WriteTo(body)
	switch {
	case file.err != nil:
		return fmt.Errorf("raftnode: write snapshot file: %w", file.err)
	case werr != nil:
		return fmt.Errorf("%w: %w", errEncode, werr)
	case n != int64(size):
		return fmt.Errorf("%w: wrote %d bytes of a state of %d", errEncode, n, size)
	}
	body.Write(tail)
	buf.Write(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), uint64(crc.Sum32())))
	if err := buf.Flush(); err != nil {
		return fmt.Errorf("raftnode: write snapshot file: %w", err)
	}
	if err := fileutil.Fsync(f); err != nil {
		return fmt.Errorf("raftnode: sync snapshot file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("raftnode: close snapshot file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("raftnode: name snapshot file: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// syncingWriter writes to f, syncing every snapSyncEvery bytes, and keeps
// the first error, which tells a failing disk from a failing state machine.
type syncingWriter struct {
	f        *os.File
	unsynced int
	err      error
}

func (w *syncingWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	if err == nil {
		if w.unsynced += n; w.unsynced >= snapSyncEvery {
			w.unsynced, err = 0, fileutil.Fdatasync(w.f)
		}
	}
	w.err = err
	return n, err
}

// Encoded is a Frozen whose encoding is made in memory, once, by encode:
// enough for a state machine small enough to copy.
func Encoded(encode func() ([]byte, error)) Frozen { return &encoded{encode: encode} }

type encoded struct {
	encode func() ([]byte, error)
	once   sync.Once
	data   []byte
	err    error
}

func (e *encoded) load() ([]byte, error) {
	e.once.Do(func() { e.data, e.err = e.encode() })
	return e.data, e.err
}

func (e *encoded) Size() int {
	b, _ := e.load()
	return len(b)
}

func (e *encoded) WriteTo(w io.Writer) (int64, error) {
	b, err := e.load()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	return int64(n), err
}
