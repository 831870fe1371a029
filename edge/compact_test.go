package edge_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

// TestCompactShrinksAPrunedDatabase prunes most of a journal, compacts it offline and
// reopens it: smaller file, same positions, clean check; compaction refuses while open.
func TestCompactShrinksAPrunedDatabase(t *testing.T) {
	clk := newClock()
	path := filepath.Join(t.TempDir(), "depotd.db")
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 400; i++ {
		mustCommit(t, j, receipt(txID("c", i), bigNote))
	}
	if _, err := j.Ack(edge.Ack{UptoSeq: 390}); err != nil {
		t.Fatal(err)
	}
	snapshotAt(t, j, 390)
	clk.Add(100 * 24 * time.Hour)
	for {
		r, err := j.Prune(clk.Now().Add(-edge.DefaultRetention), 100)
		if err != nil {
			t.Fatal(err)
		}
		if r.Pruned == 0 {
			break
		}
	}
	opts := edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil), LockTimeout: 100 * time.Millisecond}
	if _, err := edge.Compact(path, opts); !errors.Is(err, edge.ErrLocked) {
		t.Fatalf("compact while open: %v, want ErrLocked", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := edge.Compact(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.After >= res.Before/2 {
		t.Fatalf("compaction %d → %d bytes: expected at least half given back", res.Before, res.After)
	}
	if _, err := os.Stat(path + ".compact.tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("temporary file left behind")
	}
	r := mustOpenAt(t, path, edge.Options{})
	if last, acked := r.Positions(); last != 400 || acked != 390 {
		t.Fatalf("positions after compaction %d/%d", last, acked)
	}
	if p, _ := r.PrunedSeq(); p != 390 {
		t.Fatalf("pruned_seq after compaction %d", p)
	}
	if tx := mustCommit(t, r, receipt("after-compact", "")); tx.Seq != 401 {
		t.Fatalf("seq after compaction %d", tx.Seq)
	}
}
