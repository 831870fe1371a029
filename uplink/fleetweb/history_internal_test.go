package fleetweb

import (
	"encoding/xml"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink"
)

func u64(n uint64) *uint64   { return &n }
func f64(f float64) *float64 { return &f }
func in(n int) *int          { return &n }

// A day of statuses every 10 s keeps exactly one sample per minute (the largest figures
// of the minute) and never more than the window's worth, for the depot and the fleet.
func TestHistoryKeepsOneSamplePerStepBoundedByTheWindow(t *testing.T) {
	h := newHistory(time.Minute, time.Hour)
	t0 := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for i := range 6 * 60 * 3 { // 3 hours every 10 s
		now := t0.Add(time.Duration(i) * 10 * time.Second)
		// The backlog peaks at the 3rd status of each minute.
		b := uint64(i % 6)
		if b == 2 {
			b = 100
		}
		h.observe([]uplink.FleetRow{{Depot: "A", Backlog: u64(b), ERPLagS: f64(float64(i % 6))},
			{Depot: "B", Backlog: u64(1)}}, now)
	}
	a := h.depots["A"].samples()
	if len(a) != 61 || len(h.fleet.samples()) != 61 {
		t.Fatalf("%d samples for A, %d for the fleet, want 61 (an hour of minutes and the current one)", len(a), len(h.fleet.samples()))
	}
	for i, s := range a {
		if s.Backlog != 100 || s.LagS != 5 || s.At.Second() != 0 {
			t.Fatalf("sample %d %+v: want the minute's peak (backlog 100, lag 5) at a whole minute", i, s)
		}
		if i > 0 && s.At.Sub(a[i-1].At) != time.Minute {
			t.Fatalf("samples %d and %d are %v apart", i-1, i, s.At.Sub(a[i-1].At))
		}
	}
	if last := a[len(a)-1].At; !last.Equal(t0.Add(3*time.Hour - time.Minute)) {
		t.Fatalf("last sample at %v", last)
	}
	if f := h.fleet.samples()[0]; f.Backlog != 101 {
		t.Fatalf("fleet sample %+v, want A's peak plus B", f)
	}
	h.forget([]uplink.FleetRow{{Depot: "B"}})
	if _, ok := h.depots["A"]; ok {
		t.Fatal("a depot whose status was cleared keeps its history")
	}
}

// Worst first: offline (silent longest first), late, attention, busy, ok; within a tier
// the longest waiting, then the largest backlog.
func TestRankPutsTheWorstDepotsFirst(t *testing.T) {
	now := time.Now()
	rows := []uplink.FleetRow{
		{Depot: "ok", Online: true, Backlog: u64(0)},
		{Depot: "busy-exc", Online: true, Backlog: u64(0), OpenExceptions: in(2)},
		{Depot: "busy-backlog", Online: true, Backlog: u64(50), OldestPendingS: f64(30)},
		{Depot: "att-rej", Online: true, OpenRejections: in(1)},
		{Depot: "att-dev", Online: true, DevicesDown: in(1), Backlog: u64(3), OldestPendingS: f64(20)},
		{Depot: "late-small", Online: true, Backlog: u64(1), OldestPendingS: f64(400)},
		{Depot: "late-lag", Online: true, Backlog: u64(1), OldestPendingS: f64(100), ERPLagS: f64(900)},
		{Depot: "off-recent", Online: false, LastSeen: now.Add(-time.Minute)},
		{Depot: "off-long", Online: false, Stale: true, LastSeen: now.Add(-time.Hour)},
	}
	rankWorstFirst(rows)
	var got []string
	for _, r := range rows {
		got = append(got, r.Depot)
	}
	want := "off-long off-recent late-lag late-small att-dev att-rej busy-backlog busy-exc ok"
	if strings.Join(got, " ") != want {
		t.Fatalf("order\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

// The chart is one well-formed SVG with both lines, labelled with their largest figure,
// whatever the data (none, one sample, many); a depot id is escaped.
func TestChartIsWellFormedSVGWithBothLines(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	var many []sample
	for i := range 100 {
		many = append(many, sample{At: now.Add(-time.Duration(100-i) * time.Minute), Backlog: uint64(i * 3), LagS: float32(i)})
	}
	for name, pts := range map[string][]sample{"none": nil, "one": {{At: now, Backlog: 4}}, "many": many} {
		svg := chartSVG(`<D&1> "x"`, pts, now, 24*time.Hour)
		d := xml.NewDecoder(strings.NewReader(svg))
		for {
			if _, err := d.Token(); err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("%s: not well-formed: %v\n%s", name, err, svg)
				}
				break
			}
		}
		if name == "many" && (strings.Count(svg, "<polyline") != 2 || !strings.Contains(svg, ">297<") || !strings.Contains(svg, ">1m39s<")) {
			t.Fatalf("many: want two lines labelled 297 and 1m39s:\n%s", svg)
		}
	}
}

// A full day of history costs what doc.go says per depot: 1441 samples of 24 bytes, which
// the allocator rounds up to whole pages (40 KiB).
func TestHistoryMemoryPerDepot(t *testing.T) {
	const depots = 200
	rows := make([]uplink.FleetRow, depots)
	for i := range rows {
		rows[i] = uplink.FleetRow{Depot: fmt.Sprintf("D%04d", i), Backlog: u64(uint64(i))}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h := newHistory(time.Minute, 24*time.Hour)
	t0 := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for m := range 1441 {
		h.observe(rows, t0.Add(time.Duration(m)*time.Minute))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / depots
	t.Logf("history: %.1f KiB per depot for 24 h at a 1 min step", per/1024)
	if per > 44*1024 {
		t.Errorf("%.1f KiB per depot, doc.go says about 40 (1441 samples of 24 bytes in whole pages)", per/1024)
	}
	runtime.KeepAlive(h)
}
