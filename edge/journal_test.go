package edge_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

func TestCommitAssignsGapFreeSeqsAndIsIdempotent(t *testing.T) {
	j := mustOpen(t, nil)
	first := mustCommit(t, j, edge.Transaction{ID: "r1", Type: edge.Receipt, Lines: []edge.Line{line("SKU-1", "12", "", "WH/Stock")}})
	if first.Seq != 1 || first.At == nil {
		t.Fatalf("first commit: seq %d at %v", first.Seq, first.At)
	}
	if first.Lines[0].From != "Partners/Vendors" || first.Lines[0].State != edge.Available || first.Lines[0].UoM != "Units" {
		t.Fatalf("defaults not applied: %+v", first.Lines[0])
	}
	again, existing, err := j.Commit(context.Background(), edge.Transaction{ID: "r1", Type: edge.Receipt, Lines: []edge.Line{line("SKU-1", "12.0", "", "WH/Stock")}})
	if err != nil || !existing || again.Seq != 1 || again.Lines[0].Qty.String() != "12" {
		t.Fatalf("retry: existing=%v seq=%d qty=%s err=%v", existing, again.Seq, again.Lines[0].Qty, err)
	}
	second := mustCommit(t, j, edge.Transaction{ID: "i1", Type: edge.Issue, Lines: []edge.Line{line("SKU-1", "5", "WH/Stock", "")}})
	if second.Seq != 2 || second.Lines[0].To != "Partners/Customers" {
		t.Fatalf("issue: %+v", second)
	}
	rows, err := j.Stock(edge.StockFilter{Item: "SKU-1"})
	if err != nil || len(rows) != 1 || rows[0].Qty.String() != "7" || rows[0].Pending.String() != "7" || !rows[0].ERPQty.IsZero() {
		t.Fatalf("stock: %+v %v", rows, err)
	}
	if last, acked := j.Positions(); last != 2 || acked != 0 {
		t.Fatalf("positions %d %d", last, acked)
	}
}

// #19.3: only the same transaction is a retry: the id of another one is refused, with
// the original's seq, and writes nothing.
func TestAnIDReusedForADifferentTransactionIsRefused(t *testing.T) {
	j := mustOpen(t, nil)
	orig := edge.Transaction{ID: "r1", Type: edge.Receipt, Ref: "PO-1", Lines: []edge.Line{line("SKU-1", "12", "", "WH/Stock")}}
	mustCommit(t, j, orig)
	for _, tc := range []struct {
		name   string
		change func(tx *edge.Transaction)
	}{
		{"quantity", func(tx *edge.Transaction) { tx.Lines[0].Qty = edge.MustQty("99") }},
		{"item", func(tx *edge.Transaction) { tx.Lines[0].Item = "SKU-2" }},
		{"location", func(tx *edge.Transaction) { tx.Lines[0].To = "WH/Input" }},
		{"ref", func(tx *edge.Transaction) { tx.Ref = "PO-2" }},
		{"type", func(tx *edge.Transaction) { tx.Type = edge.Return }},
		{"a line more", func(tx *edge.Transaction) { tx.Lines = append(tx.Lines, line("SKU-1", "1", "", "WH/Stock")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := orig
			tx.Lines = append([]edge.Line(nil), orig.Lines...)
			tc.change(&tx)
			_, existing, err := j.Commit(context.Background(), tx)
			var ce *edge.IDConflictError
			if existing || !errors.As(err, &ce) || !errors.Is(err, edge.ErrIDConflict) || ce.Seq != 1 ||
				!strings.Contains(err.Error(), "id r1 was already used for a different transaction") {
				t.Fatalf("existing=%v err=%v, want an id conflict naming seq 1", existing, err)
			}
		})
	}
	// What is not the client's request does not make a conflict.
	retry := orig
	retry.Source, retry.Lines = "console", []edge.Line{line("SKU-1", "12.000", "", "WH/Stock")}
	if got, existing, err := j.Commit(context.Background(), retry); err != nil || !existing || got.Seq != 1 {
		t.Fatalf("retry through another path: existing=%v seq=%d %v", existing, got.Seq, err)
	}
	if last, _ := j.Positions(); last != 1 {
		t.Fatalf("last_seq %d: a refused id wrote something", last)
	}
}

func TestValidationNamesTheField(t *testing.T) {
	j := mustOpen(t, nil)
	cases := []struct {
		name  string
		tx    edge.Transaction
		field string
	}{
		{"no id", edge.Transaction{Type: edge.Receipt, Lines: []edge.Line{line("A", "1", "", "WH/Stock")}}, "id"},
		{"unknown type", edge.Transaction{ID: "x", Type: "teleport", Lines: []edge.Line{line("A", "1", "", "WH/Stock")}}, "type"},
		{"no lines", edge.Transaction{ID: "x", Type: edge.Receipt}, "lines"},
		{"zero qty", edge.Transaction{ID: "x", Type: edge.Receipt, Lines: []edge.Line{line("A", "0", "", "WH/Stock")}}, "lines[0].qty"},
		{"negative qty", edge.Transaction{ID: "x", Type: edge.Issue, Lines: []edge.Line{line("A", "-1", "WH/Stock", "")}}, "lines[0].qty"},
		{"decimals for Units", edge.Transaction{ID: "x", Type: edge.Receipt, Lines: []edge.Line{line("A", "1.5", "", "WH/Stock")}}, "lines[0].qty"},
		{"unknown location", edge.Transaction{ID: "x", Type: edge.Receipt, Lines: []edge.Line{line("A", "1", "", "Mars")}}, "lines[0].to"},
		{"receipt without to", edge.Transaction{ID: "x", Type: edge.Receipt, Lines: []edge.Line{line("A", "1", "", "")}}, "lines[0].to"},
		{"issue without from", edge.Transaction{ID: "x", Type: edge.Issue, Lines: []edge.Line{line("A", "1", "", "")}}, "lines[0].from"},
		{"adjustment without reason", edge.Transaction{ID: "x", Type: edge.Adjustment, Lines: []edge.Line{line("A", "1", "", "WH/Stock")}}, "reason"},
		{"adjustment of zero", edge.Transaction{ID: "x", Type: edge.Adjustment, Reason: "R", Lines: []edge.Line{line("A", "0", "", "WH/Stock")}}, "lines[0].qty"},
		{"count negative", edge.Transaction{ID: "x", Type: edge.Count, Lines: []edge.Line{line("A", "-1", "", "WH/Stock")}}, "lines[0].qty"},
		{"unknown state", edge.Transaction{ID: "x", Type: edge.Receipt, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("1"), To: "WH/Stock", State: "lost"}}}, "lines[0].state"},
		{"bad expiry", edge.Transaction{ID: "x", Type: edge.Receipt, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("1"), To: "WH/Stock", Expiry: "2027-13-01"}}}, "lines[0].expiry"},
		{"status without to_state", edge.Transaction{ID: "x", Type: edge.StatusMove, Lines: []edge.Line{line("A", "1", "WH/Stock", "")}}, "lines[0].to_state"},
		{"serial qty 2", edge.Transaction{ID: "x", Type: edge.Receipt, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("2"), To: "WH/Stock", Serial: "S1"}}}, "lines[0].qty"},
		{"control char in item", edge.Transaction{ID: "x", Type: edge.Receipt, Lines: []edge.Line{line("A\x00B", "1", "", "WH/Stock")}}, "lines[0].item"},
		{"unknown uom", edge.Transaction{ID: "x", Type: edge.Receipt, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("1"), UoM: "furlong", To: "WH/Stock"}}}, "lines[0].uom"},
		{"transfer to itself", edge.Transaction{ID: "x", Type: edge.Transfer, Lines: []edge.Line{line("A", "1", "WH/Stock", "WH/Stock")}}, "lines[0].to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := j.Commit(context.Background(), c.tx)
			var fe *edge.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if fe.Field != c.field {
				t.Fatalf("field = %q (%v), want %q", fe.Field, err, c.field)
			}
		})
	}
	if last, _ := j.Positions(); last != 0 {
		t.Fatalf("invalid input wrote %d transactions", last)
	}
}

func TestNegativeStockPolicy(t *testing.T) {
	j := mustOpen(t, map[edge.LocationType]edge.NegativePolicy{edge.LocInternal: edge.NegativeRefuse})
	mustCommit(t, j, edge.Transaction{ID: "r", Type: edge.Receipt, Lines: []edge.Line{line("A", "3", "", "WH/Stock"), line("A", "1", "", "Van-1")}})
	_, _, err := j.Commit(context.Background(), edge.Transaction{ID: "i", Type: edge.Issue, Lines: []edge.Line{line("A", "2", "WH/Stock", ""), line("A", "2", "WH/Stock", "")}})
	var se *edge.StockError
	if !errors.As(err, &se) || !errors.Is(err, edge.ErrNegativeStock) || se.Field != "lines[1]" {
		t.Fatalf("err = %v, want a StockError on lines[1]", err)
	}
	if last, _ := j.Positions(); last != 1 {
		t.Fatalf("refused transaction consumed a seq: last %d", last)
	}
	// A mobile location allows negative stock (the default) and raises an exception.
	mustCommit(t, j, edge.Transaction{ID: "v", Type: edge.Issue, Lines: []edge.Line{line("A", "3", "Van-1", "")}})
	exc, err := j.Exceptions(true, 10)
	if err != nil || len(exc) != 1 || exc[0].Kind != edge.ExcNegativeStock || exc[0].Seq != 2 {
		t.Fatalf("exceptions: %+v %v", exc, err)
	}
	if st, _ := j.Status(); st.OpenExceptions != 1 {
		t.Fatalf("open exceptions %d", st.OpenExceptions)
	}
	if _, err := j.ResolveException(exc[0].ID, edge.Resolution{By: "sup", Action: "acknowledged", Reason: "van restocked"}); err != nil {
		t.Fatal(err)
	}
	if st, _ := j.Status(); st.OpenExceptions != 0 {
		t.Fatalf("open exceptions after resolve %d", st.OpenExceptions)
	}
}

func TestEveryTransactionTypeMovesStock(t *testing.T) {
	j := mustOpen(t, nil)
	steps := []edge.Transaction{
		{ID: "1", Type: edge.Receipt, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("2"), UoM: "Dozens", Lot: "L", To: "WH/Input"}}},
		{ID: "2", Type: edge.Transfer, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("20"), Lot: "L", From: "WH/Input", To: "WH/Stock"}}},
		{ID: "3", Type: edge.Transfer, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("2"), Lot: "L", From: "WH/Stock", To: "Transit", ToState: edge.InTransit}}},
		{ID: "4", Type: edge.Issue, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("5"), Lot: "L", From: "WH/Stock"}}},
		{ID: "5", Type: edge.Return, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("1"), Lot: "L", To: "WH/Returns"}}},
		{ID: "6", Type: edge.StatusMove, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("1"), Lot: "L", From: "WH/Returns", State: edge.Quarantine, ToState: edge.Available}}},
		{ID: "7", Type: edge.Scrap, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("1"), Lot: "L", From: "WH/Stock"}}},
		{ID: "8", Type: edge.Adjustment, Reason: "FOUND", Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("-2"), Lot: "L", To: "WH/Stock"}}},
		{ID: "9", Type: edge.Count, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("9"), Lot: "L", To: "WH/Stock"}}},
	}
	for _, s := range steps {
		mustCommit(t, j, s)
	}
	want := map[string]string{
		"WH/Input/available":    "",
		"WH/Stock/available":    "9", // 24-20: 4 in input → 0; stock 20-2-5-1-2 = 10, counted 9
		"Transit/in_transit":    "2",
		"WH/Returns/available":  "1",
		"WH/Returns/quarantine": "",
	}
	rows, err := j.Stock(edge.StockFilter{Item: "A"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r.Location+"/"+string(r.State)] = r.Qty.String()
	}
	want["WH/Input/available"] = "4"
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	cnt, err := j.Get(9)
	if err != nil {
		t.Fatal(err)
	}
	if cnt.Lines[0].Expected.String() != "10" || cnt.Lines[0].Delta.String() != "-1" {
		t.Fatalf("count: expected %v delta %v", cnt.Lines[0].Expected, cnt.Lines[0].Delta)
	}
	if cnt.Lines[0].BaseQty.String() != "9" {
		t.Fatalf("base qty %v", cnt.Lines[0].BaseQty)
	}
	rcpt, _ := j.Get(1)
	if rcpt.Lines[0].BaseQty.String() != "24" || rcpt.Lines[0].BaseUoM != "Units" {
		t.Fatalf("2 Dozens = %v %s", rcpt.Lines[0].BaseQty, rcpt.Lines[0].BaseUoM)
	}
}

func TestConcurrentWritersShareCommits(t *testing.T) {
	j := mustOpen(t, nil)
	const writers, each = 16, 50
	var wg sync.WaitGroup
	seqs := make(chan uint64, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				tx, _, err := j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("w%d-%d", w, i), Type: edge.Receipt,
					Lines: []edge.Line{line("A", "1", "", "WH/Stock")}})
				if err != nil {
					t.Error(err)
					return
				}
				seqs <- tx.Seq
			}
		}()
	}
	wg.Wait()
	close(seqs)
	seen := map[uint64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Fatalf("seq %d given twice", s)
		}
		seen[s] = true
	}
	for s := uint64(1); s <= writers*each; s++ {
		if !seen[s] {
			t.Fatalf("seq %d missing", s)
		}
	}
	commits, txs := j.Stats()
	if txs != writers*each {
		t.Fatalf("txs %d", txs)
	}
	if commits >= txs {
		t.Logf("no commit was shared (%d commits for %d txs); the machine may be very slow", commits, txs)
	}
	rows, _ := j.Stock(edge.StockFilter{Item: "A"})
	if len(rows) != 1 || rows[0].Qty.String() != fmt.Sprint(writers*each) {
		t.Fatalf("stock %+v", rows)
	}
}

func TestAckMovesWatermarkAndRecordsRejections(t *testing.T) {
	j := mustOpen(t, nil)
	for i := 1; i <= 5; i++ {
		mustCommit(t, j, edge.Transaction{ID: fmt.Sprint(i), Type: edge.Receipt, Lines: []edge.Line{line("A", "1", "", "WH/Stock")}})
	}
	if _, err := j.Ack(edge.Ack{UptoSeq: 6}); !errors.Is(err, edge.ErrAckBeyondLast) {
		t.Fatalf("ack beyond last: %v", err)
	}
	if _, err := j.Ack(edge.Ack{UptoSeq: 2, Rejected: []edge.Rejection{{Seq: 3, Code: "X"}}}); !errors.Is(err, edge.ErrInvalidAck) {
		t.Fatalf("rejection above upto: %v", err)
	}
	if _, acked := j.Positions(); acked != 0 {
		t.Fatalf("a refused ack moved the watermark to %d", acked)
	}
	res, err := j.Ack(edge.Ack{UptoSeq: 3, Rejected: []edge.Rejection{{Seq: 2, Code: "UNKNOWN_PRODUCT", Message: "no such product"}}})
	if err != nil || !res.Moved || res.Acked != 3 || res.NewRejections != 1 {
		t.Fatalf("ack: %+v %v", res, err)
	}
	// Duplicate and late acks change nothing and do not duplicate the rejection.
	res, err = j.Ack(edge.Ack{UptoSeq: 3, Rejected: []edge.Rejection{{Seq: 2, Code: "UNKNOWN_PRODUCT"}}})
	if err != nil || res.Moved || res.NewRejections != 0 {
		t.Fatalf("duplicate ack: %+v %v", res, err)
	}
	if res, err = j.Ack(edge.Ack{UptoSeq: 1}); err != nil || res.Moved || res.Acked != 3 {
		t.Fatalf("late ack: %+v %v", res, err)
	}
	st, _ := j.Status()
	if st.Backlog != 2 || st.AckedSeq != 3 || st.OpenExceptions != 1 {
		t.Fatalf("status %+v", st)
	}
	exc, _ := j.Exceptions(true, 10)
	if len(exc) != 1 || exc[0].Kind != edge.ExcERPRejected || exc[0].Seq != 2 || exc[0].Code != "UNKNOWN_PRODUCT" {
		t.Fatalf("exceptions %+v", exc)
	}
	var pending []uint64
	if err := j.Scan(context.Background(), st.AckedSeq, func(seq uint64, raw []byte) error { pending = append(pending, seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(pending) != "[4 5]" {
		t.Fatalf("outbox %v", pending)
	}
}

func TestStockSnapshotReplaysLocalTransactions(t *testing.T) {
	j := mustOpen(t, nil)
	mustCommit(t, j, edge.Transaction{ID: "1", Type: edge.Receipt, Lines: []edge.Line{line("A", "10", "", "WH/Stock")}})
	mustCommit(t, j, edge.Transaction{ID: "2", Type: edge.Issue, Lines: []edge.Line{line("A", "3", "WH/Stock", "")}})
	// The ERP applied seq 1 only and knows of 50 more from elsewhere.
	if err := j.ApplyStockSnapshot(edge.StockSnapshot{V: 1, AppliedSeq: 1, Rows: []edge.StockSnapshotRow{{Item: "A", Location: "WH/Stock", Qty: edge.MustQty("60")}}}); err != nil {
		t.Fatal(err)
	}
	rows, _ := j.Stock(edge.StockFilter{Item: "A"})
	if len(rows) != 1 || rows[0].ERPQty.String() != "60" || rows[0].Qty.String() != "57" || rows[0].Pending.String() != "-3" {
		t.Fatalf("after snapshot %+v", rows)
	}
	if err := j.ApplyStockSnapshot(edge.StockSnapshot{V: 1, AppliedSeq: 3}); !errors.Is(err, edge.ErrAckBeyondLast) {
		t.Fatalf("snapshot beyond last: %v", err)
	}
	if err := j.ApplyStockSnapshot(edge.StockSnapshot{V: 1, AppliedSeq: 0}); err == nil {
		t.Fatal("an older snapshot was accepted")
	}
	mustCommit(t, j, edge.Transaction{ID: "3", Type: edge.Receipt, Lines: []edge.Line{line("A", "1", "", "WH/Stock")}})
	rows, _ = j.Stock(edge.StockFilter{Item: "A"})
	if rows[0].Qty.String() != "58" || rows[0].ERPQty.String() != "60" {
		t.Fatalf("after local receipt %+v", rows)
	}
}

func TestReopenKeepsEverythingAndRefusesAnotherDepot(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "depotd.db")
	cat := mustCatalog(t, nil)
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, j, edge.Transaction{ID: "a", Type: edge.Receipt, Lines: []edge.Line{line("A", "1", "", "WH/Stock")}})
	s1, _ := j.NextSession()
	// A second opener is refused while the first holds the file.
	if _, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: cat, LockTimeout: 50 * time.Millisecond}); !errors.Is(err, edge.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := j.Commit(context.Background(), edge.Transaction{ID: "b", Type: edge.Receipt, Lines: []edge.Line{line("A", "1", "", "WH/Stock")}}); !errors.Is(err, edge.ErrClosed) {
		t.Fatalf("commit after close: %v", err)
	}
	if _, err := edge.Open(path, edge.Options{Depot: "D2", Catalog: cat}); err == nil {
		t.Fatal("opened another depot's database")
	}
	j, err = edge.Open(path, edge.Options{Depot: "D1", Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if last, _ := j.Positions(); last != 1 {
		t.Fatalf("last after reopen %d", last)
	}
	if s2, _ := j.NextSession(); s2 != s1+1 {
		t.Fatalf("session %d after %d", s2, s1)
	}
	tx := mustCommit(t, j, edge.Transaction{ID: "b", Type: edge.Receipt, Lines: []edge.Line{line("A", "1", "", "WH/Stock")}})
	if tx.Seq != 2 {
		t.Fatalf("seq after reopen %d", tx.Seq)
	}
}

func TestCommittedSignalsWaiters(t *testing.T) {
	j := mustOpen(t, nil)
	ch := j.Committed()
	select {
	case <-ch:
		t.Fatal("signalled before any commit")
	default:
	}
	mustCommit(t, j, edge.Transaction{ID: "a", Type: edge.Receipt, Lines: []edge.Line{line("A", "1", "", "WH/Stock")}})
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("not signalled")
	}
}

func TestMasterDataIsValidatedAndKept(t *testing.T) {
	j := mustOpen(t, nil)
	good := []byte(`{"v":1,"version":"42","items":[{"sku":"A","uom":"Units","barcodes":["09506000134352"],"packagings":[{"barcode":"19506000134359","qty":"12"}],"tracking":"lot"}]}`)
	if v, err := j.PutMaster(edge.MasterKindItems, good); err != nil || v != "42" {
		t.Fatalf("put: %q %v", v, err)
	}
	for _, bad := range []string{`{"v":2,"version":"1","items":[]}`, `{"v":1,"items":[]}`, `{"v":1,"version":"1","items":[{"sku":""}]}`,
		`{"v":1,"version":"1","items":[],"extra":1}`, `{"v":1,"version":"1","items":[{"sku":"A","tracking":"dna"}]}`, `not json`} {
		if _, err := j.PutMaster(edge.MasterKindItems, []byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	got, err := j.Master(edge.MasterKindItems)
	if err != nil || string(got) != string(good) {
		t.Fatalf("master = %s %v", got, err)
	}
}

// TestLedgerMatchesModel runs random operations against the journal and an in-memory model
// of the ledger; the seed is printed so that a failure can be replayed.
func TestLedgerMatchesModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	j := mustOpen(t, nil)
	model := map[string]int64{} // item/location → qty (all available, no lots)
	locs := []string{"WH/Stock", "WH/Input", "Van-1"}
	items := []string{"A", "B", "C"}
	var committed []string
	sent := map[string]edge.Transaction{}
	for i := 0; i < 300; i++ {
		it, from, to := items[r.IntN(3)], locs[r.IntN(3)], locs[r.IntN(3)]
		q := int64(r.IntN(20) + 1)
		id := fmt.Sprintf("op%d", i)
		var tx edge.Transaction
		switch r.IntN(5) {
		case 0:
			tx = edge.Transaction{ID: id, Type: edge.Receipt, Lines: []edge.Line{line(it, fmt.Sprint(q), "", to)}}
			model[it+"/"+to] += q
		case 1:
			tx = edge.Transaction{ID: id, Type: edge.Issue, Lines: []edge.Line{line(it, fmt.Sprint(q), from, "")}}
			model[it+"/"+from] -= q
		case 2:
			if from == to {
				continue
			}
			tx = edge.Transaction{ID: id, Type: edge.Transfer, Lines: []edge.Line{line(it, fmt.Sprint(q), from, to)}}
			model[it+"/"+from] -= q
			model[it+"/"+to] += q
		case 3:
			tx = edge.Transaction{ID: id, Type: edge.Count, Lines: []edge.Line{line(it, fmt.Sprint(q), "", to)}}
			model[it+"/"+to] = q
		case 4:
			// A retry of an earlier transaction changes nothing.
			if len(committed) == 0 {
				continue
			}
			tx = sent[committed[r.IntN(len(committed))]]
		}
		if _, _, err := j.Commit(context.Background(), tx); err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
		committed = append(committed, tx.ID)
		sent[tx.ID] = tx
	}
	rows, err := j.Stock(edge.StockFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, row := range rows {
		got[row.Item+"/"+row.Location] = row.Qty.Decimal().IntPart()
	}
	for k, v := range model {
		if got[k] != v {
			t.Errorf("%s: journal %d, model %d", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := model[k]; !ok {
			t.Errorf("%s: journal %d, model has none", k, v)
		}
	}
}
