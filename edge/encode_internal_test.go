package edge

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// The committer builds stored transactions and ledger rows without encoding/json; what it
// stores must be what json.Marshal would have stored.
func TestWithSeqAtMatchesMarshal(t *testing.T) {
	at := time.Date(2026, 11, 26, 18, 5, 7, 123456789, time.FixedZone("CET", 3600))
	exp := MustQty("4")
	for _, tx := range []Transaction{
		{ID: "a", Type: Receipt, Lines: []Line{{Item: "SKU-1", Qty: MustQty("12"), To: "WH/Stock"}}},
		{ID: `<odd & "quoted" id>` + "\u2028", Type: Transfer, Ref: "PO<1>", Note: "é\n",
			Lines: []Line{{Item: "X", Qty: MustQty("0.125"), From: "WH/Stock", To: "WH/Transit", Lot: "L1", Expiry: "2027-01-31"}},
			Scans: []ScanEvidence{{Raw: "]C1\x1d01"}}},
		{ID: "no-lines", Type: Issue},
		{ID: "count", Type: Count, Lines: []Line{{Item: "X", Qty: MustQty("5"), To: "WH/Stock", Expected: &exp}}},
	} {
		pre, idEnd := preEncode(&tx)
		want := tx
		want.Seq, want.At = 4711, &at
		wantJSON, err := json.Marshal(&want)
		if err != nil {
			t.Fatal(err)
		}
		if tx.Type == Count {
			if pre != nil {
				t.Errorf("%s: counts are encoded by the committer, got a pre-encoding", tx.ID)
			}
			continue
		}
		atJSON, _ := at.MarshalJSON()
		if got := withSeqAt(pre, idEnd, 4711, atJSON); string(got) != string(wantJSON) {
			t.Errorf("%s:\n got %s\nwant %s", tx.ID, got, wantJSON)
		}
	}
}

func TestStockRecEncodeMatchesMarshal(t *testing.T) {
	for _, r := range []stockRec{{}, {ERP: MustQty("12"), Qty: MustQty("-0.5")}, {Qty: MustQty("123456789.123")}} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.encode(); string(got) != string(want) {
			t.Errorf("got %s want %s", got, want)
		}
	}
}

// A transaction with more rows than the overlay scans switches to an index midway; lines
// touching a row again must find it either way.
func TestOverlayManyRows(t *testing.T) {
	base := mapLedger{}
	o := newOverlay(base)
	want := map[stockKey]int64{}
	for round := 0; round < 3; round++ {
		for i := 0; i < 3*overlayScan; i++ {
			k := stockKey{Item: fmt.Sprintf("SKU-%d", i), Location: "WH/Stock", State: Available}
			if err := o.add(k, MustQty("-1"), i); err != nil {
				t.Fatal(err)
			}
			want[k]--
		}
	}
	if len(o.rows) != 3*overlayScan || len(o.negatives()) != 3*overlayScan {
		t.Fatalf("%d rows, %d negative; want %d each", len(o.rows), len(o.negatives()), 3*overlayScan)
	}
	if err := o.flush(); err != nil {
		t.Fatal(err)
	}
	for k, q := range want {
		if got := base[k].Qty.String(); got != fmt.Sprint(q) {
			t.Errorf("%v: %s, want %d", k, got, q)
		}
	}
}
