// Command gen writes test databases in the journal's current layout (N = edge.SchemaVersion)
// to edge/testdata/schema/. Run it whenever the layout changes, before changing it, and
// commit what it wrote:
//
//	go run ./edge/testdata/schema/gen
//
// It writes two things:
//
//   - schema-vN.db: a small database (20 transactions, an ack with a rejection, a stock
//     snapshot, a session), cleanly closed. TestMigrateFromCommittedSchemas migrates every
//     committed predecessor forward.
//   - schema-vN-wal/depotd.db and depotd.db.wal: what a power cut leaves after a restore
//     that skipped seqs. A backup at seq 20 was restored over a database at seq 30, so seqs
//     21..30 were skipped (floor 30); seqs 31..35 were then committed and are held only by
//     the write-ahead log (the files were copied while the journal was open, before any
//     checkpoint took them into bbolt). TestOpenReplaysTheWALBeforeMigrating and the
//     migration tests open this pair: the WAL must be replayed in the layout that wrote it,
//     before the database is migrated.
//
// -only db or -only wal writes just one of them (a committed file of an older layout must
// not be rewritten by a newer depotd).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/depotd/depotd/edge"
)

var dir = filepath.Join("edge", "testdata", "schema")

func main() {
	only := flag.String("only", "", `"db" or "wal": write only schema-vN.db or only schema-vN-wal/`)
	flag.Parse()
	if *only != "wal" {
		writeDB()
	}
	if *only != "db" {
		writeWALPair()
	}
}

func catalog() *edge.Catalog {
	cat, err := edge.NewCatalog([]edge.Location{
		{Name: "WH/Stock", Type: edge.LocInternal},
		{Name: "WH/Input", Type: edge.LocInternal},
	}, nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	return cat
}

var at = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func now() time.Time { return at }

// commit posts schema-<first>..schema-<last>: receipts of 2, every fourth a transfer of 1.
func commit(j *edge.Journal, first, last int) {
	for i := first; i <= last; i++ {
		tx := edge.Transaction{ID: fmt.Sprintf("schema-%02d", i), Type: edge.Receipt,
			Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("2"), To: "WH/Stock"}}}
		if i%4 == 0 {
			tx = edge.Transaction{ID: fmt.Sprintf("schema-%02d", i), Type: edge.Transfer,
				Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("1"), From: "WH/Stock", To: "WH/Input"}}}
		}
		if _, _, err := j.Commit(context.Background(), tx); err != nil {
			log.Fatal(err)
		}
	}
}

// populate gives a fresh journal the content schema-vN.db holds.
func populate(j *edge.Journal) {
	commit(j, 1, 20)
	if _, err := j.Ack(edge.Ack{UptoSeq: 12, Rejected: []edge.Rejection{{Seq: 3, Code: "E1", Message: "test"}}}); err != nil {
		log.Fatal(err)
	}
	if err := j.ApplyStockSnapshot(edge.StockSnapshot{V: 1, AppliedSeq: 10,
		Rows: []edge.StockSnapshotRow{{Item: "SKU-1", Location: "WH/Stock", Qty: edge.MustQty("14")}}}); err != nil {
		log.Fatal(err)
	}
	if _, err := j.NextSession(); err != nil {
		log.Fatal(err)
	}
	if probs := j.Check(); len(probs) > 0 {
		log.Fatal(probs)
	}
}

func writeDB() {
	out := filepath.Join(dir, fmt.Sprintf("schema-v%d.db", edge.SchemaVersion))
	work, err := os.MkdirTemp("", "schema-gen-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	j, err := edge.Open(filepath.Join(work, "depotd.db"), edge.Options{Depot: "SCHEMA", Catalog: catalog(), Now: now})
	if err != nil {
		log.Fatal(err)
	}
	populate(j)
	// Written as a backup (one read transaction's copy): only the pages in use, not the
	// file bbolt grew in advance.
	f, err := os.Create(out)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := j.WriteBackup(f); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	if err := j.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", out)
}

func writeWALPair() {
	work, err := os.MkdirTemp("", "schema-gen-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	db := filepath.Join(work, "depotd.db")
	backup := filepath.Join(work, "backup.db")

	j, err := edge.Open(db, edge.Options{Depot: "SCHEMA", Catalog: catalog(), Now: now})
	if err != nil {
		log.Fatal(err)
	}
	populate(j)
	f, err := os.Create(backup)
	if err != nil {
		log.Fatal(err)
	}
	info, err := j.WriteBackup(f)
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		log.Fatal(err)
	}
	commit(j, 21, 30) // lost with the database: the restore skips them
	if err := j.Close(); err != nil {
		log.Fatal(err)
	}
	if _, err := edge.Restore(backup, db, edge.RestoreOptions{Depot: "SCHEMA", Catalog: catalog(), SHA256: info.SHA256, Now: now}); err != nil {
		log.Fatal(err)
	}

	// No checkpoint may take 31..35 into bbolt before the copy: nothing reads, nothing
	// else is written, and the idle and periodic checkpoints wait an hour.
	j, err = edge.Open(db, edge.Options{Depot: "SCHEMA", Catalog: catalog(), Now: now,
		CheckpointIdle: time.Hour, CheckpointEvery: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	commit(j, 31, 35)
	out := filepath.Join(dir, fmt.Sprintf("schema-v%d-wal", edge.SchemaVersion))
	if err := os.RemoveAll(out); err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		log.Fatal(err)
	}
	copyFile(db, filepath.Join(out, "depotd.db"))
	copyFile(edge.WALPath(db), filepath.Join(out, "depotd.db.wal"))
	trimZeros(filepath.Join(out, "depotd.db.wal"))
	if err := j.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", out)
}

func copyFile(src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		log.Fatal(err)
	}
	if err := out.Close(); err != nil {
		log.Fatal(err)
	}
}

// trimZeros cuts the zero blocks off the end of a WAL copy: replay stops at the first block
// that holds no record, and Open zero-fills the file to its size again.
func trimZeros(path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	const block = 4096
	n := len(raw)
	for n >= block && allZero(raw[n-block:n]) {
		n -= block
	}
	if err := os.Truncate(path, int64(n)); err != nil {
		log.Fatal(err)
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
