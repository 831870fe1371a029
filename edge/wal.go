package edge

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/depotd/depotd/edge/engine"

	bolt "go.etcd.io/bbolt"
)

// The write-ahead log (WAL) makes a group of transactions durable with one fdatasync of one
// block-aligned write into a file that is already allocated, where a bbolt commit needs two
// fdatasyncs over pages scattered through the database file. See the package doc
// ("Durability") for the whole argument and package engine for the file format. This file
// holds the replay of a log onto bbolt at open; a record's payload is the journal's writes
// to bbolt (engine.Writer).

const (
	// DefaultWALSize is the WAL's fixed size: room for 1,024 group commits, or for more
	// than checkpointBytes of payload in larger ones.
	DefaultWALSize = 4 << 20
)

// WALPath returns where the journal at dbPath keeps its write-ahead log.
func WALPath(dbPath string) string { return dbPath + ".wal" }

// redo is where the committer writes: into its bbolt transaction, while recording every
// write as a WAL payload (engine.Writer), as the domain's writer.
type redo struct{ *engine.Writer }

func (r redo) put(bucket, k, v []byte) error { return r.Put(bucket, k, v) }
func (r redo) del(bucket, k []byte) error    { return r.Delete(bucket, k) }

// openSyncs, when set (tests only), is told every file and directory the WAL's open syncs.
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

// walFault, when set (tests only, through export_test.go), fails WAL syncs after the
// record is written: the worst case, a record that may be intact on disk whose writer
// was told it failed.
var walFault faultHook

// openWAL opens the log beside the database for its committer (see engine.OpenLog).
func openWAL(path string, size int64, id, lsn uint64) (*engine.Log, error) {
	return engine.OpenLog(path, size, id, lsn, engine.Hooks{BeforeSync: walFault.run, Synced: openSyncs.run})
}

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
func applyWAL(btx *bolt.Tx, recs []engine.Record) error {
	for _, r := range recs {
		if _, err := engine.ApplyOps(btx, r.Payload); err != nil {
			return fmt.Errorf("record %d: %w", r.LSN, err)
		}
	}
	return btx.Bucket(bucketMeta).Put(keyWALLSN, u64(recs[len(recs)-1].LSN))
}

// walRecords reads the intact records of the log beside the database at path that bbolt
// does not hold yet.
func walRecords(db *bolt.DB, path string) ([]engine.Record, error) {
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
	var recs []engine.Record
	if err := engine.Read(f, st.Size(), id, lsn, func(r engine.Record) error {
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
