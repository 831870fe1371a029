package console_test

import (
	"html"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
)

// polylineXs returns the x of every point of the backlog chart's line.
func polylineXs(t *testing.T, page string) []float64 {
	t.Helper()
	m := regexp.MustCompile(`(?s)<svg class="chart"[^>]*aria-label="backlog.*?<polyline [^>]*points="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no backlog chart in:\n%s", page)
	}
	var xs []float64
	for _, p := range strings.Fields(m[1]) {
		x, err := strconv.ParseFloat(strings.SplitN(p, ",", 2)[0], 64)
		if err != nil {
			t.Fatalf("point %q: %v", p, err)
		}
		xs = append(xs, x)
	}
	return xs
}

// TestDashboardBacklogChartSpansTheDataHeldWhenTheDepotJustStarted: on a depot that just
// started, the 24 h chart is not a 1-px line at its right edge: the time axis spans the
// samples held, from the left of the plot to the right, and says how long that is. The
// window is selectable (1 h, 8 h, 24 h), the live view keeps it, and the markup stays
// CSP-clean (no inline style or script).
func TestDashboardBacklogChartSpansTheDataHeldWhenTheDepotJustStarted(t *testing.T) {
	e := startWeb(t, nil)
	b := logIn(t, e, 0)
	for _, w := range []string{"1h", "8h", "24h"} {
		b.get("/?window=" + w)
		xs := polylineXs(t, b.last)
		if len(xs) < 2 || xs[0] > 50 || xs[len(xs)-1] < 590 {
			t.Errorf("window %s: backlog line runs from x %v, want from the left (48) to the right (596)", w, xs)
		}
		if strings.Contains(b.last, ">24 h ago<") {
			t.Errorf("window %s: the axis claims 24 h of data the depot does not hold", w)
		}
		if !strings.Contains(b.last, `id="window-`+w+`" aria-current="true"`) || !strings.Contains(b.last, `data-sse="/events?view=dashboard&amp;window=`+w+`"`) {
			t.Errorf("window %s is not the selected one, or the live view loses it", w)
		}
		if strings.Contains(b.last, "style=") || regexp.MustCompile(`<script>`).MatchString(b.last) {
			t.Errorf("window %s: inline style or script", w)
		}
	}
}

// TestDashboardThroughputCountsTransactionsPerHourAndStation: the throughput chart counts
// the journal's transactions in the window, one bar segment per station (posts without a
// station as "API / console"), with a legend of the totals.
func TestDashboardThroughputCountsTransactionsPerHourAndStation(t *testing.T) {
	e := startWeb(t, nil)
	post := func(id, station string) {
		commitTx(t, e.j, edge.Transaction{ID: id, Type: edge.Receipt, Station: station,
			Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("1"), To: "WH/Stock"}}})
	}
	for i, st := range []string{"dock-1", "dock-1", "dock-1", "van-2", "van-2", ""} {
		post("t"+strconv.Itoa(i), st)
	}
	b := logIn(t, e, 0)
	b.get("/?window=8h")
	page := html.UnescapeString(b.last)
	for _, want := range []string{
		"Throughput, last 8 h", "6 transactions, per 1 h",
		`data-station="dock-1" data-count="3"`, `data-station="van-2" data-count="2"`, `data-station="API / console" data-count="1"`,
		"dock-1: <span class=\"count\">3</span>", "van-2: <span class=\"count\">2</span>", "API / console: <span class=\"count\">1</span>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if n := strings.Count(page, `<rect class="bar"`); n != 3 {
		t.Errorf("%d bar segments, want 3 (one hour, three stations)", n)
	}
	b.get("/?window=1h")
	if !strings.Contains(b.last, "6 transactions, per 5 min") {
		t.Errorf("1 h window does not count per 5 min")
	}
}

// TestDashboardEstimatesWhenTheBacklogClearsFromTheRecentDrainRate: "—" before any drain
// was seen; once the ERP acknowledged 30 in 60 s (0.5 tx/s), a backlog of 70 clears in
// about 2 min, and the estimate stays when the drain stops (an uplink that went down).
func TestDashboardEstimatesWhenTheBacklogClearsFromTheRecentDrainRate(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	e := startWeb(t, func(_ *console.Config, o *console.Options) {
		o.Now, o.SampleEvery = now, 20*time.Millisecond
	})
	for i := 0; i < 100; i++ {
		commitTx(t, e.j, edge.Transaction{ID: "d" + strconv.Itoa(i), Type: edge.Receipt,
			Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("1"), To: "WH/Stock"}}})
	}
	b := logIn(t, e, 0)
	b.get("/")
	if !strings.Contains(b.last, `id="clears-in">—<`) || !strings.Contains(b.last, "no drain seen yet") {
		t.Fatalf("no drain seen, the estimate is not —:\n%s", b.last)
	}
	clock.Add(int64(60 * time.Second))
	if _, err := e.j.Ack(edge.Ack{UptoSeq: 30}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the estimate from 0.5 tx/s", func() bool {
		b.get("/")
		return strings.Contains(b.last, `id="clears-in">about 2 min<`) && strings.Contains(b.last, "at 30.0 tx/min")
	})
	// The drain stops (the uplink is down): the last seen rate still gives the estimate.
	clock.Add(int64(10 * time.Minute))
	waitFor(t, 5*time.Second, "the estimate kept from the last drain", func() bool {
		b.get("/")
		return strings.Contains(b.last, `drain 0.0 tx/min`) && strings.Contains(b.last, `id="clears-in">about 2 min<`)
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var throughputLabelsRE = regexp.MustCompile(`(?s)<svg class="chart" id="throughput-chart".*?<text[^>]*>[^<]*</text><text[^>]*>[^<]*</text><text[^>]*>([^<]*)</text><text[^>]*>([^<]*)</text>`)

// TestTheThroughputAxisNeitherRepeatsItsLabelsNorPadsADayBeforeTheFirstTransaction: a
// depot with less than an hour of history gets, in the default 24 h window, one bar as wide
// as the chart between two different times, not 23 empty hours and "14:00 … 14:00"; a
// depot with older history keeps its idle hours, and a 24 h axis names its first day.
func TestTheThroughputAxisNeitherRepeatsItsLabelsNorPadsADayBeforeTheFirstTransaction(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 3, 14, 20, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Depot: "D1", Catalog: cat, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	e := startWebOn(t, j, func(_ *console.Config, o *console.Options) { o.Now = now })
	post := func(id string) {
		commitTx(t, j, edge.Transaction{ID: id, Type: edge.Receipt, Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("1"), To: "WH/Stock"}}})
	}
	post("a")
	post("b")
	b := logIn(t, e, 0)
	b.get("/?window=24h")
	m := throughputLabelsRE.FindStringSubmatch(b.last)
	if m == nil {
		t.Fatalf("no throughput chart:\n%s", b.last)
	}
	if m[1] != "14:00" || m[2] != "15:00" {
		t.Errorf("24 h axis of a depot 20 min old labelled %q … %q, want 14:00 … 15:00", m[1], m[2])
	}
	if n := strings.Count(b.last, `<rect class="bar"`); n != 1 || !strings.Contains(b.last, `width="546.0"`) {
		t.Errorf("%d bars; want one as wide as the chart:\n%s", n, b.last)
	}
	// Ten hours later, idle since: the window holds the first hour and nine idle ones.
	clock.Add(int64(10 * time.Hour))
	post("c")
	b.get("/?window=24h")
	m = throughputLabelsRE.FindStringSubmatch(b.last)
	if m == nil || m[1] != "Thu 14:00" || m[2] != "01:00" {
		t.Errorf("axis after 10 h labelled %q, want Thu 14:00 … 01:00 (it crosses midnight)", m[1:])
	}
	// A day later the window no longer holds the first transaction: 24 buckets, and the
	// left label names its day.
	clock.Add(int64(20 * time.Hour))
	post("d")
	b.get("/?window=24h")
	m = throughputLabelsRE.FindStringSubmatch(b.last)
	if m == nil || m[1] != "Thu 21:00" || m[2] != "21:00" {
		t.Errorf("full-day axis labelled %q, want Thu 21:00 … 21:00", m[1:])
	}
	if n := strings.Count(b.last, `<rect class="bar"`); n != 2 {
		t.Errorf("%d bars in the full day, want 2 (c and d)", n)
	}
}
