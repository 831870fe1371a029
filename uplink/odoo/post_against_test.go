package odoo_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// m2oID is the id of a many2one read from Odoo ([id, name], or false).
func m2oID(raw json.RawMessage) int {
	var pair []json.RawMessage
	var id int
	if json.Unmarshal(raw, &pair) == nil && len(pair) == 2 {
		json.Unmarshal(pair[0], &id)
	}
	return id
}

// openPicking makes, as an Odoo user would (a purchase's receipt, a sale's delivery), a
// confirmed picking of the fixture's warehouse of the given kind ("in_type_id" or
// "out_type_id") for qty[i] of prods[i] (in unit uom[0] when given), with that origin; it
// returns its id and name.
func (f postFixture) openPicking(t testing.TB, kind, origin string, prods []int, qtys []string, uom ...int) (int, string) {
	t.Helper()
	ctx := context.Background()
	var whs []map[string]json.RawMessage
	if err := f.c.Call(ctx, "stock.warehouse", "search_read", map[string]any{"domain": []any{[]any{"code", "=", f.depot.Warehouse}},
		"fields": []string{kind}}, &whs); err != nil || len(whs) != 1 {
		t.Fatalf("warehouse %s: %v %v", f.depot.Warehouse, whs, err)
	}
	typeID := m2oID(whs[0][kind])
	var types []struct {
		Src  json.RawMessage `json:"default_location_src_id"`
		Dest json.RawMessage `json:"default_location_dest_id"`
	}
	if err := f.c.Call(ctx, "stock.picking.type", "read", map[string]any{"ids": []int{typeID},
		"fields": []string{"default_location_src_id", "default_location_dest_id"}}, &types); err != nil || len(types) != 1 {
		t.Fatalf("picking type %d: %v", typeID, err)
	}
	src, dest := m2oID(types[0].Src), m2oID(types[0].Dest)
	if src == 0 || dest == 0 {
		var locs []int
		if err := f.c.Call(ctx, "stock.location", "search", map[string]any{"domain": []any{[]any{"usage", "=", map[string]string{"in_type_id": "supplier", "out_type_id": "customer"}[kind]}}, "limit": 1}, &locs); err != nil || len(locs) != 1 {
			t.Fatalf("partner location: %v", err)
		}
		if src == 0 {
			src = locs[0]
		} else {
			dest = locs[0]
		}
	}
	var moves []any
	for i, p := range prods {
		mv := map[string]any{"product_id": p, "product_uom_qty": qtys[i], "location_id": src, "location_dest_id": dest}
		if len(uom) > 0 {
			mv["product_uom"] = uom[0]
		}
		moves = append(moves, []any{0, 0, mv})
	}
	var ids []int
	if err := f.c.Call(ctx, "stock.picking", "create", map[string]any{"vals_list": []any{map[string]any{
		"picking_type_id": typeID, "location_id": src, "location_dest_id": dest, "origin": origin, "move_ids": moves}}}, &ids); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Call(ctx, "stock.picking", "action_confirm", map[string]any{"ids": ids}, nil); err != nil {
		t.Fatal(err)
	}
	var picks []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	}
	if err := f.c.Call(ctx, "stock.picking", "read", map[string]any{"ids": ids, "fields": []string{"name", "state"}}, &picks); err != nil || len(picks) != 1 {
		t.Fatal(err)
	}
	return ids[0], picks[0].Name
}

// due is what a picking still has to move, by product id (its moves' demand), and its state.
func (f postFixture) due(t testing.TB, name string) (map[int]decimal.Decimal, string, int) {
	t.Helper()
	ctx := context.Background()
	var picks []struct {
		ID    int             `json:"id"`
		State string          `json:"state"`
		Back  json.RawMessage `json:"backorder_id"`
	}
	if err := f.c.Call(ctx, "stock.picking", "search_read", map[string]any{"domain": []any{[]any{"name", "=", name}},
		"fields": []string{"state", "backorder_id"}}, &picks); err != nil || len(picks) != 1 {
		t.Fatalf("picking %s: %v %v", name, picks, err)
	}
	var moves []struct {
		Product []json.RawMessage `json:"product_id"`
		Demand  decimal.Decimal   `json:"product_uom_qty"`
	}
	if err := f.c.Call(ctx, "stock.move", "search_read", map[string]any{"domain": []any{[]any{"picking_id", "=", picks[0].ID}},
		"fields": []string{"product_id", "product_uom_qty"}}, &moves); err != nil {
		t.Fatal(err)
	}
	out := map[int]decimal.Decimal{}
	for _, m := range moves {
		var id int
		json.Unmarshal(m.Product[0], &id)
		out[id] = out[id].Add(m.Demand)
	}
	return out, picks[0].State, m2oID(picks[0].Back)
}

func TestAReceiptAgainstTheOpenReceiptNamedByRefLeavesABackorderForWhatIsStillDue(t *testing.T) {
	f := newPostFixture(t)
	ctx := context.Background()
	plain := odootest.Unique("PLAIN")
	var ids []int
	if err := f.c.Call(ctx, "product.product", "create", map[string]any{"vals_list": []any{map[string]any{
		"name": "depotd test " + plain, "default_code": plain, "type": "consu", "is_storable": true}}}, &ids); err != nil {
		t.Fatal(err)
	}
	po := odootest.Unique("PO")
	openID, openName := f.openPicking(t, "in_type_id", po, []int{f.prod, ids[0]}, []string{"10", "5"})
	stock := f.depot.Warehouse + "/Stock"
	// 6 of the 10 due, in two lots; none of the other product.
	at := time.Now().UTC()
	rcv := edge.Transaction{ID: "rcv-po", Seq: 1, At: &at, Type: edge.Receipt, Ref: po, Lines: []edge.Line{
		{Item: f.sku, Qty: edge.MustQty("4"), UoM: "Units", Lot: "B1", Expiry: "2027-05-31", To: stock},
		{Item: f.sku, Qty: edge.MustQty("2"), UoM: "Units", Lot: "B2", Expiry: "2027-06-30", To: stock}},
		Scans: []edge.ScanEvidence{{At: at, Device: "scanner-1", Raw: "10B1"}}}
	p := odoo.NewPoster(f.c, 2*time.Minute)
	r, err := p.Post(ctx, f.depot, rcv)
	if err != nil || r.Status != odoo.StatusApplied || r.PickingID != openID || r.Backorder == "" || len(r.Moves) != 2 {
		t.Fatalf("receipt against %s: %+v %v; want it applied to picking %d with a backorder", po, r, err, openID)
	}
	done, state, _ := f.due(t, openName)
	if state != "done" || !done[f.prod].Equal(decimal.NewFromInt(6)) || !done[ids[0]].IsZero() {
		t.Fatalf("%s: %s, moves %v; want done with 6 of the product and none of the other", openName, state, done)
	}
	left, state, of := f.due(t, r.Backorder)
	if state == "done" || state == "cancel" || of != openID || !left[f.prod].Equal(decimal.NewFromInt(4)) || !left[ids[0]].Equal(decimal.NewFromInt(5)) {
		t.Fatalf("backorder %s: %s of %d, due %v; want open, of %d, 4 and 5 due", r.Backorder, state, of, left, openID)
	}
	if got := f.onHand(t, stock); !got.Equal(decimal.NewFromInt(6)) {
		t.Fatalf("on hand: %s, want 6", got)
	}
	if again, err := p.Post(ctx, f.depot, rcv); err != nil || again.Status != odoo.StatusDuplicate || again.PickingID != openID {
		t.Fatalf("receipt again: %+v %v", again, err)
	}
	if got := f.onHand(t, stock); !got.Equal(decimal.NewFromInt(6)) {
		t.Fatalf("on hand after the receipt was posted twice: %s, want 6", got)
	}
	// The rest arrives against the backorder (its origin is still the ref): nothing left.
	rest := edge.Transaction{ID: "rcv-po-2", Seq: 2, Type: edge.Receipt, Ref: po, Lines: []edge.Line{
		{Item: f.sku, Qty: edge.MustQty("4"), UoM: "Units", Lot: "B3", Expiry: "2027-07-31", To: stock},
		{Item: plain, Qty: edge.MustQty("5"), UoM: "Units", To: stock}}}
	r2, err := p.Post(ctx, f.depot, rest)
	if err != nil || r2.Status != odoo.StatusApplied || r2.Picking != r.Backorder || r2.Backorder != "" {
		t.Fatalf("the rest: %+v %v; want the backorder %s done, nothing left", r2, err, r.Backorder)
	}
}

func TestAnIssueAgainstTheOpenDeliveryNamedByRefShipsItsLotsAndLeavesTheRestDue(t *testing.T) {
	f := newPostFixture(t)
	ctx := context.Background()
	p := odoo.NewPoster(f.c, 2*time.Minute)
	stock := f.depot.Warehouse + "/Stock"
	if r, err := p.Post(ctx, f.depot, f.receipt(1, "10", "K1")); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("receipt: %+v %v", r, err)
	}
	openID, openName := f.openPicking(t, "out_type_id", odootest.Unique("SO"), []int{f.prod}, []string{"5"})
	r, err := p.Post(ctx, f.depot, edge.Transaction{ID: "iss-so", Seq: 2, Type: edge.Issue, Ref: openName, Lines: []edge.Line{f.line("3", "K1", stock, "")}})
	if err != nil || r.Status != odoo.StatusApplied || r.PickingID != openID || r.Backorder == "" || len(r.Moves) != 1 || r.Moves[0].Lot != "K1" ||
		!r.Moves[0].Quantity.Equal(decimal.NewFromInt(3)) {
		t.Fatalf("issue against %s: %+v %v", openName, r, err)
	}
	if got := f.onHand(t, stock); !got.Equal(decimal.NewFromInt(7)) {
		t.Fatalf("on hand: %s, want 7", got)
	}
	left, state, of := f.due(t, r.Backorder)
	if state == "done" || of != openID || !left[f.prod].Equal(decimal.NewFromInt(2)) {
		t.Fatalf("backorder %s: %s of %d, due %v; want open with 2 due", r.Backorder, state, of, left)
	}
}

// The purchase was in dozens; the depot counts units: 12 units received of 2 dozen due
// are 12 units on hand and 1 dozen still due.
func TestAReceiptInUnitsAgainstAReceiptDueInDozensReceivesUnits(t *testing.T) {
	f := newPostFixture(t)
	ctx := context.Background()
	var units, dozens []int
	if err := f.c.Call(ctx, "uom.uom", "search", map[string]any{"domain": []any{[]any{"name", "=", "Units"}}, "limit": 1}, &units); err != nil || len(units) != 1 {
		t.Fatalf("the Units unit: %v %v", units, err)
	}
	if err := f.c.Call(ctx, "uom.uom", "create", map[string]any{"vals_list": []any{map[string]any{
		"name": odootest.Unique("Dozen"), "relative_factor": 12, "relative_uom_id": units[0]}}}, &dozens); err != nil {
		t.Fatal(err)
	}
	po := odootest.Unique("PO")
	openID, _ := f.openPicking(t, "in_type_id", po, []int{f.prod}, []string{"2"}, dozens[0])
	stock := f.depot.Warehouse + "/Stock"
	tx := f.receipt(1, "12", "Z1")
	tx.Ref = po
	r, err := odoo.NewPoster(f.c, 2*time.Minute).Post(ctx, f.depot, tx)
	if err != nil || r.Status != odoo.StatusApplied || r.PickingID != openID || r.Backorder == "" {
		t.Fatalf("receipt against %s: %+v %v", po, r, err)
	}
	if got := f.onHand(t, stock); !got.Equal(decimal.NewFromInt(12)) {
		t.Fatalf("on hand: %s units, want 12", got)
	}
	if left, _, _ := f.due(t, r.Backorder); !left[f.prod].Equal(decimal.NewFromInt(1)) {
		t.Fatalf("backorder %s: due %v, want 1 (dozen)", r.Backorder, left)
	}
}
