package edge_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

// clock is a settable time source for retention tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// mustOpenAt opens (or reopens) the journal at path and checks it at cleanup.
func mustOpenAt(tb testing.TB, path string, opts edge.Options) *edge.Journal {
	tb.Helper()
	if opts.Depot == "" {
		opts.Depot = "D1"
	}
	if opts.Catalog == nil {
		opts.Catalog = mustCatalog(tb, nil)
	}
	j, err := edge.Open(path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if probs := j.Check(); len(probs) > 0 {
			tb.Errorf("database check: %v", probs)
		}
		j.Close()
	})
	return j
}

func receipt(id string, note string) edge.Transaction {
	return edge.Transaction{ID: id, Type: edge.Receipt, Note: note,
		Lines: []edge.Line{line("SKU-1", "1", "", "WH/Stock")}}
}

func txID(prefix string, i int) string { return fmt.Sprintf("%s-%06d", prefix, i) }

// snapshotAt tells the journal the ERP applied every seq up to seq (the rows themselves do
// not matter to retention).
func snapshotAt(tb testing.TB, j *edge.Journal, seq uint64) {
	tb.Helper()
	if err := j.ApplyStockSnapshot(edge.StockSnapshot{V: 1, AppliedSeq: seq,
		Rows: []edge.StockSnapshotRow{{Item: "SKU-1", Location: "WH/Stock", Qty: edge.MustQty("1")}}}); err != nil {
		tb.Fatal(err)
	}
}
