package odoo_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// inventoryMove is an inventory adjustment's stock move as Odoo stored it.
type inventoryMove struct {
	ID        int             `json:"id"`
	Reference string          `json:"reference"`
	Origin    string          `json:"origin"`
	Quantity  decimal.Decimal `json:"quantity"`
	State     string          `json:"state"`
	Inventory bool            `json:"is_inventory"`
}

func (f postFixture) move(t testing.TB, id int) inventoryMove {
	t.Helper()
	var mv []inventoryMove
	if err := f.c.Call(context.Background(), "stock.move", "read", map[string]any{"ids": []int{id},
		"fields": []string{"reference", "origin", "quantity", "state", "is_inventory"}}, &mv); err != nil || len(mv) != 1 {
		t.Fatalf("read stock.move %d: %v %v", id, mv, err)
	}
	return mv[0]
}

// attachment is the text of the evidence attached to a record.
func (f postFixture) attachment(t testing.TB, model string, id int) string {
	t.Helper()
	var atts []struct {
		Datas string `json:"datas"`
	}
	if err := f.c.Call(context.Background(), "ir.attachment", "search_read", map[string]any{"domain": []any{
		[]any{"res_model", "=", model}, []any{"res_id", "=", id}}, "fields": []string{"datas"}}, &atts); err != nil {
		t.Fatal(err)
	}
	if len(atts) != 1 {
		t.Fatalf("%d attachments on %s %d, want 1", len(atts), model, id)
	}
	raw, err := base64.StdEncoding.DecodeString(atts[0].Datas)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func qty(s string) *edge.Qty { q := edge.MustQty(s); return &q }

// The depot counted 7 where it expected 10; before the count reached Odoo, Odoo shipped 2
// (another depot's issue from the same warehouse). Odoo ends with 10 - 2 - 3 = 5: the
// count's delta, not its total (7), so the shipment is not undone.
func TestACountPostsTheDepotsDeltaNotTheCountedTotal(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	stock := f.depot.Warehouse + "/Stock"
	if r, err := p.Post(ctx, f.depot, f.receipt(1, "10", "C1")); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("receipt: %+v %v", r, err)
	}
	other := odoo.Depot{ID: odootest.Unique("D"), Warehouse: f.depot.Warehouse}
	if _, err := odoo.Setup(ctx, f.c, []odoo.Depot{other}); err != nil {
		t.Fatal(err)
	}
	if r, err := p.Post(ctx, other, edge.Transaction{ID: "iss", Seq: 1, Type: edge.Issue, Lines: []edge.Line{f.line("2", "C1", stock, "")}}); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("the other depot's issue: %+v %v", r, err)
	}
	// Someone is counting that quant in Odoo too (set, not applied): theirs stays pending.
	var quantIDs []int
	if err := f.c.Call(ctx, "stock.quant", "search", map[string]any{"domain": []any{[]any{"product_id", "=", f.prod},
		[]any{"location_id.complete_name", "=", stock}, []any{"lot_id.name", "=", "C1"}}}, &quantIDs); err != nil || len(quantIDs) != 1 {
		t.Fatalf("the quant of lot C1: %v %v", quantIDs, err)
	}
	inv := map[string]any{"inventory_mode": true}
	if err := f.c.Call(ctx, "stock.quant", "write", map[string]any{"ids": quantIDs, "vals": map[string]any{"inventory_quantity": 42}, "context": inv}, nil); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	count := edge.Transaction{ID: "cnt-1", Seq: 2, At: &at, Type: edge.Count, Reason: "CYCLE", Station: "CNT-1",
		Lines: []edge.Line{{Item: f.sku, Qty: edge.MustQty("7"), UoM: "Units", Lot: "C1", To: stock, State: edge.Available,
			Expected: qty("10"), Delta: qty("-3")}},
		Scans: []edge.ScanEvidence{{At: at, Device: "scanner-2", Raw: "10C1"}}}
	r, err := p.Post(ctx, f.depot, count)
	if err != nil || r.Status != odoo.StatusApplied || r.Model != "stock.move" || len(r.Moves) != 1 ||
		!r.Moves[0].Quantity.Equal(decimal.NewFromInt(-3)) || r.Moves[0].Lot != "C1" || r.Moves[0].State != "done" {
		t.Fatalf("count: %+v %v", r, err)
	}
	if got := f.onHand(t, stock); !got.Equal(decimal.NewFromInt(5)) {
		t.Fatalf("on hand after the count: %s, want 5 (10 received, 2 shipped meanwhile, 3 fewer counted)", got)
	}
	var pending []struct {
		Counted decimal.Decimal `json:"inventory_quantity"`
		Set     bool            `json:"inventory_quantity_set"`
	}
	if err := f.c.Call(ctx, "stock.quant", "read", map[string]any{"ids": quantIDs, "fields": []string{"inventory_quantity", "inventory_quantity_set"}}, &pending); err != nil ||
		len(pending) != 1 || !pending[0].Set || !pending[0].Counted.Equal(decimal.NewFromInt(42)) {
		t.Errorf("the count pending in Odoo after the depot's: %+v %v, want 42 still set", pending, err)
	}
	if again, err := p.Post(ctx, f.depot, count); err != nil || again.Status != odoo.StatusDuplicate || again.PickingID != r.PickingID {
		t.Fatalf("count again: %+v %v", again, err)
	}
	if got := f.onHand(t, stock); !got.Equal(decimal.NewFromInt(5)) {
		t.Fatalf("on hand after the count was posted twice: %s, want 5", got)
	}
	// An inventory move, its reference naming the depot, the seq, the reason and what was
	// counted and expected; the evidence (the scan) attached to it.
	mv := f.move(t, r.PickingID)
	for _, want := range []string{f.depot.ID, "seq 2", "count", "CYCLE", "counted 7", "expected 10"} {
		if !strings.Contains(mv.Reference, want) {
			t.Errorf("move reference %q does not say %q", mv.Reference, want)
		}
	}
	if !mv.Inventory || mv.State != "done" || !mv.Quantity.Equal(decimal.NewFromInt(3)) {
		t.Errorf("move: %+v, want a done inventory move of 3", mv)
	}
	if ev := f.attachment(t, "stock.move", r.PickingID); !strings.Contains(ev, "10C1") || !strings.Contains(ev, "counted 7, expected 10") {
		t.Errorf("evidence attached to the move: %q", ev)
	}
	// A count that finds what was expected is recorded too, moving nothing.
	same := edge.Transaction{ID: "cnt-2", Seq: 3, Type: edge.Count, Reason: "CYCLE",
		Lines: []edge.Line{{Item: f.sku, Qty: edge.MustQty("7"), UoM: "Units", Lot: "C1", To: stock, Expected: qty("7"), Delta: qty("0")}}}
	if r, err := p.Post(ctx, f.depot, same); err != nil || r.Status != odoo.StatusApplied || len(r.Moves) != 1 || !r.Moves[0].Quantity.IsZero() {
		t.Fatalf("count without a difference: %+v %v", r, err)
	}
	if got := f.onHand(t, stock); !got.Equal(decimal.NewFromInt(5)) {
		t.Fatalf("on hand after a count without a difference: %s, want 5", got)
	}
}

func TestAnAdjustmentPostsItsSignedQuantityWithTheReasonAndSeqInTheReference(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	stock, damaged := f.depot.Warehouse+"/Stock", f.depot.Warehouse+"/Damaged"
	if r, err := p.Post(ctx, f.depot, f.receipt(1, "10", "J1")); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("receipt: %+v %v", r, err)
	}
	// 1.5 of lot J1 lost in stock; 4 of a lot Odoo has never seen found among the damaged.
	adj := edge.Transaction{ID: "adj-1", Seq: 2, Type: edge.Adjustment, Reason: "FOUND", Ref: "AUDIT-7", Lines: []edge.Line{
		{Item: f.sku, Qty: edge.MustQty("-1.5"), UoM: "Units", Lot: "J1", To: stock, State: edge.Available},
		{Item: f.sku, Qty: edge.MustQty("4"), UoM: "Units", Lot: "J2", Expiry: "2027-03-31", To: stock, State: edge.Damaged},
	}}
	r, err := p.Post(ctx, f.depot, adj)
	if err != nil || r.Status != odoo.StatusApplied || len(r.Moves) != 2 ||
		!r.Moves[0].Quantity.Equal(decimal.RequireFromString("-1.5")) || !r.Moves[1].Quantity.Equal(decimal.NewFromInt(4)) || r.Moves[1].Lot != "J2" {
		t.Fatalf("adjustment: %+v %v", r, err)
	}
	if s, d := f.onHand(t, stock), f.onHand(t, damaged); !s.Equal(decimal.RequireFromString("8.5")) || !d.Equal(decimal.NewFromInt(4)) {
		t.Fatalf("on hand: %s %s, %s %s; want 8.5 and 4", stock, s, damaged, d)
	}
	mv := f.move(t, r.PickingID)
	for _, want := range []string{f.depot.ID, "seq 2", "adjustment", "FOUND"} {
		if !strings.Contains(mv.Reference, want) {
			t.Errorf("move reference %q does not say %q", mv.Reference, want)
		}
	}
	if mv.Origin != "AUDIT-7" {
		t.Errorf("move origin %q, want the ref AUDIT-7", mv.Origin)
	}
	if again, err := p.Post(ctx, f.depot, adj); err != nil || again.Status != odoo.StatusDuplicate {
		t.Fatalf("adjustment again: %+v %v", again, err)
	}
	if s := f.onHand(t, stock); !s.Equal(decimal.RequireFromString("8.5")) {
		t.Fatalf("on hand in %s after the adjustment was posted twice: %s", stock, s)
	}
	// Taking stock of a lot Odoo does not have is the data's fault, and refused whole.
	bad := edge.Transaction{ID: "adj-2", Seq: 3, Type: edge.Adjustment, Reason: "LOST", Lines: []edge.Line{
		{Item: f.sku, Qty: edge.MustQty("-1"), UoM: "Units", Lot: "J1", To: stock},
		{Item: f.sku, Qty: edge.MustQty("-1"), UoM: "Units", Lot: "NOPE", To: stock}}}
	var rej *odoo.Rejection
	if _, err := p.Post(ctx, f.depot, bad); !errors.As(err, &rej) || rej.Code != "UNKNOWN_LOT" || !strings.Contains(rej.Message, "line 2") {
		t.Fatalf("adjustment of an unknown lot: %v, want UNKNOWN_LOT on line 2", err)
	}
	if s := f.onHand(t, stock); !s.Equal(decimal.RequireFromString("8.5")) {
		t.Fatalf("a refused adjustment moved stock: %s", s)
	}
	// Two lines of one lot Odoo has not seen make it once; a lot the depot keeps for a
	// product Odoo does not track is the product's stock.
	plain := odootest.Unique("PLAIN")
	var ids []int
	if err := f.c.Call(ctx, "product.product", "create", map[string]any{"vals_list": []any{map[string]any{
		"name": "depotd test " + plain, "default_code": plain, "type": "consu", "is_storable": true}}}, &ids); err != nil {
		t.Fatal(err)
	}
	more := edge.Transaction{ID: "adj-3", Seq: 3, Type: edge.Adjustment, Reason: "FOUND", Lines: []edge.Line{
		{Item: f.sku, Qty: edge.MustQty("1"), UoM: "Units", Lot: "J3", To: stock},
		{Item: f.sku, Qty: edge.MustQty("2"), UoM: "Units", Lot: "J3", To: stock},
		{Item: plain, Qty: edge.MustQty("5"), UoM: "Units", Lot: "DEPOT-LOT", To: stock}}}
	if r, err := p.Post(ctx, f.depot, more); err != nil || r.Status != odoo.StatusApplied || len(r.Moves) != 3 || r.Moves[2].Lot != "" {
		t.Fatalf("adjustment of a new lot twice and of an untracked product: %+v %v", r, err)
	}
	if s := f.onHand(t, stock); !s.Equal(decimal.RequireFromString("11.5")) {
		t.Fatalf("on hand in %s: %s, want 11.5", stock, s)
	}
	if s := (postFixture{c: f.c, depot: f.depot, prod: ids[0]}).onHand(t, stock); !s.Equal(decimal.NewFromInt(5)) {
		t.Fatalf("on hand of the untracked product: %s, want 5", s)
	}
}
