package odoo

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/depotd/depotd/edge"
)

// quantAnswer is stock.quant/web_search_read's records as Odoo 19 answers them: a lot
// is false or {id, name}, quantities are floats, a product may lack an internal reference.
const quantAnswer = `[
 {"id":1,"product_id":{"id":7,"default_code":"SKU-1"},"location_id":{"id":5,"complete_name":"WH/Stock"},"lot_id":false,"quantity":5.0},
 {"id":2,"product_id":{"id":7,"default_code":"SKU-1"},"location_id":{"id":5,"complete_name":"WH/Stock"},"lot_id":false,"quantity":0.30000000000000004},
 {"id":3,"product_id":{"id":7,"default_code":"SKU-1"},"location_id":{"id":5,"complete_name":"WH/Stock"},"lot_id":{"id":9,"name":"L1"},"quantity":2.5},
 {"id":4,"product_id":{"id":7,"default_code":"SKU-1"},"location_id":{"id":8,"complete_name":"WH/Quarantine"},"lot_id":false,"quantity":3.0},
 {"id":5,"product_id":{"id":7,"default_code":"SKU-1"},"location_id":{"id":12,"complete_name":"WH/Vans/Van-1"},"lot_id":false,"quantity":1.0},
 {"id":6,"product_id":{"id":8,"default_code":false},"location_id":{"id":5,"complete_name":"WH/Stock"},"lot_id":false,"quantity":4.0},
 {"id":7,"product_id":{"id":9,"default_code":"SKU-2"},"location_id":{"id":5,"complete_name":"WH/Stock"},"lot_id":false,"quantity":0.0},
 {"id":8,"product_id":{"id":9,"default_code":"SKU-2"},"location_id":{"id":13,"complete_name":"WH/Damaged"},"lot_id":false,"quantity":-2.0}
]`

// Odoo's quants come back under the depot's names: the locations map inverted, a state's
// location as that state at the warehouse's stock location, lots by name; quants of one
// row add up exactly (float noise dropped), zero rows and products without an internal
// reference are left out.
func TestQuantsMapBackToTheDepotsNamesStatesAndLots(t *testing.T) {
	d := Depot{ID: "D1", Warehouse: "WH", Locations: map[string]string{"Van-1": "WH/Vans/Van-1"}}
	var qs []quantRec
	if err := json.Unmarshal([]byte(quantAnswer), &qs); err != nil {
		t.Fatal(err)
	}
	rows, err := quantRows(d, "WH/Stock", qs)
	if err != nil {
		t.Fatal(err)
	}
	want := []edge.StockSnapshotRow{
		{Item: "SKU-1", Location: "Van-1", State: edge.Available, Qty: edge.MustQty("1")},
		{Item: "SKU-1", Location: "WH/Stock", State: edge.Available, Qty: edge.MustQty("5.3")},
		{Item: "SKU-1", Location: "WH/Stock", State: edge.Quarantine, Qty: edge.MustQty("3")},
		{Item: "SKU-1", Location: "WH/Stock", Lot: "L1", State: edge.Available, Qty: edge.MustQty("2.5")},
		{Item: "SKU-2", Location: "WH/Stock", State: edge.Damaged, Qty: edge.MustQty("-2")},
	}
	if g, w := fmt.Sprintf("%+v", rows), fmt.Sprintf("%+v", want); g != w {
		t.Fatalf("rows\n got %s\nwant %s", g, w)
	}
	if got := d.DepotLocation(d.Location("Van-1")); got != "Van-1" {
		t.Fatalf("DepotLocation(Location(Van-1)) = %q", got)
	}
}

// FuzzQuantRows: whatever Odoo answers, quantRows never panics, and what it accepts has
// no zero row, no row twice and is sorted.
func FuzzQuantRows(f *testing.F) {
	f.Add([]byte(quantAnswer))
	f.Add([]byte(`[{"product_id":{"default_code":"A"},"location_id":{"complete_name":"WH/Stock"},"lot_id":{"name":false},"quantity":1e-7}]`))
	f.Add([]byte(`[{"product_id":{"default_code":"A"},"location_id":{"complete_name":"WH/Stock"},"lot_id":[1],"quantity":1e300}]`))
	d := Depot{ID: "D1", Warehouse: "WH", Locations: map[string]string{"Van-1": "WH/Vans/Van-1"}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var qs []quantRec
		if json.Unmarshal(raw, &qs) != nil {
			return
		}
		rows, err := quantRows(d, "WH/Stock", qs)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for i, r := range rows {
			k := fmt.Sprintf("%q|%q|%q|%q", r.Item, r.Location, r.Lot, r.State)
			if r.Qty.IsZero() || seen[k] || r.Item == "" {
				t.Fatalf("row %d %+v: zero, empty item or twice", i, r)
			}
			seen[k] = true
			if i > 0 && fmt.Sprint(rows[i-1].Item) > r.Item {
				t.Fatalf("not sorted: %+v", rows)
			}
		}
	})
}
