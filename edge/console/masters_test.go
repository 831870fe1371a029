package console_test

import (
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

// configMaster is master data as a depot's config carries it, with no ERP master data.
var configMaster = edge.MasterData{Items: []edge.Item{
	{SKU: "VACCINE", Barcodes: []string{"09506000134352"}, Tracking: "lot", Expiry: true},
	{SKU: "WATER", Barcodes: []string{"4006381333931"}},
}}

func startWebWithMaster(t *testing.T) *webEnv {
	t.Helper()
	return startWebOn(t, openJournalWith(t, filepath.Join(t.TempDir(), "depotd.db"), configMaster), nil)
}

func TestTheAPIHoldsAConfigItemToItsLotAndExpiryRules(t *testing.T) {
	e := startWebWithMaster(t)
	srv := &server{url: e.url}
	code, out := do(t, srv, "POST", "/api/v1/transactions", opToken,
		`{"id":"v1","type":"receipt","lines":[{"item":"VACCINE","qty":"5","expiry":"2027-01-31","to":"WH/Stock"}]}`)
	if code != http.StatusUnprocessableEntity || out["field"] != "lines[0].lot" || !strings.Contains(out["error"].(string), "VACCINE is lot- and expiry-tracked: give the lot") {
		t.Fatalf("no lot: %d %v", code, out)
	}
	code, out = do(t, srv, "POST", "/api/v1/transactions", opToken,
		`{"id":"v2","type":"receipt","lines":[{"item":"VACCINE","qty":"5","lot":"L1","to":"WH/Stock"}]}`)
	if code != http.StatusUnprocessableEntity || out["field"] != "lines[0].expiry" || !strings.Contains(out["error"].(string), "VACCINE") {
		t.Fatalf("no expiry: %d %v", code, out)
	}
	if last, _ := e.j.Positions(); last != 0 {
		t.Fatalf("refused posts committed: last seq %d", last)
	}
	code, out = do(t, srv, "POST", "/api/v1/transactions", opToken,
		`{"id":"v3","type":"receipt","lines":[{"item":"VACCINE","qty":"5","lot":"L1","expiry":"2027-01-31","to":"WH/Stock"},{"item":"NEW-7","qty":"1","to":"WH/Stock"}]}`)
	if code != http.StatusCreated {
		t.Fatalf("complete: %d %v", code, out)
	}
	// The config's master data alone makes NEW-7 unknown: the post stands, and a
	// supervisor hears of it.
	exc, _ := e.j.Exceptions(true, 10)
	if len(exc) != 1 || exc[0].Kind != edge.ExcUnknownItem || exc[0].Item != "NEW-7" {
		t.Fatalf("exceptions %+v, want one unknown_item for NEW-7", exc)
	}
	b := logIn(t, e, 0)
	b.get("/stock?barcode=09506000134352")
	if !strings.Contains(b.last, `data-label="Item">VACCINE</td>`) {
		t.Errorf("a config barcode finds nothing on the stock page:\n%s", b.last)
	}
}

func TestThePostFormHoldsAConfigItemToItsLotRule(t *testing.T) {
	e := startWebWithMaster(t)
	b := logIn(t, e, 0)
	b.get("/post")
	r := b.post("/post", url.Values{"id": {"f1"}, "type": {"receipt"},
		"lines[0].item": {"VACCINE"}, "lines[0].qty": {"5"}, "lines[0].expiry": {"2027-01-31"}, "lines[0].to": {"WH/Stock"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b.last, "VACCINE is lot- and expiry-tracked: give the lot") {
		t.Fatalf("no lot: %d\n%s", r.StatusCode, b.last)
	}
	if !strings.Contains(b.last, `value="2027-01-31"`) {
		t.Error("the refused form lost what was typed")
	}
	if last, _ := e.j.Positions(); last != 0 {
		t.Fatalf("refused form committed: last seq %d", last)
	}
	b.get("/post")
	r = b.post("/post", url.Values{"id": {"f2"}, "type": {"receipt"},
		"lines[0].item": {"VACCINE"}, "lines[0].qty": {"5"}, "lines[0].lot": {"L1"}, "lines[0].expiry": {"2027-01-31"}, "lines[0].to": {"WH/Stock"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("complete form: %d\n%s", r.StatusCode, b.last)
	}
}

// A forced restore's export beside the database is offered on the exceptions page to
// supervisors, who re-post it in one click: each transaction once (a second click posts
// nothing new), each held to today's rules (VACCINE without its lot is refused and said
// so), voids skipped.
func TestASupervisorRepostsAForcedRestoresDroppedTransactionsFromTheExceptionsPage(t *testing.T) {
	e := startWebWithMaster(t)
	name := filepath.Base(e.j.Path()) + ".dropped-20261203T120000Z.jsonl"
	export := `{"id":"r1","seq":11,"type":"receipt","lines":[{"item":"WATER","qty":"6","to":"WH/Stock","base_qty":"6","base_uom":"Units"}]}
{"id":"","seq":12,"type":"void","ref":"restore r0","lines":[]}
{"id":"r2","seq":13,"type":"receipt","lines":[{"item":"VACCINE","qty":"1","to":"WH/Stock"}]}
`
	if err := os.WriteFile(filepath.Join(filepath.Dir(e.j.Path()), name), []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	op, sup := logIn(t, e, 0), logIn(t, e, 1)
	op.get("/exceptions")
	if !strings.Contains(op.last, name) || strings.Contains(op.last, `action="/exceptions/repost"`) {
		t.Errorf("operator: the export is not shown, or is offered for re-posting")
	}
	if r := op.post("/exceptions/repost", url.Values{"file": {name}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("operator re-posts: %d", r.StatusCode)
	}
	sup.get("/exceptions")
	if !strings.Contains(sup.last, "3 transaction(s) the ERP never acknowledged, 1 re-posted or nothing to post") ||
		!strings.Contains(sup.last, `action="/exceptions/repost"`) {
		t.Fatalf("supervisor's exceptions page:\n%s", sup.last)
	}
	r := sup.post("/exceptions/repost", url.Values{"file": {name}})
	page := html.UnescapeString(sup.last)
	if r.StatusCode != http.StatusOK || !strings.Contains(page, name+": 1 posted, 0 re-posted before, 1 refused.") ||
		!strings.Contains(page, "Posted seq 11 receipt (id r1) as #1") ||
		!strings.Contains(page, "Refused seq 13 receipt (id r2): lines[0].lot: VACCINE is lot- and expiry-tracked: give the lot") {
		t.Fatalf("re-post: %d\n%s", r.StatusCode, page)
	}
	if tx, err := e.j.GetByID("repost-r1"); err != nil || tx.Seq != 1 || tx.Lines[0].Qty.String() != "6" {
		t.Fatalf("re-posted r1: %+v %v", tx, err)
	}
	sup.get("/exceptions")
	sup.post("/exceptions/repost", url.Values{"file": {name}})
	if !strings.Contains(html.UnescapeString(sup.last), name+": 0 posted, 1 re-posted before, 1 refused.") {
		t.Errorf("second re-post:\n%s", sup.last)
	}
	if last, _ := e.j.Positions(); last != 1 {
		t.Fatalf("last seq %d, want 1: the second click posted again", last)
	}
	sup.get("/exceptions")
	if r := sup.post("/exceptions/repost", url.Values{"file": {"../../etc/passwd"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("a file that is no export: %d", r.StatusCode)
	}
}

// Blank rows between filled ones are skipped, yet a refusal the journal names by the
// transaction's line lands on the form row the operator typed it in.
func TestAPostFormErrorIsShownOnTheRowItCameFromPastBlankRows(t *testing.T) {
	e := startWebWithMaster(t)
	b := logIn(t, e, 0)
	b.get("/post")
	r := b.post("/post", url.Values{"id": {"f3"}, "type": {"receipt"},
		"lines[1].item": {"WATER"}, "lines[1].qty": {"2"}, "lines[1].to": {"WH/Stock"},
		"lines[3].item": {"VACCINE"}, "lines[3].qty": {"5"}, "lines[3].expiry": {"2027-01-31"}, "lines[3].to": {"WH/Stock"},
		"lines[4].item": {"WATER"}, "lines[4].qty": {"x1"}, "lines[4].to": {"WH/Stock"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d\n%s", r.StatusCode, b.last)
	}
	// The bad quantity is found before the journal sees the form: on its own row.
	if !strings.Contains(b.last, `id="err-line4-qty"`) {
		t.Errorf("the bad quantity of row 4 is not marked on row 4:\n%s", b.last)
	}
	b.get("/post")
	b.post("/post", url.Values{"id": {"f4"}, "type": {"receipt"},
		"lines[1].item": {"WATER"}, "lines[1].qty": {"2"}, "lines[1].to": {"WH/Stock"},
		"lines[3].item": {"VACCINE"}, "lines[3].qty": {"5"}, "lines[3].expiry": {"2027-01-31"}, "lines[3].to": {"WH/Stock"}})
	row3 := b.last[strings.Index(b.last, `id="line3-item"`):]
	row3 = row3[:strings.Index(row3, "</tr>")]
	if !strings.Contains(row3, "give the lot") {
		t.Errorf("the journal's refusal of line 1 (form row 3) is not on row 3:\n%s", b.last)
	}
	if last, _ := e.j.Positions(); last != 0 {
		t.Fatalf("refused form committed: last seq %d", last)
	}
}
