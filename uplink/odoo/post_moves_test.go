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

func TestAScrapIsAStockScrapTaggedWithTheReasonAndCarriesTheWeighing(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	stock, damaged := f.depot.Warehouse+"/Stock", f.depot.Warehouse+"/Damaged"
	if r, err := p.Post(ctx, f.depot, f.receipt(1, "10", "S1")); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("receipt: %+v %v", r, err)
	}
	if r, err := p.Post(ctx, f.depot, edge.Transaction{ID: "tr", Seq: 2, Type: edge.Transfer, Lines: []edge.Line{
		{Item: f.sku, Qty: edge.MustQty("3"), UoM: "Units", Lot: "S1", From: stock, To: stock, ToState: edge.Damaged}}}); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("transfer into damaged: %+v %v", r, err)
	}
	reason := "BROKEN-" + f.depot.Warehouse
	scrap := edge.Transaction{ID: "scr-1", Seq: 3, Type: edge.Scrap, Reason: reason, Ref: "INC-9", Lines: []edge.Line{
		{Item: f.sku, Qty: edge.MustQty("2.5"), UoM: "Units", Lot: "S1", From: stock, State: edge.Damaged, WeightKg: "2.512"},
		{Item: f.sku, Qty: edge.MustQty("1"), UoM: "Units", Lot: "S1", From: stock, State: edge.Available}},
		Scans: []edge.ScanEvidence{{At: time.Now().UTC(), Device: "scale-1", Raw: "SCRAP-S1"}}}
	r, err := p.Post(ctx, f.depot, scrap)
	if err != nil || r.Status != odoo.StatusApplied || r.Model != "stock.scrap" || len(r.Moves) != 2 ||
		!r.Moves[0].Quantity.Equal(decimal.RequireFromString("2.5")) || r.Moves[0].State != "done" || r.Moves[0].Lot != "S1" {
		t.Fatalf("scrap: %+v %v", r, err)
	}
	if again, err := p.Post(ctx, f.depot, scrap); err != nil || again.Status != odoo.StatusDuplicate || again.PickingID != r.PickingID {
		t.Fatalf("scrap again: %+v %v", again, err)
	}
	if s, d := f.onHand(t, stock), f.onHand(t, damaged); !s.Equal(decimal.NewFromInt(6)) || !d.Equal(decimal.RequireFromString("0.5")) {
		t.Fatalf("on hand: %s %s, %s %s; want 6 and 0.5", stock, s, damaged, d)
	}
	var scraps []struct {
		State  string  `json:"state"`
		Origin string  `json:"origin"`
		Tags   []int   `json:"scrap_reason_tag_ids"`
		Msgs   []int   `json:"message_ids"`
		Loc    []any   `json:"location_id"`
		Qty    float64 `json:"scrap_qty"`
	}
	if err := f.c.Call(ctx, "stock.scrap", "search_read", map[string]any{"domain": []any{[]any{"origin", "=", "INC-9"}, []any{"product_id", "=", f.prod}},
		"fields": []string{"state", "origin", "scrap_reason_tag_ids", "message_ids", "location_id", "scrap_qty"}, "order": "id"}, &scraps); err != nil {
		t.Fatal(err)
	}
	if len(scraps) != 2 || scraps[0].State != "done" || scraps[0].Loc[1] != damaged || scraps[1].Loc[1] != stock || len(scraps[0].Tags) != 1 {
		t.Fatalf("scraps: %+v, want 2 done, from %s and %s, tagged", scraps, damaged, stock)
	}
	var tags []struct {
		Name string `json:"name"`
	}
	if err := f.c.Call(ctx, "stock.scrap.reason.tag", "read", map[string]any{"ids": scraps[0].Tags, "fields": []string{"name"}}, &tags); err != nil || len(tags) != 1 || tags[0].Name != reason {
		t.Fatalf("scrap reason: %+v %v, want %s", tags, err, reason)
	}
	var msgs []struct {
		Body string `json:"body"`
	}
	if err := f.c.Call(ctx, "mail.message", "read", map[string]any{"ids": scraps[0].Msgs, "fields": []string{"body"}}, &msgs); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range msgs {
		bodies = append(bodies, m.Body)
	}
	all := strings.Join(bodies, "\n")
	if !strings.Contains(all, "SCRAP-S1") || !strings.Contains(all, "weighed 2.512 kg") {
		t.Errorf("the scrap's messages do not carry the scan and the weighing: %s", all)
	}
}

func TestAReturnLandsInQuarantineAgainstTheDeliveryNamedByRef(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	stock, quarantine := f.depot.Warehouse+"/Stock", f.depot.Warehouse+"/Quarantine"
	if r, err := p.Post(ctx, f.depot, f.receipt(1, "10", "R1")); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("receipt: %+v %v", r, err)
	}
	iss, err := p.Post(ctx, f.depot, edge.Transaction{ID: "iss", Seq: 2, Type: edge.Issue, Lines: []edge.Line{f.line("4", "R1", stock, "")}})
	if err != nil || iss.Status != odoo.StatusApplied {
		t.Fatalf("issue: %+v %v", iss, err)
	}
	// As the depot's journal stores a return: from the customer, state quarantine.
	ret := edge.Transaction{ID: "ret-1", Seq: 3, Type: edge.Return, Ref: iss.Picking, Lines: []edge.Line{
		{Item: f.sku, Qty: edge.MustQty("1.5"), UoM: "Units", Lot: "R1", From: "Partners/Customers", To: "Returns", State: edge.Quarantine}}}
	r, err := p.Post(ctx, f.depot, ret)
	if err != nil || r.Status != odoo.StatusApplied || len(r.Moves) != 1 || !r.Moves[0].Quantity.Equal(decimal.RequireFromString("1.5")) {
		t.Fatalf("return: %+v %v", r, err)
	}
	if s, q := f.onHand(t, stock), f.onHand(t, quarantine); !s.Equal(decimal.NewFromInt(6)) || !q.Equal(decimal.RequireFromString("1.5")) {
		t.Fatalf("on hand: %s %s, %s %s; want 6 and 1.5", stock, s, quarantine, q)
	}
	kind, from, to := f.picking(t, r.PickingID)
	if kind != "incoming" || len(from) != 1 || !strings.HasSuffix(from[0], "Customers") || to[0] != quarantine {
		t.Fatalf("return picking: %s %v → %v, want incoming Customers → %s", kind, from, to, quarantine)
	}
	var picks []struct {
		ReturnOf json.RawMessage `json:"return_id"` // [id, name], or false
	}
	if err := f.c.Call(ctx, "stock.picking", "read", map[string]any{"ids": []int{r.PickingID}, "fields": []string{"return_id"}}, &picks); err != nil || len(picks) != 1 {
		t.Fatalf("read return: %v %v", picks, err)
	}
	var of int
	var ref []json.RawMessage
	if json.Unmarshal(picks[0].ReturnOf, &ref) == nil && len(ref) == 2 {
		json.Unmarshal(ref[0], &of)
	}
	if of != iss.PickingID {
		t.Errorf("the return is a return of picking %d, want the delivery %d (%s)", of, iss.PickingID, iss.Picking)
	}
	if again, err := p.Post(ctx, f.depot, ret); err != nil || again.Status != odoo.StatusDuplicate {
		t.Fatalf("return again: %+v %v", again, err)
	}
	// Without a delivery of that name it is still a return into quarantine.
	ret2 := edge.Transaction{ID: "ret-2", Seq: 4, Type: edge.Return, Ref: "RMA-unknown", Lines: []edge.Line{
		{Item: f.sku, Qty: edge.MustQty("1"), UoM: "Units", Lot: "R1", From: "Partners/Customers", To: "Returns", State: edge.Quarantine}}}
	if r, err := p.Post(ctx, f.depot, ret2); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("return without a delivery: %+v %v", r, err)
	}
	if q := f.onHand(t, quarantine); !q.Equal(decimal.RequireFromString("2.5")) {
		t.Fatalf("on hand in %s: %s, want 2.5", quarantine, q)
	}
}

// A status change stays at its location in the depot; in Odoo it moves into or out of the
// state's location: damaged into <WH>/Damaged and back, in_transit into the company's
// transit location; available to reserved moves nothing (Odoo reserves by picking).
func TestAStatusChangeMovesIntoAndOutOfTheStatesLocation(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	stock, damaged := f.depot.Warehouse+"/Stock", f.depot.Warehouse+"/Damaged"
	if r, err := p.Post(ctx, f.depot, f.receipt(1, "10", "T1")); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("receipt: %+v %v", r, err)
	}
	status := func(seq uint64, q string, from, to edge.StockState) edge.Transaction {
		return edge.Transaction{ID: "st", Seq: seq, Type: edge.StatusMove, Lines: []edge.Line{
			{Item: f.sku, Qty: edge.MustQty(q), UoM: "Units", Lot: "T1", From: stock, State: from, ToState: to}}}
	}
	r, err := p.Post(ctx, f.depot, status(2, "3", edge.Available, edge.Damaged))
	if err != nil || r.Status != odoo.StatusApplied || len(r.Moves) != 1 {
		t.Fatalf("available → damaged: %+v %v", r, err)
	}
	if kind, from, to := f.picking(t, r.PickingID); kind != "internal" || from[0] != stock || to[0] != damaged {
		t.Fatalf("status picking: %s %v → %v, want internal %s → %s", kind, from, to, stock, damaged)
	}
	if r, err := p.Post(ctx, f.depot, status(3, "1", edge.Damaged, edge.Available)); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("damaged → available: %+v %v", r, err)
	}
	r, err = p.Post(ctx, f.depot, status(4, "2", edge.Available, edge.InTransit))
	if err != nil || r.Status != odoo.StatusApplied || len(r.Moves) != 1 {
		t.Fatalf("available → in_transit: %+v %v", r, err)
	}
	_, _, to := f.picking(t, r.PickingID)
	var transit []struct {
		Name  string `json:"complete_name"`
		Usage string `json:"usage"`
	}
	if err := f.c.Call(ctx, "stock.location", "search_read", map[string]any{"domain": []any{[]any{"complete_name", "=", to[0]}},
		"fields": []string{"complete_name", "usage"}}, &transit); err != nil || len(transit) != 1 || transit[0].Usage != "transit" {
		t.Fatalf("in_transit went to %v (%+v, %v), want the company's transit location", to, transit, err)
	}
	if r, err := p.Post(ctx, f.depot, status(5, "1", edge.Available, edge.Reserved)); err != nil || r.Status != odoo.StatusApplied || len(r.Moves) != 0 {
		t.Fatalf("available → reserved: %+v %v, want applied without a movement", r, err)
	}
	if s, d := f.onHand(t, stock), f.onHand(t, damaged); !s.Equal(decimal.NewFromInt(6)) || !d.Equal(decimal.NewFromInt(2)) {
		t.Fatalf("on hand: %s %s, %s %s; want 6 and 2", stock, s, damaged, d)
	}
	if got := f.onHand(t, transit[0].Name); !got.Equal(decimal.NewFromInt(2)) {
		t.Fatalf("on hand in %s: %s, want 2", transit[0].Name, got)
	}
	for seq := uint64(2); seq <= 5; seq++ {
		if r, err := p.Post(ctx, f.depot, status(seq, "1", edge.Available, edge.Damaged)); err != nil || r.Status != odoo.StatusDuplicate {
			t.Fatalf("seq %d again: %+v %v", seq, r, err)
		}
	}
}

// A new lot of a product with expiration dates (and no expiration time in Odoo to derive
// one from) cannot be received without its date: a clear rejection, decided before Odoo
// is asked to validate. A lot whose date is past is refused by name.
func TestALotReceivedWithoutItsExpiryDateIsRejectedAsExpiryRequired(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	noDate := f.receipt(1, "5", "E1")
	noDate.Lines[0].Expiry = ""
	_, err := p.Post(ctx, f.depot, noDate)
	var rej *odoo.Rejection
	if !errors.As(err, &rej) || rej.Code != "EXPIRY_REQUIRED" || !strings.Contains(rej.Message, "E1") || !strings.Contains(rej.Message, "expiry date") {
		t.Fatalf("receipt without an expiry date: %v, want EXPIRY_REQUIRED naming lot E1", err)
	}
	t.Logf("%s: %s", rej.Code, rej.Message)
	past := f.receipt(1, "5", "E2")
	past.Lines[0].Expiry = "2020-01-31"
	if _, err := p.Post(ctx, f.depot, past); !errors.As(err, &rej) || rej.Code != "LOT_EXPIRED" || !strings.Contains(rej.Message, "E2") {
		t.Fatalf("receipt of an expired lot: %v, want LOT_EXPIRED naming lot E2", err)
	}
	t.Logf("%s: %s", rej.Code, rej.Message)
	if s := f.state(t, 1); s.moves != 0 || s.keys != 0 {
		t.Fatalf("after the refusals Odoo holds %d moves, %d keys; want none", s.moves, s.keys)
	}
	// With its date it goes in; more of the same lot later needs none (Odoo knows it).
	if r, err := p.Post(ctx, f.depot, f.receipt(1, "5", "E1")); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("receipt with its date: %+v %v", r, err)
	}
	more := noDate
	more.Seq = 2
	if r, err := p.Post(ctx, f.depot, more); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("more of a known lot without a date: %+v %v", r, err)
	}
}

// Weighed and packaged lines: the picking's note carries each line's weight and packaging
// beside the raw scans.
func TestAReceiptNotesTheWeighingAndPackagingOfEachLine(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	tx := f.receipt(1, "24", "W1")
	tx.Lines[0].Qty, tx.Lines[0].UoM, tx.Lines[0].BaseQty, tx.Lines[0].BaseUoM = edge.MustQty("2"), "Dozens", qty("24"), "Units"
	tx.Lines[0].Packaging, tx.Lines[0].WeightKg = "CASE-12", "13.0625"
	r, err := p.Post(ctx, f.depot, tx)
	if err != nil || r.Status != odoo.StatusApplied || !r.Moves[0].Quantity.Equal(decimal.NewFromInt(24)) {
		t.Fatalf("receipt: %+v %v", r, err)
	}
	var picks []struct {
		Note string `json:"note"`
	}
	if err := f.c.Call(ctx, "stock.picking", "read", map[string]any{"ids": []int{r.PickingID}, "fields": []string{"note"}}, &picks); err != nil || len(picks) != 1 {
		t.Fatal(err)
	}
	for _, want := range []string{"weighed 13.0625 kg", "packaging CASE-12", "scanned 2 Dozens", "0114006381333938"} {
		if !strings.Contains(picks[0].Note, want) {
			t.Errorf("the picking's note does not say %q: %s", want, picks[0].Note)
		}
	}
}

// Expired goods found in the warehouse can be moved into quarantine (no confirmation step
// stops it) but not shipped: LOT_EXPIRED names the lot.
func TestAnExpiredLotMovesIntoQuarantineButIsNotShipped(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	stock, quarantine := f.depot.Warehouse+"/Stock", f.depot.Warehouse+"/Quarantine"
	found := edge.Transaction{ID: "adj", Seq: 1, Type: edge.Adjustment, Reason: "FOUND", Lines: []edge.Line{
		{Item: f.sku, Qty: edge.MustQty("3"), UoM: "Units", Lot: "OLD1", Expiry: "2021-02-28", To: stock}}}
	if r, err := p.Post(ctx, f.depot, found); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("adjustment of an expired lot: %+v %v", r, err)
	}
	var rej *odoo.Rejection
	if _, err := p.Post(ctx, f.depot, edge.Transaction{ID: "iss", Seq: 2, Type: edge.Issue, Lines: []edge.Line{f.line("1", "OLD1", stock, "")}}); !errors.As(err, &rej) || rej.Code != "LOT_EXPIRED" || !strings.Contains(rej.Message, "OLD1") {
		t.Fatalf("issue of an expired lot: %v, want LOT_EXPIRED naming OLD1", err)
	}
	st := edge.Transaction{ID: "st", Seq: 2, Type: edge.StatusMove, Lines: []edge.Line{
		{Item: f.sku, Qty: edge.MustQty("3"), UoM: "Units", Lot: "OLD1", From: stock, State: edge.Available, ToState: edge.Quarantine}}}
	if r, err := p.Post(ctx, f.depot, st); err != nil || r.Status != odoo.StatusApplied || len(r.Moves) != 1 {
		t.Fatalf("expired lot into quarantine: %+v %v", r, err)
	}
	if s, q := f.onHand(t, stock), f.onHand(t, quarantine); !s.IsZero() || !q.Equal(decimal.NewFromInt(3)) {
		t.Fatalf("on hand: %s %s, %s %s; want 0 and 3", stock, s, quarantine, q)
	}
}
