package console_test

import (
	"context"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

// stockLine returns the stock table's row for item (its <tr> ... </tr>), failing if absent.
func stockLine(t *testing.T, page, item string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<tr>\s*<td data-label="Item">` + regexp.QuoteMeta(item) + `</td>.*?</tr>`)
	row := re.FindString(html.UnescapeString(page))
	if row == "" {
		t.Fatalf("no stock row for %s in:\n%s", item, page)
	}
	return row
}

func commitTx(t *testing.T, j *edge.Journal, tx edge.Transaction) edge.Transaction {
	t.Helper()
	out, _, err := j.Commit(context.Background(), tx)
	if err != nil {
		t.Fatalf("commit %s: %v", tx.ID, err)
	}
	return out
}

// TestStockPageAllAcknowledgedShowsNothingPendingAndSaysNoSnapshotYet: with every entry
// acknowledged and no ERP snapshot ever received, the stock page marks nothing for
// attention and says plainly that there is no snapshot, instead of "ERP confirmed 0 ·
// Pending local 16,700" in amber.
func TestStockPageAllAcknowledgedShowsNothingPendingAndSaysNoSnapshotYet(t *testing.T) {
	e := startWeb(t, nil)
	commitTx(t, e.j, edge.Transaction{ID: "r1", Type: edge.Receipt,
		Lines: []edge.Line{{Item: "CHEESE", Qty: edge.MustQty("16700.125"), UoM: "kg", To: "WH/Stock"}}})
	if _, err := e.j.Ack(edge.Ack{UptoSeq: 1}); err != nil {
		t.Fatal(err)
	}
	b := logIn(t, e, 0)
	b.get("/stock")
	row := stockLine(t, b.last, "CHEESE")
	if strings.Contains(row, "pending") {
		t.Errorf("an acknowledged line is marked for attention:\n%s", row)
	}
	if !strings.Contains(row, `<td data-label="Not yet acknowledged by the ERP" class="num unacked">none</td>`) {
		t.Errorf("acknowledged line does not say none is unacknowledged:\n%s", row)
	}
	if !strings.Contains(row, "no snapshot yet") || !strings.Contains(html.UnescapeString(b.last), "The ERP has sent no stock snapshot yet.") {
		t.Errorf("no snapshot is not said plainly:\n%s", b.last)
	}
	for _, old := range []string{"ERP confirmed", "Pending local"} {
		if strings.Contains(b.last, old) {
			t.Errorf("page still says %q", old)
		}
	}
}

// TestStockPageUnacknowledgedIsExactFromTheJournalAndSnapshotDiffHasAge: the "not yet
// acknowledged" column is the exact decimal net of the transactions above the ack
// watermark touching that row (a count by its recorded delta), marked; the snapshot column
// is local minus the ERP's last snapshot, unmarked, with the snapshot's age.
func TestStockPageUnacknowledgedIsExactFromTheJournalAndSnapshotDiffHasAge(t *testing.T) {
	e := startWeb(t, nil)
	j := e.j
	commitTx(t, j, edge.Transaction{ID: "r1", Type: edge.Receipt,
		Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("10.1"), UoM: "kg", To: "WH/Stock"}, {Item: "B", Qty: edge.MustQty("5"), UoM: "kg", To: "WH/Stock"}}})
	snapAt := time.Now().Add(-3 * time.Hour)
	if err := j.ApplyStockSnapshot(edge.StockSnapshot{V: 1, AppliedSeq: 1, At: &snapAt, Rows: []edge.StockSnapshotRow{
		{Item: "A", Location: "WH/Stock", Qty: edge.MustQty("10.1")}, {Item: "B", Location: "WH/Stock", Qty: edge.MustQty("5")}}}); err != nil {
		t.Fatal(err)
	}
	// Acked after the snapshot: differs from the snapshot, but nothing to wait for.
	commitTx(t, j, edge.Transaction{ID: "r2", Type: edge.Receipt, Lines: []edge.Line{{Item: "B", Qty: edge.MustQty("0.3"), UoM: "kg", To: "WH/Stock"}}})
	if _, err := j.Ack(edge.Ack{UptoSeq: 2}); err != nil {
		t.Fatal(err)
	}
	// Not acknowledged: 0.2 + 0.1 in, a count of 9.9 (delta −0.5), on A.
	commitTx(t, j, edge.Transaction{ID: "r3", Type: edge.Receipt, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("0.2"), UoM: "kg", To: "WH/Stock"}}})
	commitTx(t, j, edge.Transaction{ID: "r4", Type: edge.Receipt, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("0.1"), UoM: "kg", To: "WH/Stock"}}})
	commitTx(t, j, edge.Transaction{ID: "c5", Type: edge.Count, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("9.9"), UoM: "kg", To: "WH/Stock"}}})

	b := logIn(t, e, 0)
	b.get("/stock")
	a := stockLine(t, b.last, "A")
	// 0.2 + 0.1 − 0.5 = −0.2 exactly (as float64, 0.1+0.2 is 0.30000000000000004).
	if !strings.Contains(a, `<td data-label="Not yet acknowledged by the ERP" class="num unacked pending">-0.2</td>`) {
		t.Errorf("A's unacknowledged change is not the exact -0.2, marked:\n%s", a)
	}
	if !strings.Contains(a, "(3 tx)") {
		t.Errorf("A does not say 3 transactions touch it:\n%s", a)
	}
	if !strings.Contains(a, `<td data-label="Differs from the ERP's last snapshot" class="num snapdiff">-0.2</td>`) {
		t.Errorf("A's difference from the snapshot:\n%s", a)
	}
	bRow := stockLine(t, b.last, "B")
	if strings.Contains(bRow, "pending") || !strings.Contains(bRow, `class="num unacked">none</td>`) {
		t.Errorf("B, fully acknowledged, is marked or not none:\n%s", bRow)
	}
	if !strings.Contains(bRow, `<td data-label="Differs from the ERP's last snapshot" class="num snapdiff">+0.3</td>`) {
		t.Errorf("B's difference from the snapshot (acked, not yet in a snapshot):\n%s", bRow)
	}
	if !regexp.MustCompile(`ERP's last stock snapshot: taken (2 h 59 min|3 h 00 min) ago, includes transactions up to #1\.`).MatchString(html.UnescapeString(b.last)) {
		t.Errorf("snapshot age not shown:\n%s", b.last)
	}
	rows, err := j.Stock(edge.StockFilter{Item: "A"})
	if err != nil || len(rows) != 1 || rows[0].Unacked.String() != "-0.2" || rows[0].UnackedTxs != 3 {
		t.Errorf("Stock(A) = %+v, %v", rows, err)
	}
}
