package edge_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

// crashLeft writes, in dir, what a power cut leaves of a journal that committed seqs 1..30
// with a backup taken at 20: the database at its checkpoint after the backup, and a WAL
// holding 21..30, which bbolt does not. It returns the database's path and the backup's.
func crashLeft(t *testing.T, dir string) (db, backup string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "depotd.db")
	j, err := edge.Open(src, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil),
		CheckpointIdle: time.Hour, CheckpointEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for i := 1; i <= 20; i++ {
		mustCommit(t, j, receipt(txID("x", i), ""))
	}
	backup, _ = backupFile(t, j, dir, "backup.db") // a read: it checkpoints 1..20
	for i := 21; i <= 30; i++ {
		mustCommit(t, j, receipt(txID("x", i), ""))
	}
	db = filepath.Join(dir, "data", "depotd.db")
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		t.Fatal(err)
	}
	copyFile(t, src, db)
	copyFile(t, edge.WALPath(src), edge.WALPath(db))
	return db, backup
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestRestoreKeepsTheReplacedDatabaseAndItsWAL restores over a database whose last
// transactions only its WAL holds: the pair is moved aside together, the WAL unchanged,
// and the pair opens with every transaction; the floor counts them.
func TestRestoreKeepsTheReplacedDatabaseAndItsWAL(t *testing.T) {
	dir := t.TempDir()
	db, bak := crashLeft(t, dir)
	kept, wal := readFile(t, db), readFile(t, edge.WALPath(db))
	o := restoreOpts(t, bak)
	o.Force = true // 21..30 were never acknowledged (TestRestoreRefusesToDropUnacknowledgedTransactionsWithoutForce)
	res, err := edge.Restore(bak, db, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Floor != 30 || res.GapFrom != 21 {
		t.Fatalf("floor %d gap from %d, want 30 and 21: the WAL's seqs were not counted", res.Floor, res.GapFrom)
	}
	got, err := os.ReadFile(edge.WALPath(res.Previous))
	if err != nil || !bytes.Equal(got, wal) {
		t.Fatalf("the replaced database's WAL was not kept beside it unchanged (%v)", err)
	}
	if !bytes.Equal(readFile(t, res.Previous), kept) {
		t.Fatal("the replaced database was changed before it was kept aside")
	}
	if !strings.HasPrefix(res.Previous, db+".replaced-") {
		t.Fatalf("replaced database kept as %q, want %s.replaced-<time>", res.Previous, db)
	}
	prev := mustOpenAt(t, res.Previous, edge.Options{})
	if last, _ := prev.Positions(); last != 30 {
		t.Fatalf("the kept database opens at seq %d, want 30", last)
	}
	if tx, err := prev.GetByID(txID("x", 30)); err != nil || tx.Seq != 30 {
		t.Fatalf("seq 30 in the kept database: %v %d", err, tx.Seq)
	}
	r := mustOpenAt(t, db, edge.Options{})
	if tx := mustCommit(t, r, receipt("after", "")); tx.Seq != 31 {
		t.Fatalf("first seq after restore %d, want 31", tx.Seq)
	}
	if _, err := r.GetByID(txID("x", 25)); !errors.Is(err, edge.ErrNotFound) {
		t.Fatalf("the restored database replayed the replaced one's WAL: %v", err)
	}
}

// TestRestoreOverAnUnreadableDatabaseNeedsTheFloor: a database that cannot be opened is
// not a blank gateway. Without a floor the restore is refused, saying where to find it,
// and changes nothing; with one, the damaged database and its WAL are kept aside unread
// and seqs continue above the floor.
func TestRestoreOverAnUnreadableDatabaseNeedsTheFloor(t *testing.T) {
	dir := t.TempDir()
	db, bak := crashLeft(t, dir)
	damaged := bytes.Repeat([]byte("not a bbolt page "), 1024)
	if err := os.WriteFile(db, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	wal := readFile(t, edge.WALPath(db))

	_, err := edge.Restore(bak, db, restoreOpts(t, bak))
	if !errors.Is(err, edge.ErrFloorUnknown) {
		t.Fatalf("restore over an unreadable database without a floor: %v, want ErrFloorUnknown", err)
	}
	for _, want := range []string{db, "--floor", "last applied seq", "depotd fleet", "retained status", "depots/D1/status", "Nothing was changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
	if !bytes.Equal(readFile(t, db), damaged) || !bytes.Equal(readFile(t, edge.WALPath(db)), wal) {
		t.Fatal("a refused restore changed the database or its WAL")
	}
	if aside, _ := filepath.Glob(db + ".*"); len(aside) != 1 { // only the WAL
		t.Fatalf("a refused restore left %v", aside)
	}

	o := restoreOpts(t, bak)
	o.Floor = 30
	res, err := edge.Restore(bak, db, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Floor != 30 || res.Unreadable == "" {
		t.Fatalf("floor %d, unreadable %q", res.Floor, res.Unreadable)
	}
	if !bytes.Equal(readFile(t, res.Previous), damaged) || !bytes.Equal(readFile(t, edge.WALPath(res.Previous)), wal) {
		t.Fatal("the unreadable database and its WAL were not kept aside unchanged")
	}
	r := mustOpenAt(t, db, edge.Options{})
	if tx := mustCommit(t, r, receipt("after", "")); tx.Seq != 31 {
		t.Fatalf("first seq after restore %d, want 31", tx.Seq)
	}
	excs, _ := r.Exceptions(true, 10)
	if len(excs) == 0 || !strings.Contains(excs[0].Message, "could not be read") {
		t.Fatalf("the restore exception does not say the replaced database was unreadable: %+v", excs)
	}
}

// TestRestoreVoidsEverySkippedSeq: a restore whose floor lies above the backup stores a
// void at each skipped seq, naming the restore, and the journal checks gap-free.
func TestRestoreVoidsEverySkippedSeq(t *testing.T) {
	dir := t.TempDir()
	db, bak := crashLeft(t, dir)
	o := restoreOpts(t, bak)
	o.Floor = 25_030 // 25,010 voids: more than one batch
	o.Force = true   // 21..30 were never acknowledged
	o.Now = func() time.Time { return time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC) }
	res, err := edge.Restore(bak, db, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Floor != 25_030 || res.GapFrom != 21 {
		t.Fatalf("floor %d gap from %d", res.Floor, res.GapFrom)
	}
	r := mustOpenAt(t, db, edge.Options{})
	txs := allTxs(t, r)
	if len(txs) != 25_030 {
		t.Fatalf("%d journal entries, want 25030", len(txs))
	}
	for _, tx := range txs[20:] {
		if tx.Type != edge.Void || tx.ID != "" || len(tx.Lines) != 0 || tx.Ref != "restore-20261203T093000Z" ||
			tx.Reason != edge.ReasonRestoreSkipped || !strings.Contains(tx.Note, "restore-20261203T093000Z") {
			t.Fatalf("seq %d: %+v, want a void of restore-20261203T093000Z", tx.Seq, tx)
		}
	}
	if tx := mustCommit(t, r, receipt("after", "")); tx.Seq != 25_031 {
		t.Fatalf("first seq after restore %d", tx.Seq)
	}
	if probs := r.Check(); len(probs) > 0 {
		t.Fatalf("check: %v", probs)
	}
	st, err := r.Status()
	if err != nil || st.LastSeq != 25_031 {
		t.Fatalf("status %+v %v", st, err)
	}
}

// TestRestoreRefusesToVoidMoreThanTheCap: a floor more than MaxRestoreVoids above the
// backup (a mistyped number, most likely) is refused before anything is written.
func TestRestoreRefusesToVoidMoreThanTheCap(t *testing.T) {
	dir := t.TempDir()
	db, bak := crashLeft(t, dir)
	before := readFile(t, db)
	o := restoreOpts(t, bak)
	o.Floor = 20 + edge.MaxRestoreVoids + 1
	_, err := edge.Restore(bak, db, o)
	if !errors.Is(err, edge.ErrTooManyVoids) || !strings.Contains(err.Error(), "Check the floor") {
		t.Fatalf("restore with a floor %d above the backup: %v, want ErrTooManyVoids", edge.MaxRestoreVoids+1, err)
	}
	if !bytes.Equal(readFile(t, db), before) {
		t.Fatal("a refused restore changed the database")
	}
	if aside, _ := filepath.Glob(db + ".*"); len(aside) != 1 { // only the WAL
		t.Fatalf("a refused restore left %v", aside)
	}
}
