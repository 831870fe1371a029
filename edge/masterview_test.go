package edge_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

// openWithMaster opens a journal whose config carries master data.
func openWithMaster(tb testing.TB, m edge.MasterData) *edge.Journal {
	tb.Helper()
	j, err := edge.Open(filepath.Join(tb.TempDir(), "depotd.db"), edge.Options{Depot: "D1", Catalog: mustCatalog(tb, nil), Master: m})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if probs := j.Check(); len(probs) > 0 {
			tb.Errorf("database check: %v", probs)
		}
		if err := j.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return j
}

func TestTheMasterViewMergesConfigAndERPWithTheERPWinningPerSKUAndBadge(t *testing.T) {
	j := openWithMaster(t, edge.MasterData{
		Items: []edge.Item{
			{SKU: "A", Barcodes: []string{"111"}},
			{SKU: "B", Barcodes: []string{"222", "333"}, Tracking: "lot"},
		},
		Operators: []edge.Operator{{Badge: "alice", Name: "Alice", Role: "operator"}, {Badge: "sam", Name: "Sam", Role: "supervisor"}},
	})
	v, err := j.MasterView()
	if err != nil || len(v.Items()) != 2 {
		t.Fatalf("config only: %+v %v", v.Items(), err)
	}
	if it, ok := v.ItemByBarcode("333"); !ok || it.SKU != "B" || it.Tracking != "lot" {
		t.Fatalf("config barcode: %+v %v", it, ok)
	}
	// The ERP's B replaces the config's whole (its barcodes and tracking); its C takes a
	// barcode the config gave A.
	if _, err := j.PutMaster(edge.MasterKindItems, []byte(`{"v":1,"version":"e1","items":[
		{"sku":"B","barcodes":["444"]},{"sku":"C","barcodes":["111"],"tracking":"serial"}]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := j.PutMaster(edge.MasterKindOperators, []byte(`{"v":1,"version":"o1","operators":[{"badge":"sam","name":"Samuel","role":"admin"}]}`)); err != nil {
		t.Fatal(err)
	}
	v, err = j.MasterView()
	if err != nil {
		t.Fatal(err)
	}
	var skus []string
	for _, it := range v.Items() {
		skus = append(skus, it.SKU)
	}
	if strings.Join(skus, ",") != "A,B,C" {
		t.Fatalf("merged items %v, want A,B,C (the config's kept, the ERP's after)", skus)
	}
	if b, _ := v.Item("B"); b.Tracking != "" || len(b.Barcodes) != 1 {
		t.Errorf("B = %+v: the ERP's entry must replace the config's whole", b)
	}
	if _, ok := v.ItemByBarcode("333"); ok {
		t.Error("the config's barcode of a replaced item still finds it")
	}
	if it, _ := v.ItemByBarcode("111"); it.SKU != "C" {
		t.Errorf("barcode 111 → %q, want the ERP's C", it.SKU)
	}
	ops := v.Operators()
	if len(ops) != 2 || ops[1].Name != "Samuel" || ops[1].Role != "admin" {
		t.Errorf("operators %+v: the ERP's sam must replace the config's", ops)
	}
	if again, _ := j.MasterView(); again != v {
		t.Error("the view was rebuilt without new master data")
	}
}

func TestAKnownItemsTrackingRulesAreEnforcedAtCommitAndUnknownItemsPass(t *testing.T) {
	j := openWithMaster(t, edge.MasterData{Items: []edge.Item{
		{SKU: "VACCINE", Tracking: "lot", Expiry: true},
		{SKU: "DRILL", Tracking: "serial"},
	}})
	ctx := context.Background()
	cases := []struct {
		name  string
		tx    edge.Transaction
		field string
		msg   string
	}{
		{"lot missing", edge.Transaction{ID: "r1", Type: edge.Receipt, Lines: []edge.Line{
			{Item: "NEW-1", Qty: edge.MustQty("1"), To: "WH/Stock"},
			{Item: "VACCINE", Qty: edge.MustQty("5"), Expiry: "2027-01-31", To: "WH/Stock"}}},
			"lines[1].lot", "VACCINE is lot- and expiry-tracked: give the lot"},
		{"expiry missing on a receipt", edge.Transaction{ID: "r2", Type: edge.Receipt, Lines: []edge.Line{
			{Item: "VACCINE", Qty: edge.MustQty("5"), Lot: "L1", To: "WH/Stock"}}},
			"lines[0].expiry", "VACCINE is lot- and expiry-tracked: give the expiry date (YYYY-MM-DD)"},
		{"serial missing", edge.Transaction{ID: "r3", Type: edge.Receipt, Lines: []edge.Line{
			{Item: "DRILL", Qty: edge.MustQty("1"), To: "WH/Stock"}}},
			"lines[0].serial", "DRILL is serial-numbered: give the serial number"},
		{"lot missing on an issue", edge.Transaction{ID: "i1", Type: edge.Issue, Lines: []edge.Line{
			{Item: "VACCINE", Qty: edge.MustQty("1"), From: "WH/Stock"}}},
			"lines[0].lot", "VACCINE is lot- and expiry-tracked: give the lot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := j.Commit(ctx, c.tx)
			var fe *edge.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || fe.Msg != c.msg {
				t.Fatalf("commit: %v, want %s: %s", err, c.field, c.msg)
			}
		})
	}
	if last, _ := j.Positions(); last != 0 {
		t.Fatalf("a refused transaction was committed: last seq %d", last)
	}
	// What the rules ask for is enough; an issue needs no expiry (it is the lot's since
	// the receipt); an unknown item is not held to anything.
	mustCommit(t, j, edge.Transaction{ID: "ok1", Type: edge.Receipt, Lines: []edge.Line{
		{Item: "VACCINE", Qty: edge.MustQty("5"), Lot: "L1", Expiry: "2027-01-31", To: "WH/Stock"},
		{Item: "NEW-1", Qty: edge.MustQty("1"), To: "WH/Stock"}}})
	mustCommit(t, j, edge.Transaction{ID: "ok2", Type: edge.Issue, Lines: []edge.Line{{Item: "VACCINE", Qty: edge.MustQty("1"), Lot: "L1", From: "WH/Stock"}}})
	d := mustCommit(t, j, edge.Transaction{ID: "ok3", Type: edge.Receipt, Lines: []edge.Line{{Item: "DRILL", Qty: edge.MustQty("1"), Serial: "S-9", To: "WH/Stock"}}})
	if d.Lines[0].Lot != "S-9" {
		t.Errorf("serial line's lot %q, want its serial (as the stations record it)", d.Lines[0].Lot)
	}
	// Master data that changes after a commit does not turn the commit's retry into a
	// refusal: the retry answers with the original.
	if _, err := j.PutMaster(edge.MasterKindItems, []byte(`{"v":1,"version":"e1","items":[{"sku":"NEW-1","tracking":"lot"}]}`)); err != nil {
		t.Fatal(err)
	}
	again, existing, err := j.Commit(ctx, edge.Transaction{ID: "ok1", Type: edge.Receipt, Lines: []edge.Line{
		{Item: "VACCINE", Qty: edge.MustQty("5"), Lot: "L1", Expiry: "2027-01-31", To: "WH/Stock"},
		{Item: "NEW-1", Qty: edge.MustQty("1"), To: "WH/Stock"}}})
	if err != nil || !existing || again.Seq != 1 {
		t.Fatalf("retry after a master change: %+v existing=%v %v", again, existing, err)
	}
	if _, _, err := j.Commit(ctx, edge.Transaction{ID: "new2", Type: edge.Receipt, Lines: []edge.Line{{Item: "NEW-1", Qty: edge.MustQty("1"), To: "WH/Stock"}}}); err == nil {
		t.Fatal("the ERP's new lot tracking of NEW-1 is not enforced")
	}
}
