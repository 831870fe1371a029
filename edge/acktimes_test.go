package edge_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

func ackMarks(t *testing.T, j *edge.Journal, from uint64) []edge.AckMark {
	t.Helper()
	var out []edge.AckMark
	if err := j.AckMarks(context.Background(), from, func(m edge.AckMark) error {
		out = append(out, m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// An ack that moves the watermark records when it came, durably beside the watermark; a
// late or repeated ack records nothing; the marks survive a close and open.
func TestAnAckThatMovesTheWatermarkRecordsWhenItCameAcrossARestart(t *testing.T) {
	clk := newClock()
	path := filepath.Join(t.TempDir(), "depotd.db")
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		mustCommit(t, j, receipt(txID("ack", i), ""))
	}
	t0 := clk.Now()
	clk.Add(90 * time.Second)
	if _, err := j.Ack(edge.Ack{UptoSeq: 2}); err != nil {
		t.Fatal(err)
	}
	clk.Add(30 * time.Second)
	if _, err := j.Ack(edge.Ack{UptoSeq: 5}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	if _, err := j.Ack(edge.Ack{UptoSeq: 4}); err != nil { // late: watermark stays
		t.Fatal(err)
	}
	if _, err := j.Ack(edge.Ack{UptoSeq: 5}); err != nil { // repeated
		t.Fatal(err)
	}
	want := []edge.AckMark{{UptoSeq: 2, At: t0.Add(90 * time.Second)}, {UptoSeq: 5, At: t0.Add(120 * time.Second)}}
	check := func(got []edge.AckMark) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("marks %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i].UptoSeq != want[i].UptoSeq || !got[i].At.Equal(want[i].At) {
				t.Fatalf("mark %d: %+v, want %+v", i, got[i], want[i])
			}
		}
	}
	check(ackMarks(t, j, 1))
	if got := ackMarks(t, j, 3); len(got) != 1 || got[0].UptoSeq != 5 {
		t.Fatalf("marks from seq 3: %+v (the mark covering seq 3 is the one at 5)", got)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = mustOpenAt(t, path, edge.Options{Now: clk.Now})
	check(ackMarks(t, j, 1))
}

// Layout 4 had no ack times: the migration marks its watermark with an unknown time, so
// those seqs are never attributed to the first ack after the upgrade.
func TestMigrationTo5MarksTheAcksBeforeItAsOfUnknownTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	raw, err := os.ReadFile("testdata/schema/schema-v4.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	j := mustOpenAt(t, path, edge.Options{Depot: "SCHEMA", Catalog: schemaCatalog(t)})
	if _, err := j.Ack(edge.Ack{UptoSeq: 15}); err != nil {
		t.Fatal(err)
	}
	got := ackMarks(t, j, 1)
	if len(got) != 2 || got[0].UptoSeq != 12 || !got[0].At.IsZero() || got[1].UptoSeq != 15 || got[1].At.IsZero() {
		t.Fatalf("marks after migrating a database acked to 12 and acking 15: %+v", got)
	}
}

// Pruning takes the ack marks that cover only pruned seqs, and keeps the one that also
// covers a seq still held.
func TestPruningTakesTheAckMarksOfPrunedSeqsOnly(t *testing.T) {
	clk := newClock()
	j := mustOpenAt(t, filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Now: clk.Now})
	for i := range 10 {
		mustCommit(t, j, receipt(txID("prune", i), ""))
		clk.Add(time.Minute)
	}
	for _, upto := range []uint64{3, 6, 10} {
		if _, err := j.Ack(edge.Ack{UptoSeq: upto}); err != nil {
			t.Fatal(err)
		}
	}
	snapshotAt(t, j, 10)
	// Seqs 1..4 were committed before t0+4min.
	res, err := j.Prune(time.Date(2026, 3, 1, 8, 4, 0, 0, time.UTC), 100)
	if err != nil || res.UpTo != 4 {
		t.Fatalf("prune: %+v %v", res, err)
	}
	got := ackMarks(t, j, 1)
	if len(got) != 2 || got[0].UptoSeq != 6 || got[1].UptoSeq != 10 {
		t.Fatalf("marks after pruning up to seq 4: %+v (want 6 and 10)", got)
	}
}
