package countlist_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/countlist"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// valueDepot generates 90 days of a depot's issues: fast cheap items, slow dear ones and
// everything between, each with its unit value in the config's master data, all counted
// once 11 days before the end (so only what is due every 7 days, class A, is due).
func valueDepot(t *testing.T) (*edge.Journal, *clock) {
	t.Helper()
	c := &clock{t: day0}
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(16, 3))
	type gen struct {
		sku   string
		rate  float64 // issues a day
		value string
	}
	var items []gen
	var master []edge.Item
	for i := range 24 {
		g := gen{sku: fmt.Sprintf("I%02d", i), rate: 8 * r.Float64() * r.Float64()}
		if i%6 != 5 { // every sixth item has no unit value
			g.value = fmt.Sprintf("%.2f", 0.05*float64(int(1)<<(r.IntN(14))))
		}
		items = append(items, g)
		master = append(master, edge.Item{SKU: g.sku, UnitValue: g.value})
	}
	// The dear slow mover and the cheap fast one the test names.
	items = append(items, gen{"GOLD", 0.1, "5000"}, gen{"WASHER", 12, "0.01"})
	master = append(master, edge.Item{SKU: "GOLD", UnitValue: "5000"}, edge.Item{SKU: "WASHER", UnitValue: "0.01"})
	j, err := edge.Open(filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Depot: "D1", Catalog: cat, Now: c.now, Master: edge.MasterData{Items: master}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	n := 0
	commit := func(typ edge.TxType, l edge.Line) {
		t.Helper()
		n++
		if _, _, err := j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("t%d", n), Type: typ, Lines: []edge.Line{l}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range items {
		commit(edge.Receipt, edge.Line{Item: g.sku, Qty: edge.QtyFromInt(100000), To: "WH/Stock"})
	}
	for d := range 90 {
		c.set(day0.AddDate(0, 0, d))
		for _, g := range items {
			// Poisson by inversion: few enough draws a day for the slow movers to be slow.
			k, p := 0, 1.0
			for lim := math.Exp(-g.rate); ; k++ {
				p *= r.Float64()
				if p < lim {
					break
				}
			}
			for range k {
				commit(edge.Issue, edge.Line{Item: g.sku, Qty: edge.QtyFromInt(int64(1 + r.IntN(3))), From: "WH/Stock"})
			}
			if d == 79 {
				rows, _ := j.Stock(edge.StockFilter{Item: g.sku, Limit: 10})
				commit(edge.Count, edge.Line{Item: g.sku, Qty: rows[0].Qty, To: "WH/Stock"})
			}
		}
	}
	c.set(day0.AddDate(0, 0, 90))
	return j, c
}

// TestADearSlowMoverIsClassAByValueAndComesUpAsOftenAsAFastMover: ABC is by consumption
// value (issued quantity × unit value over the window) and by velocity, an item taking
// the higher class of the two: a slow mover of high unit value is class A by value
// (due every 7 days) although class C by velocity, a cheap fast mover class A by
// velocity; each reason says which made the class; an item without a unit value is
// classed by velocity alone and says so. The whole list of a generated depot is held in
// testdata/value.golden (-update rewrites it).
func TestADearSlowMoverIsClassAByValueAndComesUpAsOftenAsAFastMover(t *testing.T) {
	j, c := valueDepot(t)
	list, err := countlist.Build(context.Background(), j, c.now(), countlist.Config{Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]countlist.Entry{}
	var b strings.Builder
	for _, e := range list.Entries {
		by[e.Item] = e
		fmt.Fprintf(&b, "%-6s %s value=%-1s velocity=%s %.2f %s\n", e.Item, e.Class, e.ValueClass, e.VelocityClass, e.Score, strings.Join(e.Reasons, "; "))
	}
	gold, ok := by["GOLD"]
	if !ok || gold.Class != "A" || gold.ValueClass != "A" || gold.VelocityClass != "C" ||
		!strings.Contains(gold.Reasons[0], "class A (value A: ") || !strings.Contains(gold.Reasons[0], "velocity C: ") {
		t.Errorf("GOLD %+v, want class A by value, C by velocity, due", gold)
	}
	washer, ok := by["WASHER"]
	if !ok || washer.Class != "A" || washer.VelocityClass != "A" || washer.ValueClass == "A" {
		t.Errorf("WASHER %+v, want class A by velocity only", washer)
	}
	for _, e := range list.Entries {
		if e.ValueClass == "" && !strings.Contains(e.Reasons[0], "no unit value") {
			t.Errorf("%s has no unit value and does not say so: %v", e.Item, e.Reasons)
		}
		if e.Class != "A" {
			t.Errorf("%s class %s is on the list: only class A is due 11 days after a count", e.Item, e.Class)
		}
	}
	golden := filepath.Join("testdata", "value.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("count list differs from %s:\n%s", golden, b.String())
	}
}
