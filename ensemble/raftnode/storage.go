package raftnode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/fileutil"
	"go.etcd.io/etcd/server/v3/etcdserver/api/snap"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
)

// The group is bootstrapped with a snapshot at this index and term holding
// the initial membership (as raft's Bootstrap doc recommends), instead of
// conf-change entries; it carries no state machine data.
const (
	bootstrapIndex = 1
	bootstrapTerm  = 1
)

// disk is the durable half of a node: the WAL and the snapshot directory.
type disk struct {
	lg      *zap.Logger
	wal     *wal.WAL
	snaps   *snap.Snapshotter
	snapDir string
	walDir  string
	// last is the newest snapshot on disk that the WAL vouches for.
	last atomic.Pointer[SnapshotInfo]
}

// SnapshotInfo describes a snapshot on disk.
type SnapshotInfo struct {
	Index uint64    // the log index, and so the zxid, it holds the state at
	Saved time.Time // when it was written
}

// recovered is what a node finds on disk when it starts.
type recovered struct {
	snapshot  *raftpb.Snapshot
	hardState *raftpb.HardState
	entries   []*raftpb.Entry
}

func walMetadata(id uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, id)
}

// openDisk opens the WAL and snapshots of cfg, bootstrapping them first if the
// WAL does not exist yet.
func openDisk(cfg Config) (*disk, *recovered, error) {
	lg := cfg.Logger
	if err := fileutil.TouchDirAll(lg, cfg.SnapDir); err != nil {
		return nil, nil, fmt.Errorf("raftnode: create snapshot dir: %w", err)
	}
	// The WAL's parent is typically the operator's dataLogDir: create it if
	// need be, but leave its permissions alone.
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(cfg.WALDir)), fileutil.PrivateDirMode); err != nil {
		return nil, nil, fmt.Errorf("raftnode: create WAL parent dir: %w", err)
	}
	// A snapshot of our own that was being written when the process
	// stopped is incomplete (see writeSnap).
	tmps, err := namesWithSuffix(cfg.SnapDir, ".snap.tmp")
	if err != nil {
		return nil, nil, err
	}
	for _, name := range tmps {
		if err := os.Remove(filepath.Join(cfg.SnapDir, name)); err != nil {
			return nil, nil, fmt.Errorf("raftnode: remove incomplete snapshot: %w", err)
		}
	}
	d := &disk{lg: lg, snaps: snap.New(lg, cfg.SnapDir), snapDir: cfg.SnapDir, walDir: cfg.WALDir}
	if !wal.Exist(cfg.WALDir) {
		bootstrap := d.bootstrap
		if cfg.Join {
			bootstrap = d.createEmpty
		}
		if err := bootstrap(cfg); err != nil {
			return nil, nil, err
		}
	}
	rec, err := d.open(cfg.ID)
	if err != nil {
		return nil, nil, err
	}
	return d, rec, nil
}

// bootstrap writes the initial membership as a snapshot plus a WAL that
// references it.
func (d *disk) bootstrap(cfg Config) error {
	cs := &raftpb.ConfState{Voters: cfg.Peers, Learners: cfg.Learners}
	s := &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{
		Index: new(uint64(bootstrapIndex)), Term: new(uint64(bootstrapTerm)), ConfState: cs,
	}}
	if err := d.snaps.SaveSnap(s); err != nil {
		return fmt.Errorf("raftnode: save bootstrap snapshot: %w", err)
	}
	return d.createWAL(cfg, func(w *wal.WAL) error {
		return errors.Join(
			w.SaveSnapshot(walSnapshot(s)),
			w.Save(&raftpb.HardState{Term: new(uint64(bootstrapTerm)), Commit: new(uint64(bootstrapIndex))}, nil),
		)
	})
}

// createEmpty writes the WAL of a joining node: no membership and no
// entries, which it will learn from the leader's snapshot.
func (d *disk) createEmpty(cfg Config) error {
	return d.createWAL(cfg, func(*wal.WAL) error { return nil })
}

// createWAL builds a WAL with fill under a temporary name and renames it
// into place, so that a crash leaves either no WAL or a complete one.
func (d *disk) createWAL(cfg Config, fill func(*wal.WAL) error) error {
	tmp := filepath.Clean(cfg.WALDir) + ".bootstrap"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("raftnode: remove stale bootstrap WAL: %w", err)
	}
	w, err := wal.Create(d.lg, tmp, walMetadata(cfg.ID))
	if err != nil {
		return fmt.Errorf("raftnode: create WAL: %w", err)
	}
	if err := errors.Join(fill(w), w.Close()); err != nil {
		return fmt.Errorf("raftnode: write bootstrap WAL: %w", err)
	}
	if err := os.Rename(tmp, cfg.WALDir); err != nil {
		return fmt.Errorf("raftnode: install bootstrap WAL: %w", err)
	}
	return syncDir(filepath.Dir(filepath.Clean(cfg.WALDir)))
}

// open loads the newest snapshot the WAL vouches for and the WAL after it.
// A torn record at the WAL tail (a crash mid-write) is truncated once, as
// etcd does; anything else is an error.
func (d *disk) open(id uint64) (*recovered, error) {
	for repaired := false; ; repaired = true {
		rec, err := d.read(id)
		if err == nil || repaired || !errors.Is(err, io.ErrUnexpectedEOF) {
			return rec, err
		}
		d.lg.Warn("repairing torn WAL tail", zap.String("dir", d.walDir), zap.Error(err))
		if !wal.Repair(d.lg, d.walDir) {
			return nil, fmt.Errorf("raftnode: repair WAL: %w", err)
		}
	}
}

// walSegmentBytes replaces etcd's 64 MB WAL segments: a start reads the
// whole segment that holds the newest snapshot's index, mostly entries the
// snapshot already covers, so the segment size bounds that read; a segment
// is preallocated, which costs no more when it is small.
const walSegmentBytes = 8 << 20

func init() { wal.SegmentSizeBytes = walSegmentBytes }

// errUnvouched says the newest snapshot file cannot be used as it is: the
// WAL does not vouch for it, or it does not read back.
var errUnvouched = errors.New("raftnode: newest snapshot file unusable")

// read recovers from the newest snapshot file when the WAL vouches for it,
// which only takes reading the WAL from the segment that holds its index,
// and otherwise from the newest the whole WAL vouches for.
//
// The newest file must not simply be trusted: writeSnapshot writes the file
// before the WAL record that vouches for it, so a crash between the two
// leaves a complete-looking file of state whose entries may never have
// been durable, or committed. ReadAll at that file's index tells: it fails
// with ErrSnapshotNotFound when the record is missing and with
// ErrSnapshotMismatch when the record at that index has another term. As
// ValidSnapshotEntries does, a record above the WAL's commit index is not
// trusted either.
func (d *disk) read(id uint64) (*recovered, error) {
	rec, err := d.readNewest(id)
	if !errors.Is(err, errUnvouched) {
		return rec, err
	}
	d.lg.Warn("scanning the whole WAL for the newest snapshot it vouches for", zap.Error(err))
	return d.readScanned(id)
}

func (d *disk) readNewest(id uint64) (*recovered, error) {
	names, err := namesWithSuffix(d.snapDir, ".snap")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: none in %s", errUnvouched, d.snapDir)
	}
	name := names[len(names)-1]
	var term, index uint64
	if _, err := fmt.Sscanf(name, "%016x-%016x.snap", &term, &index); err != nil {
		return nil, fmt.Errorf("%w: parse name %q: %w", errUnvouched, name, err)
	}
	// The file is read and checked while the WAL is: one is I/O and a CRC,
	// the other mostly decoding.
	type loaded struct {
		s   *raftpb.Snapshot
		err error
	}
	snapc := make(chan loaded, 1)
	go func() {
		s, err := readSnap(filepath.Join(d.snapDir, name))
		snapc <- loaded{s, err}
	}()
	w, hs, ents, err := d.openWAL(id, &walpb.Snapshot{Index: new(index), Term: new(term)})
	l := <-snapc
	switch {
	case errors.Is(err, wal.ErrSnapshotNotFound) || errors.Is(err, wal.ErrSnapshotMismatch):
		return nil, fmt.Errorf("%w: %s: %w", errUnvouched, name, err)
	case err != nil:
		return nil, err
	case hs.GetCommit() < index:
		err = fmt.Errorf("%w: %s is past the WAL's commit index %d", errUnvouched, name, hs.GetCommit())
	case l.err != nil:
		// LoadNewestAvailable, on the fallback path, sets it aside.
		err = fmt.Errorf("%w: %w", errUnvouched, l.err)
	case l.s.GetMetadata().GetIndex() != index || l.s.GetMetadata().GetTerm() != term:
		err = fmt.Errorf("%w: %s holds %d/%d", errUnvouched, name, l.s.GetMetadata().GetIndex(), l.s.GetMetadata().GetTerm())
	}
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	d.wal = w
	d.loaded(l.s)
	return &recovered{snapshot: l.s, hardState: hs, entries: ents}, nil
}

// readScanned is read's fallback, which reads every WAL file to learn which
// snapshots the WAL vouches for.
func (d *disk) readScanned(id uint64) (*recovered, error) {
	walSnaps, err := wal.ValidSnapshotEntries(d.lg, d.walDir)
	if err != nil {
		return nil, fmt.Errorf("raftnode: list WAL snapshots: %w", err)
	}
	s, err := d.snaps.LoadNewestAvailable(walSnaps)
	if errors.Is(err, snap.ErrNoSnapshot) && slices.IndexFunc(walSnaps, func(s *walpb.Snapshot) bool { return s.GetIndex() > 0 }) < 0 {
		// A joining node that has not received the leader's snapshot yet:
		// its WAL vouches for no snapshot but the empty one.
		s, err = &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{ConfState: &raftpb.ConfState{}}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("raftnode: load snapshot: %w", err)
	}
	w, hs, ents, err := d.openWAL(id, &walpb.Snapshot{Index: new(s.GetMetadata().GetIndex()), Term: new(s.GetMetadata().GetTerm())})
	if err != nil {
		return nil, err
	}
	if err := d.dropUnvouched(s.GetMetadata()); err != nil {
		return nil, errors.Join(err, w.Close())
	}
	d.wal = w
	d.loaded(s)
	return &recovered{snapshot: s, hardState: hs, entries: ents}, nil
}

// dropUnvouched deletes the snapshot files that sort after the one a start
// recovered from, m: the WAL does not vouch for them, so they are left by a
// crash within writeSnapshot. Left in place, each start would scan the
// whole WAL again, and purge, which keeps the newest files by name, could
// keep them and delete the one the WAL vouches for.
func (d *disk) dropUnvouched(m *raftpb.SnapshotMetadata) error {
	names, err := namesWithSuffix(d.snapDir, ".snap")
	if err != nil {
		return err
	}
	ours := filepath.Base(d.snapPath(m))
	for _, name := range names {
		if name <= ours {
			continue
		}
		if err := os.Remove(filepath.Join(d.snapDir, name)); err != nil {
			return fmt.Errorf("raftnode: remove unvouched snapshot: %w", err)
		}
		d.lg.Warn("removed a snapshot file the WAL does not vouch for", zap.String("file", name))
	}
	return nil
}

// openWAL opens the WAL at snapshot at and reads it to the end.
func (d *disk) openWAL(id uint64, at *walpb.Snapshot) (*wal.WAL, *raftpb.HardState, []*raftpb.Entry, error) {
	w, err := wal.Open(d.lg, d.walDir, at)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("raftnode: open WAL: %w", err)
	}
	meta, hs, ents, err := w.ReadAll()
	if err != nil {
		return nil, nil, nil, errors.Join(fmt.Errorf("raftnode: read WAL: %w", err), w.Close())
	}
	if len(meta) != 8 || binary.BigEndian.Uint64(meta) != id {
		w.Close()
		return nil, nil, nil, fmt.Errorf("raftnode: WAL in %s was written by another node (metadata %x), not by %d", d.walDir, meta, id)
	}
	return w, hs, ents, nil
}

func walSnapshot(s *raftpb.Snapshot) *walpb.Snapshot {
	m := s.GetMetadata()
	return &walpb.Snapshot{Index: new(m.GetIndex()), Term: new(m.GetTerm()), ConfState: m.GetConfState()}
}

// writeSnapshot makes a snapshot durable, ours streamed from the state
// machine or a leader's from its data. The file goes first: a crash after
// it leaves an orphan file the WAL does not vouch for, which a start
// ignores (see read), whereas the other order could leave a WAL record
// naming a missing file.
func (d *disk) writeSnapshot(m *raftpb.SnapshotMetadata, st Frozen) error {
	if err := writeSnap(d.snapPath(m), m, st); err != nil {
		return err
	}
	if err := d.wal.SaveSnapshot(walSnapshot(&raftpb.Snapshot{Metadata: m})); err != nil {
		return fmt.Errorf("raftnode: record snapshot in WAL: %w", err)
	}
	d.last.Store(&SnapshotInfo{Index: m.GetIndex(), Saved: time.Now()})
	return nil
}

// loaded records the snapshot a start recovered from, as written when its
// file was.
func (d *disk) loaded(s *raftpb.Snapshot) {
	m := s.GetMetadata()
	info := SnapshotInfo{Index: m.GetIndex()}
	if fi, err := os.Stat(d.snapPath(m)); err == nil {
		info.Saved = fi.ModTime()
	}
	d.last.Store(&info)
}

// snapPath is the file etcd's snap package saves the snapshot with
// metadata m in.
func (d *disk) snapPath(m *raftpb.SnapshotMetadata) string {
	return filepath.Join(d.snapDir, fmt.Sprintf("%016x-%016x.snap", m.GetTerm(), m.GetIndex()))
}

// loadSnapshot reads the snapshot with metadata m back from its file. It
// reads that one file, not the newest with the Snapshotter's Load: Load
// renames a file it cannot read to *.broken.
func (d *disk) loadSnapshot(m *raftpb.SnapshotMetadata) (*raftpb.Snapshot, error) {
	s, err := readSnap(d.snapPath(m))
	if err != nil {
		return nil, fmt.Errorf("raftnode: read snapshot at %d: %w", m.GetIndex(), err)
	}
	if got := s.GetMetadata(); got.GetIndex() != m.GetIndex() || got.GetTerm() != m.GetTerm() {
		return nil, fmt.Errorf("raftnode: snapshot file for %d/%d holds %d/%d", m.GetIndex(), m.GetTerm(), got.GetIndex(), got.GetTerm())
	}
	return s, nil
}

// purge deletes all but the newest retain snapshot files, then the WAL files
// that hold only entries older than the oldest snapshot kept. WAL files still
// locked by the open WAL are never deleted.
func (d *disk) purge(retain int) error {
	snaps, err := namesWithSuffix(d.snapDir, ".snap")
	if err != nil {
		return err
	}
	if len(snaps) == 0 {
		return nil
	}
	cut := max(len(snaps)-retain, 0)
	for _, name := range snaps[:cut] {
		if err := os.Remove(filepath.Join(d.snapDir, name)); err != nil {
			return fmt.Errorf("raftnode: purge snapshot: %w", err)
		}
		d.lg.Info("purged snapshot", zap.String("file", name))
	}
	var term, oldest uint64
	if _, err := fmt.Sscanf(snaps[cut], "%016x-%016x.snap", &term, &oldest); err != nil {
		return fmt.Errorf("raftnode: parse snapshot name %q: %w", snaps[cut], err)
	}
	wals, err := namesWithSuffix(d.walDir, ".wal")
	if err != nil {
		return err
	}
	// The WAL opened at index oldest starts with the last file whose first
	// index is <= oldest; everything before that file is unneeded.
	need := 0
	for i, name := range wals {
		var seq, first uint64
		if _, err := fmt.Sscanf(name, "%016x-%016x.wal", &seq, &first); err != nil {
			return fmt.Errorf("raftnode: parse WAL name %q: %w", name, err)
		}
		if first <= oldest {
			need = i
		}
	}
	for _, name := range wals[:need] {
		path := filepath.Join(d.walDir, name)
		l, err := fileutil.TryLockFile(path, os.O_WRONLY, fileutil.PrivateFileMode)
		if err != nil {
			// Still in use by the WAL; so are all later files.
			break
		}
		err = errors.Join(os.Remove(path), l.Close())
		if err != nil {
			return fmt.Errorf("raftnode: purge WAL file: %w", err)
		}
		d.lg.Info("purged WAL file", zap.String("file", name))
	}
	return nil
}

// namesWithSuffix lists dir's file names ending in suffix, sorted; for both
// snapshot and WAL files that is oldest first.
func namesWithSuffix(dir, suffix string) ([]string, error) {
	names, err := fileutil.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("raftnode: list %s: %w", dir, err)
	}
	out := names[:0]
	for _, n := range names {
		if strings.HasSuffix(n, suffix) {
			out = append(out, n)
		}
	}
	return out, nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("raftnode: open dir for sync: %w", err)
	}
	return errors.Join(fileutil.Fsync(f), f.Close())
}
