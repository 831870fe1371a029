package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

const (
	// BlockSize is the unit records are aligned and padded to.
	BlockSize = 4096
	// HeaderSize is the bytes of a record before its payload.
	HeaderSize = 24
)

var (
	// ErrFull means a record does not fit in what is left of the log before the next
	// checkpoint (or at all).
	ErrFull = errors.New("wal full")
	// ErrCorrupt means the log is damaged before its end: a record is unreadable while a
	// later one is intact, which a torn write cannot do.
	ErrCorrupt = errors.New("write-ahead log corrupt")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Hooks let tests see and fail what the log does where a real disk cannot fail on
// demand. The zero value does nothing.
type Hooks struct {
	// BeforeSync runs after a record is written and before it is synced; its error
	// fails the sync: the worst case, a record that may be intact on disk whose writer
	// is told it failed.
	BeforeSync func() error
	// Synced is told every file and directory OpenLog syncs.
	Synced func(path string)
}

// Log is an open write-ahead log. It is not safe for concurrent use: one writer (the
// journal's syncer) reserves, writes and syncs records in lsn order.
type Log struct {
	f     *os.File
	path  string
	size  int64
	id    uint64
	off   int64  // where the next record goes
	lsn   uint64 // the last record reserved
	hooks Hooks
}

// OpenLog opens the log at path, creating and zero-filling it to size (rounded down to
// BlockSize) if it is smaller, for the database whose id is id and whose last
// checkpoint holds lsn. It fsyncs the file and its directory at every open: a crash
// between a zero-fill and its fsync leaves a file of full size whose blocks were never
// made durable. Writing starts at offset 0: everything before is checkpointed.
func OpenLog(path string, size int64, id, lsn uint64, hooks Hooks) (*Log, error) {
	size = size / BlockSize * BlockSize
	if size < 2*BlockSize {
		return nil, fmt.Errorf("wal %s: size %d is below the minimum %d", path, size, 2*BlockSize)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open wal %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open wal %s: %w", path, err)
	}
	if st.Size() < size {
		if err := zeroFill(f, st.Size(), size); err != nil {
			f.Close()
			os.Remove(path)
			return nil, fmt.Errorf("allocate wal %s (%d bytes): %w", path, size, err)
		}
	}
	l := &Log{f: f, path: path, size: size, id: id, lsn: lsn, hooks: hooks}
	l.synced(path)
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("sync wal %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	l.synced(dir)
	if err := SyncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

func (l *Log) synced(path string) {
	if l.hooks.Synced != nil {
		l.hooks.Synced(path)
	}
}

// zeroFill writes zeros from off to size: real blocks, not a sparse file or unwritten
// extents, whose first write would make fdatasync journal metadata. OpenLog syncs.
func zeroFill(f *os.File, off, size int64) error {
	zero := make([]byte, 1<<20)
	for off < size {
		n := min(int64(len(zero)), size-off)
		if _, err := f.WriteAt(zero[:n], off); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// SyncDir fsyncs a directory, making the names created, renamed or removed in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// Reserve takes the place of the next record, of n payload bytes: its offset and lsn.
// ErrFull says it does not fit before the next checkpoint.
func (l *Log) Reserve(n int) (off int64, lsn uint64, err error) {
	padded := int64((HeaderSize + n + BlockSize - 1) / BlockSize * BlockSize)
	if l.off+padded > l.size {
		return 0, 0, ErrFull
	}
	off = l.off
	l.off += padded
	l.lsn++
	return off, l.lsn, nil
}

// Reserved is the lsn of the last record reserved (written or not).
func (l *Log) Reserved() uint64 { return l.lsn }

// Restart starts the log over at offset 0 once a checkpoint holding lsn is durable:
// never before, or a power cut would lose the records it overwrites. No write may be in
// flight.
func (l *Log) Restart(lsn uint64) { l.off, l.lsn = 0, lsn }

// Write writes the record reserved at off with lsn, its payload the concatenation of
// parts (size bytes in all); Sync makes it durable. buf is the caller's scratch space,
// returned grown.
func (l *Log) Write(buf []byte, off int64, lsn uint64, size int, parts [][]byte) ([]byte, error) {
	n := HeaderSize + size
	padded := (n + BlockSize - 1) / BlockSize * BlockSize
	if cap(buf) < padded {
		buf = make([]byte, padded)
	}
	b := buf[:padded]
	binary.LittleEndian.PutUint32(b[4:], uint32(size))
	binary.LittleEndian.PutUint64(b[8:], lsn)
	binary.LittleEndian.PutUint64(b[16:], l.id)
	at := HeaderSize
	for _, p := range parts {
		at += copy(b[at:], p)
	}
	clear(b[n:])
	binary.LittleEndian.PutUint32(b, crc32.Checksum(b[4:n], castagnoli))
	if _, err := l.f.WriteAt(b, off); err != nil {
		return buf, fmt.Errorf("write wal %s: %w", l.path, err)
	}
	return buf, nil
}

// Sync makes every record written so far durable (fdatasync).
func (l *Log) Sync() error {
	if l.hooks.BeforeSync != nil {
		if err := l.hooks.BeforeSync(); err != nil {
			return fmt.Errorf("sync wal %s: %w", l.path, err)
		}
	}
	if err := fdatasync(l.f); err != nil {
		return fmt.Errorf("sync wal %s: %w", l.path, err)
	}
	return nil
}

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }

// ReadFrom reads the records of this round that follow lsn, as Read does, from the open
// file.
func (l *Log) ReadFrom(lsn uint64, fn func(Record) error) error {
	err := Read(l.f, l.size, l.id, lsn, fn)
	var ce *CorruptError
	if errors.As(err, &ce) {
		ce.Path = l.path
	}
	return err
}

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// Record is one intact record read back.
type Record struct {
	LSN     uint64
	Payload []byte // freshly allocated: the caller may keep slices of it
}

// Read calls fn for each record of the log at r (size bytes) that belongs to the
// database id and continues from lsn, in order, and stops at the first that does not.
// It then makes sure that first one is the log's end: an intact record of a later lsn
// beyond it means the disk damaged an acknowledged record, and it answers *CorruptError
// (without Path: the caller knows the file) instead of dropping the acknowledged
// records after the damage. fn's error stops the read and is returned.
func Read(r io.ReaderAt, size int64, id, lsn uint64, fn func(Record) error) error {
	off := int64(0)
	for off+HeaderSize <= size {
		rec, err := readRecord(r, size, off, id)
		if err != nil {
			return err
		}
		if rec == nil || binary.LittleEndian.Uint64(rec[8:]) != lsn+1 {
			break
		}
		lsn++
		if err := fn(Record{LSN: lsn, Payload: rec[HeaderSize:]}); err != nil {
			return err
		}
		off += int64(len(rec)+BlockSize-1) / BlockSize * BlockSize
	}
	for at := off + BlockSize; at+HeaderSize <= size; at += BlockSize {
		rec, err := readRecord(r, size, at, id)
		if err != nil {
			return err
		}
		// Records of earlier rounds (before the last checkpoint) carry lower lsns.
		if rec != nil {
			if found := binary.LittleEndian.Uint64(rec[8:]); found > lsn {
				return &CorruptError{Bad: lsn + 1, BadOffset: off, Found: found, FoundOffset: at}
			}
		}
	}
	return nil
}

// readRecord reads the record at off if it is one of database id and intact, and
// returns nil if there is none there.
func readRecord(r io.ReaderAt, size, off int64, id uint64) ([]byte, error) {
	var head [HeaderSize]byte
	if _, err := r.ReadAt(head[:], off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	length := int64(binary.LittleEndian.Uint32(head[4:]))
	if binary.LittleEndian.Uint64(head[16:]) != id || length > size-off-HeaderSize {
		return nil, nil
	}
	rec := make([]byte, HeaderSize+length)
	if _, err := r.ReadAt(rec, off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	if crc32.Checksum(rec[4:], castagnoli) != binary.LittleEndian.Uint32(rec) {
		return nil, nil
	}
	return rec, nil
}

// CorruptError says where the log is damaged: record Bad (expected at BadOffset) is
// unreadable while record Found at FoundOffset is intact. It wraps ErrCorrupt.
type CorruptError struct {
	Path                   string
	Bad, Found             uint64
	BadOffset, FoundOffset int64
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%v: %s: record %d at offset %d is unreadable but record %d at offset %d is intact, so the disk "+
		"damaged acknowledged transactions (a torn write only ever hits the last record). depotd will not open the "+
		"journal, which would reuse their seqs: keep both files for analysis, then restore the latest backup "+
		"(depotd restore --floor N, N the highest seq the ERP may have seen)",
		ErrCorrupt, e.Path, e.Bad, e.BadOffset, e.Found, e.FoundOffset)
}

func (e *CorruptError) Unwrap() error { return ErrCorrupt }
