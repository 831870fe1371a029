package edge_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

// TestRestoreRefusesToDropUnacknowledgedTransactionsWithoutForce: the database in place
// holds seqs 21..30 the ERP never acknowledged, only in its WAL, and the backup stops at
// 20. The restore is refused, naming how many, which seqs and what to do, and changes
// nothing: the database and its WAL are byte for byte as they were.
func TestRestoreRefusesToDropUnacknowledgedTransactionsWithoutForce(t *testing.T) {
	dir := t.TempDir()
	db, bak := crashLeft(t, dir)
	kept, wal := readFile(t, db), readFile(t, edge.WALPath(db))
	_, err := edge.Restore(bak, db, restoreOpts(t, bak))
	var ue *edge.UnackedDropError
	if !errors.Is(err, edge.ErrUnackedDropped) || !errors.As(err, &ue) {
		t.Fatalf("restore over unacknowledged transactions: %v, want ErrUnackedDropped", err)
	}
	for _, want := range []string{"10 transaction(s) newer than the backup (seq 20)", "seqs 21..30", "let the uplink deliver them first",
		"depotd fleet", "--force", "Nothing was changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if len(ue.Seqs) != 10 || ue.Seqs[0] != 21 || ue.Seqs[9] != 30 {
		t.Errorf("seqs %v, want 21..30", ue.Seqs)
	}
	if !bytes.Equal(readFile(t, db), kept) || !bytes.Equal(readFile(t, edge.WALPath(db)), wal) {
		t.Fatal("a refused restore changed the database or its WAL")
	}
	if m, _ := filepath.Glob(db + ".*"); len(m) != 1 { // only the WAL
		t.Errorf("a refused restore left files: %v", m)
	}
}

// TestRestoreWithForceExportsTheDroppedTransactionsToAFileAndTheException: with Force the
// restore goes ahead, the dropped transactions (from the WAL too) are in a JSON-lines file
// beside the database with items, quantities, lots, refs, operator, station and time, and
// the restore exception summarises them and names the file.
func TestRestoreWithForceExportsTheDroppedTransactionsToAFileAndTheException(t *testing.T) {
	dir := t.TempDir()
	db, bak := crashLeft(t, dir)
	// One more, fully described, only in the WAL as well.
	j, err := edge.Open(db, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil), CheckpointIdle: 1 << 40, CheckpointEvery: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	full := mustCommit(t, j, edge.Transaction{ID: "po-7", Type: edge.Receipt, Ref: "PO0007", Operator: "olivia", Station: "dock-1",
		Lines: []edge.Line{{Item: "SKU-2", Qty: edge.MustQty("12"), Lot: "L9", To: "WH/Stock"}}})
	if _, err := j.Ack(edge.Ack{UptoSeq: 22}); err != nil { // 21 and 22 reached the ERP
		t.Fatal(err)
	}
	// Close without a checkpoint is not possible from outside; copy the pair as a crash leaves it.
	crashDir := t.TempDir()
	db2 := filepath.Join(crashDir, "depotd.db")
	copyFile(t, db, db2)
	copyFile(t, edge.WALPath(db), edge.WALPath(db2))
	j.Close()

	opts := restoreOpts(t, bak)
	opts.Force = true
	res, err := edge.Restore(bak, db2, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Dropped) != 9 || res.Dropped[0].Seq != 23 || res.Dropped[8].Seq != full.Seq {
		t.Fatalf("dropped %d transactions, want seqs 23..%d", len(res.Dropped), full.Seq)
	}
	if filepath.Dir(res.DroppedFile) != crashDir || !strings.HasPrefix(filepath.Base(res.DroppedFile), "depotd.db.dropped-") ||
		!strings.HasSuffix(res.DroppedFile, ".jsonl") {
		t.Fatalf("export file %q is not beside the database", res.DroppedFile)
	}
	f, err := os.Open(res.DroppedFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []edge.Transaction
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var tx edge.Transaction
		if err := json.Unmarshal(sc.Bytes(), &tx); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		got = append(got, tx)
	}
	if len(got) != 9 {
		t.Fatalf("export holds %d lines, want 9", len(got))
	}
	last := got[8]
	if last.Seq != full.Seq || last.ID != "po-7" || last.Ref != "PO0007" || last.Operator != "olivia" || last.Station != "dock-1" ||
		last.At == nil || !last.At.Equal(*full.At) || len(last.Lines) != 1 || last.Lines[0].Item != "SKU-2" ||
		last.Lines[0].Qty.String() != "12" || last.Lines[0].Lot != "L9" || last.Lines[0].To != "WH/Stock" {
		t.Errorf("exported %+v, want %+v", last, full)
	}
	r := mustOpenAt(t, db2, edge.Options{})
	excs, err := r.Exceptions(true, 10)
	if err != nil {
		t.Fatal(err)
	}
	var msg string
	for _, e := range excs {
		if e.Kind == edge.ExcRestore {
			msg = e.Message
		}
	}
	for _, want := range []string{"9 transaction(s) the ERP never acknowledged were dropped", res.DroppedFile,
		"#31 receipt ref PO0007", "by olivia at station dock-1", "12 SKU-2 Units lot L9 from Partners/Vendors to WH/Stock", "#23 receipt"} {
		if !strings.Contains(msg, want) {
			t.Errorf("restore exception does not say %q:\n%s", want, msg)
		}
	}
}
