package odoo_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink/odoo"
)

// lotReceipt is a receipt of the fixture's product into the warehouse's stock, one line
// per lot (lot, qty, expiry, ...).
func (f postFixture) lotReceipt(seq uint64, lots ...string) edge.Transaction {
	tx := edge.Transaction{ID: fmt.Sprintf("rcv-%d", seq), Seq: seq, Type: edge.Receipt, Ref: fmt.Sprintf("PO-%d", seq)}
	for i := 0; i+2 < len(lots); i += 3 {
		tx.Lines = append(tx.Lines, edge.Line{Item: f.sku, Qty: edge.MustQty(lots[i+1]), UoM: "Units", Lot: lots[i],
			Expiry: lots[i+2], To: f.depot.Warehouse + "/Stock"})
	}
	return tx
}

func (f postFixture) lotIssue(seq uint64, lot, qty string) edge.Transaction {
	return edge.Transaction{ID: fmt.Sprintf("iss-%d", seq), Seq: seq, Type: edge.Issue, Ref: fmt.Sprintf("SO-%d", seq),
		Lines: []edge.Line{f.line(qty, lot, f.depot.Warehouse+"/Stock", "Customers")}}
}

func batchOf(txs ...edge.Transaction) []odoo.BatchItem {
	items := make([]odoo.BatchItem, len(txs))
	for i := range txs {
		items[i] = odoo.BatchItem{Seq: txs[i].Seq, Tx: &txs[i]}
	}
	return items
}

// stockByLot is what Odoo holds of the fixture's product: quantity by "lot@location"
// (the location's name under the warehouse), each lot's expiry date and how many lots of
// that name exist, and the quantities of its done move lines in id order.
func (f postFixture) stockByLot(t *testing.T) (quants map[string]decimal.Decimal, lots map[string]string, lines []string) {
	t.Helper()
	ctx := context.Background()
	var qs []struct {
		Lot      []any           `json:"lot_id"`
		Loc      []any           `json:"location_id"`
		Quantity decimal.Decimal `json:"quantity"`
	}
	if err := f.c.Call(ctx, "stock.quant", "search_read", map[string]any{"domain": []any{[]any{"product_id", "=", f.prod},
		[]any{"location_id.usage", "=", "internal"}},
		"fields": []string{"lot_id", "location_id", "quantity"}}, &qs); err != nil {
		t.Fatal(err)
	}
	quants = map[string]decimal.Decimal{}
	for _, q := range qs {
		if q.Quantity.IsZero() {
			continue
		}
		k := fmt.Sprintf("%v@%s", q.Lot[1], strings.TrimPrefix(q.Loc[1].(string), f.depot.Warehouse+"/"))
		quants[k] = quants[k].Add(q.Quantity)
	}
	var ls []struct {
		Name   string `json:"name"`
		Expiry any    `json:"expiration_date"`
	}
	if err := f.c.Call(ctx, "stock.lot", "search_read", map[string]any{"domain": []any{[]any{"product_id", "=", f.prod}},
		"fields": []string{"name", "expiration_date"}}, &ls); err != nil {
		t.Fatal(err)
	}
	lots = map[string]string{}
	for _, l := range ls {
		lots[l.Name] += fmt.Sprintf("[%v]", l.Expiry)
	}
	var mls []struct {
		Lot      []any           `json:"lot_id"`
		Quantity decimal.Decimal `json:"quantity"`
		Picked   bool            `json:"picked"`
		State    string          `json:"state"`
	}
	if err := f.c.Call(ctx, "stock.move.line", "search_read", map[string]any{"domain": []any{[]any{"product_id", "=", f.prod}},
		"fields": []string{"lot_id", "quantity", "picked", "state"}, "order": "id"}, &mls); err != nil {
		t.Fatal(err)
	}
	for _, ml := range mls {
		lines = append(lines, fmt.Sprintf("%v %s %v %s", ml.Lot[1], ml.Quantity, ml.Picked, ml.State))
	}
	return quants, lots, lines
}

func wantGrouped(t *testing.T, rs []odoo.Result, grouped ...uint64) {
	t.Helper()
	for i, r := range rs {
		if want := slices.Contains(grouped, uint64(i+1)); r.Grouped != want {
			t.Fatalf("seq %d: grouped %v, want %v (grouped seqs %v)", i+1, r.Grouped, want, grouped)
		}
	}
}

// A batch with refusals among its receipts: the runs of receipts between them are posted
// together, a refusal seen before anything is made (an unknown item) is rejected alone in
// its place, and a run holding one Odoo only refuses while validating (an expired lot) is
// undone whole and posted one by one, so that only that seq is rejected. Every seq is
// processed exactly once and in seq order, and the batch sent again doubles nothing.
func TestAMixedBatchWithARefusalInTheMiddlePostsTheOthersTogetherOnceInOrder(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	unknown := f.lotReceipt(4, "U4", "1", "2027-06-30")
	unknown.Lines[0].Item = "NO-SUCH-SKU-depotd"
	txs := []edge.Transaction{
		f.lotReceipt(1, "G1", "1", "2027-06-30"),
		f.lotReceipt(2, "G2", "2", "2027-06-30", "G2b", "0.5", "2027-07-31"),
		f.lotReceipt(3, "G3", "3", "2027-06-30"),
		unknown,
		f.lotReceipt(5, "G5", "5", "2027-06-30"),
		f.lotReceipt(6, "G6", "6", "2027-06-30"),
		f.lotReceipt(8, "OLD", "8", "2020-01-31"),
		f.lotReceipt(9, "G9", "9", "2027-06-30"),
	}
	items := batchOf(txs...)
	items = slices.Insert(items, 6, odoo.BatchItem{Seq: 7, Void: true})
	start := time.Now()
	rs, err := p.Batch(ctx, f.depot, items)
	t.Logf("a batch of %d took %v", len(items), time.Since(start))
	if err != nil || len(rs) != len(items) {
		t.Fatalf("batch: %d results %+v, %v", len(rs), rs, err)
	}
	want := []string{odoo.StatusApplied, odoo.StatusApplied, odoo.StatusApplied, odoo.StatusRejected, odoo.StatusApplied,
		odoo.StatusApplied, odoo.StatusVoided, odoo.StatusRejected, odoo.StatusApplied}
	prev := 0
	for i, r := range rs {
		seq := uint64(i + 1)
		if r.Status != want[i] || r.AppliedSeq != seq {
			t.Fatalf("seq %d: %+v; want %s, applied seq %d", seq, r, want[i], seq)
		}
		if r.Status == odoo.StatusApplied {
			if r.Model != "stock.picking" || r.PickingID <= prev || len(r.Moves) != len(items[i].Tx.Lines) || r.Moves[0].State != "done" {
				t.Fatalf("seq %d: %+v; want its own done picking, made after the one of the seq before (%d)", seq, r, prev)
			}
			prev = r.PickingID
		}
	}
	if rs[3].Rejection == nil || rs[3].Rejection.Code != "UNKNOWN_ITEM" || rs[7].Rejection == nil || rs[7].Rejection.Code != "LOT_EXPIRED" {
		t.Fatalf("rejections %+v and %+v; want UNKNOWN_ITEM and LOT_EXPIRED", rs[3].Rejection, rs[7].Rejection)
	}
	wantGrouped(t, rs, 1, 2, 3, 5, 6)
	check := func(what string) {
		t.Helper()
		quants, lots, _ := f.stockByLot(t)
		wantQ := map[string]decimal.Decimal{"G1@Stock": decimal.NewFromInt(1), "G2@Stock": decimal.NewFromInt(2),
			"G2b@Stock": decimal.RequireFromString("0.5"), "G3@Stock": decimal.NewFromInt(3), "G5@Stock": decimal.NewFromInt(5),
			"G6@Stock": decimal.NewFromInt(6), "G9@Stock": decimal.NewFromInt(9)}
		if !maps.EqualFunc(quants, wantQ, decimal.Decimal.Equal) {
			t.Fatalf("%s: Odoo holds %v; want %v", what, quants, wantQ)
		}
		if _, ok := lots["OLD"]; ok {
			t.Fatalf("%s: the refused receipt's lot exists in Odoo: %v", what, lots)
		}
		for seq := uint64(1); seq <= 9; seq++ {
			if _, _, keys := f.keyRecord(t, seq); keys != 1 {
				t.Fatalf("%s: seq %d has %d keys, want 1", what, seq, keys)
			}
		}
	}
	check("after the batch")
	rs, err = p.Batch(ctx, f.depot, items)
	if err != nil || len(rs) != len(items) {
		t.Fatalf("batch again: %+v, %v", rs, err)
	}
	for i, r := range rs {
		if r.Status != odoo.StatusDuplicate {
			t.Fatalf("batch again: seq %d %+v, want duplicate", i+1, r)
		}
	}
	check("after the batch again")
}

// Later seqs of a batch see what earlier ones did: an issue of a lot received earlier in
// the same batch ships it (the receipts before it were validated first), a receipt of a
// lot made earlier in the batch adds to it, and a new lot received twice in a row is one
// lot in Odoo, as one by one.
func TestAReceiptThenAnIssueOfTheSameLotInOneBatchShipsWhatWasJustReceived(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	txs := []edge.Transaction{
		f.lotReceipt(1, "X", "5", "2027-06-30"),
		f.lotReceipt(2, "Y", "3", "2027-06-30"),
		f.lotIssue(3, "X", "4"),
		f.lotReceipt(4, "X", "2", ""),
		f.lotIssue(5, "X", "3"),
		f.lotReceipt(6, "N", "1", "2027-08-31"),
		f.lotReceipt(7, "N", "1.25", "2027-08-31"),
	}
	rs, err := p.Batch(ctx, f.depot, batchOf(txs...))
	if err != nil || len(rs) != len(txs) {
		t.Fatalf("batch: %d results %+v, %v", len(rs), rs, err)
	}
	for i, r := range rs {
		if r.Status != odoo.StatusApplied || r.AppliedSeq != txs[i].Seq {
			t.Fatalf("seq %d: %+v; want applied", txs[i].Seq, r)
		}
	}
	wantGrouped(t, rs, 1, 2)
	quants, lots, _ := f.stockByLot(t)
	if !quants["X@Stock"].IsZero() || !quants["Y@Stock"].Equal(decimal.NewFromInt(3)) || !quants["N@Stock"].Equal(decimal.RequireFromString("2.25")) {
		t.Fatalf("Odoo holds %v; want no X, 3 Y and 2.25 N in stock", quants)
	}
	if strings.Count(lots["N"], "[") != 1 || strings.Count(lots["X"], "[") != 1 {
		t.Fatalf("lots %v; want one lot N and one lot X", lots)
	}
}

// The same transactions posted in one batch (runs of receipts posted together) and one
// call each leave the same stock in Odoo: the same quantities by lot and location, the
// same lots with the same expiry dates, and the same move lines, done, in the same order.
func TestGroupedAndOneByOnePostingsLeaveIdenticalOdooStock(t *testing.T) {
	grouped, single := newPostFixture(t), newPostFixture(t)
	ctx := context.Background()
	txs := func(f postFixture) []edge.Transaction {
		return []edge.Transaction{
			f.lotReceipt(1, "A", "1.5", "2027-06-30", "B", "2", "2027-09-30"),
			f.lotReceipt(2, "C", "0.25", "2028-01-31"),
			f.lotReceipt(3, "A", "3", "", "D", "4", "2027-12-31"),
			f.lotIssue(4, "A", "2.5"),
			f.lotReceipt(5, "E", "7", "2027-10-31"),
			f.lotReceipt(6, "B", "1", "", "F", "1", "2029-02-28"),
		}
	}
	p := odoo.NewPoster(grouped.c, 2*time.Minute)
	rs, err := p.Batch(ctx, grouped.depot, batchOf(txs(grouped)...))
	if err != nil || len(rs) != 6 {
		t.Fatalf("batch: %+v, %v", rs, err)
	}
	// Seq 3 receives more of lot A without its expiry, which only seq 1 gives: read before
	// the run was made, A did not exist, so seq 3 went alone after it.
	wantGrouped(t, rs, 1, 2, 5, 6)
	for _, tx := range txs(single) {
		if r, err := p.Post(ctx, single.depot, tx); err != nil || r.Status != odoo.StatusApplied || r.Grouped {
			t.Fatalf("seq %d alone: %+v, %v", tx.Seq, r, err)
		}
	}
	gq, gl, gm := grouped.stockByLot(t)
	sq, sl, sm := single.stockByLot(t)
	t.Logf("grouped: %v %v %v", gq, gl, gm)
	if !maps.EqualFunc(gq, sq, decimal.Decimal.Equal) || !maps.Equal(gl, sl) || !slices.Equal(gm, sm) {
		t.Fatalf("grouped and one by one differ:\n%v\n%v\n%v\nvs\n%v\n%v\n%v", gq, gl, gm, sq, sl, sm)
	}
	if len(gq) != 6 || len(gm) != 9 {
		t.Fatalf("Odoo holds %d quants and %d move lines; want 6 and 9", len(gq), len(gm))
	}
}
