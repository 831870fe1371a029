package edge_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/depotd/depotd/edge"
)

var testLocations = []edge.Location{
	{Name: "WH/Stock", Type: edge.LocInternal, Barcode: "LOC-STOCK"},
	{Name: "WH/Input", Type: edge.LocInternal},
	{Name: "WH/Quarantine", Type: edge.LocQuarantine},
	{Name: "WH/Returns", Type: edge.LocReturns},
	{Name: "Transit", Type: edge.LocTransit},
	{Name: "Van-1", Type: edge.LocMobile},
}

func mustCatalog(tb testing.TB, neg map[edge.LocationType]edge.NegativePolicy) *edge.Catalog {
	tb.Helper()
	c, err := edge.NewCatalog(testLocations, nil, neg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// mustOpen opens a journal in a temp dir and, at cleanup, closes it and checks that the
// database is consistent and the ledger equals a replay.
func mustOpen(tb testing.TB, neg map[edge.LocationType]edge.NegativePolicy) *edge.Journal {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "depotd.db")
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: mustCatalog(tb, neg)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if probs := j.Check(); len(probs) > 0 {
			tb.Errorf("database check: %v", probs)
		}
		if err := j.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return j
}

func mustCommit(tb testing.TB, j *edge.Journal, tx edge.Transaction) edge.Transaction {
	tb.Helper()
	out, _, err := j.Commit(context.Background(), tx)
	if err != nil {
		tb.Fatalf("commit %s: %v", tx.ID, err)
	}
	return out
}

func line(item, qty, from, to string) edge.Line {
	return edge.Line{Item: item, Qty: edge.MustQty(qty), From: from, To: to}
}
