package edge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/depotd/depotd/edge/engine"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// CompactResult reports a compaction.
type CompactResult struct {
	Before, After int64 // file sizes in bytes
}

// Compact rewrites the database at path offline (bbolt.Compact into a new file), so that
// the pages pruning freed are given back to the filesystem. It refuses while another
// process holds the database (ErrLocked), checks the compacted copy with the journal
// Check before it replaces the original through an fsynced rename, and leaves the
// original untouched on any error.
func Compact(path string, opts Options) (CompactResult, error) {
	var res CompactResult
	st, err := os.Stat(path)
	if err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	res.Before = st.Size()
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	src, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout,
		FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return res, fmt.Errorf("compact %s: %w", path, ErrLocked)
	}
	if err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	defer src.Close()
	v, err := schemaOf(src)
	if err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	if v > SchemaVersion {
		return res, fmt.Errorf("compact %s: %w: layout %d", path, ErrSchemaTooNew, v)
	}
	if v != SchemaVersion {
		return res, fmt.Errorf("compact %s: layout %d is older than this depotd's %d: start depotd once to migrate it, then compact", path, v, SchemaVersion)
	}
	// Transactions a crash left only in the WAL belong in the copy.
	if _, err := replayWAL(src, path); err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	tmp := path + ".compact.tmp"
	os.Remove(tmp)
	defer os.Remove(tmp)
	// Checking the copy opens it as a journal, which gives it a WAL of its own; the copy
	// needs none once closed (Close checkpoints), and the original's WAL is replayed above.
	defer os.Remove(WALPath(tmp))
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := bolt.Compact(dst, src, 64<<20); err != nil {
		dst.Close()
		return res, fmt.Errorf("compact %s: %w", path, storageErr(err))
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := dst.Close(); err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	j, err := Open(tmp, opts)
	if err != nil {
		return res, fmt.Errorf("compact %s: open the compacted copy: %w", path, err)
	}
	probs := j.Check()
	if err := j.Close(); err != nil {
		return res, err
	}
	if len(probs) > 0 {
		return res, fmt.Errorf("compact %s: the compacted copy fails its check (%s); the original is untouched", path, probs[0])
	}
	if err := os.Rename(tmp, path); err != nil {
		return res, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := engine.SyncDir(filepath.Dir(path)); err != nil {
		return res, err
	}
	if st, err := os.Stat(path); err == nil {
		res.After = st.Size()
	}
	return res, nil
}
