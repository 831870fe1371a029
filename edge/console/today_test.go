package console_test

import (
	"context"
	"fmt"
	"html"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
)

type todayClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *todayClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *todayClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// todayJournal is a depot with one of each daily exception at t0+72h: A below zero, the
// receipt IN/9 due two hours after t0 and never received, 10 of B in transit since t0,
// and the delivery OUT/9 of 4 D with none on hand.
func todayJournal(t *testing.T, c *todayClock) *edge.Journal {
	t.Helper()
	t0 := c.now()
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}, {Name: "WH/Stock/Cold-Room-North", Type: edge.LocInternal},
		{Name: "Van-1", Type: edge.LocMobile}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Depot: "D1", Catalog: cat, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	for i, tx := range []edge.Transaction{
		{Type: edge.Receipt, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("2"), To: "WH/Stock"}, {Item: "B", Qty: edge.MustQty("10"), To: "WH/Stock"}}},
		{Type: edge.Issue, Lines: []edge.Line{{Item: "A", Qty: edge.MustQty("5"), From: "WH/Stock"}}},
		{Type: edge.StatusMove, Ref: "INT/4", Lines: []edge.Line{{Item: "B", Qty: edge.MustQty("10"), From: "WH/Stock", State: edge.Available, ToState: edge.InTransit}}},
	} {
		tx.ID = fmt.Sprintf("today-%d", i)
		if _, _, err := j.Commit(context.Background(), tx); err != nil {
			t.Fatal(err)
		}
	}
	docs := fmt.Sprintf(`{"v":1,"version":"1","documents":[
	 {"ref":"IN/9","kind":"receipt","partner":"Acme Industrial Supplies","origin":"P00042","scheduled":%q,
	  "lines":[{"item":"C","qty":"3","uom":"Units"},{"item":"A","qty":"12","done":"2","uom":"Units"}]},
	 {"ref":"OUT/9","kind":"issue","lines":[{"item":"D","qty":"4"}]}]}`, t0.Add(2*time.Hour).Format(time.RFC3339))
	if _, err := j.PutMaster(edge.MasterKindDocuments, []byte(docs)); err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(72 * time.Hour))
	return j
}

// The Today page lists one row per daily exception with who acts and links that open the
// post form pre-filled (a count, the overdue receipt's open lines, the arrival of what is
// in transit), the stock page and the journal; GET /api/v1/today answers the same rows.
func TestTheTodayPageListsEachExceptionWithWhoActsAndALinkToAct(t *testing.T) {
	c := &todayClock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	e := startWebOn(t, todayJournal(t, c), func(_ *console.Config, o *console.Options) { o.Now = c.now })
	b := logIn(t, e, 0)
	b.get("/today")
	page := html.UnescapeString(b.last)
	for _, want := range []string{
		`class="today-negative_stock"`, `A at WH/Stock is -3`, `href="/post?item=A&to=WH%2FStock&type=count"`,
		`class="today-overdue_receipt"`, `IN/9 was expected 2d 22h ago and is not received here (Acme Industrial Supplies, P00042)`, `href="/post?doc=IN%2F9"`,
		`purchasing; receiving operator if the goods are here`, `2 lines open`, `href="/documents?ref=IN%2F9"`,
		`class="today-in_transit_too_long"`, `10 B at WH/Stock in transit for 3d 0h, longer than the lead time of 2d 0h`,
		`href="/post?from=WH%2FStock&item=B&qty=10&state=in_transit&to_state=available&type=status"`, `href="/journal/3"`,
		`class="today-reserved_above_on_hand"`, `D: 4 for open deliveries [OUT/9], on hand 0 (4 short)`, `href="/stock?item=D"`,
		`4 to act on: 1 negative stock · 1 overdue receipts · 1 in transit longer than 48h · 1 reservations above on-hand`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("Today page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", page)
	}
	b.get("/post?doc=IN%2F9")
	for _, want := range []string{`<option value="receipt" selected`, `id="ref" value="IN/9"`, `value="A"`, `value="10"`, `value="C"`, `value="3"`} {
		if !strings.Contains(b.last, want) {
			t.Errorf("post form for IN/9 lacks %q", want)
		}
	}
	b.get("/documents?ref=IN%2F9")
	for _, want := range []string{`receipt IN/9`, `Acme Industrial Supplies · P00042`, `data-label="Open" class="num">10</td>`, `data-label="Open" class="num">3</td>`} {
		if !strings.Contains(html.UnescapeString(b.last), want) {
			t.Errorf("document page for IN/9 lacks %q", want)
		}
	}
	code, out := do(t, &server{url: e.url}, "GET", "/api/v1/today", opToken, "")
	if rows, _ := out["rows"].([]any); code != 200 || len(rows) != 4 {
		t.Fatalf("GET /api/v1/today: %d %v", code, out)
	}
}
