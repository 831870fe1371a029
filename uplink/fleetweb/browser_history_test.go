package fleetweb_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/fleetweb"
)

// TestFleetChartsShowTheLast24Hours feeds a day of status messages (every 5 min, on a
// clock the test moves) for three depots, then opens the page: the fleet chart and a
// depot's chart draw a day of samples, one per minute step at most, none older than 24 h.
// When the clock then passes 3× their status interval with no message, the rows turn
// stale and offline live.
func TestFleetChartsShowTheLast24Hours(t *testing.T) {
	bctx := headless(t)
	var clk atomic.Int64
	end := time.Now()
	clk.Store(end.Add(-30 * time.Hour).UnixNano())
	now := func() time.Time { return time.Unix(0, clk.Load()) }
	hash, err := bcrypt.GenerateFromPassword([]byte(viewerPass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := fleetweb.New(fleetweb.Options{Fleet: uplink.NewFleet("depots/"), Log: quietLog(), Now: now,
		Users:  []fleetweb.User{{Name: viewerName, PasswordHash: string(hash), Role: "viewer"}},
		Verify: func(h, p string) bool { return bcrypt.CompareHashAndPassword([]byte(h), []byte(p)) == nil }})
	if err != nil {
		t.Fatal(err)
	}
	session := map[string]int{}
	for at := now(); !at.After(end); at = at.Add(5 * time.Minute) {
		clk.Store(at.UnixNano())
		h := at.Sub(end).Hours() + 30
		for i, d := range []string{"LYON-1", "LILLE-2", "NANTES-3"} {
			// A morning peak per depot, and LILLE-2's ERP falling behind in the afternoon.
			backlog := int(200 * math.Max(0, math.Sin((h-float64(6+2*i))/24*2*math.Pi)))
			lag := 2.0
			if d == "LILLE-2" && int(h)%24 >= 14 && int(h)%24 < 17 {
				lag = 900
			}
			msg := fmt.Sprintf(`{"v":1,"depot":%q,"online":true,"session":%d,"backlog":%d,"oldest_pending_s":%g,"erp_lag_s":%g,"status_interval_s":300,"at":%q}`,
				d, 1+session[d], backlog, lag, lag, at.UTC().Format(time.RFC3339Nano))
			if _, _, err := srv.Update("depots/"+d+"/status", []byte(msg), false); err != nil {
				t.Fatal(err)
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-served })
	base := "http://" + ln.Addr().String()

	doIn(t, bctx, "login", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.ID("secret")),
		chromedp.SendKeys(chromedp.ID("who"), viewerName), chromedp.SendKeys(chromedp.ID("secret"), viewerPass),
		chromedp.Click(chromedp.ID("login-submit")), chromedp.WaitVisible(chromedp.ID("filter")))
	doIn(t, bctx, "rows", until(`document.querySelectorAll('#fleet tbody tr').length === 3`))
	doIn(t, bctx, "a depot's chart", chromedp.Click(chromedp.CSS(`tr[data-depot="LILLE-2"]`)),
		until(`document.getElementById('depotchart').complete && document.getElementById('depotchart').naturalWidth > 0`))
	points := func(q string) int {
		return evalIn[int](t, bctx, `(() => { const x = new XMLHttpRequest(); x.open('GET', '/chart.svg`+q+`', false); x.send();
			const m = x.responseText.match(/<polyline points="([^"]*)"/); return m ? m[1].split(' ').length : 0; })()`)
	}
	// 24 h of 5-min statuses: 288 steps (+1 at each end: the window's first and now).
	for _, q := range []string{"", "?depot=LILLE-2"} {
		if n := points(q); n < 288 || n > 291 {
			t.Errorf("chart%s draws %d points, want a day of 5-min samples (288 to 291)", q, n)
		}
	}
	screenshot(t, bctx, "fleet-24h-1280x800")

	// Then silence: past 3× their 5 min status interval the depots count as offline
	// (stale), which the page shows at its next heartbeat, no message needed.
	clk.Store(end.Add(16 * time.Minute).UnixNano())
	doIn(t, bctx, "stale depots", until(`[...document.querySelectorAll('#fleet tbody tr')].every(r => r.dataset.tier === 'offline' && r.cells[2].textContent === 'stale')`))
}
