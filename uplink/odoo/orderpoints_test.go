package odoo_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/replenish"
	"github.com/depotd/depotd/uplink/odoo"
)

func (r *e2eRig) depotOrderpoints() map[string]edge.Orderpoint {
	r.t.Helper()
	raw, err := r.j.Master(edge.MasterKindOrderpoints)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]edge.Orderpoint{}
	if raw == nil {
		return out
	}
	var m edge.MasterOrderpoints
	if err := json.Unmarshal(raw, &m); err != nil {
		r.t.Fatal(err)
	}
	for _, o := range m.Orderpoints {
		out[o.Item+"@"+o.Location] = o
	}
	return out
}

// An orderpoint made in Odoo for the depot's warehouse (min 10, max 50, replenished in
// packs of 12) reaches the depot as retained master data; a dip of the depot's stock to 5
// then raises a proposal with its quantities, 48 from central (50 − 5 rounded up to 12),
// with no rule in the depot's config. Raising the maximum in Odoo republishes it.
func TestAnOrderpointMadeInOdooReachesTheDepotAndADipBelowItsMinimumProposesItsQuantities(t *testing.T) {
	r := newE2ERig(t)
	stock := r.depot.Warehouse + "/Stock"
	pack := r.create("uom.uom", map[string]any{"name": "Pack12 " + r.sku, "relative_factor": 12, "relative_uom_id": 1})
	if err := r.c.Call(t.Context(), "product.product", "write", map[string]any{"ids": []int{r.prod},
		"vals": map[string]any{"uom_ids": []any{[]any{6, 0, []int{pack}}}}}, nil); err != nil {
		t.Fatal(err)
	}
	var whs []struct {
		ID    int   `json:"id"`
		Stock []any `json:"lot_stock_id"`
	}
	if err := r.c.Call(t.Context(), "stock.warehouse", "search_read", map[string]any{
		"domain": []any{[]any{"code", "=", r.depot.Warehouse}}, "fields": []string{"lot_stock_id"}}, &whs); err != nil || len(whs) != 1 {
		t.Fatalf("warehouse %s: %v %v", r.depot.Warehouse, whs, err)
	}
	op := r.create("stock.warehouse.orderpoint", map[string]any{"product_id": r.prod, "warehouse_id": whs[0].ID,
		"location_id": pairID(whs[0].Stock), "product_min_qty": 10, "product_max_qty": 50, "replenishment_uom_id": pack, "trigger": "manual"})

	r.startUplink()
	r.startDownService(odoo.DownlinkConfig{Poll: time.Second, SnapshotEvery: 1000, SnapshotInterval: time.Hour}, t.TempDir())
	key := r.sku + "@" + stock
	waitUntil(t, 2*time.Minute, "the orderpoint at the depot", func() bool { _, ok := r.depotOrderpoints()[key]; return ok })
	got := r.depotOrderpoints()[key]
	want := edge.Orderpoint{Item: r.sku, Location: stock, Min: edge.MustQty("10"), Max: edge.MustQty("50"), Multiple: edge.MustQty("12"), Source: replenish.SourceCentral}
	if got.Min.String() != "10" || got.Max.String() != "50" || got.Multiple.String() != "12" || got.Source != want.Source {
		t.Fatalf("depot orderpoint %+v, want %+v", got, want)
	}

	r.receipts(1, "5")
	if _, err := r.j.Stock(edge.StockFilter{}); err != nil { // a checkpoint, which the proposer reads
		t.Fatal(err)
	}
	raised, err := replenish.NewProposer(r.j, replenish.Config{}, e2eLog(t, "replenish")).Check()
	if err != nil {
		t.Fatal(err)
	}
	if len(raised) != 1 {
		t.Fatalf("raised %+v, want one proposal from Odoo's orderpoint", raised)
	}
	p := raised[0]
	if p.Item != r.sku || p.Location != stock || p.Qty.String() != "48" || p.Min.String() != "10" || p.Max.String() != "50" ||
		p.Multiple.String() != "12" || p.Available.String() != "5" || p.Source != replenish.SourceCentral {
		t.Fatalf("proposal %+v; want 48 of %s at %s from central (min 10, max 50, multiple 12, available 5)", p, r.sku, stock)
	}

	if err := r.c.Call(t.Context(), "stock.warehouse.orderpoint", "write", map[string]any{"ids": []int{op}, "vals": map[string]any{"product_max_qty": 74}}, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "the changed maximum at the depot", func() bool { return r.depotOrderpoints()[key].Max.String() == "74" })
}

// A van's orderpoint whose route pulls from the depot's own stock comes down with that
// location as its source (named as the depot names it), so the van is refilled from the
// depot; an orderpoint without a route is replenished from central.
func TestAVansOrderpointRefilledByARouteFromTheDepotsStockHasThatStockAsItsSource(t *testing.T) {
	r := newE2ERig(t)
	wh := r.warehouse(r.depot.Warehouse)
	var views []struct {
		View []any `json:"view_location_id"`
	}
	if err := r.c.Call(t.Context(), "stock.warehouse", "read", map[string]any{"ids": []int{wh.ID}, "fields": []string{"view_location_id"}}, &views); err != nil {
		t.Fatal(err)
	}
	van := r.create("stock.location", map[string]any{"name": "Van-7", "location_id": pairID(views[0].View), "usage": "internal"})
	route := r.create("stock.route", map[string]any{"name": "depotd test van refill " + r.sku, "product_selectable": true,
		"rule_ids": []any{[]any{0, 0, map[string]any{"name": "refill " + r.sku, "action": "pull", "picking_type_id": pairID(wh.IntType),
			"location_src_id": pairID(wh.Stock), "location_dest_id": van, "procure_method": "make_to_stock"}}}})
	r.create("stock.warehouse.orderpoint", map[string]any{"product_id": r.prod, "warehouse_id": wh.ID, "location_id": van,
		"product_min_qty": 2, "product_max_qty": 6, "route_id": route, "trigger": "manual"})
	r.create("stock.warehouse.orderpoint", map[string]any{"product_id": r.prod, "warehouse_id": wh.ID, "location_id": pairID(wh.Stock),
		"product_min_qty": 1, "product_max_qty": 9, "trigger": "manual"})
	r.depot.Locations = map[string]string{"Van-7": r.depot.Warehouse + "/Van-7", "Stock": r.depot.Warehouse + "/Stock"}

	r.startUplink()
	r.startDownService(odoo.DownlinkConfig{Poll: time.Second, SnapshotEvery: 1000, SnapshotInterval: time.Hour}, t.TempDir())
	waitUntil(t, 2*time.Minute, "both orderpoints at the depot", func() bool { return len(r.depotOrderpoints()) == 2 })
	ops := r.depotOrderpoints()
	if o := ops[r.sku+"@Van-7"]; o.Source != "Stock" || o.Min.String() != "2" || o.Max.String() != "6" || o.Multiple.String() != "1" {
		t.Errorf("the van's orderpoint %+v; want 2/6 by 1 from Stock", o)
	}
	if o := ops[r.sku+"@Stock"]; o.Source != replenish.SourceCentral || o.Max.String() != "9" {
		t.Errorf("the stock's orderpoint %+v; want 1/9 from central", o)
	}
}
