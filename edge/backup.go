package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/depotd/depotd/edge/engine"

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
// last_seq, the replaced database's last_seq and acked_seq (its WAL replayed first), and
// the floor given by the operator. A replaced database that cannot be read counts for
// nothing, so the operator must give the floor (ErrFloorUnknown). If the floor lies above
// the backup's last_seq, the restored journal stores a void at every skipped seq (void.go;
// at most MaxRestoreVoids, ErrTooManyVoids beyond), sets
// last_seq to the floor and acked_seq to the highest ack recorded (the backup's or the
// replaced database's: a floor from the operator is not an ack), and raises a "restore"
// exception naming the range, so that a supervisor can re-enter what the ERP never
// received. New transactions continue at floor+1.

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
	// Floor is the highest seq this depot may have used, when the operator knows it (0:
	// not given): new transactions continue above it and the seqs between the backup and
	// it are skipped. It is required when a database is in place that cannot be read (see
	// ErrFloorUnknown). It never moves the ack watermark: what lies above the ERP's last
	// known ack is forwarded again, and the ERP ignores what it already applied.
	Floor uint64
	Now   func() time.Time
	// Force replaces a database holding transactions the ERP never acknowledged that the
	// backup does not hold (refused with *UnackedDropError otherwise): they are exported
	// first (RestoreResult.DroppedFile) and summarised in the restore exception.
	Force bool
	// Step, when set, is called after each step that leaves something on disk: "voids"
	// (after each batch of voids), "copied" (the restored copy is complete), "kept" (the
	// replaced database is kept aside) and "switched" (the restored database is in place).
	// It is a test point: depotd restore pauses there for a test that kills it.
	Step func(step string)
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	Backup   BackupInfo
	Floor    uint64 // last_seq after the restore; new transactions start at Floor+1
	Acked    uint64 // acked_seq after the restore
	Previous string // where the replaced database was moved ("" if there was none)
	GapFrom  uint64 // first skipped seq (0: none skipped)
	// Unreadable is why the replaced database could not be read ("" if it could, or if
	// there was none): its seqs were not counted, the floor is the operator's.
	Unreadable string
	// Dropped are the replaced database's unacknowledged transactions the backup does not
	// hold (only with Force), and DroppedFile the JSON-lines file they were exported to.
	Dropped     []Transaction
	DroppedFile string
}

// UnackedDropError refuses a restore that would drop transactions the ERP never
// acknowledged. It wraps ErrUnackedDropped. Nothing was changed.
type UnackedDropError struct {
	Path   string
	Backup uint64   // the backup's last seq
	Acked  uint64   // the replaced database's ack watermark
	Seqs   []uint64 // the transactions the restore would drop
}

func (e *UnackedDropError) Error() string {
	return fmt.Sprintf("%v: %s holds %d transaction(s) newer than the backup (seq %d) that the ERP never acknowledged (acked up to %d): seqs %s. "+
		"Start depotd and let the uplink deliver them first (watch acked_seq reach %d in `depotd fleet`), then take a new backup or "+
		"restore again; or, to drop them anyway, run the restore with --force: they are exported to a file beside the database "+
		"and listed in the restore exception, and depotd repost posts them again. Nothing was changed",
		ErrUnackedDropped, e.Path, len(e.Seqs), e.Backup, e.Acked, seqList(e.Seqs), e.Seqs[len(e.Seqs)-1])
}

func (e *UnackedDropError) Unwrap() error { return ErrUnackedDropped }

// seqList prints seqs compactly: runs as a..b, at most 20 items.
func seqList(seqs []uint64) string {
	var parts []string
	for i := 0; i < len(seqs); {
		k := i
		for k+1 < len(seqs) && seqs[k+1] == seqs[k]+1 {
			k++
		}
		if k > i {
			parts = append(parts, fmt.Sprintf("%d..%d", seqs[i], seqs[k]))
		} else {
			parts = append(parts, fmt.Sprint(seqs[i]))
		}
		i = k + 1
		if len(parts) == 20 && i < len(seqs) {
			parts = append(parts, "…")
			break
		}
	}
	return strings.Join(parts, ", ")
}

// FloorUnknownError refuses a restore over a database that cannot be read without a floor
// from the operator: its last seq is unknown, and the ERP may have seen seqs the backup
// does not hold. It wraps ErrFloorUnknown. Nothing was changed.
type FloorUnknownError struct {
	Path   string
	Depot  string
	Cause  error
	Backup uint64 // the backup's last seq
}

func (e *FloorUnknownError) Error() string {
	return fmt.Sprintf("%v: the database %s cannot be read (%v), so the last seq it used is unknown and the ERP may "+
		"have seen seqs above the backup's %d; reusing them would make the ERP ignore new transactions or apply them "+
		"as old ones. Find the highest seq depot %s may have used: the ERP's last applied seq for the depot, and last_seq "+
		"in `depotd fleet --json` or in the broker's retained status (topic depots/%s/status, `mosquitto_sub -t depots/%s/status -C 1`); "+
		"then run the restore again with --floor N, N the highest of them. Nothing was changed",
		ErrFloorUnknown, e.Path, e.Cause, e.Backup, e.Depot, e.Depot, e.Depot)
}

func (e *FloorUnknownError) Unwrap() error { return ErrFloorUnknown }

// Restore replaces the database at dbPath with the backup at from. It refuses while another
// process holds dbPath (ErrLocked: depotd is running), verifies the backup first, migrates
// an older layout and records the seq floor (see the section comment). The replaced
// database is never destroyed: it and its WAL are moved aside, to
// dbPath.replaced-<time> and dbPath.replaced-<time>.wal (a pair depotd can open), before
// the restored copy takes their place. A replaced database that cannot be read (or whose
// WAL is damaged) is moved aside unread, and only with opts.Floor given
// (*FloorUnknownError otherwise). The data directory is created when missing (restoring
// onto a blank gateway).
//
// A crash at any point leaves either the replaced database in place (a rerun starts over)
// or the restored one (a rerun restores again, with the same floor); the replaced one is
// kept aside from before the switch on. The restored database gets a WAL identity of its
// own, so no record of the replaced database's WAL can ever be replayed into it.
func Restore(from, dbPath string, opts RestoreOptions) (RestoreResult, error) {
	var res RestoreResult
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Step == nil {
		opts.Step = func(string) {}
	}
	info, err := VerifyBackup(from, opts.SHA256, opts.Depot, opts.Catalog)
	if err != nil {
		return res, err
	}
	res.Backup = info
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o750); err != nil {
		return res, fmt.Errorf("data dir: %w", err)
	}
	old, err := readReplaced(dbPath, opts.Depot)
	defer old.release()
	if err != nil {
		return res, err
	}
	if old.unreadable != nil {
		if opts.Floor == 0 {
			return res, &FloorUnknownError{Path: dbPath, Depot: opts.Depot, Cause: old.unreadable, Backup: info.LastSeq}
		}
		res.Unreadable = old.unreadable.Error()
	}
	var dropped []Transaction
	for _, tx := range old.unacked {
		if tx.Seq > info.LastSeq {
			dropped = append(dropped, tx)
		}
	}
	floor := max(info.LastSeq, old.info.LastSeq, old.info.AckedSeq, opts.Floor)
	acked := max(info.AckedSeq, old.info.AckedSeq)
	if n := floor - info.LastSeq; n > MaxRestoreVoids {
		return res, fmt.Errorf("%w: the floor %d lies %d seqs above the backup's last seq %d; each skipped seq becomes a void "+
			"transaction forwarded to the ERP, and a restore voids at most %d. Check the floor (the ERP's last applied seq, "+
			"last_seq in `depotd fleet --json`), or restore a more recent backup. Nothing was changed",
			ErrTooManyVoids, floor, n, info.LastSeq, MaxRestoreVoids)
	}
	if len(dropped) > 0 && !opts.Force {
		seqs := make([]uint64, len(dropped))
		for i, tx := range dropped {
			seqs[i] = tx.Seq
		}
		return res, &UnackedDropError{Path: dbPath, Backup: info.LastSeq, Acked: old.info.AckedSeq, Seqs: seqs}
	}
	stamp := opts.Now().UTC().Format("20060102T150405Z")
	dropNote := ""
	if len(dropped) > 0 {
		// Exported before anything else is written: whatever happens next, they are on disk.
		if res.DroppedFile, err = exportDropped(dbPath, stamp, dropped); err != nil {
			return res, err
		}
		res.Dropped = dropped
		dropNote = droppedSummary(dropped, res.DroppedFile)
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
	res.Floor, res.Acked = floor, acked
	if err := j.recordRestore("restore-"+stamp, info, floor, acked, old.info, res.Unreadable, dropNote, opts.Step); err != nil {
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
	dir := filepath.Dir(dbPath)
	if err := engine.SyncDir(dir); err != nil {
		return res, err
	}
	opts.Step("copied")
	if old.exists {
		if res.Previous, err = keepAside(dbPath, stamp); err != nil {
			return res, err
		}
		opts.Step("kept")
	}
	if err := os.Rename(tmp, dbPath); err != nil {
		return res, fmt.Errorf("put the restored database in place: %w", err)
	}
	if err := engine.SyncDir(dir); err != nil {
		return res, err
	}
	opts.Step("switched")
	// The replaced database's WAL is kept beside it (keepAside); the name it had belongs
	// to the restored database now, which would not replay it (another WAL identity) but
	// overwrite it.
	if err := os.Remove(WALPath(dbPath)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("remove the replaced database's write-ahead log (kept as %s.wal): %w", res.Previous, err)
	}
	if err := engine.SyncDir(dir); err != nil {
		return res, err
	}
	return res, nil
}

// replaced is the database a restore replaces, held locked until the restore is done.
type replaced struct {
	exists     bool // a database or a WAL is at dbPath
	info       BackupInfo
	unreadable error // why it could not be read (exists and nothing counted)
	// unacked are its transactions above its ack watermark (voids left out: they apply
	// nothing), the WAL's included, in seq order.
	unacked []Transaction
	db      *bolt.DB
	lock    *os.File // the flock on a database bbolt cannot open
}

func (r *replaced) release() {
	if r.db != nil {
		r.db.Close()
	}
	if r.lock != nil {
		r.lock.Close()
	}
}

// readReplaced locks the database at dbPath (exclusive, as depotd would: a depotd starting
// meanwhile waits for the restore instead of racing it), replays its WAL and reads its
// positions. A database that cannot be read is still locked, and reported in unreadable.
func readReplaced(dbPath, depot string) (r replaced, err error) {
	_, dbErr := os.Stat(dbPath)
	_, walErr := os.Stat(WALPath(dbPath))
	if errors.Is(dbErr, os.ErrNotExist) && errors.Is(walErr, os.ErrNotExist) {
		return r, nil
	}
	r.exists = true
	if errors.Is(dbErr, os.ErrNotExist) {
		r.unreadable = fmt.Errorf("only its write-ahead log %s is there", WALPath(dbPath))
		return r, nil
	}
	// As Open does: a writable open without NoFreelistSync would write a freelist.
	db, err := bolt.Open(dbPath, 0o600, &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return r, fmt.Errorf("restore into %s: %w", dbPath, ErrLocked)
	}
	if err != nil {
		r.unreadable = err
		if r.lock, err = flockFile(dbPath); err != nil {
			return r, fmt.Errorf("restore into %s: %w", dbPath, err)
		}
		return r, nil
	}
	r.db = db
	// bbolt trusts its pages and panics on a damaged one.
	defer func() {
		if p := recover(); p != nil {
			r.unreadable, r.info = fmt.Errorf("damaged page: %v", p), BackupInfo{}
		}
	}()
	// Its positions must count what a crash left only in its WAL: replayed in a
	// transaction that is rolled back, so that the database is kept exactly as it was.
	recs, err := walRecords(db, dbPath)
	if err != nil {
		r.unreadable = err
		return r, nil
	}
	errRollback := errors.New("rolled back")
	err = db.Update(func(btx *bolt.Tx) error {
		if len(recs) > 0 {
			if err := applyWAL(btx, recs); err != nil {
				return fmt.Errorf("replay wal %s: %w", WALPath(dbPath), err)
			}
		}
		r.info = describe(btx)
		c := btx.Bucket(bucketTx).Cursor()
		for k, v := c.Seek(u64(r.info.AckedSeq + 1)); k != nil; k, v = c.Next() {
			tx, err := decodeTx(v)
			if err != nil {
				return fmt.Errorf("seq %d: %w", getU64(k), err)
			}
			if tx.Type != Void {
				r.unacked = append(r.unacked, tx)
			}
		}
		return errRollback
	})
	if err != errRollback {
		r.unreadable, r.info, r.unacked = err, BackupInfo{}, nil
		return r, nil
	}
	if r.info.Schema == 0 {
		r.unreadable, r.info = errors.New("no depotd journal in it"), BackupInfo{}
		return r, nil
	}
	if r.info.Depot != depot {
		return r, fmt.Errorf("restore into %s: it belongs to depot %q, the config says %q", dbPath, r.info.Depot, depot)
	}
	return r, nil
}

// flockFile takes the exclusive lock bbolt takes, on a file bbolt cannot open.
func flockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("lock: %w", err)
	}
	return f, nil
}

// keepAside gives the database at dbPath and its WAL a second name,
// dbPath.replaced-<time> and dbPath.replaced-<time>.wal (hard links, fsynced), so that
// they survive the restored database taking the first one. Until that rename the
// database stays where it is: a crash before it leaves everything as it was.
func keepAside(dbPath, stamp string) (string, error) {
	base := fmt.Sprintf("%s.replaced-%s", dbPath, stamp)
	prev := base
	for n := 2; ; n++ {
		_, err1 := os.Lstat(prev)
		_, err2 := os.Lstat(WALPath(prev))
		if errors.Is(err1, os.ErrNotExist) && errors.Is(err2, os.ErrNotExist) {
			break
		}
		prev = fmt.Sprintf("%s-%d", base, n)
	}
	for _, p := range [][2]string{{dbPath, prev}, {WALPath(dbPath), WALPath(prev)}} {
		if err := linkOrCopy(p[0], p[1]); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("keep the replaced database as %s: %w", p[1], err)
		}
	}
	if err := engine.SyncDir(filepath.Dir(dbPath)); err != nil {
		return "", err
	}
	return prev, nil
}

// linkOrCopy hard-links src to dst, or copies it (fsynced) where links are not possible.
func linkOrCopy(src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return copyFileSync(src, dst)
}

// recordRestore writes what a restore decided into the restored copy: a void at every seq
// from the backup's last to floor (in batches: the copy is thrown away if the restore
// fails), then last_seq, acked_seq, a WAL identity of its own and the restore exception.
func (j *Journal) recordRestore(id string, b BackupInfo, floor, acked uint64, old BackupInfo, unreadable, dropped string, step func(string)) error {
	walID, err := newWALID()
	if err != nil {
		return err
	}
	at := j.now()
	note := fmt.Sprintf("seq skipped by %s (a backup at seq %d) so that no seq the replaced database may have used is reused; "+
		"it applies nothing", id, b.LastSeq)
	for from := b.LastSeq + 1; from <= floor; from += voidBatch {
		to := min(floor, from+voidBatch-1)
		if err := j.update(func(btx *bolt.Tx) error { return putVoids(btx, from, to, at, id, note) }); err != nil {
			return fmt.Errorf("void seqs %d..%d: %w", from, to, err)
		}
		step("voids")
	}
	return j.update(func(btx *bolt.Tx) error {
		m := btx.Bucket(bucketMeta)
		// A WAL identity of its own: the replaced database's WAL (whose identity the backup
		// shares) can never be replayed into it.
		if err := m.Put(keyWALID, walID); err != nil {
			return err
		}
		last := getU64(m.Get(keyLastSeq))
		msg := fmt.Sprintf("%s: restored from a backup at seq %d (acked %d)", id, b.LastSeq, b.AckedSeq)
		if floor > last {
			if err := m.Put(keyLastSeq, u64(floor)); err != nil {
				return err
			}
			msg += fmt.Sprintf("; seqs %d..%d are skipped so that none is reused (each is a void transaction, forwarded to the ERP)", last+1, floor)
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
		if dropped != "" {
			msg += "; " + dropped
		}
		if unreadable != "" {
			msg += fmt.Sprintf("; the replaced database could not be read (%s): the floor %d was given by the operator", unreadable, floor)
		}
		e := Exception{Kind: ExcRestore, At: at, Message: msg}
		e.ID = getU64(m.Get(keyExcSeq)) + 1
		if err := m.Put(keyExcSeq, u64(e.ID)); err != nil {
			return err
		}
		return putException(btx, direct{btx}, e)
	})
}

// exportDropped writes the transactions a restore drops to dbPath.dropped-<stamp>.jsonl,
// one JSON transaction a line (items, quantities, lots, refs, operator, station, time),
// fsynced with its directory, and returns its path.
func exportDropped(dbPath, stamp string, txs []Transaction) (string, error) {
	path := fmt.Sprintf("%s.dropped-%s.jsonl", dbPath, stamp)
	var b strings.Builder
	for _, tx := range txs {
		raw, err := json.Marshal(tx)
		if err != nil {
			return "", err
		}
		b.Write(raw)
		b.WriteByte('\n')
	}
	if err := writeFileSync(path, []byte(b.String())); err != nil {
		return "", fmt.Errorf("export the dropped transactions to %s: %w", path, err)
	}
	if err := engine.SyncDir(filepath.Dir(path)); err != nil {
		return "", err
	}
	return path, nil
}

// droppedSummary says, for the restore exception, what was dropped: each transaction on
// one line of text (at most 20, the rest are in the file).
func droppedSummary(txs []Transaction, file string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d transaction(s) the ERP never acknowledged were dropped (forced) and exported to %s, to be posted again (depotd repost FILE, depotd stopped):", len(txs), file)
	for i, tx := range txs {
		if i == 20 {
			fmt.Fprintf(&b, " … and %d more in the file", len(txs)-i)
			break
		}
		fmt.Fprintf(&b, " #%d %s", tx.Seq, tx.Type)
		if tx.Ref != "" {
			fmt.Fprintf(&b, " ref %s", tx.Ref)
		}
		if tx.At != nil {
			fmt.Fprintf(&b, " at %s", tx.At.UTC().Format(time.RFC3339))
		}
		if tx.Operator != "" {
			fmt.Fprintf(&b, " by %s", tx.Operator)
		}
		if tx.Station != "" {
			fmt.Fprintf(&b, " at station %s", tx.Station)
		}
		b.WriteString(" (")
		for k, l := range tx.Lines {
			if k > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %s", l.Qty, l.Item)
			if l.UoM != "" {
				fmt.Fprintf(&b, " %s", l.UoM)
			}
			if l.Lot != "" {
				fmt.Fprintf(&b, " lot %s", l.Lot)
			}
			if l.From != "" {
				fmt.Fprintf(&b, " from %s", l.From)
			}
			if l.To != "" {
				fmt.Fprintf(&b, " to %s", l.To)
			}
		}
		b.WriteString(");")
	}
	return strings.TrimSuffix(b.String(), ";")
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
