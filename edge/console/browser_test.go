package console_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "copy the browser test's screenshots to testdata/screenshots")

// TestBrowser drives the console in real headless Chromium: log in, watch the dashboard
// update live, post a receipt through the form and find it in the journal and the stock,
// be refused an adjustment as an operator, resolve an exception as a supervisor. Every
// page is screenshotted (into a temp dir; -update-screenshots copies them to testdata).
func TestBrowser(t *testing.T) {
	shots := t.TempDir()
	if d := os.Getenv("DEPOTD_SCREENSHOTS"); d != "" {
		shots = d
	}
	st := &staticStations{list: []console.StationView{
		{Name: "dock-1", Mode: "receipt", Operator: "olivia", Next: "scan an item, or CMD:VALIDATE",
			Document: &console.DocumentView{Type: "receipt", Ref: "PO0042", From: "Partners/Vendors", To: "WH/Stock",
				Lines: []console.DocLineView{{Item: "SKU-1", Qty: "12", UoM: "Units", Lot: "L1"}, {Item: "CHEESE", Qty: "2.5", UoM: "kg"}}},
			Last: &console.ScanView{Scan: "0104012345678901\x1d10L1", Result: "accepted", Message: "SKU-1 +12"}},
		{Name: "dock-2", Mode: "issue", Last: &console.ScanView{Scan: "9999", Result: "refused", Message: "unknown barcode 9999"}},
	}}
	down := console.UplinkView{Online: false, Broker: "tcp://erp.example:1883", Since: time.Now().Add(-42 * time.Minute),
		LastAckAt: time.Now().Add(-43 * time.Minute), LastError: "connection refused"}
	up := &switchUplink{v: down}
	e := startWeb(t, func(_ *console.Config, o *console.Options) {
		o.Stations = st
		o.Uplink = up
		o.Devices = func() any {
			return json.RawMessage(`[{"name":"scanner-1","kind":"serial","port":"/dev/ttyUSB0","state":"connected","since":"2026-11-26T08:00:00Z","failures":0,` +
				`"last_scan":{"aim":"]E0","data":"4006381333931"},"last_raw_hex":"5d45303430303633383133333339333130d"},` +
				`{"name":"scale-1","kind":"scale","port":"/dev/ttyUSB1","state":"disconnected","reason":"open /dev/ttyUSB1: no such file or directory","since":"2026-11-26T08:00:00Z","failures":7}]`)
		}
	})
	api := &server{url: e.url}

	bctx := headless(t)
	run := func(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		doIn(t, bctx, what, steps...)
	}
	text := func(t *testing.T, sel string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	shot := func(t *testing.T, name string) {
		t.Helper()
		screenshot(t, bctx, shots, name)
	}
	waitFor := func(what, js string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))
	}
	login := func(t *testing.T, user, pass string) {
		t.Helper()
		run(t, "login "+user,
			chromedp.Navigate(e.url+"/login"),
			chromedp.WaitVisible(chromedp.ID("user")),
			chromedp.SendKeys(chromedp.ID("user"), user),
			chromedp.SendKeys(chromedp.ID("password"), pass),
			chromedp.Click(chromedp.ID("login-submit")),
			chromedp.WaitVisible(chromedp.ID("backlog")),
		)
	}

	t.Run("login and live dashboard", func(t *testing.T) {
		run(t, "login page", chromedp.Navigate(e.url+"/login"), chromedp.WaitVisible(chromedp.ID("login-password")))
		shot(t, "login")
		login(t, "olivia", "op-pass-1")
		if got := text(t, "#backlog"); got != "0" {
			t.Fatalf("backlog %q", got)
		}
		// The live stream has delivered its first event once data-updated is set.
		run(t, "stream open", waitFor("first event", `document.getElementById('live').hasAttribute('data-updated')`))
		code, out := do(t, api, "POST", "/api/v1/transactions", opToken,
			`{"id":"api-1","type":"receipt","ref":"PO0041","lines":[{"item":"SKU-1","qty":"12","lot":"L1","to":"WH/Stock"}]}`)
		if code != http.StatusCreated {
			t.Fatalf("API post: %d %v", code, out)
		}
		run(t, "dashboard shows the new backlog without reload",
			waitFor("backlog 1", `document.getElementById('backlog') && document.getElementById('backlog').textContent === '1'`))
		shot(t, "dashboard")
	})

	t.Run("post a receipt through the form", func(t *testing.T) {
		run(t, "fill the form",
			chromedp.Navigate(e.url+"/post"),
			chromedp.WaitVisible(chromedp.ID("post-form")),
			chromedp.SetValue(chromedp.ID("type"), "receipt"),
			chromedp.SendKeys(chromedp.ID("ref"), "PO0042"),
			chromedp.SendKeys(chromedp.ID("line0-item"), "SKU-42"),
			chromedp.SendKeys(chromedp.ID("line0-qty"), "7"),
			chromedp.SetValue(chromedp.ID("line0-to"), "WH/Stock"),
		)
		shot(t, "post")
		run(t, "submit", chromedp.Click(chromedp.ID("post-submit")), chromedp.WaitVisible(chromedp.ID("flash")))
		if got := text(t, "#flash"); !strings.Contains(got, "Transaction #2 posted") {
			t.Fatalf("flash %q", got)
		}
		shot(t, "journal-entry")
		run(t, "journal filter", chromedp.Navigate(e.url+"/journal?item=SKU-42"), chromedp.WaitVisible(chromedp.ID("journal-table")))
		if got := text(t, "#journal-table tbody"); !strings.Contains(got, "SKU-42 7") || !strings.Contains(got, "olivia") || strings.Contains(got, "PO0041") {
			t.Fatalf("journal rows %q", got)
		}
		run(t, "journal", chromedp.Navigate(e.url+"/journal"), chromedp.WaitVisible(chromedp.ID("journal-table")))
		shot(t, "journal")
		run(t, "stock search",
			chromedp.Navigate(e.url+"/stock"),
			chromedp.SendKeys(chromedp.ID("stock-item"), "SKU-42"),
			chromedp.Submit(chromedp.ID("stock-item")),
			chromedp.WaitVisible(chromedp.CSS(`#stock-table[data-item="SKU-42"]`)),
		)
		if got := text(t, "#stock-table tbody"); !strings.Contains(got, "SKU-42") || !strings.Contains(got, "WH/Stock") || !strings.Contains(got, "7") {
			t.Fatalf("stock rows %q", got)
		}
		run(t, "stock", chromedp.Navigate(e.url+"/stock"), chromedp.WaitVisible(chromedp.ID("stock-table")))
		shot(t, "stock")
	})

	t.Run("operator is refused an adjustment", func(t *testing.T) {
		run(t, "adjustment",
			chromedp.Navigate(e.url+"/post"),
			chromedp.WaitVisible(chromedp.ID("post-form")),
			chromedp.SetValue(chromedp.ID("type"), "adjustment"),
			chromedp.SendKeys(chromedp.ID("reason"), "FOUND"),
			chromedp.SendKeys(chromedp.ID("line0-item"), "SKU-42"),
			chromedp.SendKeys(chromedp.ID("line0-qty"), "1"),
			chromedp.SetValue(chromedp.ID("line0-to"), "WH/Stock"),
			chromedp.Click(chromedp.ID("post-submit")),
			chromedp.WaitVisible(chromedp.ID("form-error")),
		)
		if got := text(t, "#form-error"); !strings.Contains(got, "needs the supervisor role") {
			t.Fatalf("form error %q", got)
		}
		if got := text(t, "#err-type"); !strings.Contains(got, "may not post adjustment") {
			t.Fatalf("field error %q", got)
		}
		shot(t, "post-refused")
		if last, _ := e.j.Positions(); last != 2 {
			t.Fatalf("last seq %d after a refused adjustment", last)
		}
	})

	t.Run("other pages", func(t *testing.T) {
		for _, p := range []struct{ path, sel, name string }{
			{"/stations/dock-1", "last-scan", "station"},
			{"/devices", "devices-table", "devices"},
			{"/journal/1", "entry-lines", "journal-entry-api"},
		} {
			run(t, p.path, chromedp.Navigate(e.url+p.path), chromedp.WaitVisible(chromedp.ID(p.sel)))
			shot(t, p.name)
		}
		run(t, "station screen", chromedp.Navigate(e.url+"/stations/dock-1"), chromedp.WaitVisible(chromedp.ID("last-scan")))
		run(t, "station stream open", waitFor("first event", `document.getElementById('live').hasAttribute('data-updated')`))
		st.Update(console.StationView{Name: "dock-1", Mode: "receipt", Operator: "olivia",
			Last: &console.ScanView{Scan: "BADGE-9", Result: "refused", Message: "badge not known"}})
		run(t, "station screen updates live", waitFor("refused", `document.querySelector('#last-scan.result-refused') !== null`))
		shot(t, "station-refused")
	})

	// #19: an outage that begins while someone looks at a page shows there within seconds,
	// and its end too, without a reload.
	t.Run("outage banner appears and goes live", func(t *testing.T) {
		up.set(console.UplinkView{Online: true, Since: time.Now()})
		run(t, "stock while up", chromedp.Navigate(e.url+"/stock"), chromedp.WaitVisible(chromedp.ID("stock-table")))
		if n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#outage').length`)); err != nil || n != 0 {
			t.Fatalf("banner while the uplink is up: %d %v", n, err)
		}
		up.set(down)
		run(t, "banner appears", waitFor("banner", `document.getElementById('outage') !== null`))
		if got := text(t, "#outage"); !strings.Contains(got, "stored on this gateway") || !strings.Contains(got, "refused the connection") {
			t.Fatalf("banner says %q", got)
		}
		up.set(console.UplinkView{Online: true, Since: time.Now()})
		run(t, "banner goes", waitFor("no banner", `document.getElementById('outage') === null`))
		up.set(down)
	})

	t.Run("supervisor resolves an exception", func(t *testing.T) {
		if _, _, err := e.j.Commit(context.Background(), edge.Transaction{ID: "count-1", Type: edge.Count, Station: "dock-1",
			Lines: []edge.Line{{Item: "SKU-42", Qty: edge.MustQty("5"), To: "WH/Stock"}}}); err != nil {
			t.Fatal(err)
		}
		exc, _ := e.j.Exceptions(true, 10)
		if len(exc) != 1 {
			t.Fatalf("open exceptions %v", exc)
		}
		run(t, "log out", chromedp.Navigate(e.url+"/"), chromedp.Click(chromedp.CSS("form.logout button")), chromedp.WaitVisible(chromedp.ID("login-password")))
		login(t, "sam", "sup-pass-1")
		row := fmt.Sprintf("#exc-%d", exc[0].ID)
		run(t, "exceptions", chromedp.Navigate(e.url+"/exceptions"), chromedp.WaitVisible(chromedp.CSS(row+" form.resolve")))
		shot(t, "exceptions")
		run(t, "resolve",
			chromedp.SetValue(chromedp.CSS(row+" select[name=action]"), "acknowledged"),
			chromedp.SendKeys(chromedp.CSS(row+" input[name=reason]"), "recounted: 5 is right"),
			chromedp.Click(chromedp.CSS(row+" button")),
			chromedp.WaitVisible(chromedp.ID("flash")),
		)
		got, _ := e.j.Exception(exc[0].ID)
		if got.Resolved == nil || got.Resolved.By != "sam" || got.Resolved.Action != "acknowledged" || got.Resolved.Reason != "recounted: 5 is right" {
			t.Fatalf("resolution %+v", got.Resolved)
		}
		run(t, "all exceptions", chromedp.Navigate(e.url+"/exceptions?all=1"), chromedp.WaitVisible(chromedp.CSS(row+".resolved")))
		shot(t, "exceptions-resolved")
		run(t, "settings", chromedp.Navigate(e.url+"/devices"), chromedp.WaitVisible(chromedp.ID("settings-summary")),
			chromedp.Click(chromedp.CSS("#settings-details summary")), chromedp.WaitVisible(chromedp.ID("settings")))
		shot(t, "devices-settings")
	})

	t.Logf("screenshots in %s", shots)
	if *updateScreenshots {
		copyScreenshots(t, shots, "dashboard", "station", "stock", "journal-entry", "post-refused", "exceptions")
	}
}
