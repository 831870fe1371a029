package console_test

import (
	"net/http"
	"net/url"
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
