package odoo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

func (f postFixture) wireLot(t testing.TB, seq uint64, qty, lot, expiry string) erpcore.Tx {
	return f.wire(t, seq, "receipt", map[string]any{"id": "r-" + lot, "lines": []any{map[string]any{
		"item": f.sku, "qty": qty, "uom": "Units", "lot": lot, "expiry": expiry, "to": f.depot.Warehouse + "/Stock"}}})
}

// keyRecord is the record the idempotency key of seq points at, and how many keys the
// seq has.
func (f postFixture) keyRecord(t testing.TB, seq uint64) (model string, resID, keys int) {
	t.Helper()
	var rows []struct {
		Model string `json:"model"`
		ResID int    `json:"res_id"`
	}
	if err := f.c.Call(context.Background(), "ir.model.data", "search_read", map[string]any{"domain": []any{
		[]any{"module", "=", "depotd"}, []any{"name", "=", odoo.TxKey(f.depot.ID, seq)}}, "fields": []string{"model", "res_id"}}, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return "", 0, 0
	}
	return rows[0].Model, rows[0].ResID, len(rows)
}

type batchWant struct {
	status erpcore.Status
	code   string
}

func checkBatch(t *testing.T, what string, txs []erpcore.Tx, rs []erpcore.Result, err error, want []batchWant) {
	t.Helper()
	if err != nil || len(rs) != len(want) {
		t.Fatalf("%s: %d results %+v, %v; want %d", what, len(rs), rs, err, len(want))
	}
	for i, w := range want {
		if rs[i].Status != w.status || rs[i].Code != w.code || (w.code != "" && rs[i].Message == "") {
			t.Fatalf("%s: seq %d answered %+v; want %v %q with a message", what, txs[i].Seq, rs[i], w.status, w.code)
		}
	}
}

// Several seqs of a depot in one Odoo call, each in its own savepoint: a receipt Odoo
// refuses after it had made its picking (an expired lot) and one it refuses at once (an
// unknown item) are rejected alone, in their place, while the seqs around them commit
// exactly once and in seq order; the same batch sent again changes nothing and tells the
// rejections again.
func TestABatchWithRefusedTransactionsInTheMiddlePostsTheOthersOnceInOrder(t *testing.T) {
	f := newPostFixture(t)
	a := odoo.NewApplier(f.c, 2*time.Minute, []odoo.Depot{f.depot})
	ctx := context.Background()
	txs := []erpcore.Tx{
		f.wireLot(t, 1, "4", "B1", "2027-06-30"),
		f.wireLot(t, 2, "1", "B2", "2027-06-30"),
		f.wireLot(t, 3, "9", "OLD", "2020-01-31"),
		f.wire(t, 4, odoo.VoidType, map[string]any{"id": "void-4", "lines": []any{}}),
		f.wireReceipt(t, 5, "NO-SUCH-SKU-depotd", "1"),
		f.wireLot(t, 6, "2.5", "B6", "2027-06-30"),
	}
	start := time.Now()
	rs, err := a.ApplyBatch(ctx, txs)
	t.Logf("a batch of %d took %v", len(txs), time.Since(start))
	checkBatch(t, "first batch", txs, rs, err, []batchWant{{erpcore.Applied, ""}, {erpcore.Applied, ""},
		{erpcore.Rejected, "LOT_EXPIRED"}, {erpcore.Voided, ""}, {erpcore.Rejected, "UNKNOWN_ITEM"}, {erpcore.Applied, ""}})
	for i, r := range rs {
		if r.AppliedSeq != txs[i].Seq {
			t.Fatalf("seq %d: applied seq %d after it, want %d (in order)", txs[i].Seq, r.AppliedSeq, txs[i].Seq)
		}
	}
	check := func(what string) {
		t.Helper()
		s := f.state(t, 1)
		if s.moves != 3 || !s.onHand.Equal(decimal.RequireFromString("7.5")) {
			t.Fatalf("%s: Odoo holds %d moves and %s on hand; want 3 and exactly 7.5 (seqs 1, 2 and 6; nothing of seq 3)", what, s.moves, s.onHand)
		}
		prev := 0
		for _, seq := range []uint64{1, 2, 3, 4, 5, 6} {
			model, id, keys := f.keyRecord(t, seq)
			if keys != 1 {
				t.Fatalf("%s: seq %d has %d keys, want 1", what, seq, keys)
			}
			if model == "stock.picking" {
				if id <= prev {
					t.Fatalf("%s: picking of seq %d (%d) made before the one of an earlier seq (%d)", what, seq, id, prev)
				}
				prev = id
			}
		}
		if n, err := a.AppliedSeq(ctx, f.depot.ID); err != nil || n != 6 {
			t.Fatalf("%s: applied seq %d, %v; want 6", what, n, err)
		}
	}
	check("after the batch")

	rs, err = a.ApplyBatch(ctx, txs)
	checkBatch(t, "the batch again", txs, rs, err, []batchWant{{erpcore.Duplicate, ""}, {erpcore.Duplicate, ""},
		{erpcore.Duplicate, "LOT_EXPIRED"}, {erpcore.Duplicate, ""}, {erpcore.Duplicate, "UNKNOWN_ITEM"}, {erpcore.Duplicate, ""}})
	check("after the batch again")

	// Beyond the applied seq + 1: nothing done, the ERP says where it is.
	far := []erpcore.Tx{f.wireLot(t, 9, "1", "B9", "2027-06-30"), f.wireLot(t, 10, "1", "B10", "2027-06-30")}
	rs, err = a.ApplyBatch(ctx, far)
	if err != nil || len(rs) == 0 || rs[0].Status != erpcore.Gap || rs[0].AppliedSeq != 6 {
		t.Fatalf("a batch beyond the applied seq: %+v, %v; want gap at 6", rs, err)
	}
	check("after a batch beyond the applied seq")
}

// A batch whose answer was lost (Odoo committed, the connector never heard) is sent
// again whole: every seq answers duplicate and nothing is doubled.
func TestABatchResentAfterALostAnswerDoublesNothing(t *testing.T) {
	f := newPostFixture(t)
	env := odootest.Need(t)
	proxy := odootest.NewProxy(t, env)
	a := odoo.NewApplier(proxy.Env(env).Client(t), time.Minute, []odoo.Depot{f.depot})
	ctx := context.Background()
	var txs []erpcore.Tx
	for seq := uint64(1); seq <= 5; seq++ {
		txs = append(txs, f.wireLot(t, seq, "2", "LA"+string(rune('0'+seq)), "2027-06-30"))
	}
	// The first call looks the action up: with the link up, so that the call cut is the batch.
	rs, err := a.ApplyBatch(ctx, txs[:1])
	checkBatch(t, "seq 1", txs[:1], rs, err, []batchWant{{erpcore.Applied, ""}})

	proxy.SetMode(odootest.DropAnswers)
	rs, err = a.ApplyBatch(ctx, txs[1:])
	if !errors.Is(err, odoo.ErrUnavailable) || !odoo.Retryable(err) || len(rs) != 0 {
		t.Fatalf("answer lost: %+v, %v; want no result and a retryable ErrUnavailable", rs, err)
	}
	proxy.SetMode(odootest.Pass)
	rs, err = a.ApplyBatch(ctx, txs)
	checkBatch(t, "the batch again", txs, rs, err, []batchWant{{erpcore.Duplicate, ""}, {erpcore.Duplicate, ""},
		{erpcore.Duplicate, ""}, {erpcore.Duplicate, ""}, {erpcore.Duplicate, ""}})
	if s := f.state(t, 1); s.moves != 5 || !s.onHand.Equal(decimal.NewFromInt(10)) {
		t.Fatalf("Odoo holds %d moves and %s on hand; want 5 and 10", s.moves, s.onHand)
	}
	for _, tx := range txs {
		if _, _, keys := f.keyRecord(t, tx.Seq); keys != 1 {
			t.Fatalf("seq %d has %d keys, want 1", tx.Seq, keys)
		}
	}
}

// A failure inside Odoo that is not the data's fault (here a line the action cannot read,
// which only a foreign client could send) stops the batch at that seq: the seqs before it
// commit and are answered, that seq and the ones after it are not applied.
func TestABatchStoppedByAFailureInsideOdooCommitsTheSeqsBeforeIt(t *testing.T) {
	f := newPostFixture(t)
	p := odoo.NewPoster(f.c, 2*time.Minute)
	ctx := context.Background()
	id, err := p.ActionID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	item := func(seq uint64, op string) map[string]any {
		return map[string]any{"op": op, "depot": f.depot.ID, "seq": seq, "key": odoo.TxKey(f.depot.ID, seq), "param": odoo.AppliedSeqParam(f.depot.ID)}
	}
	broken := item(3, "post")
	broken["type"], broken["warehouse"], broken["lines"] = "receipt", f.depot.Warehouse, []any{"not a line"}
	var out struct {
		Depotd struct {
			Status  string `json:"status"`
			Results []struct {
				Status     string `json:"status"`
				Seq        uint64 `json:"seq"`
				AppliedSeq uint64 `json:"applied_seq"`
				Message    string `json:"message"`
			} `json:"results"`
		} `json:"depotd"`
	}
	req := map[string]any{"op": "batch", "items": []any{item(1, "void"), item(2, "void"), broken, item(4, "void")}}
	if err := f.c.Call(ctx, "ir.actions.server", "run", map[string]any{"ids": []int{id}, "context": map[string]any{"depotd": req}}, &out); err != nil {
		t.Fatal(err)
	}
	rs := out.Depotd.Results
	if out.Depotd.Status != "batch" || len(rs) != 3 || rs[0].Status != "voided" || rs[1].Status != "voided" ||
		rs[2].Status != "stopped" || rs[2].Seq != 3 || rs[2].Message == "" {
		t.Fatalf("answer %+v; want voided, voided, stopped at seq 3 with why", out.Depotd)
	}
	t.Logf("stopped at seq 3: %s", rs[2].Message)
	a := odoo.NewApplier(f.c, time.Minute, []odoo.Depot{f.depot})
	if n, err := a.AppliedSeq(ctx, f.depot.ID); err != nil || n != 2 {
		t.Fatalf("applied seq %d, %v; want 2 (the seqs before the stop committed)", n, err)
	}
	for seq, want := range map[uint64]int{1: 1, 2: 1, 3: 0, 4: 0} {
		if _, _, keys := f.keyRecord(t, seq); keys != want {
			t.Fatalf("seq %d has %d keys, want %d", seq, keys, want)
		}
	}
}
