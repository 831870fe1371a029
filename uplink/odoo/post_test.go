package odoo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// postFixture is a fresh warehouse set up for one depot, and a lot-tracked product with
// expiry dates.
type postFixture struct {
	c     *odoo.Client
	depot odoo.Depot
	sku   string
	prod  int
}

func newPostFixture(t *testing.T) postFixture {
	t.Helper()
	env := odootest.Need(t)
	c := env.Client(t)
	wh := odootest.NewWarehouse(t, c)
	d := odoo.Depot{ID: odootest.Unique("D"), Warehouse: wh}
	if _, err := odoo.Setup(context.Background(), c, []odoo.Depot{d}); err != nil {
		t.Fatal(err)
	}
	sku := odootest.Unique("SKU")
	var ids []int
	if err := c.Call(context.Background(), "product.product", "create", map[string]any{"vals_list": []any{map[string]any{
		"name": "depotd test " + sku, "default_code": sku, "type": "consu", "is_storable": true,
		"tracking": "lot", "use_expiration_date": true,
	}}}, &ids); err != nil {
		t.Fatal(err)
	}
	return postFixture{c: c, depot: d, sku: sku, prod: ids[0]}
}

func (f postFixture) receipt(seq uint64, qty, lot string) edge.Transaction {
	at := time.Date(2026, 11, 26, 10, 15, 3, 0, time.UTC)
	return edge.Transaction{ID: "rcv-" + lot, Seq: seq, At: &at, Type: edge.Receipt, Ref: "PO-" + lot, Station: "RCV-1", Operator: "op7",
		Lines: []edge.Line{{Item: f.sku, Qty: edge.MustQty(qty), UoM: "Units", Lot: lot, Expiry: "2027-06-30", To: f.depot.Warehouse + "/Stock"}},
		Scans: []edge.ScanEvidence{{At: at, Device: "scanner-1", Raw: "0114006381333938", AIM: "]C1"}}}
}

// odooState is what Odoo holds for the fixture's product: its stock moves, the quantity on
// hand in the warehouse's stock location, and how many keys the depot's seq has.
type odooState struct {
	moves  int
	onHand decimal.Decimal
	keys   int
}

func (f postFixture) state(t testing.TB, seq uint64) odooState {
	t.Helper()
	ctx := context.Background()
	var s odooState
	var n json.Number
	if err := f.c.Call(ctx, "stock.move", "search_count", map[string]any{"domain": []any{[]any{"product_id", "=", f.prod}}}, &n); err != nil {
		t.Fatal(err)
	}
	moves, _ := n.Int64()
	s.moves = int(moves)
	var quants []struct {
		Quantity decimal.Decimal `json:"quantity"`
	}
	if err := f.c.Call(ctx, "stock.quant", "search_read", map[string]any{"domain": []any{
		[]any{"product_id", "=", f.prod}, []any{"location_id.complete_name", "=", f.depot.Warehouse + "/Stock"}},
		"fields": []string{"quantity"}}, &quants); err != nil {
		t.Fatal(err)
	}
	for _, q := range quants {
		s.onHand = s.onHand.Add(q.Quantity)
	}
	if err := f.c.Call(ctx, "ir.model.data", "search_count", map[string]any{"domain": []any{
		[]any{"module", "=", "depotd"}, []any{"name", "=", odoo.TxKey(f.depot.ID, seq)}}}, &n); err != nil {
		t.Fatal(err)
	}
	keys, _ := n.Int64()
	s.keys = int(keys)
	return s
}

func TestAReceiptPostedTwiceMovesStockOnce(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	tx := f.receipt(1, "12.5", "L1")

	start := time.Now()
	r, err := p.Post(ctx, f.depot, tx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("posting took %v", time.Since(start))
	if r.Status != odoo.StatusApplied || r.AppliedSeq != 1 || r.PickingID == 0 || len(r.Moves) != 1 ||
		!r.Moves[0].Quantity.Equal(decimal.RequireFromString("12.5")) || r.Moves[0].State != "done" || r.Moves[0].Lot != "L1" {
		t.Fatalf("first post: %+v", r)
	}
	// The retry a connector makes when it never saw the answer.
	again, err := p.Post(ctx, f.depot, tx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Status != odoo.StatusDuplicate || again.PickingID != r.PickingID || again.Model != "stock.picking" {
		t.Fatalf("second post: %+v, want duplicate of picking %d", again, r.PickingID)
	}
	s := f.state(t, 1)
	if s.moves != 1 || !s.onHand.Equal(decimal.RequireFromString("12.5")) || s.keys != 1 {
		t.Fatalf("Odoo holds %d moves, %s on hand, %d keys; want 1, 12.5, 1", s.moves, s.onHand, s.keys)
	}
	// The receipt carries its origin, lot and expiry, and the scans as evidence.
	var picks []struct {
		Origin string `json:"origin"`
		Note   string `json:"note"`
		State  string `json:"state"`
	}
	if err := f.c.Call(ctx, "stock.picking", "read", map[string]any{"ids": []int{r.PickingID}, "fields": []string{"origin", "note", "state"}}, &picks); err != nil {
		t.Fatal(err)
	}
	if len(picks) != 1 || picks[0].Origin != "PO-L1" || picks[0].State != "done" || !strings.Contains(picks[0].Note, "0114006381333938") {
		t.Errorf("picking: %+v", picks)
	}
	var lots []struct {
		Expiration string `json:"expiration_date"`
	}
	if err := f.c.Call(ctx, "stock.lot", "search_read", map[string]any{"domain": []any{[]any{"product_id", "=", f.prod}, []any{"name", "=", "L1"}},
		"fields": []string{"expiration_date"}}, &lots); err != nil {
		t.Fatal(err)
	}
	if len(lots) != 1 || lots[0].Expiration[:10] != "2027-06-30" {
		t.Errorf("lot L1: %+v, want one lot expiring 2027-06-30", lots)
	}
}

// The retry after a timeout races the first call, which Odoo is still running: the depot's
// applied-seq row serializes them in Odoo, and the loser finds the key.
func TestAReceiptRetriedWhileTheTimedOutCallStillRunsMovesStockOnce(t *testing.T) {
	f := newPostFixture(t)
	ctx := context.Background()
	tx := f.receipt(1, "7", "L7")
	impatient := odoo.NewPoster(f.c, 30*time.Millisecond)
	_, err := impatient.Post(ctx, f.depot, tx)
	if err == nil {
		t.Skip("the posting finished within 30ms: no race to test on this machine")
	}
	if !errors.Is(err, odoo.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !odoo.Retryable(err) {
		t.Fatalf("timed-out post: %v, want a retryable ErrUnavailable", err)
	}
	r, err := odoo.NewPoster(f.c, 2*time.Minute).Post(ctx, f.depot, tx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != odoo.StatusApplied && r.Status != odoo.StatusDuplicate {
		t.Fatalf("retry: %+v", r)
	}
	t.Logf("retry answered %s", r.Status)
	// Whatever the timed-out call is still doing ends within Odoo's own time; then there
	// must be exactly one movement.
	deadline := time.Now().Add(time.Minute)
	var s odooState
	for {
		s = f.state(t, 1)
		if s.keys == 1 && s.moves >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, bounded by deadline
	}
	if s.moves != 1 || !s.onHand.Equal(decimal.NewFromInt(7)) || s.keys != 1 {
		t.Fatalf("Odoo holds %d moves, %s on hand, %d keys; want 1, 7, 1", s.moves, s.onHand, s.keys)
	}
}

func TestPostingKeepsSeqOrderAndRefusesBadDataWithoutChangingOdoo(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()

	// seq 2 before seq 1: nothing is done, the action says where the depot stands.
	if r, err := p.Post(ctx, f.depot, f.receipt(2, "1", "G2")); err != nil || r.Status != odoo.StatusGap || r.AppliedSeq != 0 {
		t.Fatalf("seq 2 first: %+v, %v; want gap at 0", r, err)
	}
	bad := []struct {
		tx   edge.Transaction
		code string
	}{
		{f.receipt(1, "1.125", "B1"), "BAD_QTY"}, // Odoo keeps 2 decimals: never rounded
		{func() edge.Transaction { tx := f.receipt(1, "1", "B2"); tx.Lines[0].Lot = ""; return tx }(), "LOT_REQUIRED"},
		{func() edge.Transaction {
			tx := f.receipt(1, "1", "B3")
			tx.Lines[0].Item = "NO-SUCH-SKU-depotd"
			return tx
		}(), "UNKNOWN_ITEM"},
		{func() edge.Transaction { tx := f.receipt(1, "1", "B4"); tx.Lines[0].To = "Nowhere"; return tx }(), "UNKNOWN_LOCATION"},
	}
	for _, b := range bad {
		_, err := p.Post(ctx, f.depot, b.tx)
		var rej *odoo.Rejection
		if !errors.As(err, &rej) || rej.Code != b.code || odoo.Retryable(err) {
			t.Errorf("%s: got %v, want a non-retryable rejection %s", b.code, err, b.code)
			continue
		}
		t.Logf("%s: %s", rej.Code, rej.Message)
	}
	if s := f.state(t, 1); s.moves != 0 || !s.onHand.IsZero() || s.keys != 0 {
		t.Fatalf("after refusals Odoo holds %d moves, %s on hand, %d keys; want nothing", s.moves, s.onHand, s.keys)
	}
	// A rejected seq is recorded once, so the next one can be applied.
	why := &odoo.Rejection{Code: "UNKNOWN_ITEM", Message: "line 1: no Odoo product has the internal reference NO-SUCH"}
	if r, err := p.Reject(ctx, f.depot, 1, why); err != nil || r.Status != odoo.StatusRejected || r.AppliedSeq != 1 {
		t.Fatalf("reject 1: %+v, %v", r, err)
	}
	// Odoo keeps why: a connector that lost its memory still tells the depot.
	for _, again := range []func() (odoo.Result, error){
		func() (odoo.Result, error) { return p.Reject(ctx, f.depot, 1, nil) },
		func() (odoo.Result, error) { return p.Post(ctx, f.depot, f.receipt(1, "1", "G1")) },
	} {
		r, err := again()
		if err != nil || r.Status != odoo.StatusDuplicate || r.Model != "ir.config_parameter" ||
			r.Rejection == nil || r.Rejection.Code != why.Code || r.Rejection.Message != why.Message {
			t.Fatalf("seq 1 again: %+v (rejection %+v), %v", r, r.Rejection, err)
		}
	}
	if r, err := p.Post(ctx, f.depot, f.receipt(2, "3.25", "G2")); err != nil || r.Status != odoo.StatusApplied || r.AppliedSeq != 2 {
		t.Fatalf("seq 2 after 1: %+v, %v", r, err)
	}
	if s := f.state(t, 2); s.moves != 1 || !s.onHand.Equal(decimal.RequireFromString("3.25")) || s.keys != 1 {
		t.Fatalf("Odoo holds %d moves, %s on hand, %d keys; want 1, 3.25, 1", s.moves, s.onHand, s.keys)
	}
}

func TestAReceiptPostsAllItsLinesExactlyOrNone(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	tx := f.receipt(1, "0.01", "A1")
	tx.Lines = append(tx.Lines,
		edge.Line{Item: f.sku, Qty: edge.MustQty("1234567.89"), UoM: "Units", Lot: "A2", Expiry: "2027-01-31", To: f.depot.Warehouse + "/Stock"},
		edge.Line{Item: "NO-SUCH-SKU-depotd", Qty: edge.MustQty("1"), UoM: "Units", To: f.depot.Warehouse + "/Stock"})
	// The third line is refused: the first two must not be posted either.
	_, err := p.Post(ctx, f.depot, tx)
	var rej *odoo.Rejection
	if !errors.As(err, &rej) || rej.Code != "UNKNOWN_ITEM" || !strings.Contains(rej.Message, "line 3") {
		t.Fatalf("got %v, want UNKNOWN_ITEM on line 3", err)
	}
	if s := f.state(t, 1); s.moves != 0 || !s.onHand.IsZero() || s.keys != 0 {
		t.Fatalf("after the refusal Odoo holds %d moves, %s on hand, %d keys; want nothing", s.moves, s.onHand, s.keys)
	}
	// Without it, both lines land, each quantity exactly as the depot counted it: one stock
	// move for the product, one move line per depot line with its own lot.
	tx.Lines = tx.Lines[:2]
	r, err := p.Post(ctx, f.depot, tx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != odoo.StatusApplied || len(r.Moves) != 2 {
		t.Fatalf("post: %+v", r)
	}
	for i, want := range []string{"0.01", "1234567.89"} {
		if !r.Moves[i].Quantity.Equal(decimal.RequireFromString(want)) {
			t.Errorf("move %d: Odoo stored %s, the depot sent %s", i+1, r.Moves[i].Quantity, want)
		}
	}
	if r.Moves[0].Lot != "A1" || r.Moves[1].Lot != "A2" {
		t.Errorf("lots %q, %q; want A1, A2", r.Moves[0].Lot, r.Moves[1].Lot)
	}
	if s := f.state(t, 1); s.moves != 1 || !s.onHand.Equal(decimal.RequireFromString("1234567.90")) || s.keys != 1 {
		t.Fatalf("Odoo holds %d moves, %s on hand, %d keys; want 1, 1234567.90, 1", s.moves, s.onHand, s.keys)
	}
}

// Two depots posting the same seq into one warehouse at the same time each apply their
// own: keys and applied seqs are per depot (each call locks only its depot's row).
func TestTwoDepotsPostingAtOnceEachApplyTheirOwnSeq(t *testing.T) {
	f := newPostFixture(t)
	other := odoo.Depot{ID: odootest.Unique("D"), Warehouse: f.depot.Warehouse}
	ctx := context.Background()
	if _, err := odoo.Setup(ctx, f.c, []odoo.Depot{other}); err != nil {
		t.Fatal(err)
	}
	p := odoo.NewPoster(f.c, 2*time.Minute)
	type answer struct {
		r   odoo.Result
		err error
	}
	answers := make(chan answer, 2)
	for i, d := range []odoo.Depot{f.depot, other} {
		go func() {
			r, err := p.Post(ctx, d, f.receipt(1, "5", fmt.Sprintf("P%d", i)))
			answers <- answer{r, err}
		}()
	}
	for range 2 {
		a := <-answers
		if a.err != nil || a.r.Status != odoo.StatusApplied {
			t.Fatalf("post: %+v, %v", a.r, a.err)
		}
	}
	// Keys are per depot: each depot's seq 1 is in Odoo once.
	if s := f.state(t, 1); s.moves != 2 || !s.onHand.Equal(decimal.NewFromInt(10)) || s.keys != 1 {
		t.Fatalf("Odoo holds %d moves, %s on hand, %d keys of depot 1; want 2, 10, 1", s.moves, s.onHand, s.keys)
	}
}

func TestPostingForADepotSetupNeverSawIsASetupErrorAndChangesNothing(t *testing.T) {
	f := newPostFixture(t)
	stranger := odoo.Depot{ID: odootest.Unique("D"), Warehouse: f.depot.Warehouse}
	_, err := odoo.NewPoster(f.c, time.Minute).Post(context.Background(), stranger, f.receipt(1, "1", "S1"))
	var se *odoo.SetupError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "run depotd erp setup") {
		t.Fatalf("got %v, want a SetupError telling to run setup", err)
	}
	if s := f.state(t, 1); s.moves != 0 {
		t.Fatalf("Odoo holds %d moves of the product, want none", s.moves)
	}
}

func TestATypeDepotdDoesNotKnowIsNotImplementedNotRejected(t *testing.T) {
	// No Odoo call is made: any client will do.
	c, err := odoo.New(odoo.Options{URL: "http://127.0.0.1:1", Database: "db", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = odoo.NewPoster(c, time.Second).Post(context.Background(), odoo.Depot{ID: "D1", Warehouse: "WH"},
		edge.Transaction{Seq: 1, Type: edge.TxType("teleport"), Lines: []edge.Line{{Item: "X", Qty: edge.MustQty("1"), To: "WH/Stock"}}})
	var rej *odoo.Rejection
	if !errors.Is(err, odoo.ErrNotImplemented) || errors.As(err, &rej) || odoo.Retryable(err) {
		t.Errorf("got %v, want ErrNotImplemented (not a rejection, not retryable)", err)
	}
}

// A line's stock state picks the Odoo location (the depot's states mapping, by default
// <WH>/Quarantine made by setup), and a serial-tracked product takes one unit per serial.
func TestAReceiptIntoQuarantineAndBySerialLandsWhereTheMappingSays(t *testing.T) {
	f := newPostFixture(t)
	ctx := context.Background()
	serialSKU := odootest.Unique("SER")
	var ids []int
	if err := f.c.Call(ctx, "product.product", "create", map[string]any{"vals_list": []any{map[string]any{
		"name": "depotd test " + serialSKU, "default_code": serialSKU, "type": "consu", "is_storable": true, "tracking": "serial",
	}}}, &ids); err != nil {
		t.Fatal(err)
	}
	stock := f.depot.Warehouse + "/Stock"
	tx := f.receipt(1, "4", "Q1")
	tx.Lines[0].State = edge.Quarantine
	tx.Lines = append(tx.Lines,
		edge.Line{Item: serialSKU, Qty: edge.MustQty("1"), UoM: "Units", Serial: "SN-1", To: stock},
		edge.Line{Item: serialSKU, Qty: edge.MustQty("1"), UoM: "Units", Serial: "SN-2", To: stock})
	p := odoo.NewPoster(f.c, 2*time.Minute)
	r, err := p.Post(ctx, f.depot, tx)
	if err != nil || r.Status != odoo.StatusApplied || len(r.Moves) != 3 {
		t.Fatalf("post: %+v, %v", r, err)
	}
	var quants []struct {
		Product  []any           `json:"product_id"`
		Location []any           `json:"location_id"`
		Lot      []any           `json:"lot_id"`
		Quantity decimal.Decimal `json:"quantity"`
	}
	if err := f.c.Call(ctx, "stock.quant", "search_read", map[string]any{"domain": []any{
		[]any{"product_id", "in", []int{f.prod, ids[0]}}, []any{"location_id.usage", "=", "internal"}},
		"fields": []string{"product_id", "location_id", "lot_id", "quantity"}}, &quants); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, q := range quants {
		got[fmt.Sprint(q.Location[1], " ", q.Lot[1])] = q.Quantity.String()
	}
	want := map[string]string{f.depot.Warehouse + "/Quarantine Q1": "4", stock + " SN-1": "1", stock + " SN-2": "1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("quants by location and lot: %v, want %v", got, want)
	}
	// Two units on one serial is the data's fault.
	bad := f.receipt(2, "2", "x")
	bad.Lines = []edge.Line{{Item: serialSKU, Qty: edge.MustQty("2"), UoM: "Units", Serial: "SN-3", To: stock}}
	var rej *odoo.Rejection
	if _, err := p.Post(ctx, f.depot, bad); !errors.As(err, &rej) || rej.Code != "BAD_QTY" {
		t.Fatalf("2 units on one serial: %v, want BAD_QTY", err)
	}
}

// Odoo unreachable, then a link cut after Odoo took the call but before its answer came
// back (the outcome is unknown to the connector): each is retryable, and the retry that
// follows applies the receipt once.
func TestAReceiptSurvivesOdooUnreachableAndALostAnswer(t *testing.T) {
	f := newPostFixture(t)
	env := odootest.Need(t)
	proxy := odootest.NewProxy(t, env)
	pc := proxy.Env(env).Client(t)
	p := odoo.NewPoster(pc, time.Minute)
	ctx := context.Background()

	proxy.SetMode(odootest.Refuse)
	_, err := p.Post(ctx, f.depot, f.receipt(1, "2", "U1"))
	if !errors.Is(err, odoo.ErrUnavailable) || !odoo.Retryable(err) {
		t.Fatalf("Odoo unreachable: %v, want a retryable ErrUnavailable", err)
	}
	// The first call through the proxy looks the action up; make that with the link up, so
	// that the call cut below is the posting itself.
	proxy.SetMode(odootest.Pass)
	if r, err := p.Post(ctx, f.depot, f.receipt(1, "2", "U1")); err != nil || r.Status != odoo.StatusApplied {
		t.Fatalf("after the link came back: %+v, %v", r, err)
	}

	proxy.SetMode(odootest.DropAnswers)
	_, err = p.Post(ctx, f.depot, f.receipt(2, "3", "U2"))
	if !errors.Is(err, odoo.ErrUnavailable) || !odoo.Retryable(err) {
		t.Fatalf("answer lost: %v, want a retryable ErrUnavailable", err)
	}
	proxy.SetMode(odootest.Pass)
	r, err := p.Post(ctx, f.depot, f.receipt(2, "3", "U2"))
	if err != nil || r.Status != odoo.StatusDuplicate {
		t.Fatalf("retry after the lost answer: %+v, %v; want duplicate (Odoo had committed)", r, err)
	}
	if s := f.state(t, 2); s.moves != 2 || !s.onHand.Equal(decimal.NewFromInt(5)) || s.keys != 1 {
		t.Fatalf("Odoo holds %d moves, %s on hand, %d keys of seq 2; want 2, 5, 1", s.moves, s.onHand, s.keys)
	}
}

// A count line without the expected quantity the depot's journal records is refused by
// depotd itself (BAD_TX, no Odoo call): a rejection, not retryable, and safe to ask.
func TestACountWithoutItsExpectedQuantityIsABadTxRejectionNotRetried(t *testing.T) {
	c, err := odoo.New(odoo.Options{URL: "http://127.0.0.1:1", Database: "db", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = odoo.NewPoster(c, time.Second).Post(context.Background(), odoo.Depot{ID: "D1", Warehouse: "WH"},
		edge.Transaction{Seq: 1, Type: edge.Count, Lines: []edge.Line{{Item: "X", Qty: edge.MustQty("1"), To: "WH/Stock"}}})
	var rej *odoo.Rejection
	if !errors.As(err, &rej) || rej.Code != "BAD_TX" || odoo.Retryable(err) {
		t.Fatalf("got %v, want a BAD_TX rejection that is not retryable", err)
	}
	var oe *odoo.Error
	if errors.As(err, &oe) {
		t.Fatalf("a rejection depotd made itself unwraps to an Odoo error: %#v", oe)
	}
}
