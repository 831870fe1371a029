package daily_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/daily"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

type depot struct {
	t *testing.T
	c *clock
	j *edge.Journal
	n int
}

func mustDepot(t *testing.T) *depot {
	t.Helper()
	c := &clock{t: t0}
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}, {Name: "WH/Dock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Depot: "D1", Catalog: cat, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if probs := j.Check(); len(probs) > 0 {
			t.Errorf("journal check: %v", probs)
		}
		j.Close()
	})
	return &depot{t: t, c: c, j: j}
}

func (d *depot) post(at time.Time, typ edge.TxType, ref string, lines ...edge.Line) uint64 {
	d.t.Helper()
	d.c.set(at)
	d.n++
	out, _, err := d.j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("t%d", d.n), Type: typ, Ref: ref, Lines: lines})
	if err != nil {
		d.t.Fatalf("commit %s: %v", typ, err)
	}
	return out.Seq
}

func (d *depot) board(now time.Time) daily.Board {
	d.t.Helper()
	b, err := daily.Build(context.Background(), d.j, now, 48*time.Hour)
	if err != nil {
		d.t.Fatal(err)
	}
	return b
}

func rowsOf(b daily.Board, kind string) []daily.Row {
	var out []daily.Row
	for _, r := range b.Rows {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

func q(s string) edge.Qty { return edge.MustQty(s) }

// Stock below zero is listed for the supervisor, with a count of that row pre-filled.
func TestNegativeStockIsListedWithACountToPost(t *testing.T) {
	d := mustDepot(t)
	d.post(t0, edge.Receipt, "", edge.Line{Item: "A", Qty: q("2"), To: "WH/Stock"})
	d.post(t0.Add(time.Hour), edge.Issue, "", edge.Line{Item: "A", Qty: q("5"), From: "WH/Stock"})
	d.post(t0.Add(time.Hour), edge.Receipt, "", edge.Line{Item: "B", Qty: q("1"), To: "WH/Stock"})
	rows := rowsOf(d.board(t0.Add(2*time.Hour)), daily.KindNegative)
	if len(rows) != 1 || rows[0].Item != "A" || rows[0].Location != "WH/Stock" || rows[0].Qty.String() != "-3" || rows[0].Who != daily.RoleSuper {
		t.Fatalf("negative rows %+v; want A at WH/Stock, -3, for the supervisor", rows)
	}
	p := rows[0].Actions[0].Post
	if p["type"] != "count" || p["item"] != "A" || p["to"] != "WH/Stock" {
		t.Fatalf("action %+v; want a count of A at WH/Stock", rows[0].Actions[0])
	}
}

// An open ERP receipt past its scheduled time is listed until a receipt with its ref is
// posted; one scheduled later, or without a date, is not.
func TestAReceiptPastItsScheduledTimeIsOverdueUntilReceivedByItsRef(t *testing.T) {
	d := mustDepot(t)
	docs := fmt.Sprintf(`{"v":1,"version":"1","documents":[
	 {"ref":"IN/1","kind":"receipt","partner":"Acme","origin":"PO1","scheduled":%q,"lines":[{"item":"A","qty":"12","done":"2"}]},
	 {"ref":"IN/2","kind":"receipt","scheduled":%q,"lines":[{"item":"A","qty":"1"}]},
	 {"ref":"IN/3","kind":"receipt","lines":[{"item":"A","qty":"1"}]},
	 {"ref":"OUT/1","kind":"issue","scheduled":%q,"lines":[{"item":"A","qty":"1"}]}]}`,
		t0.Add(-26*time.Hour).Format(time.RFC3339), t0.Add(time.Hour).Format(time.RFC3339), t0.Add(-time.Hour).Format(time.RFC3339))
	if _, err := d.j.PutMaster(edge.MasterKindDocuments, []byte(docs)); err != nil {
		t.Fatal(err)
	}
	rows := rowsOf(d.board(t0), daily.KindOverdue)
	if len(rows) != 1 || rows[0].Ref != "IN/1" || rows[0].Lines != 1 || !strings.Contains(rows[0].What, "1d 2h ago") ||
		!strings.Contains(rows[0].What, "Acme, PO1") || !strings.HasPrefix(rows[0].Who, daily.RolePurchase) || rows[0].Actions[0].Post["doc"] != "IN/1" {
		t.Fatalf("overdue rows %+v; want IN/1 only, 10 open, 1d 2h late, for purchasing, receive-it link", rows)
	}
	d.post(t0, edge.Receipt, "IN/1", edge.Line{Item: "A", Qty: q("10"), To: "WH/Stock"})
	if rows := rowsOf(d.board(t0), daily.KindOverdue); len(rows) != 0 {
		t.Fatalf("after the receipt of IN/1: %+v", rows)
	}
}

// Stock in transit is aged first in, first out: of 10 sent 60 h ago, 4 confirmed arrived,
// the 6 left are past the 48 h lead time; 5 sent 10 h ago are not.
func TestStockInTransitLongerThanTheLeadTimeIsListedOldestFirst(t *testing.T) {
	d := mustDepot(t)
	d.post(t0, edge.Receipt, "", edge.Line{Item: "A", Qty: q("20"), To: "WH/Stock"})
	first := d.post(t0, edge.StatusMove, "INT/7", edge.Line{Item: "A", Qty: q("10"), From: "WH/Stock", State: edge.Available, ToState: edge.InTransit})
	d.post(t0.Add(50*time.Hour), edge.StatusMove, "INT/8", edge.Line{Item: "A", Qty: q("5"), From: "WH/Stock", State: edge.Available, ToState: edge.InTransit})
	d.post(t0.Add(55*time.Hour), edge.StatusMove, "", edge.Line{Item: "A", Qty: q("4"), From: "WH/Stock", State: edge.InTransit, ToState: edge.Available})
	rows := rowsOf(d.board(t0.Add(60*time.Hour)), daily.KindTransit)
	if len(rows) != 1 || rows[0].Qty.String() != "6" || !rows[0].Since.Equal(t0) || rows[0].Who != daily.RoleSuper {
		t.Fatalf("transit rows %+v; want 6 of A since t0", rows)
	}
	a := rows[0].Actions
	if a[0].Post["type"] != "status" || a[0].Post["qty"] != "6" || a[0].Post["state"] != "in_transit" || a[0].Post["to_state"] != "available" || a[1].Seq != first {
		t.Fatalf("actions %+v; want a status move of 6 out of in_transit and the link to seq %d", a, first)
	}
	// At 40 h nothing is late yet.
	if rows := rowsOf(d.board(t0.Add(40*time.Hour)), daily.KindTransit); len(rows) != 0 {
		t.Fatalf("at 40 h: %+v", rows)
	}
}

// Reservations above on-hand: reserved stock beyond what the depot holds, and open ERP
// deliveries no issue answered beyond it (the greater of the two, never their sum).
func TestReservationsAboveOnHandAreListedFromReservedStockAndOpenDeliveries(t *testing.T) {
	d := mustDepot(t)
	d.post(t0, edge.Receipt, "", edge.Line{Item: "A", Qty: q("5"), To: "WH/Stock"})
	d.post(t0, edge.StatusMove, "", edge.Line{Item: "A", Qty: q("8"), From: "WH/Stock", State: edge.Available, ToState: edge.Reserved})
	d.post(t0, edge.Receipt, "", edge.Line{Item: "B", Qty: q("2"), To: "WH/Stock"})
	d.post(t0, edge.Receipt, "", edge.Line{Item: "C", Qty: q("9"), To: "WH/Stock"})
	docs := `{"v":1,"version":"1","documents":[
	 {"ref":"OUT/1","kind":"issue","lines":[{"item":"B","qty":"4"},{"item":"C","qty":"3"}]},
	 {"ref":"OUT/2","kind":"issue","lines":[{"item":"B","qty":"3"}]},
	 {"ref":"OUT/3","kind":"issue","lines":[{"item":"B","qty":"50"}]}]}`
	if _, err := d.j.PutMaster(edge.MasterKindDocuments, []byte(docs)); err != nil {
		t.Fatal(err)
	}
	d.post(t0, edge.Issue, "OUT/3", edge.Line{Item: "C", Qty: q("1"), From: "WH/Stock"})
	rows := rowsOf(d.board(t0), daily.KindReserved)
	var got []string
	for _, r := range rows {
		got = append(got, r.Item+" "+r.Qty.String())
	}
	// A: 8 reserved, 5 on hand (available -3 + reserved 8); B: 7 for OUT/1 and OUT/2 (OUT/3
	// was issued), 2 on hand; C: 3 for OUT/1, 8 on hand.
	if fmt.Sprint(got) != "[A 3 B 5]" || !strings.Contains(rows[1].What, "[OUT/1 OUT/2]") || rows[0].Who != daily.RoleSuper {
		t.Fatalf("reservation rows %q (%+v); want [A 3 B 5]", got, rows)
	}
}
