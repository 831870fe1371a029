package console_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/depotd/depotd/edge"
)

// A busy dock commits many times a second; the dashboard open in a browser refreshes at
// most once a second all the same, and still ends on the newest state.
func TestTheLiveDashboardCoalescesCommitsIntoAtMostOneRefreshASecond(t *testing.T) {
	e := startWeb(t, nil)
	bctx := headless(t)
	doIn(t, bctx, "login",
		chromedp.Navigate(e.url+"/login"),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "olivia"),
		chromedp.SendKeys(chromedp.ID("password"), "op-pass-1"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("backlog")),
		chromedp.Poll[chromedp.Void](`document.getElementById('live').hasAttribute('data-updated')`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)),
	)
	// Every refresh the page receives, with when it arrived.
	evalIn[bool](t, bctx, `window.refreshes = []; new MutationObserver(function (ms) {
		for (var i = 0; i < ms.length; i++) window.refreshes.push(performance.now());
	}).observe(document.getElementById('live'), {attributes: true, attributeFilter: ['data-updated']}); true`)

	ctx := context.Background()
	commits := 0
	deadline := time.Now().Add(60 * time.Second)
	for evalIn[int](t, bctx, `window.refreshes.length`) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no 3 refreshes within 60 s of %d commits", commits)
		}
		for k := 0; k < 2; k++ {
			commits++
			if _, _, err := e.j.Commit(ctx, edge.Transaction{ID: fmt.Sprintf("t%d", commits), Type: edge.Receipt,
				Lines: []edge.Line{{Item: "SKU-1", Qty: edge.QtyFromInt(1), To: "WH/Stock"}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	times := evalIn[[]float64](t, bctx, `window.refreshes`)
	t.Logf("%d commits, %d refreshes at %v ms", commits, len(times), times)
	for i := 1; i < len(times); i++ {
		// 1 s apart on the server; the browser may receive one late and the next on time.
		if gap := times[i] - times[i-1]; gap < 800 {
			t.Errorf("refreshes %d and %d only %.0f ms apart (want about a second)", i-1, i, gap)
		}
	}
	want := strconv.Itoa(commits)
	doIn(t, bctx, "the last refresh shows the newest backlog",
		chromedp.Poll[chromedp.Void](`document.getElementById('backlog').textContent === '`+want+`'`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
}
