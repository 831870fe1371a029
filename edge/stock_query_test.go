package edge_test

import (
	"fmt"
	"testing"

	"github.com/depotd/depotd/edge"
)

// TestStockQueryPages pages through the ledger with every filter and page size and checks
// the pages against Journal.Stock: same rows, in order, each once, and no (item, location,
// lot) split across two pages.
func TestStockQueryPages(t *testing.T) {
	j := mustOpen(t, nil)
	for i := 0; i < 120; i++ {
		tx := edge.Transaction{ID: fmt.Sprintf("r%d", i), Type: edge.Receipt,
			Lines: []edge.Line{{Item: fmt.Sprintf("SKU-%02d", i%17), Qty: edge.QtyFromInt(int64(i + 1)), Lot: fmt.Sprintf("L%d", i%3),
				To: []string{"WH/Stock", "Van-1", "WH/Input"}[i%3]}}}
		if i%5 == 0 {
			tx.Lines[0].State = edge.Quarantine
		}
		if i%7 == 0 {
			tx.Lines[0].State = edge.Damaged
		}
		mustCommit(t, j, tx)
	}
	for _, f := range []edge.StockFilter{{}, {Item: "SKU-03"}, {Location: "Van-1"}, {Lot: "L2"}, {State: edge.Quarantine},
		{Item: "SKU-04", Location: "WH/Input"}, {Item: "NONE"}, {Location: "Transit"}} {
		want, err := j.Stock(edge.StockFilter{Item: f.Item, Location: f.Location, Lot: f.Lot, State: f.State, Limit: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, 2, 3, 7, 1000} {
			f.Limit = size
			var got []edge.StockRow
			after, pages := "", 0
			for {
				p, err := j.StockQuery(f, after)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) > 0 && len(p.Rows) > 0 {
					a, b := got[len(got)-1], p.Rows[0]
					if a.Item == b.Item && a.Location == b.Location && a.Lot == b.Lot {
						t.Fatalf("filter %+v: %s/%s/%s split across pages", f, a.Item, a.Location, a.Lot)
					}
				}
				got = append(got, p.Rows...)
				if p.Next == "" {
					break
				}
				after = p.Next
				if pages++; pages > 1000 {
					t.Fatal("paging does not end")
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("filter %+v size %d:\n got %v\nwant %v", f, size, got, want)
			}
		}
	}
}
