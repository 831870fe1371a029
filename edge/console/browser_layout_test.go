package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
	"github.com/depotd/depotd/edge/console/browsertest"
)

// The console's browser tests run Chromium at 1280×900, giving each step 20 s.
func headless(t *testing.T) context.Context { return browsertest.Headless(t, 1280, 900) }

func doIn(t *testing.T, bctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browsertest.Do(t, bctx, 20*time.Second, what, steps...)
}

func screenshot(t *testing.T, bctx context.Context, dir, name string) {
	t.Helper()
	browsertest.Screenshot(t, bctx, dir, name)
}

func evalIn[T any](t *testing.T, bctx context.Context, js string) T {
	t.Helper()
	return browsertest.Eval[T](t, bctx, js)
}

// tabletEnv is a console with something on every page: stations with an open receipt
// against a known document, devices in every state, an uplink that is down (so the banner
// shows), journal entries with many and long lines, stock, and open exceptions.
func tabletEnv(t *testing.T) *webEnv {
	t.Helper()
	st := &staticStations{list: []console.StationView{
		{Name: "dock-1", Mode: "receipt", Operator: "olivia", Next: "scan an item, or CMD:VALIDATE",
			Document: &console.DocumentView{Type: "receipt", Ref: "PO0042", From: "Partners/Vendors", To: "WH/Stock", Partner: "Acme Industrial Supplies", Origin: "P00042",
				Lines: []console.DocLineView{
					{Item: "SKU-1", Qty: "5", UoM: "Units", Lot: "L1", Expected: "12"},
					{Item: "CHEESE-GOUDA-AGED-48-MONTHS", Qty: "2.5", UoM: "kg", Expected: "2.5"},
					{Item: "SKU-3", Qty: "4", UoM: "Units", Expected: "3"},
					{Item: "SKU-4", Qty: "1", UoM: "Units", Flag: "not on PO0042"}}},
			Last: &console.ScanView{Scan: "0104012345678901\x1d10L1\x1d17261231", Result: "accepted", Message: "SKU-1 +5"}},
		{Name: "dock-2", Mode: "issue", Last: &console.ScanView{Scan: "9999", Result: "refused", Message: "unknown barcode 9999"}},
	}}
	down := fixedUplink{Online: false, Broker: "tcp://erp.example:1883", Since: time.Now().Add(-42 * time.Minute),
		LastAckAt: time.Now().Add(-43 * time.Minute), LastError: "dial tcp 10.0.0.9:1883: connect: connection refused"}
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}, {Name: "WH/Stock/Cold-Room-North", Type: edge.LocInternal},
		{Name: "Van-1", Type: edge.LocMobile}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Depot: "D1", Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	e := startWebOn(t, j, func(c *console.Config, o *console.Options) {
		c.Listen = "0.0.0.0:8080"
		o.Stations = st
		o.Uplink = down
		o.Settings = map[string]any{
			"console": *c,
			"uplink":  map[string]any{"brokers": []string{"tcp://depot7:mqtt-secret-pw@erp.example:1883"}, "password": "mqtt-secret-pw", "keepalive": "5s"},
			"journal": map[string]any{"retention": 90 * 24 * time.Hour, "max_db_size": "2GiB"},
		}
		o.Devices = func() any {
			return json.RawMessage(`[{"name":"scanner-1","kind":"serial","port":"/dev/serial/by-id/usb-Honeywell_Imaging_Metrology_1900GSR-if00","state":"connected","since":"2026-11-26T08:00:00Z","failures":0,` +
				`"last_scan":{"aim":"]E0","data":"4006381333931"},"last_raw_hex":"5d45303430303633383133333339333130d5d45303430303633383133333339333130d"},` +
				`{"name":"scale-1","kind":"scale","port":"/dev/ttyUSB1","state":"disconnected","reason":"open /dev/ttyUSB1: no such file or directory","since":"2026-11-26T08:00:00Z","failures":7}]`)
		}
	})
	// An overdue ERP receipt with long names, and a delivery nothing on hand can serve, for
	// the Today page.
	if _, err := j.PutMaster(edge.MasterKindDocuments, []byte(`{"v":1,"version":"1","documents":[
	 {"ref":"WH/IN/00012-PARTNER-LONG-REFERENCE","kind":"receipt","partner":"Acme Industrial Supplies and Fasteners International","origin":"P00042",
	  "scheduled":"2026-01-05T10:00:00Z","lines":[{"item":"CHEESE-GOUDA-AGED-48-MONTHS","qty":"12"}]},
	 {"ref":"WH/OUT/00007","kind":"issue","lines":[{"item":"CHEESE-GOUDA-AGED-48-MONTHS-EXTRA","qty":"4"}]}]}`)); err != nil {
		t.Fatal(err)
	}
	api := &server{url: e.url}
	long := `{"item":"CHEESE-GOUDA-AGED-48-MONTHS","qty":"16700.125","uom":"kg","lot":"LOT-2026-11-26-A","expiry":"2027-05-31","to":"WH/Stock/Cold-Room-North"}`
	for i, body := range []string{
		`{"id":"t1","type":"receipt","ref":"PO0041-PARTNER-LONG-REFERENCE","note":"delivered late, pallet 3 of 4 damaged on arrival","lines":[` + long +
			`,{"item":"SKU-1","qty":"12","lot":"L1","to":"WH/Stock"},{"item":"SKU-2","qty":"3","to":"WH/Stock"},{"item":"SKU-3","qty":"4","to":"WH/Stock"}]}`,
		`{"id":"t2","type":"transfer","ref":"INT-7","lines":[{"item":"SKU-1","qty":"2","lot":"L1","from":"WH/Stock","to":"WH/Stock/Cold-Room-North"}]}`,
		`{"id":"t3","type":"receipt","lines":[{"item":"NEW-7","qty":"1","to":"WH/Stock"}]}`,
	} {
		if code, out := do(t, api, "POST", "/api/v1/transactions", supToken, body); code != http.StatusCreated {
			t.Fatalf("post %d: %d %v", i, code, out)
		}
	}
	// A forced restore's export, offered for re-posting on the exceptions page.
	if err := os.WriteFile(e.j.Path()+".dropped-20261203T120000Z.jsonl",
		[]byte(`{"id":"dock-1-doc-2026-11-26-0042","seq":11,"type":"receipt","lines":[{"item":"SKU-1","qty":"6","to":"WH/Stock"}]}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.j.Commit(context.Background(), edge.Transaction{ID: "count-1", Type: edge.Count, Station: "dock-1",
		Lines: []edge.Line{{Item: "SKU-2", Qty: edge.MustQty("5"), To: "WH/Stock"}}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// viewport is a screen the console must fit: a laptop, and a tablet held upright (the
// supervisor's) down to the narrowest the console promises, 768 px.
type viewport struct {
	name string
	w, h int64
}

var viewports = []viewport{{"laptop", 1280, 800}, {"tablet", 800, 1280}, {"narrow", 768, 1024}}

// consolePages is every page of the console and an element that says it has rendered.
var consolePages = []struct{ name, path, sel string }{
	{"dashboard", "/", "#backlog"},
	{"stations", "/stations", "ul.stations"},
	{"station", "/stations/dock-1", "#last-scan"},
	{"stock", "/stock", "#stock-table"},
	{"journal", "/journal", "#journal-table"},
	{"journal-entry", "/journal/1", "#entry-lines"},
	{"post", "/post?copy=1", "#post-form"},
	{"post-reversal", "/post?reverse=2", "#reversal"},
	{"exceptions", "/exceptions", "#exceptions-table form.resolve"},
	{"devices", "/devices", "#devices-table"},
	{"today", "/today", "#today-table tr.today-overdue_receipt"},
	{"documents", "/documents", "section.document"},
	{"sync", "/sync", "#sync-latency"},
}

// smallTargetsJS lists the visible controls a gloved finger must hit that are under 44 px
// tall: buttons, inputs, selects, the header's links, link buttons and <details> toggles.
const smallTargetsJS = `(() => {
  const out = [];
  for (const el of document.querySelectorAll('button, input:not([type=hidden]), select, textarea, header a, a.button, summary')) {
    if (el.getClientRects().length === 0) continue;
    const r = el.getBoundingClientRect();
    if (r.height < 44) {
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? '[name=' + el.name + ']' : '') +
        ' "' + (el.textContent || el.placeholder || '').trim().slice(0, 20) + '" ' + Math.round(r.height) + 'px');
    }
  }
  return out;
})()`

// smallTapTargetsJS lists, for the tablet, every visible link and button (in-text links
// included: a "#12" in a table is tapped as often as a button) whose box is under 44 px
// in either direction. A link broken over two lines counts by its first line.
const smallTapTargetsJS = `(() => {
  const out = [];
  for (const el of document.querySelectorAll('a[href], button, summary')) {
    const rs = el.getClientRects();
    if (rs.length === 0) continue;
    const r = rs[0];
    if (r.height < 44 || r.width < 44) {
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.getAttribute('href') ? '[href=' + el.getAttribute('href') + ']' : '') +
        ' "' + (el.textContent || '').trim().slice(0, 20) + '" ' + Math.round(r.width) + 'x' + Math.round(r.height) + 'px');
    }
  }
  return out;
})()`

// TestEveryPageFitsLaptopAndTabletWithTouchSizedControls loads every console page at
// 1280×800, 800×1280 and 768×1024 and proves that none scrolls sideways (the document is
// no wider than the window) and that every button, input, select, header link and link
// button is at least 44 px tall, the smallest target a gloved finger hits reliably. The
// tablet views are screenshotted (-update-screenshots copies them to testdata/screenshots).
func TestEveryPageFitsLaptopAndTabletWithTouchSizedControls(t *testing.T) {
	bctx := headless(t)
	e := tabletEnv(t)
	shots := t.TempDir()
	if d := os.Getenv("DEPOTD_SCREENSHOTS"); d != "" {
		shots = d
	}
	check := func(t *testing.T, vp viewport, name string) {
		t.Helper()
		o := browsertest.MeasureOverflow(t, bctx)
		if o.ScrollWidth > o.InnerWidth {
			t.Errorf("%s at %dx%d scrolls sideways: the page is %d px wide in a %d px window; sticking out: %s",
				name, vp.w, vp.h, o.ScrollWidth, o.InnerWidth, strings.Join(o.Culprits, "; "))
		}
		if small := evalIn[[]string](t, bctx, smallTargetsJS); len(small) > 0 {
			t.Errorf("%s at %dx%d has %d controls under 44 px tall: %s", name, vp.w, vp.h, len(small), strings.Join(small, "; "))
		}
		if vp.w < 1024 {
			if small := evalIn[[]string](t, bctx, smallTapTargetsJS); len(small) > 0 {
				t.Errorf("%s at %dx%d has %d links or buttons under 44×44 px: %s", name, vp.w, vp.h, len(small), strings.Join(small, "; "))
			}
		}
		if vp.name == "tablet" {
			screenshot(t, bctx, shots, "tablet-"+name)
		}
	}
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			doIn(t, bctx, "viewport", chromedp.EmulateViewport(vp.w, vp.h))
			// The login page first, logged out; then every page as a supervisor, who sees
			// the most (resolve forms, the configuration).
			doIn(t, bctx, "login page", chromedp.Navigate(e.url+"/login"), chromedp.WaitReady(chromedp.CSS("main")))
			if n := evalIn[int](t, bctx, `document.querySelectorAll('form.logout').length`); n > 0 {
				doIn(t, bctx, "log out", chromedp.Click(chromedp.CSS("form.logout button")), chromedp.WaitVisible(chromedp.ID("login-password")))
			}
			check(t, vp, "login")
			doIn(t, bctx, "log in",
				chromedp.SendKeys(chromedp.ID("user"), "sam"),
				chromedp.SendKeys(chromedp.ID("password"), "sup-pass-1"),
				chromedp.Click(chromedp.ID("login-submit")),
				chromedp.WaitVisible(chromedp.ID("backlog")))
			for _, p := range consolePages {
				doIn(t, bctx, p.path, chromedp.Navigate(e.url+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)),
					chromedp.WaitVisible(chromedp.ID("outage")))
				check(t, vp, p.name)
			}
			// A refused form carries a message on the form and under each field at fault.
			doIn(t, bctx, "refused post", chromedp.Navigate(e.url+"/post"), chromedp.WaitVisible(chromedp.ID("post-form")),
				chromedp.SetValue(chromedp.ID("type"), "transfer"),
				chromedp.SendKeys(chromedp.ID("line0-item"), "CHEESE-GOUDA-AGED-48-MONTHS"),
				chromedp.SendKeys(chromedp.ID("line0-qty"), "twelve and a half"),
				chromedp.Click(chromedp.ID("post-submit")), chromedp.WaitVisible(chromedp.ID("form-error")))
			check(t, vp, "post-refused")
		})
	}
	t.Logf("screenshots in %s", shots)
	if *updateScreenshots {
		copyScreenshots(t, shots, "tablet-login", "tablet-dashboard", "tablet-stations", "tablet-station", "tablet-stock",
			"tablet-journal", "tablet-journal-entry", "tablet-post", "tablet-post-reversal", "tablet-post-refused", "tablet-exceptions", "tablet-devices", "tablet-today", "tablet-documents", "tablet-sync")
	}
}

// copyScreenshots copies the named screenshots from dir to testdata/screenshots.
func copyScreenshots(t *testing.T, dir string, names ...string) {
	t.Helper()
	dst := filepath.Join("testdata", "screenshots")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join(dir, n+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, n+".png"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStationScreenShowsModeLargeAndScannedAgainstExpected proves what an operator sees
// from a step away on a tablet: the station's mode in large type, and for a receipt
// against a known document each line's scanned quantity against the expected one ("5/12"),
// marked short, complete or over (flagged), and a line the document does not name flagged
// as such, under the document's partner and origin.
func TestStationScreenShowsModeLargeAndScannedAgainstExpected(t *testing.T) {
	bctx := headless(t)
	e := tabletEnv(t)
	doIn(t, bctx, "log in", chromedp.EmulateViewport(800, 1280),
		chromedp.Navigate(e.url+"/login"), chromedp.WaitVisible(chromedp.ID("login-password")),
		chromedp.SendKeys(chromedp.ID("user"), "olivia"),
		chromedp.SendKeys(chromedp.ID("password"), "op-pass-1"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("backlog")),
		chromedp.Navigate(e.url+"/stations/dock-1"), chromedp.WaitVisible(chromedp.ID("station-mode")))
	if mode := evalIn[string](t, bctx, `document.getElementById('station-mode').textContent.trim()`); mode != "receipt" {
		t.Errorf("mode shown as %q", mode)
	}
	if px := evalIn[float64](t, bctx, `parseFloat(getComputedStyle(document.getElementById('station-mode')).fontSize)`); px < 32 {
		t.Errorf("the mode is in %.0f px type; it must read from a step away (≥ 32 px)", px)
	}
	got := evalIn[[]string](t, bctx, `[...document.querySelectorAll('#doc-lines tbody tr')].map(r => r.querySelector('.progress').className.replace('num', '').trim() + ' ' + r.querySelector('.progress').textContent.trim())`)
	want := []string{"progress short 5/12 Units", "progress complete 2.5/2.5 kg", "progress over 4/3 Units over", "progress unexpected 1 Units not on PO0042"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("document lines\n got %q\nwant %q", got, want)
	}
	if o := evalIn[string](t, bctx, `document.getElementById('doc-origin').textContent.trim()`); o != "Acme Industrial Supplies · P00042" {
		t.Errorf("document origin shown as %q", o)
	}
}
