package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
)

// syncJournal: ten issues of A acknowledged 90 s after their commit, two counts of A (one
// finding a delta), one adjustment, and two issues the ERP has not acknowledged for an
// hour when the page is read.
func syncJournal(t *testing.T, c *todayClock) *edge.Journal {
	t.Helper()
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Depot: "D1", Catalog: cat, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	n := 0
	commit := func(tx edge.Transaction) uint64 {
		n++
		tx.ID = fmt.Sprintf("sync-%d", n)
		out, _, err := j.Commit(context.Background(), tx)
		if err != nil {
			t.Fatal(err)
		}
		return out.Seq
	}
	ack := func(seq uint64) {
		if _, err := j.Ack(edge.Ack{UptoSeq: seq}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := c.now()
	ack(commit(edge.Transaction{Type: edge.Receipt, Lines: []edge.Line{{Item: "A", Qty: edge.QtyFromInt(100), To: "WH/Stock"}}}))
	for i := range 10 {
		c.set(t0.Add(time.Duration(i+1) * time.Hour))
		seq := commit(edge.Transaction{Type: edge.Issue, Lines: []edge.Line{{Item: "A", Qty: edge.QtyFromInt(1), From: "WH/Stock"}}})
		c.set(c.now().Add(90 * time.Second))
		ack(seq)
	}
	ack(commit(edge.Transaction{Type: edge.Count, Lines: []edge.Line{{Item: "A", Qty: edge.QtyFromInt(90), To: "WH/Stock"}}}))
	ack(commit(edge.Transaction{Type: edge.Count, Lines: []edge.Line{{Item: "A", Qty: edge.QtyFromInt(88), To: "WH/Stock"}}}))
	ack(commit(edge.Transaction{Type: edge.Adjustment, Reason: "found", Lines: []edge.Line{{Item: "A", Qty: edge.QtyFromInt(1), To: "WH/Stock"}}}))
	c.set(t0.Add(12 * time.Hour))
	commit(edge.Transaction{Type: edge.Issue, Lines: []edge.Line{{Item: "A", Qty: edge.QtyFromInt(1), From: "WH/Stock"}}})
	commit(edge.Transaction{Type: edge.Issue, Lines: []edge.Line{{Item: "A", Qty: edge.QtyFromInt(1), From: "WH/Stock"}}})
	c.set(t0.Add(13 * time.Hour))
	return j
}

// The Sync page shows the latency, adjustments, discrepancy rate per class, the exceptions
// by kind and the backlog, with a 30-day chart of each (server-side SVG, no script);
// GET /api/v1/sync answers the same report and /metrics carries its gauges.
func TestTheSyncPageAPIAndMetricsShowTheDepotsSyncHealth(t *testing.T) {
	c := &todayClock{t: time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)}
	e := startWebOn(t, syncJournal(t, c), func(_ *console.Config, o *console.Options) { o.Now = c.now })
	b := logIn(t, e, 0)
	b.get("/sync")
	page := b.last
	for _, want := range []string{
		`id="sync-class-A"`, `data-label="Latency p50" class="num">90 s</td>`, `data-label="Counts" class="num">2</td>`,
		`data-label="Discrepancy rate" class="num">0.5 (1)</td>`, `id="sync-kind-count_discrepancy"`,
		`Backlog now: 2 transactions, the oldest waiting 1 h 00 min`,
		`<svg class="chart" id="sync-latency"`, `<svg class="chart" id="sync-backlog"`, `<svg class="chart" id="sync-discrepancy"`,
		`<svg class="chart" id="sync-adjustments"`, `<svg class="chart" id="sync-exceptions"`, `data-day="2026-12-01" data-value="90"`,
		`<a href="/sync" class="on">Sync</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("Sync page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, " style=") {
		t.Error("Sync page has an inline script or style")
	}
	if t.Failed() {
		t.Logf("page:\n%s", page)
	}
	code, out := do(t, &server{url: e.url}, "GET", "/api/v1/sync", opToken, "")
	classes, _ := out["classes"].(map[string]any)
	a, _ := classes["A"].(map[string]any)
	if code != 200 || a["latency_p50_s"] != 90.0 || a["discrepancy_rate"] != 0.5 || a["adjustments"] != 1.0 {
		t.Fatalf("GET /api/v1/sync: %d %v", code, out)
	}
	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`depotd_sync_latency_seconds{class="A",quantile="0.5"} 90`, `depotd_sync_count_discrepancy_ratio{class="all"} 0.5`,
		`depotd_sync_exceptions_open{kind="count_discrepancy"} 1`, `depotd_sync_adjustments_per_item_week{class="A"} 0.233`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
