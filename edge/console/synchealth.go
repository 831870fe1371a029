package console

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/depotd/depotd/edge/synchealth"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Sync health (package synchealth): the Sync page, GET /api/v1/sync and the depotd_sync_*
// gauges of /metrics, all read from one tracker that keeps its last report (10 to 30 s), so
// that scrapes, page views and the status message do not each read the window.

// SyncHealthSource gives the depot's sync health report; *synchealth.Tracker is one.
type SyncHealthSource interface {
	Report(ctx context.Context) (synchealth.Report, error)
}

// syncHealth is Options.SyncHealth, or a tracker of the server's own over its journal.
func (s *Server) syncHealth(ctx context.Context) (synchealth.Report, error) {
	r, err := s.sync.Report(ctx)
	if err != nil {
		s.log.Error("sync health", "err", err)
	}
	return r, err
}

func (s *Server) apiSync(c *fiber.Ctx) error {
	r, err := s.syncHealth(c.UserContext())
	if err != nil {
		return apiError(c, fiber.StatusServiceUnavailable, "journal read failed (see the depotd log)", "")
	}
	return c.JSON(r)
}

type syncChart struct {
	Title, Note string
	SVG         template.HTML
}

type syncData struct {
	synchealth.Report
	Rows   []syncClassRow
	Charts []syncChart
}

type syncClassRow struct {
	Class string
	*synchealth.ClassFigures
	P50, P95, Max string
}

// latencyText prints a latency to the second below ten minutes (the console's own
// durations round to minutes, which hides what an ERP that keeps up looks like).
func latencyText(acked int, s float64) string {
	switch {
	case acked == 0:
		return "—"
	case s < 600:
		return fmt.Sprintf("%.0f s", s)
	}
	return fmtSeconds(s)
}

func (s *Server) syncPage(c *fiber.Ctx) error {
	r, err := s.syncHealth(c.UserContext())
	if err != nil {
		return err
	}
	d := syncData{Report: r}
	for _, cl := range synchealth.Classes {
		f := r.Classes[cl]
		d.Rows = append(d.Rows, syncClassRow{Class: cl, ClassFigures: f,
			P50: latencyText(f.Acked, f.LatencyP50S), P95: latencyText(f.Acked, f.LatencyP95S), Max: latencyText(f.Acked, f.LatencyMaxS)})
	}
	day := func(f func(synchealth.Day) float64) [][]float64 {
		out := make([][]float64, len(r.Daily))
		for i, x := range r.Daily {
			out[i] = []float64{f(x)}
		}
		return out
	}
	one := []string{"#1f6feb"}
	d.Charts = []syncChart{
		{"Latency, commit to ERP ack (95th percentile, s)", "by the day of the commit", dailySVG("sync-latency", r.Daily, day(func(x synchealth.Day) float64 { return x.LatencyP95S }), one, nil, "s")},
		{"Backlog age at the day's end (s)", "the oldest transaction not yet acknowledged then", dailySVG("sync-backlog", r.Daily, day(func(x synchealth.Day) float64 { return x.BacklogAgeS }), one, nil, "s")},
		{"Counts that found a discrepancy (%)", "count lines whose delta was not zero", dailySVG("sync-discrepancy", r.Daily, day(func(x synchealth.Day) float64 {
			if x.Counts == 0 {
				return 0
			}
			return math.Round(float64(x.Discrepancies) * 100 / float64(x.Counts))
		}), one, nil, "%")},
		{"Adjustment lines", "", dailySVG("sync-adjustments", r.Daily, day(func(x synchealth.Day) float64 { return float64(x.Adjustments) }), one, nil, "")},
	}
	var kinds []string
	for _, k := range r.Exceptions {
		kinds = append(kinds, k.Kind)
	}
	sort.Strings(kinds)
	exc := make([][]float64, len(r.Daily))
	for i, x := range r.Daily {
		exc[i] = make([]float64, len(kinds))
		for k, kind := range kinds {
			exc[i][k] = float64(x.Exceptions[kind])
		}
	}
	d.Charts = append(d.Charts, syncChart{"Exceptions raised, by kind", strings.Join(kinds, " · "), dailySVG("sync-exceptions", r.Daily, exc, stationColours, kinds, "")})
	return s.render(c, "sync", fiber.StatusOK, pageData{Title: "Sync health", Nav: "sync", Data: d})
}

// dailySVG draws one bar per day, stacked by series (names label each bar's title), in
// the dashboard's geometry and frame. Presentation attributes only (the CSP allows no
// inline style).
func dailySVG(id string, days []synchealth.Day, vals [][]float64, colours, names []string, unit string) template.HTML {
	const w, h, padL, padB, padT = chartW, chartH, chartPadL, chartPadB, chartPadT
	top := 1.0
	for _, row := range vals {
		sum := 0.0
		for _, v := range row {
			sum += v
		}
		top = max(top, sum)
	}
	n := len(days)
	bw := (w - padL - 4) / float64(max(n, 1))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s" viewBox="0 0 %g %g" role="img" aria-label="per day over %d days, up to %s%s" xmlns="http://www.w3.org/2000/svg">`,
		id, w, h, n, trimFloat(top), unit)
	left, right := "", ""
	if n > 0 {
		left, right = days[0].Date, days[n-1].Date
	}
	chartFrame(&b, true, uint64(math.Ceil(top)), left, right)
	for i, row := range vals {
		base := h - padB
		for k, v := range row {
			if v <= 0 {
				continue
			}
			bh := (h - padT - padB) * v / top
			base -= bh
			name := ""
			if k < len(names) {
				name = names[k] + " "
			}
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" data-day="%s" data-value="%s"><title>%s: %s%s%s</title></rect>`,
				padL+float64(i)*bw+1, base, max(bw-2, 1), bh, colours[k%len(colours)], days[i].Date, trimFloat(v),
				days[i].Date, template.HTMLEscapeString(name), trimFloat(v), unit)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // numbers, dates and escaped kind names only
}

func trimFloat(f float64) string { return strings.TrimSuffix(fmt.Sprintf("%.3f", f), ".000") }

var (
	descSyncLatency  = prometheus.NewDesc("depotd_sync_latency_seconds", "Commit to ERP ack over the last 30 days, by item class (A, B, C, all) and quantile (0.5, 0.95, 1).", []string{"class", "quantile"}, nil)
	descSyncAdj      = prometheus.NewDesc("depotd_sync_adjustments_per_item_week", "Adjustment lines per item and week over the last 30 days, by item class.", []string{"class"}, nil)
	descSyncCounts   = prometheus.NewDesc("depotd_sync_count_lines", "Count lines over the last 30 days, by item class.", []string{"class"}, nil)
	descSyncDiscrep  = prometheus.NewDesc("depotd_sync_count_discrepancy_ratio", "Share of the last 30 days' count lines that found a non-zero delta, by item class.", []string{"class"}, nil)
	descSyncExcOpen  = prometheus.NewDesc("depotd_sync_exceptions_open", "Open exceptions, by kind.", []string{"kind"}, nil)
	descSyncExcAge   = prometheus.NewDesc("depotd_sync_exception_oldest_open_seconds", "Age of the oldest open exception, by kind.", []string{"kind"}, nil)
	descSyncExcRaise = prometheus.NewDesc("depotd_sync_exceptions_raised", "Exceptions raised over the last 30 days, by kind.", []string{"kind"}, nil)
)

// collectSync adds the sync health gauges. A scrape is bounded: the tracker answers from
// its last report most of the time, and a rebuild is given 10 s.
func (s *Server) collectSync(gauge func(d *prometheus.Desc, v float64, labels ...string)) {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	r, err := s.syncHealth(ctx)
	if err != nil {
		return
	}
	for _, cl := range synchealth.Classes {
		f := r.Classes[cl]
		gauge(descSyncLatency, f.LatencyP50S, cl, "0.5")
		gauge(descSyncLatency, f.LatencyP95S, cl, "0.95")
		gauge(descSyncLatency, f.LatencyMaxS, cl, "1")
		gauge(descSyncAdj, f.AdjustmentsPerItemWeek, cl)
		gauge(descSyncCounts, float64(f.Counts), cl)
		gauge(descSyncDiscrep, f.DiscrepancyRate, cl)
	}
	for _, k := range r.Exceptions {
		gauge(descSyncExcOpen, float64(k.Open), k.Kind)
		gauge(descSyncExcAge, k.OldestOpenS, k.Kind)
		gauge(descSyncExcRaise, float64(k.Raised), k.Kind)
	}
}
