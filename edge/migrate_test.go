package edge_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/depotd/depotd/edge"
	bolt "go.etcd.io/bbolt"
)

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func schemaCatalog(t *testing.T) *edge.Catalog {
	c, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}, {Name: "WH/Input", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMigrateFromCommittedSchemas opens a copy of every committed database layout (written
// by testdata/schema/gen) with this depotd: older layouts are migrated (with a backup
// first), the current one opens as is, and every one keeps its data and checks clean.
func TestMigrateFromCommittedSchemas(t *testing.T) {
	files, _ := filepath.Glob("testdata/schema/schema-v*.db")
	seen := map[int]bool{}
	re := regexp.MustCompile(`schema-v(\d+)\.db$`)
	for _, f := range files {
		v, _ := strconv.Atoi(re.FindStringSubmatch(f)[1])
		seen[v] = true
		t.Run(filepath.Base(f), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "depotd.db")
			copyFile(t, f, path)
			j := mustOpenAt(t, path, edge.Options{Depot: "SCHEMA", Catalog: schemaCatalog(t)})
			_, bakErr := os.Stat(path + ".schema-v" + strconv.Itoa(v) + ".bak")
			if v < edge.SchemaVersion && bakErr != nil {
				t.Fatalf("no backup before migrating: %v", bakErr)
			}
			if v == edge.SchemaVersion && bakErr == nil {
				t.Fatal("a backup was made although nothing was migrated")
			}
			if probs := j.Check(); len(probs) > 0 {
				t.Fatalf("check after migration: %v", probs)
			}
			st, err := j.Status()
			if err != nil {
				t.Fatal(err)
			}
			if st.LastSeq != 20 || st.AckedSeq != 12 || st.OpenExceptions != 1 {
				t.Fatalf("data after migration: %+v", st)
			}
			if tx, err := j.GetByID("schema-07"); err != nil || tx.Seq != 7 {
				t.Fatalf("id index after migration: %v %d", err, tx.Seq)
			}
			if tx := mustCommit(t, j, receipt("after-migration", "")); tx.Seq != 21 {
				t.Fatalf("seq after migration %d", tx.Seq)
			}
			var schema uint64
			j.DB().View(func(btx *bolt.Tx) error {
				schema = beU64(btx.Bucket([]byte("meta")).Get([]byte("schema")))
				return nil
			})
			if schema != edge.SchemaVersion {
				t.Fatalf("schema after open %d", schema)
			}
		})
	}
	for v := 1; v <= edge.SchemaVersion; v++ {
		if !seen[v] {
			t.Errorf("testdata/schema/schema-v%d.db is missing: run `go run ./edge/testdata/schema/gen` before changing the layout", v)
		}
	}
}

func beU64(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// TestRefuseNewerSchema: a database written by a newer depotd is refused with a clear
// message and left untouched.
func TestRefuseNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	copyFile(t, "testdata/schema/schema-v"+strconv.Itoa(edge.SchemaVersion)+".db", path)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(btx *bolt.Tx) error {
		return btx.Bucket([]byte("meta")).Put([]byte("schema"), []byte{0, 0, 0, 0, 0, 0, 0, 99})
	})
	db.Close()
	before, _ := os.ReadFile(path)
	_, err = edge.Open(path, edge.Options{Depot: "SCHEMA", Catalog: schemaCatalog(t)})
	if !errors.Is(err, edge.ErrSchemaTooNew) {
		t.Fatalf("open newer layout: %v, want ErrSchemaTooNew", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte("layout 99")) {
		t.Fatalf("message %q does not name the layout", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("a refused database was modified")
	}
}

// TestOpenReplaysTheWALBeforeMigrating opens what a power cut left of a journal of an older
// layout (testdata/schema/schema-v2-wal: seqs 31..35 only in the WAL, see gen) with a
// migration step to come: the step must see the layout complete, WAL included, and so must
// the .bak copy made before it; the WAL's records are written in the old layout and must
// not be applied on top of the new one.
func TestOpenReplaysTheWALBeforeMigrating(t *testing.T) {
	const pair, pairSchema = "testdata/schema/schema-v2-wal", 2
	path := filepath.Join(t.TempDir(), "depotd.db")
	copyFile(t, filepath.Join(pair, "depotd.db"), path)
	copyFile(t, filepath.Join(pair, "depotd.db.wal"), edge.WALPath(path))

	var sawLast uint64
	var sawTx35 bool
	edge.AddTestMigration(t, func(btx *bolt.Tx) error {
		sawLast = beU64(btx.Bucket([]byte("meta")).Get([]byte("last_seq")))
		sawTx35 = btx.Bucket([]byte("tx")).Get([]byte{0, 0, 0, 0, 0, 0, 0, 35}) != nil
		return nil
	})
	j := mustOpenAt(t, path, edge.Options{Depot: "SCHEMA", Catalog: schemaCatalog(t)})
	if sawLast != 35 || !sawTx35 {
		t.Fatalf("the migration step saw last_seq %d (seq 35 stored: %v): it ran before the WAL was replayed, want 35", sawLast, sawTx35)
	}
	bak := path + ".schema-v" + strconv.Itoa(pairSchema) + ".bak"
	db, err := bolt.Open(bak, 0o400, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("backup before migrating: %v", err)
	}
	var bakLast uint64
	db.View(func(btx *bolt.Tx) error {
		bakLast = beU64(btx.Bucket([]byte("meta")).Get([]byte("last_seq")))
		return nil
	})
	db.Close()
	if bakLast != 35 {
		t.Fatalf("the backup of layout %d ends at seq %d, want 35: it misses what only the WAL held", pairSchema, bakLast)
	}
	if probs := j.Check(); len(probs) > 0 {
		t.Fatalf("check after migration: %v", probs)
	}
	if tx, err := j.GetByID("schema-35"); err != nil || tx.Seq != 35 {
		t.Fatalf("seq 35 from the WAL: %v %d", err, tx.Seq)
	}
	if tx := mustCommit(t, j, receipt("after-migration", "")); tx.Seq != 36 {
		t.Fatalf("seq after migration %d, want 36", tx.Seq)
	}
}

// TestMigrationTurnsSeqGapsIntoVoids opens the layout-2 journal of
// testdata/schema/schema-v2-wal, whose restore recorded seqs 21..30 in seqgaps: after the
// migration every one of them is a void, the seqs are gap-free from 1 to 35 and the
// journal checks clean.
func TestMigrationTurnsSeqGapsIntoVoids(t *testing.T) {
	const pair = "testdata/schema/schema-v2-wal"
	path := filepath.Join(t.TempDir(), "depotd.db")
	copyFile(t, filepath.Join(pair, "depotd.db"), path)
	copyFile(t, filepath.Join(pair, "depotd.db.wal"), edge.WALPath(path))
	j := mustOpenAt(t, path, edge.Options{Depot: "SCHEMA", Catalog: schemaCatalog(t)})
	txs, err := j.List(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(txs) != 35 {
		t.Fatalf("%d transactions after migration, want 35 (seqs 1..35, 21..30 void)", len(txs))
	}
	for i, tx := range txs {
		seq := uint64(i + 1)
		void := seq >= 21 && seq <= 30
		if tx.Seq != seq || (tx.Type == edge.Void) != void {
			t.Fatalf("seq %d: got seq %d type %s, want void=%v", seq, tx.Seq, tx.Type, void)
		}
		if void && (tx.ID != "" || len(tx.Lines) != 0 || tx.Reason != edge.ReasonRestoreSkipped || tx.Ref == "" || tx.At == nil) {
			t.Fatalf("void at seq %d: %+v", seq, tx)
		}
	}
	if probs := j.Check(); len(probs) > 0 {
		t.Fatalf("check after migration: %v", probs)
	}
	j.DB().View(func(btx *bolt.Tx) error {
		if btx.Bucket([]byte("seqgaps")) != nil {
			t.Error("bucket seqgaps is still there after the migration")
		}
		return nil
	})
}
