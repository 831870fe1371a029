package edge_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/depotd/depotd/edge"
)

// TestCommitRaisingJSONIsMarshal: the bytes CommitRaisingJSON returns (what the API sends
// as its 201 body) are json.Marshal of the transaction it returns, byte for byte, for a
// receipt, a count (which the committer fills in) and one that raises an exception; a
// repeat gets no bytes.
func TestCommitRaisingJSONIsMarshal(t *testing.T) {
	j := mustOpen(t, nil)
	ctx := context.Background()
	for _, tx := range []edge.Transaction{
		{ID: "r1", Type: edge.Receipt, Ref: "PO1", Source: "api", Note: "a \"quoted\" <note> & more",
			Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("12"), Lot: "L1", Expiry: "2027-01-31", To: "WH/Stock"}}},
		{ID: "c1", Type: edge.Count, Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("10"), To: "WH/Stock"}}},
	} {
		var excs []edge.Exception
		if tx.Type == edge.Receipt {
			excs = []edge.Exception{{Kind: edge.ExcUnknownItem, Item: "SKU-1", Location: "WH/Stock", Message: "unknown"}}
		}
		stored, raw, existing, err := j.CommitRaisingJSON(ctx, tx, excs)
		if err != nil || existing {
			t.Fatalf("%s: existing %v, %v", tx.ID, existing, err)
		}
		want, err := json.Marshal(stored)
		if err != nil {
			t.Fatal(err)
		}
		if string(raw) != string(want) {
			t.Fatalf("%s:\n got %s\nwant %s", tx.ID, raw, want)
		}
		again, raw, existing, err := j.CommitRaisingJSON(ctx, tx, excs)
		if err != nil || !existing || raw != nil || again.Seq != stored.Seq {
			t.Fatalf("%s again: seq %d existing %v raw %q, %v", tx.ID, again.Seq, existing, raw, err)
		}
	}
}
