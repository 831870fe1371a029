package odoo_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink/odoo"
)

// docLines renders a depot document's lines as "SKU qty/done".
func docLines(d edge.Document) string {
	s := ""
	for _, l := range d.Lines {
		s += fmt.Sprintf("%s %s/%s %s;", l.Item, l.Qty, l.Done, l.UoM)
	}
	return s
}

// An open receipt of the depot's warehouse in Odoo reaches the depot as a document:
// its ref, partner, origin and scheduled date, a move in dozens converted to the product's
// units and merged with the move in units, nothing done while nothing is picked. Picking
// part of it republishes the document with what is done; cancelling it drops it from the
// next snapshot. A receipt of another warehouse is never sent.
func TestAnOpenOdooReceiptReachesTheDepotAsAnExpectedDocumentInBaseUnits(t *testing.T) {
	r := newE2ERig(t)
	ctx := t.Context()
	var whs []struct {
		InType []any `json:"in_type_id"`
		Stock  []any `json:"lot_stock_id"`
	}
	if err := r.c.Call(ctx, "stock.warehouse", "search_read", map[string]any{"domain": []any{[]any{"code", "=", r.depot.Warehouse}},
		"fields": []string{"in_type_id", "lot_stock_id"}}, &whs); err != nil || len(whs) != 1 {
		t.Fatalf("warehouse %s: %v %v", r.depot.Warehouse, whs, err)
	}
	var vendor []int
	if err := r.c.Call(ctx, "stock.location", "search", map[string]any{"domain": []any{[]any{"usage", "=", "supplier"}}, "limit": 1}, &vendor); err != nil || len(vendor) != 1 {
		t.Fatalf("vendor location: %v", err)
	}
	dozen := r.create("uom.uom", map[string]any{"name": "Dozen " + r.sku, "relative_factor": 12, "relative_uom_id": 1})
	if err := r.c.Call(ctx, "product.product", "write", map[string]any{"ids": []int{r.prod}, "vals": map[string]any{"uom_ids": []any{[]any{6, 0, []int{dozen}}}}}, nil); err != nil {
		t.Fatal(err)
	}
	partner := r.create("res.partner", map[string]any{"name": "Acme " + r.sku})
	origin := "PO-" + r.sku
	move := func(qty float64, uom int) []any {
		m := map[string]any{"product_id": r.prod, "product_uom_qty": qty, "location_id": vendor[0], "location_dest_id": whs[0].Stock[0]}
		if uom != 0 {
			m["product_uom"] = uom
		}
		return []any{0, 0, m}
	}
	picking := r.create("stock.picking", map[string]any{
		"picking_type_id": whs[0].InType[0], "location_id": vendor[0], "location_dest_id": whs[0].Stock[0],
		"partner_id": partner, "origin": origin, "scheduled_date": "2026-12-01 09:30:00",
		"move_ids": []any{move(5, 0), move(2, dozen)}})
	if err := r.c.Call(ctx, "stock.picking", "action_confirm", map[string]any{"ids": []int{picking}}, nil); err != nil {
		t.Fatal(err)
	}
	var names []struct {
		Name string `json:"name"`
	}
	if err := r.c.Call(ctx, "stock.picking", "search_read", map[string]any{"domain": []any{[]any{"id", "=", picking}}, "fields": []string{"name"}}, &names); err != nil || len(names) != 1 {
		t.Fatalf("picking name: %v", err)
	}
	ref := names[0].Name
	// Another warehouse's receipt of the same product.
	other := newE2ERig(t)
	var otherWH []struct {
		InType []any `json:"in_type_id"`
		Stock  []any `json:"lot_stock_id"`
	}
	if err := r.c.Call(ctx, "stock.warehouse", "search_read", map[string]any{"domain": []any{[]any{"code", "=", other.depot.Warehouse}},
		"fields": []string{"in_type_id", "lot_stock_id"}}, &otherWH); err != nil || len(otherWH) != 1 {
		t.Fatal(err)
	}
	foreign := r.create("stock.picking", map[string]any{"picking_type_id": otherWH[0].InType[0], "location_id": vendor[0], "location_dest_id": otherWH[0].Stock[0],
		"move_ids": []any{[]any{0, 0, map[string]any{"product_id": r.prod, "product_uom_qty": 1, "location_id": vendor[0], "location_dest_id": otherWH[0].Stock[0]}}}})
	if err := r.c.Call(ctx, "stock.picking", "action_confirm", map[string]any{"ids": []int{foreign}}, nil); err != nil {
		t.Fatal(err)
	}

	// A delivery of the depot's warehouse, waiting for stock.
	var outs []struct {
		OutType []any `json:"out_type_id"`
	}
	if err := r.c.Call(ctx, "stock.warehouse", "search_read", map[string]any{"domain": []any{[]any{"code", "=", r.depot.Warehouse}},
		"fields": []string{"out_type_id"}}, &outs); err != nil || len(outs) != 1 {
		t.Fatal(err)
	}
	var customer []int
	if err := r.c.Call(ctx, "stock.location", "search", map[string]any{"domain": []any{[]any{"usage", "=", "customer"}}, "limit": 1}, &customer); err != nil || len(customer) != 1 {
		t.Fatalf("customer location: %v", err)
	}
	delivery := r.create("stock.picking", map[string]any{"picking_type_id": outs[0].OutType[0], "location_id": whs[0].Stock[0], "location_dest_id": customer[0],
		"move_ids": []any{[]any{0, 0, map[string]any{"product_id": r.prod, "product_uom_qty": 3, "location_id": whs[0].Stock[0], "location_dest_id": customer[0]}}}})
	if err := r.c.Call(ctx, "stock.picking", "action_confirm", map[string]any{"ids": []int{delivery}}, nil); err != nil {
		t.Fatal(err)
	}

	r.startUplink()
	r.startDownService(odoo.DownlinkConfig{Poll: time.Second, SnapshotEvery: 1000, SnapshotInterval: time.Hour}, t.TempDir())
	var doc edge.Document
	waitUntil(t, 2*time.Minute, "the receipt at the depot", func() bool {
		d, ok, err := r.j.Document(ref)
		doc = d
		return err == nil && ok
	})
	waitUntil(t, time.Minute, "the delivery at the depot", func() bool {
		m, err := r.j.Documents()
		return err == nil && len(m.Documents) == 2
	})
	m, err := r.j.Documents()
	if err != nil || len(m.Documents) != 2 {
		t.Fatalf("the depot has %d documents (%v); want only its warehouse's two: %+v", len(m.Documents), err, m.Documents)
	}
	for _, d := range m.Documents {
		if d.Ref != ref && (d.Kind != edge.DocIssue || docLines(d) != fmt.Sprintf("%s 3/0 Units;", r.sku)) {
			t.Fatalf("the delivery reached the depot as %+v", d)
		}
	}
	want := fmt.Sprintf("%s 29/0 Units;", r.sku)
	if doc.Kind != edge.DocReceipt || doc.Partner != "Acme "+r.sku || doc.Origin != origin ||
		!doc.Scheduled.Equal(time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)) || docLines(doc) != want {
		t.Fatalf("document %+v lines %q; want a receipt from Acme, %s, scheduled 2026-12-01 09:30 UTC, lines %q", doc, docLines(doc), origin, want)
	}

	// Pick 1 dozen of the 2: 12 of 29 units done.
	var moves []struct {
		ID  int   `json:"id"`
		UoM []any `json:"product_uom"`
	}
	if err := r.c.Call(ctx, "stock.move", "search_read", map[string]any{"domain": []any{[]any{"picking_id", "=", picking}}, "fields": []string{"product_uom"}}, &moves); err != nil {
		t.Fatal(err)
	}
	for _, mv := range moves {
		if fmt.Sprint(mv.UoM[0]) == fmt.Sprint(dozen) {
			if err := r.c.Call(ctx, "stock.move", "write", map[string]any{"ids": []int{mv.ID}, "vals": map[string]any{"quantity": 1, "picked": true}}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	want = fmt.Sprintf("%s 29/12 Units;", r.sku)
	waitUntil(t, time.Minute, "the picked dozen at the depot", func() bool {
		d, _, _ := r.j.Document(ref)
		doc = d
		return docLines(d) == want
	})
	if err := r.c.Call(ctx, "stock.picking", "action_cancel", map[string]any{"ids": []int{picking}}, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "the cancelled receipt gone from the depot", func() bool {
		_, ok, err := r.j.Document(ref)
		return err == nil && !ok
	})
}
