package odoo_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/odoo"
)

// wire is a transaction as the uplink sends it.
func (f postFixture) wire(t testing.TB, seq uint64, typ string, payload map[string]any) erpcore.Tx {
	t.Helper()
	payload["v"], payload["depot"], payload["seq"], payload["type"] = 1, f.depot.ID, seq, typ
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return erpcore.Tx{Depot: f.depot.ID, Seq: seq, Type: typ, Payload: raw}
}

func (f postFixture) wireReceipt(t testing.TB, seq uint64, item, qty string) erpcore.Tx {
	return f.wire(t, seq, "receipt", map[string]any{"id": "r", "lines": []any{map[string]any{
		"item": item, "qty": qty, "uom": "Units", "lot": "L1", "expiry": "2027-06-30", "to": f.depot.Warehouse + "/Stock"}}})
}

// Through the Applier the core uses: a void entry is processed without a movement, a
// refusal is recorded once with its code and message and told again on a duplicate, an
// unreadable payload is the data's fault; every seq is processed once, in order.
func TestTheApplierVoidsRejectsAndAppliesEachSeqOnceInOrder(t *testing.T) {
	f := newPostFixture(t)
	a := odoo.NewApplier(f.c, 2*time.Minute, []odoo.Depot{f.depot})
	ctx := context.Background()
	steps := []struct {
		tx   erpcore.Tx
		want erpcore.Status
		code string
	}{
		{f.wireReceipt(t, 1, f.sku, "4"), erpcore.Applied, ""},
		{f.wire(t, 2, odoo.VoidType, map[string]any{"id": "void-2", "reason": "restore", "lines": []any{}}), erpcore.Voided, ""},
		{f.wireReceipt(t, 3, "NO-SUCH-SKU-depotd", "1"), erpcore.Rejected, "UNKNOWN_ITEM"},
		{f.wire(t, 4, "receipt", map[string]any{"id": "r4", "lines": "not a list"}), erpcore.Rejected, "BAD_TX"},
		{f.wireReceipt(t, 5, f.sku, "1.5"), erpcore.Applied, ""},
		// Everything again, as after a connector restart: nothing changes, rejections are told.
		{f.wireReceipt(t, 1, f.sku, "4"), erpcore.Duplicate, ""},
		{f.wire(t, 2, odoo.VoidType, map[string]any{"id": "void-2", "lines": []any{}}), erpcore.Duplicate, ""},
		{f.wireReceipt(t, 3, "NO-SUCH-SKU-depotd", "1"), erpcore.Duplicate, "UNKNOWN_ITEM"},
		{f.wireReceipt(t, 5, f.sku, "1.5"), erpcore.Duplicate, ""},
		// Beyond the applied seq + 1: the ERP says where it is.
		{f.wireReceipt(t, 9, f.sku, "1"), erpcore.Gap, ""},
	}
	for i, s := range steps {
		r, err := a.Apply(ctx, s.tx)
		if err != nil || r.Status != s.want || r.Code != s.code {
			t.Fatalf("step %d (seq %d %s): %+v, %v; want %v %q", i, s.tx.Seq, s.tx.Type, r, err, s.want, s.code)
		}
		if s.want == erpcore.Gap && r.AppliedSeq != 5 {
			t.Fatalf("gap: applied seq %d, want 5", r.AppliedSeq)
		}
		if r.Code != "" && r.Message == "" {
			t.Fatalf("step %d: rejection %s without a message", i, r.Code)
		}
	}
	if n, err := a.AppliedSeq(ctx, f.depot.ID); err != nil || n != 5 {
		t.Fatalf("applied seq %d, %v; want 5", n, err)
	}
	s := f.state(t, 5)
	if s.moves != 2 || !s.onHand.Equal(decimal.RequireFromString("5.5")) {
		t.Fatalf("Odoo holds %d moves and %s on hand; want 2 and exactly 5.5 (seqs 1 and 5)", s.moves, s.onHand)
	}
}
