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
	wal := readFile(t, edge.WALPath(db))
	res, err := edge.Restore(bak, db, restoreOpts(t, bak))
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
