package edge

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// The write-ahead log (WAL) makes a group of transactions durable with one fdatasync of one
// block-aligned write into a file that is already allocated, where a bbolt commit needs two
// fdatasyncs over pages scattered through the database file. See the package doc
// ("Durability") for the whole argument; this file holds the format.
//
// The file <db>.wal has a fixed size (Options.WALSize), zero-filled and fsynced when it is
// created, so a write never changes its size or block map and fdatasync has no metadata
// to write. It is a ring that restarts at offset 0 after every checkpoint. Each record:
//
//	crc32c   uint32  over everything after it up to the end of the payload
//	length   uint32  payload bytes
//	lsn      uint64  1, 2, 3, …; meta wal_lsn is the last one bbolt holds
//	wal id   uint64  meta wal_id: records of another database never replay
//	payload  ops:    kind byte (1 put, 2 delete), bucket (byte length + name),
//	                 key (uvarint length + bytes), value (uvarint length + bytes, puts only)
//
// padded with zeros to a multiple of walBlock, so that writing a record never rewrites a
// block holding an acknowledged one. Replay reads from offset 0 while each record is
// intact, of this database, and carries the next lsn; the first that is not ends the log.

const (
	walBlock  = 4096
	walHeader = 24
	opPut     = 1
	opDelete  = 2
	// DefaultWALSize is the WAL's fixed size: room for 1,024 group commits, or for more
	// than checkpointBytes of payload in larger ones.
	DefaultWALSize = 4 << 20
)

// errWALFull means a record does not fit in what is left of the WAL before the next
// checkpoint (or at all): the group is committed to bbolt directly instead.
var errWALFull = errors.New("wal full")

// WALPath returns where the journal at dbPath keeps its write-ahead log.
func WALPath(dbPath string) string { return dbPath + ".wal" }

// redo is where the committer writes: into its bbolt transaction, while recording every
// write as a WAL payload.
type redo struct {
	btx *bolt.Tx
	ops []byte
}

func (r *redo) put(bucket, k, v []byte) error {
	if err := r.btx.Bucket(bucket).Put(k, v); err != nil {
		return err
	}
	r.record(opPut, bucket, k, v)
	return nil
}

func (r *redo) del(bucket, k []byte) error {
	if err := r.btx.Bucket(bucket).Delete(k); err != nil {
		return err
	}
	r.record(opDelete, bucket, k, nil)
	return nil
}

func (r *redo) record(op byte, bucket, k, v []byte) {
	r.ops = append(r.ops, op, byte(len(bucket)))
	r.ops = append(r.ops, bucket...)
	r.ops = binary.AppendUvarint(r.ops, uint64(len(k)))
	r.ops = append(r.ops, k...)
	if op == opPut {
		r.ops = binary.AppendUvarint(r.ops, uint64(len(v)))
		r.ops = append(r.ops, v...)
	}
}

// applyOps replays a WAL payload into btx. bbolt keeps the key and value slices until the
// transaction ends, so payload must not be reused while btx is open.
func applyOps(btx *bolt.Tx, payload []byte) (int, error) {
	n := 0
	for p := payload; len(p) > 0; n++ {
		if len(p) < 2 || int(p[1]) > len(p)-2 {
			return n, fmt.Errorf("op %d: truncated", n)
		}
		op, name := p[0], p[2:2+int(p[1])]
		p = p[2+int(p[1]):]
		k, rest, err := uvarintBytes(p)
		if err != nil {
			return n, fmt.Errorf("op %d key: %w", n, err)
		}
		p = rest
		b := btx.Bucket(name)
		if b == nil {
			return n, fmt.Errorf("op %d: no bucket %q", n, name)
		}
		switch op {
		case opPut:
			v, rest, err := uvarintBytes(p)
			if err != nil {
				return n, fmt.Errorf("op %d value: %w", n, err)
			}
			p = rest
			err = b.Put(k, v)
			if err != nil {
				return n, fmt.Errorf("op %d: put %q: %w", n, name, err)
			}
		case opDelete:
			if err := b.Delete(k); err != nil {
				return n, fmt.Errorf("op %d: delete %q: %w", n, name, err)
			}
		default:
			return n, fmt.Errorf("op %d: unknown kind %d", n, op)
		}
	}
	return n, nil
}

func uvarintBytes(p []byte) ([]byte, []byte, error) {
	l, w := binary.Uvarint(p)
	if w <= 0 || l > uint64(len(p)-w) {
		return nil, nil, errors.New("bad length")
	}
	return p[w : w+int(l)], p[w+int(l):], nil
}

// wal is the open log. Only the committer uses it.
type wal struct {
	f    *os.File
	path string
	size int64
	id   uint64
	off  int64  // where the next record goes
	lsn  uint64 // the last record reserved
}

// openWAL opens (creating and zero-filling if needed) the log at path for a database whose
// meta says id and lsn. It starts writing at offset 0: everything before is in bbolt.
func openWAL(path string, size int64, id, lsn uint64) (*wal, error) {
	size = size / walBlock * walBlock
	if size < 2*walBlock {
		return nil, fmt.Errorf("wal %s: size %d is below the minimum %d", path, size, 2*walBlock)
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
			return nil, fmt.Errorf("allocate wal %s (%s): %w", path, ByteSize(size), err)
		}
	}
	// At every open, not only after the zero-fill: a crash between the fill and its fsync
	// leaves a file of full size whose blocks were never made durable, and the first
	// fdatasync of a record would then have metadata to write, or lose the record.
	if err := syncFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("sync wal %s: %w", path, err)
	}
	openSyncs.run(filepath.Dir(path))
	if err := syncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, err
	}
	return &wal{f: f, path: path, size: size, id: id, lsn: lsn}, nil
}

// zeroFill writes zeros from off to size and fsyncs: real blocks, not a sparse file or
// unwritten extents, whose first write would make fdatasync journal metadata.
func zeroFill(f *os.File, off, size int64) error {
	zero := make([]byte, 1<<20)
	for off < size {
		n := min(int64(len(zero)), size-off)
		if _, err := f.WriteAt(zero[:n], off); err != nil {
			return err
		}
		off += n
	}
	return nil // openWAL syncs
}

// syncFile is f.Sync, through openSyncs so that a test can see which files Open made
// durable.
func syncFile(f *os.File) error {
	openSyncs.run(f.Name())
	return f.Sync()
}

// openSyncs, when set (tests only), is told every file and directory openWAL syncs.
var openSyncs pathHook

type pathHook struct{ f atomic.Pointer[func(string)] }

func (h *pathHook) set(f func(string)) {
	if f == nil {
		h.f.Store(nil)
		return
	}
	h.f.Store(&f)
}

func (h *pathHook) run(path string) {
	if f := h.f.Load(); f != nil {
		(*f)(path)
	}
}

// reserve takes the place of the next record, of n payload bytes: its offset and lsn.
// errWALFull says it does not fit before the next checkpoint.
func (w *wal) reserve(n int) (off int64, lsn uint64, err error) {
	padded := int64((walHeader + n + walBlock - 1) / walBlock * walBlock)
	if w.off+padded > w.size {
		return 0, 0, errWALFull
	}
	off = w.off
	w.off += padded
	w.lsn++
	return off, w.lsn, nil
}

// put writes the record reserved at off with lsn; sync makes it durable. buf is the
// caller's scratch space, returned grown.
// The payload is the groups' ops, size bytes in all.
func (w *wal) put(buf []byte, off int64, lsn uint64, size int, groups []*group) ([]byte, error) {
	n := walHeader + size
	padded := (n + walBlock - 1) / walBlock * walBlock
	if cap(buf) < padded {
		buf = make([]byte, padded)
	}
	b := buf[:padded]
	binary.LittleEndian.PutUint32(b[4:], uint32(size))
	binary.LittleEndian.PutUint64(b[8:], lsn)
	binary.LittleEndian.PutUint64(b[16:], w.id)
	at := walHeader
	for _, g := range groups {
		at += copy(b[at:], g.ops)
	}
	clear(b[n:])
	binary.LittleEndian.PutUint32(b, crc32.Checksum(b[4:n], castagnoli))
	if _, err := w.f.WriteAt(b, off); err != nil {
		return buf, fmt.Errorf("write wal %s: %w", w.path, err)
	}
	return buf, nil
}

func (w *wal) sync() error {
	if err := walFault.run(); err != nil {
		return fmt.Errorf("sync wal %s: %w", w.path, err)
	}
	if err := fdatasync(w.f); err != nil {
		return fmt.Errorf("sync wal %s: %w", w.path, err)
	}
	return nil
}

func (w *wal) close() error { return w.f.Close() }

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// walFault, when set (tests only, through export_test.go), fails WAL writes after the
// record is written and before it is synced: the worst case, a record that may be intact
// on disk whose writer was told it failed.
var walFault faultHook

// walRecord is one intact record read back.
type walRecord struct {
	lsn     uint64
	payload []byte // freshly allocated: bbolt may keep slices of it
}

// readWAL calls fn for each record of the log at r (size bytes) that belongs to database
// id and continues from lsn, in order, and stops at the first that does not. It then
// makes sure that first one is the log's end: an intact record of a later lsn beyond it
// means the disk damaged an acknowledged record (the syncer writes a record only after
// the previous one is durable, so a torn write is always the last), and it answers
// *WALCorruptError instead of dropping the acknowledged records after the damage.
func readWAL(r io.ReaderAt, size int64, id, lsn uint64, fn func(walRecord) error) error {
	off := int64(0)
	for off+walHeader <= size {
		rec, err := readRecord(r, size, off, id)
		if err != nil {
			return err
		}
		if rec == nil || binary.LittleEndian.Uint64(rec[8:]) != lsn+1 {
			break
		}
		lsn++
		if err := fn(walRecord{lsn: lsn, payload: rec[walHeader:]}); err != nil {
			return err
		}
		off += int64(len(rec)+walBlock-1) / walBlock * walBlock
	}
	for at := off + walBlock; at+walHeader <= size; at += walBlock {
		rec, err := readRecord(r, size, at, id)
		if err != nil {
			return err
		}
		// Records of earlier rounds (before the last checkpoint) carry lower lsns.
		if found := uint64(0); rec != nil {
			if found = binary.LittleEndian.Uint64(rec[8:]); found > lsn {
				return &WALCorruptError{Bad: lsn + 1, BadOffset: off, Found: found, FoundOffset: at}
			}
		}
	}
	return nil
}

// readRecord reads the record at off if it is one of database id and intact, and
// returns nil if there is none there.
func readRecord(r io.ReaderAt, size, off int64, id uint64) ([]byte, error) {
	var head [walHeader]byte
	if _, err := r.ReadAt(head[:], off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	length := int64(binary.LittleEndian.Uint32(head[4:]))
	if binary.LittleEndian.Uint64(head[16:]) != id || length > size-off-walHeader {
		return nil, nil
	}
	rec := make([]byte, walHeader+length)
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

// WALCorruptError says where the write-ahead log is damaged: record Bad (expected at
// BadOffset) is unreadable while record Found at FoundOffset is intact. It wraps
// ErrWALCorrupt.
type WALCorruptError struct {
	Path                   string
	Bad, Found             uint64
	BadOffset, FoundOffset int64
}

func (e *WALCorruptError) Error() string {
	return fmt.Sprintf("%v: %s: record %d at offset %d is unreadable but record %d at offset %d is intact, so the disk "+
		"damaged acknowledged transactions (a torn write only ever hits the last record). depotd will not open the "+
		"journal, which would reuse their seqs: keep both files for analysis, then restore the latest backup "+
		"(depotd restore --floor N, N the highest seq the ERP may have seen)",
		ErrWALCorrupt, e.Path, e.Bad, e.BadOffset, e.Found, e.FoundOffset)
}

func (e *WALCorruptError) Unwrap() error { return ErrWALCorrupt }

// replayWAL applies the intact records of the log beside the database at path that bbolt
// does not hold yet, in one bbolt commit, and returns how many it applied. A database
// without a wal_id has never had a log; a missing log file means nothing to replay.
func replayWAL(db *bolt.DB, path string) (int, error) {
	recs, err := walRecords(db, path)
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	err = db.Update(func(btx *bolt.Tx) error {
		fillAppendOnly(btx)
		return applyWAL(btx, recs)
	})
	if err != nil {
		return 0, fmt.Errorf("replay wal %s: %w", WALPath(path), err)
	}
	return len(recs), nil
}

// applyWAL applies recs in btx and sets wal_lsn to the last.
func applyWAL(btx *bolt.Tx, recs []walRecord) error {
	for _, r := range recs {
		if _, err := applyOps(btx, r.payload); err != nil {
			return fmt.Errorf("record %d: %w", r.lsn, err)
		}
	}
	return btx.Bucket(bucketMeta).Put(keyWALLSN, u64(recs[len(recs)-1].lsn))
}

// walRecords reads the intact records of the log beside the database at path that bbolt
// does not hold yet.
func walRecords(db *bolt.DB, path string) ([]walRecord, error) {
	walPath := WALPath(path)
	f, err := os.Open(walPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open wal %s: %w", walPath, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open wal %s: %w", walPath, err)
	}
	var id, lsn uint64
	if err := db.View(func(btx *bolt.Tx) error {
		if m := btx.Bucket(bucketMeta); m != nil {
			id, lsn = getU64(m.Get(keyWALID)), getU64(m.Get(keyWALLSN))
		}
		return nil
	}); err != nil || id == 0 {
		return nil, err
	}
	var recs []walRecord
	if err := readWAL(f, st.Size(), id, lsn, func(r walRecord) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		var ce *WALCorruptError
		if errors.As(err, &ce) {
			ce.Path = walPath
			return nil, ce
		}
		return nil, fmt.Errorf("read wal %s: %w", walPath, err)
	}
	return recs, nil
}

// fillAppendOnly packs the transaction bucket's pages full: its keys only ever grow, so
// the half-empty pages bbolt's default split leaves behind would never fill up (twice the
// pages to write at every checkpoint, and twice the file).
func fillAppendOnly(btx *bolt.Tx) {
	if b := btx.Bucket(bucketTx); b != nil {
		b.FillPercent = 1
	}
}

// newWALID is a database's random WAL identity.
func newWALID() ([]byte, error) {
	var b [8]byte
	for bytes.Equal(b[:], make([]byte, 8)) {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
	}
	return b[:], nil
}
