package odoo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// newBenchFixture is newPostFixture for benchmarks (a fresh warehouse, depot and product).
func newBenchFixture(b *testing.B) postFixture {
	b.Helper()
	env := odootest.Need(b)
	c := env.Client(b)
	wh := odootest.NewWarehouse(b, c)
	d := odoo.Depot{ID: odootest.Unique("B"), Warehouse: wh}
	if _, err := odoo.Setup(context.Background(), c, []odoo.Depot{d}); err != nil {
		b.Fatal(err)
	}
	sku := odootest.Unique("BSKU")
	var ids []int
	if err := c.Call(context.Background(), "product.product", "create", map[string]any{"vals_list": []any{map[string]any{
		"name": "depotd bench " + sku, "default_code": sku, "type": "consu", "is_storable": true,
		"tracking": "lot", "use_expiration_date": true,
	}}}, &ids); err != nil {
		b.Fatal(err)
	}
	return postFixture{c: c, depot: d, sku: sku, prod: ids[0]}
}

// BenchmarkPostReceipt posts one-line lot receipts in seq order through the post action:
// one Odoo call each, idempotent and atomic.
//
//	go test ./uplink/odoo -run '^$' -bench PostReceipt -benchtime 50x
func BenchmarkPostReceipt(b *testing.B) {
	f := newBenchFixture(b)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		r, err := p.Post(ctx, f.depot, f.receipt(uint64(i+1), "2", fmt.Sprintf("L%d", i)))
		if err != nil || r.Status != odoo.StatusApplied {
			b.Fatalf("seq %d: %+v, %v", i+1, r, err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tx/s")
}

// BenchmarkDirectReceipt makes the same receipts the way a client without the action
// would, with the JSON-2 calls of Odoo's documented flow (create, confirm, write the move
// line's lot and expiry, validate): four Odoo transactions each, neither atomic nor
// idempotent. The baseline the issue compares the connector with.
func BenchmarkDirectReceipt(b *testing.B) {
	f := newBenchFixture(b)
	ctx := context.Background()
	var whs []struct {
		InType []any `json:"in_type_id"`
		Stock  []any `json:"lot_stock_id"`
	}
	if err := f.c.Call(ctx, "stock.warehouse", "search_read", map[string]any{"domain": []any{[]any{"code", "=", f.depot.Warehouse}},
		"fields": []string{"in_type_id", "lot_stock_id"}}, &whs); err != nil || len(whs) != 1 {
		b.Fatal(err)
	}
	var vendor []int
	if err := f.c.Call(ctx, "stock.location", "search", map[string]any{"domain": []any{[]any{"usage", "=", "supplier"}}, "limit": 1}, &vendor); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		var ids []int
		if err := f.c.Call(ctx, "stock.picking", "create", map[string]any{"vals_list": []any{map[string]any{
			"picking_type_id": whs[0].InType[0], "location_id": vendor[0], "location_dest_id": whs[0].Stock[0], "origin": fmt.Sprintf("D%d", i),
			"move_ids": []any{[]any{0, 0, map[string]any{"product_id": f.prod, "product_uom_qty": 2, "location_id": vendor[0], "location_dest_id": whs[0].Stock[0]}}},
		}}}, &ids); err != nil {
			b.Fatal(err)
		}
		if err := f.c.Call(ctx, "stock.picking", "action_confirm", map[string]any{"ids": ids}, nil); err != nil {
			b.Fatal(err)
		}
		var mls []int
		if err := f.c.Call(ctx, "stock.move.line", "search", map[string]any{"domain": []any{[]any{"picking_id", "=", ids[0]}}}, &mls); err != nil {
			b.Fatal(err)
		}
		if err := f.c.Call(ctx, "stock.move.line", "write", map[string]any{"ids": mls, "vals": map[string]any{
			"lot_name": fmt.Sprintf("D%d", i), "expiration_date": "2027-06-30 00:00:00", "quantity": 2, "picked": true}}, nil); err != nil {
			b.Fatal(err)
		}
		if err := f.c.Call(ctx, "stock.picking", "button_validate", map[string]any{"ids": ids, "context": map[string]any{"skip_backorder": true}}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tx/s")
	b.StopTimer()
	if s := f.state(b, 1); s.moves != b.N || s.onHand.IntPart() != int64(2*b.N) {
		b.Fatalf("direct receipts: %d moves, %s on hand; want %d, %d", s.moves, s.onHand, b.N, 2*b.N)
	}
}
