package odoo_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink/odoo"
)

// onHand is the fixture product's quantity in one Odoo location (complete name).
func (f postFixture) onHand(t testing.TB, loc string) decimal.Decimal {
	t.Helper()
	var quants []struct {
		Quantity decimal.Decimal `json:"quantity"`
	}
	if err := f.c.Call(context.Background(), "stock.quant", "search_read", map[string]any{"domain": []any{
		[]any{"product_id", "=", f.prod}, []any{"location_id.complete_name", "=", loc}}, "fields": []string{"quantity"}}, &quants); err != nil {
		t.Fatal(err)
	}
	var sum decimal.Decimal
	for _, q := range quants {
		sum = sum.Add(q.Quantity)
	}
	return sum
}

// picking reads what the post made: its operation type's kind and its moves' locations.
func (f postFixture) picking(t testing.TB, id int) (kind string, from, to []string) {
	t.Helper()
	ctx := context.Background()
	var picks []struct {
		Type []json.RawMessage `json:"picking_type_id"`
	}
	if err := f.c.Call(ctx, "stock.picking", "read", map[string]any{"ids": []int{id}, "fields": []string{"picking_type_id"}}, &picks); err != nil || len(picks) != 1 {
		t.Fatalf("read picking %d: %v %v", id, picks, err)
	}
	var typeID int
	json.Unmarshal(picks[0].Type[0], &typeID)
	var types []struct {
		Code string `json:"code"`
	}
	if err := f.c.Call(ctx, "stock.picking.type", "read", map[string]any{"ids": []int{typeID}, "fields": []string{"code"}}, &types); err != nil || len(types) != 1 {
		t.Fatalf("read picking type: %v", err)
	}
	var moves []struct {
		From []any `json:"location_id"`
		To   []any `json:"location_dest_id"`
	}
	if err := f.c.Call(ctx, "stock.move", "search_read", map[string]any{"domain": []any{[]any{"picking_id", "=", id}},
		"fields": []string{"location_id", "location_dest_id"}}, &moves); err != nil {
		t.Fatal(err)
	}
	for _, m := range moves {
		from = append(from, m.From[1].(string))
		to = append(to, m.To[1].(string))
	}
	return types[0].Code, from, to
}

func (f postFixture) line(qty, lot, from, to string) edge.Line {
	return edge.Line{Item: f.sku, Qty: edge.MustQty(qty), UoM: "Units", Lot: lot, From: from, To: to}
}

func TestAnIssuePostedTwiceLeavesStockOnceToTheCustomerWithTheScannedLot(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	stock := f.depot.Warehouse + "/Stock"
	if r, err := p.Post(ctx, f.depot, f.receipt(1, "10", "L1")); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("receipt: %+v %v", r, err)
	}
	issue := edge.Transaction{ID: "iss-1", Seq: 2, Type: edge.Issue, Ref: "SO-1", Lines: []edge.Line{f.line("3.25", "L1", stock, "Customers")}}
	start := time.Now()
	r, err := p.Post(ctx, f.depot, issue)
	if err != nil || r.Status != odoo.StatusApplied || len(r.Moves) != 1 || r.Moves[0].Lot != "L1" ||
		!r.Moves[0].Quantity.Equal(decimal.RequireFromString("3.25")) || r.Moves[0].State != "done" {
		t.Fatalf("issue: %+v %v", r, err)
	}
	t.Logf("issue posted in %v", time.Since(start).Round(time.Millisecond))
	if again, err := p.Post(ctx, f.depot, issue); err != nil || again.Status != odoo.StatusDuplicate || again.PickingID != r.PickingID {
		t.Fatalf("issue again: %+v %v", again, err)
	}
	if got := f.onHand(t, stock); !got.Equal(decimal.RequireFromString("6.75")) {
		t.Fatalf("on hand in %s: %s, want exactly 6.75", stock, got)
	}
	kind, from, to := f.picking(t, r.PickingID)
	if kind != "outgoing" || len(from) != 1 || from[0] != stock || !strings.HasSuffix(to[0], "Customers") {
		t.Fatalf("issue picking: %s %v → %v, want outgoing %s → Customers", kind, from, to, stock)
	}
	if s := f.state(t, 2); s.moves != 2 || s.keys != 1 {
		t.Fatalf("Odoo holds %d moves, %d keys of seq 2; want 2 and 1", s.moves, s.keys)
	}
	// A lot Odoo has never seen cannot leave: the data's fault, nothing changed.
	_, err = p.Post(ctx, f.depot, edge.Transaction{ID: "iss-2", Seq: 3, Type: edge.Issue, Lines: []edge.Line{f.line("1", "NOPE", stock, "Customers")}})
	var rej *odoo.Rejection
	if !errors.As(err, &rej) || rej.Code != "UNKNOWN_LOT" {
		t.Fatalf("issue of an unknown lot: %v, want UNKNOWN_LOT", err)
	}
	if got := f.onHand(t, stock); !got.Equal(decimal.RequireFromString("6.75")) {
		t.Fatalf("a refused issue moved stock: %s", got)
	}
}

func TestATransferPostedTwiceMovesStockOnceBetweenTheMappedLocations(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	stock, quarantine := f.depot.Warehouse+"/Stock", f.depot.Warehouse+"/Quarantine"
	if r, err := p.Post(ctx, f.depot, f.receipt(1, "10", "L1")); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("receipt: %+v %v", r, err)
	}
	// A transfer to a location by name, and a status move expressed as a transfer into the
	// quarantine state (its location comes from the depot's states mapping).
	tr := edge.Transaction{ID: "tr-1", Seq: 2, Type: edge.Transfer, Lines: []edge.Line{
		f.line("2", "L1", stock, "Quarantine"),
		{Item: f.sku, Qty: edge.MustQty("0.5"), UoM: "Units", Lot: "L1", From: stock, To: stock, ToState: edge.Quarantine},
	}}
	start := time.Now()
	r, err := p.Post(ctx, f.depot, tr)
	if err != nil || r.Status != odoo.StatusApplied || len(r.Moves) != 2 {
		t.Fatalf("transfer: %+v %v", r, err)
	}
	t.Logf("transfer posted in %v", time.Since(start).Round(time.Millisecond))
	if again, err := p.Post(ctx, f.depot, tr); err != nil || again.Status != odoo.StatusDuplicate {
		t.Fatalf("transfer again: %+v %v", again, err)
	}
	if s, q := f.onHand(t, stock), f.onHand(t, quarantine); !s.Equal(decimal.RequireFromString("7.5")) || !q.Equal(decimal.RequireFromString("2.5")) {
		t.Fatalf("on hand: %s %s, %s %s; want exactly 7.5 and 2.5", stock, s, quarantine, q)
	}
	kind, from, to := f.picking(t, r.PickingID)
	if kind != "internal" || len(from) != 1 || from[0] != stock || to[0] != quarantine {
		t.Fatalf("transfer picking: %s %v → %v, want one internal move %s → %s", kind, from, to, stock, quarantine)
	}
	// A transfer from a location Odoo lacks is refused whole.
	_, err = p.Post(ctx, f.depot, edge.Transaction{ID: "tr-2", Seq: 3, Type: edge.Transfer, Lines: []edge.Line{
		f.line("1", "L1", stock, "Quarantine"), f.line("1", "L1", "Nowhere", "Quarantine")}})
	var rej *odoo.Rejection
	if !errors.As(err, &rej) || rej.Code != "UNKNOWN_LOCATION" {
		t.Fatalf("transfer from nowhere: %v, want UNKNOWN_LOCATION", err)
	}
	if s := f.onHand(t, stock); !s.Equal(decimal.RequireFromString("7.5")) {
		t.Fatalf("a refused transfer moved stock: %s", s)
	}
}
