package raftnode

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"go.etcd.io/etcd/server/v3/etcdserver/api/snap"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// snapFile is the file etcd's Snapshotter writes for s.
func snapFile(tb testing.TB, s *raftpb.Snapshot) []byte {
	tb.Helper()
	dir := tb.TempDir()
	if err := snap.New(zap.NewNop(), dir).SaveSnap(s); err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile((&disk{snapDir: dir}).snapPath(s.GetMetadata()))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func testSnapshot(data string) *raftpb.Snapshot {
	return &raftpb.Snapshot{Data: []byte(data), Metadata: &raftpb.SnapshotMetadata{
		Index: new(uint64(1234)), Term: new(uint64(7)),
		ConfState: &raftpb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}},
	}}
}

// checkAgainstEtcd parses b with readSnap and with etcd's snap.Read, which
// must agree: both fail, or both return the same snapshot, unknown fields
// aside. readSnap's data
// must then lie within the file buffer parseSnap was given.
func checkAgainstEtcd(t *testing.T, b []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.snap")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	want, werr := snap.Read(zap.NewNop(), path)
	got, err := parseSnap(b)
	if (err == nil) != (werr == nil) {
		t.Fatalf("parseSnap: %v; etcd's snap.Read: %v", err, werr)
	}
	if err != nil {
		return
	}
	// Unknown fields are skipped, not kept as proto.Unmarshal keeps them.
	want.ProtoReflect().SetUnknown(nil)
	if !proto.Equal(got, want) {
		t.Fatalf("parseSnap = %v, snap.Read = %v", got, want)
	}
	if d := got.GetData(); len(d) > 0 {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		if p := uintptr(unsafe.Pointer(unsafe.SliceData(d))); p < start || p+uintptr(len(d)) > start+uintptr(len(b)) {
			t.Fatal("the snapshot data is a copy, not a sub-slice of the file")
		}
	}
}

func TestReadSnapMatchesEtcd(t *testing.T) {
	noMeta := &raftpb.Snapshot{Data: []byte("no metadata")}
	body, err := proto.Marshal(noMeta)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		s    *raftpb.Snapshot
		file []byte
	}{
		{testSnapshot("the state machine's data"), nil},
		{testSnapshot(""), nil},
		{noMeta, seal(body)}, // SaveSnap writes no file without metadata
	} {
		if tc.file == nil {
			tc.file = snapFile(t, tc.s)
		}
		checkAgainstEtcd(t, tc.file)
		got, err := parseSnap(tc.file)
		if err != nil || !proto.Equal(got, tc.s) {
			t.Fatalf("parseSnap = %v, %v; want %v", got, err, tc.s)
		}
	}
}

// Every truncation of a snapshot file, and every byte of it flipped, is
// judged as etcd's snap.Read judges it; no truncation reads back.
func TestReadSnapDamage(t *testing.T) {
	b := snapFile(t, testSnapshot("the state machine's data"))
	for n := range len(b) {
		if _, err := parseSnap(b[:n:n]); err == nil {
			t.Fatalf("a snapshot file truncated to %d of %d bytes parsed", n, len(b))
		}
	}
	for i := range b {
		flipped := append([]byte(nil), b...)
		flipped[i] ^= 0xff
		checkAgainstEtcd(t, flipped)
	}
	if _, err := parseSnap(nil); !errors.Is(err, snap.ErrEmptySnapshot) {
		t.Fatalf("parseSnap(empty) = %v, want ErrEmptySnapshot", err)
	}
	b[len(b)-1] ^= 1
	if _, err := parseSnap(b); !errors.Is(err, snap.ErrCRCMismatch) {
		t.Fatalf("parseSnap(last byte flipped) = %v, want ErrCRCMismatch", err)
	}
}

// FuzzReadSnap compares readSnap with etcd's snap.Read on arbitrary files
// and, with sealed set, on arbitrary raft snapshot encodings in an envelope
// with the right CRC, which random files would hardly ever reach.
func FuzzReadSnap(f *testing.F) {
	full := snapFile(f, testSnapshot("the state machine's data"))
	body, err := proto.Marshal(testSnapshot("data"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full, false)
	f.Add(full[:len(full)/2], false)
	f.Add(snapFile(f, testSnapshot("")), false)
	f.Add([]byte{}, false)
	f.Add(body, true)
	f.Add(body[:len(body)-3], true)
	f.Fuzz(func(t *testing.T, b []byte, sealed bool) {
		if sealed {
			b = seal(b)
		}
		checkAgainstEtcd(t, b)
	})
}

// seal wraps body in a snapshot file envelope, as SaveSnap does.
func seal(body []byte) []byte {
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(crc32.Update(0, snapCRC, body)))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, body)
}

// badFrozen claims size bytes and writes what writes says, then fails
// with err.
type badFrozen struct {
	size   int
	writes []byte
	err    error
}

func (b badFrozen) Size() int { return b.size }

func (b badFrozen) WriteTo(w io.Writer) (int64, error) {
	n, _ := w.Write(b.writes)
	return int64(n), b.err
}

// writeSnap streams a state past several syncs into a file that etcd's
// own reader and readSnap both take, with the data and metadata intact.
func TestWriteSnapReadsBack(t *testing.T) {
	data := make([]byte, snapSyncEvery+snapSyncEvery/2)
	for i := range data {
		data[i] = byte(i * 7)
	}
	md := &raftpb.SnapshotMetadata{Index: new(uint64(42)), Term: new(uint64(3)), ConfState: &raftpb.ConfState{Voters: []uint64{1, 2, 3}}}
	d := &disk{snapDir: t.TempDir()}
	path := d.snapPath(md)
	if err := writeSnap(path, md, Encoded(func() ([]byte, error) { return data, nil })); err != nil {
		t.Fatal(err)
	}
	theirs, err := snap.Read(zap.NewNop(), path)
	if err != nil {
		t.Fatalf("etcd's reader: %v", err)
	}
	ours, err := readSnap(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*raftpb.Snapshot{theirs, ours} {
		if !bytes.Equal(s.GetData(), data) || !proto.Equal(s.GetMetadata(), md) {
			t.Fatalf("read back %d bytes, metadata %v", len(s.GetData()), s.GetMetadata())
		}
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left: %v", err)
	}
}

// A state machine that fails, or writes other than the size it gave,
// leaves no file behind and is told from a disk failure.
func TestWriteSnapStateFailure(t *testing.T) {
	md := &raftpb.SnapshotMetadata{Index: new(uint64(7)), Term: new(uint64(1))}
	for name, st := range map[string]Frozen{
		"error":      badFrozen{size: 10, writes: []byte("12345"), err: errors.New("broken")},
		"short":      badFrozen{size: 10, writes: []byte("12345")},
		"long":       badFrozen{size: 3, writes: []byte("12345")},
		"encode err": Encoded(func() ([]byte, error) { return nil, errors.New("broken") }),
	} {
		dir := t.TempDir()
		path := (&disk{snapDir: dir}).snapPath(md)
		if err := writeSnap(path, md, st); !errors.Is(err, errEncode) {
			t.Errorf("%s: %v, want errEncode", name, err)
		}
		if names, _ := os.ReadDir(dir); len(names) != 0 {
			t.Errorf("%s: left %v", name, names)
		}
	}
	// A directory that cannot take the file is the disk's failure.
	if err := writeSnap(filepath.Join(t.TempDir(), "missing", "x.snap"), md, Encoded(func() ([]byte, error) { return []byte("x"), nil })); err == nil || errors.Is(err, errEncode) {
		t.Errorf("unwritable directory: %v", err)
	}
}
