package countlist_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/countlist"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var day0 = time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)

// TestTheCountListPutsOverdueFastMoversDiscrepanciesAdjustmentsAndWeightDisagreementsFirst:
// over 60 generated days, a fast mover counted 10 days ago is due (class A, every 7
// days), a slower one counted as long ago is not (class B, every 30), nor a slow mover
// (class C), an item whose counts found
// deltas comes back sooner, and recent adjustments and weight disagreements put items
// on the list with their reasons; the list survives a restart, derived again from the
// journal.
func TestTheCountListPutsOverdueFastMoversDiscrepanciesAdjustmentsAndWeightDisagreementsFirst(t *testing.T) {
	c := &clock{t: day0}
	path := filepath.Join(t.TempDir(), "depotd.db")
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: cat, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	commit := func(typ edge.TxType, lines ...edge.Line) {
		t.Helper()
		n++
		if _, _, err := j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("t%d", n), Type: typ, Reason: "damage", Lines: lines}); err != nil {
			t.Fatal(err)
		}
	}
	in := func(item string, q int64) edge.Line {
		return edge.Line{Item: item, Qty: edge.QtyFromInt(q), To: "WH/Stock"}
	}
	out := func(item string, q int64) edge.Line {
		return edge.Line{Item: item, Qty: edge.QtyFromInt(q), From: "WH/Stock"}
	}
	count := func(item string, q int64) edge.Line {
		return edge.Line{Item: item, Qty: edge.QtyFromInt(q), To: "WH/Stock"}
	}
	items := []string{"FAST", "F2", "F3", "F4", "SLOW", "DELTA", "ADJ", "WEIGH", "B1", "B2", "B3"}
	for _, it := range items {
		commit(edge.Receipt, in(it, 10000))
	}
	for d := range 60 {
		c.set(day0.AddDate(0, 0, d))
		for range 6 {
			commit(edge.Issue, out("FAST", 1), out("F2", 1), out("F3", 1), out("F4", 1))
		}
		for _, it := range []string{"B1", "B2", "B3", "DELTA", "ADJ", "WEIGH"} {
			commit(edge.Issue, out(it, 1))
		}
		if d%20 == 0 {
			commit(edge.Issue, out("SLOW", 1))
		}
		switch d {
		case 30, 40:
			commit(edge.Count, count("DELTA", 1)) // far below what the ledger holds: a delta
		case 50:
			commit(edge.Count, count("FAST", 10000-6*51))
			commit(edge.Count, count("SLOW", 9997))
			commit(edge.Count, count("DELTA", 1))
			commit(edge.Count, count("B1", 10000-51))
		case 57:
			commit(edge.Adjustment, edge.Line{Item: "ADJ", Qty: edge.QtyFromInt(-2), From: "WH/Stock"})
		case 58:
			if _, err := j.RaiseException(edge.Exception{Kind: edge.ExcWeightMismatch, Item: "WEIGH", Message: "bag of 100 weighs 94"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.set(day0.AddDate(0, 0, 60))
	list, err := countlist.Build(context.Background(), j, c.now(), countlist.Config{})
	if err != nil {
		t.Fatal(err)
	}
	byItem := map[string]countlist.Entry{}
	var order []string
	for _, e := range list.Entries {
		byItem[e.Item] = e
		order = append(order, e.Item)
		t.Logf("%-6s %s %.2f %v %v", e.Item, e.Class, e.Score, e.Reasons, e.Locations)
	}
	if _, ok := byItem["SLOW"]; ok {
		t.Error("a class C item counted 10 days ago is on the list")
	}
	want := map[string]string{
		"FAST":  "last counted 10 days ago (due every 7.0)",
		"DELTA": "count(s) in the window found deltas",
		"ADJ":   "adjusted on 2026-10-28",
		"WEIGH": "weight_mismatch on 2026-10-29",
		"B2":    "not counted in 90 days",
	}
	for it, reason := range want {
		e, ok := byItem[it]
		if !ok {
			t.Errorf("%s is not on the list %v", it, order)
			continue
		}
		if !strings.Contains(strings.Join(e.Reasons, "; "), reason) {
			t.Errorf("%s reasons %v, want one containing %q", it, e.Reasons, reason)
		}
		if len(e.Locations) != 1 || e.Locations[0] != "WH/Stock" {
			t.Errorf("%s locations %v", it, e.Locations)
		}
	}
	if byItem["FAST"].Class != "A" || byItem["B2"].Class != "B" || byItem["B1"].Item != "" {
		t.Errorf("FAST class %q, B2 class %q; B1 (counted 10 days ago, every 30) on the list: %+v", byItem["FAST"].Class, byItem["B2"].Class, byItem["B1"])
	}
	if byItem["ADJ"].Score <= byItem["F2"].Score || byItem["WEIGH"].Score <= byItem["B2"].Score {
		t.Errorf("a recent adjustment or disagreement does not rank above an item as overdue or more without one: %v", order)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = edge.Open(path, edge.Options{Depot: "D1", Catalog: cat, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	again, err := countlist.Build(context.Background(), j, c.now(), countlist.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(again.Entries) != fmt.Sprint(list.Entries) {
		t.Errorf("after restart the list differs:\n%v\n%v", again.Entries, list.Entries)
	}
}
