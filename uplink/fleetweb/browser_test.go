package fleetweb_test

import (
	"context"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console/browsertest"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the browser test's screenshots to testdata/screenshots")

// The fleet page's browser tests run Chromium at 1280×800, giving each step 30 s.
func headless(t *testing.T) context.Context { return browsertest.Headless(t, 1280, 800) }

func doIn(t *testing.T, bctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browsertest.Do(t, bctx, 30*time.Second, what, steps...)
}

func evalIn[T any](t *testing.T, bctx context.Context, js string) T {
	t.Helper()
	return browsertest.Eval[T](t, bctx, js)
}

// until waits (up to 30 s) for a JavaScript condition to hold in the page.
func until(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))
}

func screenshot(t *testing.T, bctx context.Context, name string) {
	t.Helper()
	dir := t.TempDir()
	if *updateScreenshots {
		dir = filepath.Join("testdata", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	browsertest.Screenshot(t, bctx, dir, name)
}

func checkFits(t *testing.T, bctx context.Context, w, h int) {
	t.Helper()
	o := browsertest.MeasureOverflow(t, bctx)
	if o.ScrollWidth > o.InnerWidth || len(o.Culprits) > 0 {
		t.Errorf("at %dx%d the page is %d px wide in a %d px window; sticking out: %s", w, h, o.ScrollWidth, o.InnerWidth, strings.Join(o.Culprits, "; "))
	}
}

const orderJS = `[...document.querySelectorAll('#fleet tbody tr')].map(r => r.dataset.depot).join(' ')`

// TestFleetPageShowsWorstDepotsFirstSortsFiltersAndGoesLive runs five real depots (bbolt
// journals and uplinks on a broker) and the page fed by a real subscription, in headless
// Chromium: the page needs a login and sends a CSP; the offline depot is on top, then the
// late one (its transactions waited 10 min), then the one with a rejection and a device
// down, then the one with an open exception, then the quiet one; sorting and filtering
// work; stopping a depot's uplink, or its Will when its link dies, turns its row offline
// without a reload; the page does not scroll sideways at 1280×800 or 800×1280.
func TestFleetPageShowsWorstDepotsFirstSortsFiltersAndGoesLive(t *testing.T) {
	bctx := headless(t)
	broker := brokertest.StartMochi(t)
	west := startDepot(t, broker.URL(), "WEST-04", nil)
	north := startDepot(t, broker.URL(), "NORTH-01", nil)
	south := startDepot(t, broker.URL(), "SOUTH-02", devs{{Name: "scanner-1", State: "connected"}, {Name: "scale-1", State: "disconnected"}})
	city := startDepot(t, broker.URL(), "CITY-05", nil)
	east := startDepot(t, broker.URL(), "EAST-03", nil)
	west.post(t, 2, 0)
	north.post(t, 4, 10*time.Minute)
	south.post(t, 1, 0)
	if _, err := south.j.Ack(edge.Ack{UptoSeq: 1, Rejected: []edge.Rejection{{Seq: 1, Code: "UNKNOWN_PRODUCT", Message: "SKU-1"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := city.j.RaiseException(edge.Exception{Kind: edge.ExcUnresolvedScan, Message: "unknown barcode 9999"}); err != nil {
		t.Fatal(err)
	}
	p := startPage(t, broker.URL())
	// WEST-04 goes offline before anyone looks: its retained online:false is what the page
	// finds.
	waitFor(t, 20*time.Second, "WEST-04 status", func() bool { return hasRow(p, "WEST-04", true) })
	west.stop(t)

	t.Run("login required and CSP", func(t *testing.T) {
		resp, err := noRedirect.Get(p.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
			t.Errorf("GET / without a session: %d to %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, path := range []string{"/events", "/fleet.json", "/chart.svg"} {
			resp, err := noRedirect.Get(p.url + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s without a session: %d, want 401", path, resp.StatusCode)
			}
		}
		resp, err = noRedirect.Get(p.url + "/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q: want default-src 'none', script-src 'self', no unsafe-inline", csp)
		}
	})

	want := "WEST-04 NORTH-01 SOUTH-02 CITY-05 EAST-03"
	t.Run("worst first at 1280x800", func(t *testing.T) {
		doIn(t, bctx, "login", chromedp.EmulateViewport(1280, 800),
			chromedp.Navigate(p.url+"/"), chromedp.WaitVisible(chromedp.ID("secret")))
		if path := evalIn[string](t, bctx, `location.pathname`); path != "/login" {
			t.Fatalf("the page without a session is %s, want /login", path)
		}
		checkFits(t, bctx, 1280, 800)
		screenshot(t, bctx, "login-1280x800")
		doIn(t, bctx, "login",
			chromedp.SendKeys(chromedp.ID("who"), viewerName), chromedp.SendKeys(chromedp.ID("secret"), viewerPass),
			chromedp.Click(chromedp.ID("login-submit")), chromedp.WaitVisible(chromedp.ID("filter")))
		doIn(t, bctx, "worst first",
			until(`document.querySelectorAll('#fleet tbody tr').length === 5 && `+orderJS+` === '`+want+`'`))
		// Each depot republishes its status every 2 s: wait for the figures raised after
		// its first one.
		cellsJS := `[...document.querySelectorAll('#fleet tbody tr')].map(r => [...r.cells].map(c => c.textContent).slice(0, 9).join('|')).join('\n')`
		wantCells := []string{"offline|WEST-04|no|2|", "late|NORTH-01|yes|4|10 min", "attention|SOUTH-02|yes|0|–|0 s|1|1|1", "busy|CITY-05|yes|0|–|0 s|1|0|–", "ok|EAST-03|yes|0|"}
		var cells string
		waitFor(t, 30*time.Second, "every row's figures", func() bool {
			cells = evalIn[string](t, bctx, cellsJS)
			for _, w := range wantCells {
				if !strings.Contains(cells, w) {
					return false
				}
			}
			return true
		})
		if got := evalIn[string](t, bctx, orderJS); got != want {
			t.Errorf("order %q, want %q; rows:\n%s", got, want, cells)
		}
		doIn(t, bctx, "charts", until(`document.getElementById('fleetchart').complete && document.getElementById('fleetchart').naturalWidth > 0`))
		checkFits(t, bctx, 1280, 800)
		screenshot(t, bctx, "fleet-1280x800")
	})

	t.Run("sort and filter", func(t *testing.T) {
		doIn(t, bctx, "sort by depot", chromedp.Click(chromedp.CSS(`th[data-key="depot"] button`)),
			until(orderJS+` === 'CITY-05 EAST-03 NORTH-01 SOUTH-02 WEST-04'`))
		doIn(t, bctx, "sort by depot, descending", chromedp.Click(chromedp.CSS(`th[data-key="depot"] button`)),
			until(orderJS+` === 'WEST-04 SOUTH-02 NORTH-01 EAST-03 CITY-05'`))
		doIn(t, bctx, "sort by backlog, largest first", chromedp.Click(chromedp.CSS(`th[data-key="backlog"] button`)),
			until(orderJS+`.startsWith('NORTH-01 WEST-04 ')`))
		doIn(t, bctx, "sort by worst again", chromedp.Click(chromedp.CSS(`th[data-key="rank"] button`)),
			until(orderJS+` === '`+want+`'`))
		// Each filter is set and its rows read in one synchronous script, so only the page's
		// own input and change listeners can have redrawn the table, not the next live update.
		filterJS := func(id, value, event string) string {
			return `(() => { const e = document.getElementById('` + id + `'); e.value = '` + value + `'; e.dispatchEvent(new Event('` + event + `')); return ` + orderJS + `; })()`
		}
		for _, c := range []struct{ what, id, value, event, want string }{
			{"filter by id", "filter", "south", "input", "SOUTH-02"},
			{"clear the filter", "filter", "", "input", want},
			{"only offline", "tier", "offline", "change", "WEST-04"},
			{"every depot", "tier", "", "change", want},
		} {
			if got := evalIn[string](t, bctx, filterJS(c.id, c.value, c.event)); got != c.want {
				t.Errorf("%s: rows %q, want %q", c.what, got, c.want)
			}
		}
		doIn(t, bctx, "typing into the filter", chromedp.SendKeys(chromedp.ID("filter"), "south"),
			until(orderJS+` === 'SOUTH-02'`))
		evalIn[string](t, bctx, filterJS("filter", "", "input"))
	})

	t.Run("a depot going offline shows without reload", func(t *testing.T) {
		evalIn[bool](t, bctx, `window.samePage = true`)
		east.stop(t)
		doIn(t, bctx, "EAST-03 offline, second from the top",
			until(orderJS+` === 'WEST-04 EAST-03 NORTH-01 SOUTH-02 CITY-05' && document.querySelector('tr[data-depot="EAST-03"]').dataset.tier === 'offline'`))
		if !evalIn[bool](t, bctx, `window.samePage === true`) {
			t.Fatal("the page was reloaded")
		}
		// A new depot appears live; when its link dies (the proxy drops its TCP connection,
		// no DISCONNECT) the broker publishes its Will, and the page turns it offline.
		proxy := brokertest.StartProxy(t, strings.TrimPrefix(broker.URL(), "tcp://"))
		startDepot(t, proxy.URL(), "RIVER-06", nil)
		doIn(t, bctx, "RIVER-06 appears", until(orderJS+` === 'WEST-04 EAST-03 NORTH-01 SOUTH-02 CITY-05 RIVER-06'`))
		proxy.Close()
		doIn(t, bctx, "RIVER-06 offline by its Will",
			until(orderJS+` === 'WEST-04 EAST-03 RIVER-06 NORTH-01 SOUTH-02 CITY-05' && document.querySelector('tr[data-depot="RIVER-06"]').dataset.tier === 'offline'`))
		if !evalIn[bool](t, bctx, `window.samePage === true`) {
			t.Fatal("the page was reloaded")
		}
		doIn(t, bctx, "a depot's chart", chromedp.Click(chromedp.CSS(`tr[data-depot="NORTH-01"]`)),
			until(`!document.getElementById('depotfig').hidden && document.getElementById('depotchart').complete && document.getElementById('depotchart').naturalWidth > 0`))
		screenshot(t, bctx, "fleet-offline-1280x800")
	})

	t.Run("fits 800x1280", func(t *testing.T) {
		doIn(t, bctx, "portrait", chromedp.EmulateViewport(800, 1280), chromedp.Navigate(p.url+"/"), chromedp.WaitVisible(chromedp.ID("filter")))
		doIn(t, bctx, "portrait rows", until(`document.querySelectorAll('#fleet tbody tr').length === 6`))
		checkFits(t, bctx, 800, 1280)
		screenshot(t, bctx, "fleet-800x1280")
	})
}

func hasRow(p *page, depot string, online bool) bool {
	for _, r := range p.fleet.RowsAt(time.Now()) {
		if r.Depot == depot && r.Online == online {
			return true
		}
	}
	return false
}
