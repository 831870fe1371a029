package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Backup and restore.
//
// A backup is the bbolt file as one read transaction sees it (Tx.WriteTo): consistent with
// every commit before it and none after, taken while depotd runs. Its SHA-256 travels
// beside it (FILE.sha256, in sha256sum's format). Restore verifies the checksum, bbolt's
// page consistency, the journal Check, the layout version and the depot before it writes
// anything.
//
// Seqs are never reused, not even after a restore (the ERP may have seen every seq the
// lost database ever assigned). Restore computes a floor: the highest of the backup's
// last_seq, the replaced database's last_seq and acked_seq, and the ERP's acked seq given
// by the operator. If the floor lies above the backup's last_seq, the restored journal
// records the skipped range in seqgaps, sets last_seq to the floor and acked_seq to the
// highest ack known, and raises a "restore" exception naming the range, so that a
// supervisor can re-enter what the ERP never received. New transactions continue at
// floor+1.

// ExcRestore marks the exception a restore raises.
const ExcRestore ExceptionKind = "restore"

// BackupInfo describes a database snapshot.
type BackupInfo struct {
	Depot    string `json:"depot"`
	Schema   int    `json:"schema"`
	Size     int64  `json:"size"`
	LastSeq  uint64 `json:"last_seq"`
	AckedSeq uint64 `json:"acked_seq"`
	SHA256   string `json:"sha256,omitempty"`
}

// BackupTo runs fn inside one read transaction with the snapshot's description; write
// calls WriteTo on that transaction. It is the primitive the HTTP backup route streams
// from: headers first (from info), then the body.
func (j *Journal) BackupTo(fn func(info BackupInfo, write func(w io.Writer) (int64, error)) error) error {
	return j.view(func(btx *bolt.Tx) error {
		info := describe(btx)
		info.Size = btx.Size()
		return fn(info, btx.WriteTo)
	})
}

// WriteBackup writes a consistent snapshot to w and returns its description and SHA-256.
func (j *Journal) WriteBackup(w io.Writer) (BackupInfo, error) {
	var out BackupInfo
	err := j.BackupTo(func(info BackupInfo, write func(io.Writer) (int64, error)) error {
		h := sha256.New()
		n, err := write(io.MultiWriter(w, h))
		if err != nil {
			return fmt.Errorf("write backup: %w", err)
		}
		info.Size, info.SHA256 = n, hex.EncodeToString(h.Sum(nil))
		out = info
		return nil
	})
	return out, err
}

func describe(btx *bolt.Tx) BackupInfo {
	m := btx.Bucket(bucketMeta)
	if m == nil {
		return BackupInfo{}
	}
	return BackupInfo{Depot: string(m.Get(keyDepot)), Schema: int(getU64(m.Get(keySchema))),
		LastSeq: getU64(m.Get(keyLastSeq)), AckedSeq: getU64(m.Get(keyAckedSeq))}
}

// SumFile returns the hex SHA-256 of a file.
func SumFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// WriteSumFile writes FILE.sha256 in sha256sum's format ("<hex>  <name>\n"), fsynced.
func WriteSumFile(path, sum string) error {
	return writeFileSync(path+".sha256", []byte(sum+"  "+filepath.Base(path)+"\n"))
}

// ReadSumFile reads the checksum FILE.sha256 holds for FILE.
func ReadSumFile(path string) (string, error) {
	raw, err := os.ReadFile(path + ".sha256")
	if err != nil {
		return "", err
	}
	sum, err := ParseSumLine(string(raw))
	if err != nil {
		return "", fmt.Errorf("%s.sha256: %w", path, err)
	}
	return sum, nil
}

// ParseSumLine reads the checksum of a sha256sum line ("<64 hex>  <name>" or "<64 hex>
// *<name>"), lowercased.
func ParseSumLine(line string) (string, error) {
	f := strings.Fields(line)
	if len(f) == 0 || len(f[0]) != 64 {
		return "", errors.New("not a sha256sum line (64 hex digits, then the file name)")
	}
	if _, err := hex.DecodeString(f[0]); err != nil {
		return "", fmt.Errorf("not a sha256sum line: %w", err)
	}
	return strings.ToLower(f[0]), nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// VerifyBackup checks a backup file without changing it: its SHA-256 against sum, that the
// file holds every page its meta page claims, bbolt's page consistency, a layout this
// depotd can read, the depot id and the journal Check (seqs, id index, ledger replay; for
// an older layout that runs after migration, on the restored copy). Every failure wraps
// ErrBadBackup.
func VerifyBackup(path, sum, depot string, cat *Catalog) (info BackupInfo, err error) {
	bad := func(format string, args ...any) (BackupInfo, error) {
		return BackupInfo{}, fmt.Errorf("%w: %s: %s", ErrBadBackup, path, fmt.Sprintf(format, args...))
	}
	got, err := SumFile(path)
	if err != nil {
		return bad("%v", err)
	}
	if !strings.EqualFold(got, sum) {
		return bad("SHA-256 is %s, expected %s (the file is damaged or not this backup)", got, sum)
	}
	st, err := os.Stat(path)
	if err != nil {
		return bad("%v", err)
	}
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return bad("not a depotd database: %v", err)
	}
	defer db.Close()
	// bbolt trusts its pages and panics on a damaged one; a backup is untrusted input.
	defer func() {
		if r := recover(); r != nil {
			info, err = bad("damaged page: %v", r)
		}
	}()
	var size int64
	if err := db.View(func(btx *bolt.Tx) error { size = btx.Size(); return nil }); err != nil {
		return bad("%v", err)
	}
	// Reading a page beyond the end of a truncated file would fault, not fail.
	if size > st.Size() {
		return bad("truncated: the database needs %d bytes, the file has %d", size, st.Size())
	}
	var first error
	if err := db.View(func(btx *bolt.Tx) error {
		for err := range btx.Check() {
			if first == nil {
				first = err
			}
		}
		return nil
	}); err != nil {
		return bad("%v", err)
	}
	if first != nil {
		return bad("bbolt: %v", first)
	}
	if err := db.View(func(btx *bolt.Tx) error {
		info = describe(btx)
		info.Size = btx.Size()
		return nil
	}); err != nil {
		return bad("%v", err)
	}
	info.SHA256 = got
	switch {
	case info.Schema == 0:
		return bad("no depotd journal in it (no schema version)")
	case info.Schema > SchemaVersion:
		return bad("layout %d is newer than this depotd's %d (%v)", info.Schema, SchemaVersion, ErrSchemaTooNew)
	case info.Depot != depot:
		return bad("it belongs to depot %q, the config says %q", info.Depot, depot)
	}
	if cat == nil {
		if cat, err = NewCatalog(nil, nil, nil); err != nil {
			return BackupInfo{}, err
		}
	}
	if info.Schema == SchemaVersion {
		ro := &Journal{db: db, cat: cat, path: path}
		if probs := ro.Check(); len(probs) > 0 {
			return bad("%d problem(s), first: %s", len(probs), probs[0])
		}
	}
	return info, nil
}

// RestoreOptions configure Restore.
type RestoreOptions struct {
	Depot   string
	Catalog *Catalog
	// SHA256 is the backup's expected checksum (from FILE.sha256).
	SHA256 string
	// ERPAckedSeq is the highest seq the ERP acknowledged, when the operator knows it (from
	// the ERP): seqs continue above it even if the old database is gone. 0: unknown.
	ERPAckedSeq uint64
	Now         func() time.Time
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	Backup   BackupInfo
	Floor    uint64 // last_seq after the restore; new transactions start at Floor+1
	Acked    uint64 // acked_seq after the restore
	Previous string // where the replaced database was moved ("" if there was none)
	GapFrom  uint64 // first skipped seq (0: none skipped)
}

// Restore replaces the database at dbPath with the backup at from. It refuses while another
// process holds dbPath (ErrLocked: depotd is running), verifies the backup first, migrates
// an older layout, records the seq floor (see the section comment), and moves the
// replaced database aside to dbPath.before-restore-<time> rather than deleting it. The
// data directory is created when missing (restoring onto a blank gateway).
func Restore(from, dbPath string, opts RestoreOptions) (RestoreResult, error) {
	var res RestoreResult
	if opts.Now == nil {
		opts.Now = time.Now
	}
	info, err := VerifyBackup(from, opts.SHA256, opts.Depot, opts.Catalog)
	if err != nil {
		return res, err
	}
	res.Backup = info
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o750); err != nil {
		return res, fmt.Errorf("data dir: %w", err)
	}
	// Hold the old database's lock (exclusive, as depotd would) until it is moved aside, so
	// that a depotd starting meanwhile waits for the restore instead of racing it.
	var old *bolt.DB
	var oldInfo BackupInfo
	if _, err := os.Stat(dbPath); err == nil {
		old, err = bolt.Open(dbPath, 0o600, &bolt.Options{Timeout: time.Second})
		if errors.Is(err, bolterrors.ErrTimeout) {
			return res, fmt.Errorf("restore into %s: %w", dbPath, ErrLocked)
		}
		if err != nil {
			// A damaged database is what restores are for: carry on without its positions.
			old = nil
		} else {
			defer func() {
				if old != nil {
					old.Close()
				}
			}()
			// Its positions must count what a crash left only in its WAL.
			if _, err := replayWAL(old, dbPath); err != nil {
				return res, fmt.Errorf("restore into %s: %w", dbPath, err)
			}
			if err := old.View(func(btx *bolt.Tx) error { oldInfo = describe(btx); return nil }); err != nil {
				return res, err
			}
			if oldInfo.Depot != "" && oldInfo.Depot != opts.Depot {
				return res, fmt.Errorf("restore into %s: it belongs to depot %q, the config says %q", dbPath, oldInfo.Depot, opts.Depot)
			}
		}
	}
	tmp := dbPath + ".restore.tmp"
	os.Remove(tmp)
	os.Remove(WALPath(tmp))
	if err := copyFileSync(from, tmp); err != nil {
		return res, fmt.Errorf("copy backup: %w", err)
	}
	defer os.Remove(tmp)
	j, err := Open(tmp, Options{Depot: opts.Depot, Catalog: opts.Catalog, Now: opts.Now})
	if err != nil {
		return res, fmt.Errorf("%w: open restored copy: %v", ErrBadBackup, err)
	}
	os.Remove(fmt.Sprintf("%s.schema-v%d.bak", tmp, info.Schema))
	if probs := j.Check(); len(probs) > 0 {
		j.Close()
		return res, fmt.Errorf("%w: after migration: %s", ErrBadBackup, probs[0])
	}
	floor := max(info.LastSeq, oldInfo.LastSeq, oldInfo.AckedSeq, opts.ERPAckedSeq)
	acked := max(info.AckedSeq, oldInfo.AckedSeq, opts.ERPAckedSeq)
	res.Floor, res.Acked = floor, acked
	if err := j.recordRestore(info, floor, acked, oldInfo); err != nil {
		j.Close()
		return res, err
	}
	if floor > info.LastSeq {
		res.GapFrom = info.LastSeq + 1
	}
	if err := j.Close(); err != nil {
		return res, err
	}
	os.Remove(WALPath(tmp))
	// The replaced database's WAL was replayed into it above. The restored copy shares its
	// wal_id, so those records must not stay where the restored database would replay them.
	if err := os.Remove(WALPath(dbPath)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("remove the replaced database's write-ahead log: %w", err)
	}
	if old != nil {
		res.Previous = fmt.Sprintf("%s.before-restore-%s", dbPath, opts.Now().UTC().Format("20060102T150405Z"))
		if err := os.Rename(dbPath, res.Previous); err != nil {
			return res, fmt.Errorf("move the replaced database aside: %w", err)
		}
	}
	if err := os.Rename(tmp, dbPath); err != nil {
		return res, fmt.Errorf("put the restored database in place: %w", err)
	}
	if err := syncDir(filepath.Dir(dbPath)); err != nil {
		return res, err
	}
	return res, nil
}

func (j *Journal) recordRestore(b BackupInfo, floor, acked uint64, old BackupInfo) error {
	return j.update(func(btx *bolt.Tx) error {
		m := btx.Bucket(bucketMeta)
		last := getU64(m.Get(keyLastSeq))
		msg := fmt.Sprintf("restored from a backup at seq %d (acked %d)", b.LastSeq, b.AckedSeq)
		if floor > last {
			if err := btx.Bucket(bucketSeqGaps).Put(u64(last+1), u64(floor)); err != nil {
				return err
			}
			if err := m.Put(keyLastSeq, u64(floor)); err != nil {
				return err
			}
			msg += fmt.Sprintf("; seqs %d..%d are skipped so that none is reused", last+1, floor)
			if acked < floor {
				msg += fmt.Sprintf("; seqs %d..%d were never acknowledged by the ERP and are lost unless re-entered", max(acked+1, last+1), floor)
			}
		}
		if acked > getU64(m.Get(keyAckedSeq)) {
			if err := m.Put(keyAckedSeq, u64(acked)); err != nil {
				return err
			}
		}
		if old.LastSeq > 0 {
			msg += fmt.Sprintf("; the replaced database was at seq %d (acked %d)", old.LastSeq, old.AckedSeq)
		}
		e := Exception{Kind: ExcRestore, At: j.now(), Message: msg}
		e.ID = getU64(m.Get(keyExcSeq)) + 1
		if err := m.Put(keyExcSeq, u64(e.ID)); err != nil {
			return err
		}
		return putException(btx, direct{btx}, e)
	})
}

func copyFileSync(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
