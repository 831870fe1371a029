package console

import (
	"fmt"
	"html/template"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/depotd/depotd/edge"
)

// chartWindows are the backlog and throughput windows the dashboard offers (?window=).
var chartWindows = []struct {
	Key   string
	Span  time.Duration
	Label string
}{{"1h", time.Hour, "1 h"}, {"8h", 8 * time.Hour, "8 h"}, {"24h", 24 * time.Hour, "24 h"}}

// chartWindow resolves ?window= (default 24 h; anything else falls back to it).
func chartWindow(key string) (string, time.Duration) {
	for _, w := range chartWindows {
		if w.Key == key {
			return w.Key, w.Span
		}
	}
	return "24h", 24 * time.Hour
}

// The dashboard's charts share one geometry: a viewBox of chartW × chartH with room for
// the value axis's labels on the left (chartPadL), the time labels below (chartPadB).
const chartW, chartH, chartPadL, chartPadB, chartPadT = 600.0, 140.0, 48.0, 20.0, 10.0

// chartFrame writes a chart's axes and labels: the time axis (and the value axis when
// yAxis), top on the value axis with 0 below it, and left and right under the time axis.
func chartFrame(b *strings.Builder, yAxis bool, top uint64, left, right string) {
	const w, h, padL, padB, padT = chartW, chartH, chartPadL, chartPadB, chartPadT
	fmt.Fprintf(b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#888" stroke-width="1"/>`, padL, h-padB, w-4, h-padB)
	if yAxis {
		fmt.Fprintf(b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#888" stroke-width="1"/>`, padL, padT, padL, h-padB)
	}
	fmt.Fprintf(b, `<text x="%g" y="%g" font-size="11" text-anchor="end" fill="#555">%d</text>`, padL-4, padT+8, top)
	fmt.Fprintf(b, `<text x="%g" y="%g" font-size="11" text-anchor="end" fill="#555">0</text>`, padL-4, h-padB)
	fmt.Fprintf(b, `<text x="%g" y="%g" font-size="11" fill="#555">%s</text>`, padL, h-4, left)
	fmt.Fprintf(b, `<text x="%g" y="%g" font-size="11" text-anchor="end" fill="#555">%s</text>`, w-4, h-4, right)
}

// backlogSVG draws the backlog over window ending now, the current backlog as the last
// point. The time axis spans the data held (a depot up for 10 minutes gets a 10-minute
// axis, labelled so), at most window. Presentation attributes only: the CSP allows no
// inline styles.
func backlogSVG(samples []sample, now time.Time, current uint64, window time.Duration) template.HTML {
	const w, h, padL, padB, padT = chartW, chartH, chartPadL, chartPadB, chartPadT
	start := now.Add(-window)
	var pts []sample
	for _, p := range samples {
		if !p.At.Before(start) && !p.At.After(now) {
			pts = append(pts, p)
		}
	}
	pts = append(pts, sample{At: now, Backlog: current})
	// The axis starts at the oldest sample held: a depot that just started gets a chart as
	// wide as one that ran all day, not a line at the right edge.
	span := now.Sub(pts[0].At)
	if span <= 0 {
		span = time.Second
	}
	start = now.Add(-span)
	var maxB uint64 = 1
	for _, p := range pts {
		maxB = max(maxB, p.Backlog)
	}
	x := func(t time.Time) float64 {
		f := t.Sub(start).Seconds() / span.Seconds()
		f = min(max(f, 0), 1)
		return padL + f*(w-padL-4)
	}
	y := func(v uint64) float64 { return padT + (h-padT-padB)*(1-float64(v)/float64(maxB)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="backlog-chart" data-span-s="%.0f" viewBox="0 0 %g %g" role="img" aria-label="backlog over the last %s, now %d" xmlns="http://www.w3.org/2000/svg">`,
		span.Seconds(), w, h, fmtSeconds(span.Seconds()), current)
	chartFrame(&b, true, maxB, fmtSeconds(span.Seconds())+" ago", "now")
	b.WriteString(`<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="`)
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", x(p.At), y(p.Backlog))
	}
	b.WriteString(`"/>`)
	last := pts[len(pts)-1]
	fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="#1f6feb"/>`, x(last.At), y(last.Backlog))
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers only
}

// throughput is what the journal committed over a window, in buckets (an hour each; five
// minutes in the 1 h window), per station.
type throughput struct {
	Bucket    time.Duration
	Start     time.Time
	Counts    [][]int  // [bucket][station]
	Stations  []string // "" is posts without a station (API, console)
	Total     int
	Truncated bool // the scan budget ran out: the oldest buckets may be short
}

// throughputCache keeps the last computation: the dashboard re-renders up to once a second
// for every open console. It is recomputed when last seq changed and the last
// computation is older than throughputFresh (a bar a few seconds behind is fine; reading
// a day of journal on every commit is not), or when the window or its buckets moved.
type throughputCache struct {
	mu   sync.Mutex
	key  string // window and bucket start
	last uint64 // last seq counted
	at   time.Time
	data throughput
}

const throughputFresh = 10 * time.Second

const throughputMaxScan = 50_000

func (s *Server) throughput(now time.Time, window time.Duration) (throughput, error) {
	last, _ := s.j.Positions()
	bucket := time.Hour
	if window <= time.Hour {
		bucket = 5 * time.Minute
	}
	end := now.Truncate(bucket).Add(bucket)
	n := int(window / bucket)
	start := end.Add(-time.Duration(n) * bucket)
	key := fmt.Sprintf("%d/%d", start.UnixNano(), window)
	s.tput.mu.Lock()
	defer s.tput.mu.Unlock()
	if s.tput.key == key && (s.tput.last == last || now.Sub(s.tput.at) < throughputFresh) {
		return s.tput.data, nil
	}
	t := throughput{Bucket: bucket, Start: start, Counts: make([][]int, n)}
	perStation := map[string][]int{}
	q := edge.JournalQuery{From: start, Limit: 1000, MaxScan: throughputMaxScan}
	scanned, first := 0, n // first: the bucket of the oldest entry counted
	begins := false        // the journal's history begins inside the window
	for {
		page, err := s.j.Query(q)
		if err != nil {
			return t, err
		}
		for _, e := range page.Entries {
			if e.Seq == 1 {
				begins = true
			}
			if e.At == nil || e.Type == edge.Void {
				continue
			}
			i := int(e.At.Sub(start) / bucket)
			if i < 0 || i >= n {
				continue
			}
			first = min(first, i)
			c := perStation[e.Station]
			if c == nil {
				c = make([]int, n)
				perStation[e.Station] = c
			}
			c[i]++
			t.Total++
		}
		scanned += page.Scanned
		if page.Next == 0 {
			break
		}
		if scanned >= throughputMaxScan {
			t.Truncated = true
			break
		}
		q.Before = page.Next
	}
	for st := range perStation {
		t.Stations = append(t.Stations, st)
	}
	sort.Strings(t.Stations)
	// A depot whose history begins inside the window gets an axis from its first
	// transaction's bucket, as the backlog chart spans the samples held: not a day of
	// empty buckets and one bar at the right edge. Empty buckets after a first
	// transaction are idle time, and stay.
	skip := 0
	if begins && first < n {
		skip = first
	}
	t.Start, t.Counts = start.Add(time.Duration(skip)*bucket), t.Counts[skip:]
	for i := range t.Counts {
		t.Counts[i] = make([]int, len(t.Stations))
		for k, st := range t.Stations {
			t.Counts[i][k] = perStation[st][i+skip]
		}
	}
	s.tput.key, s.tput.last, s.tput.at, s.tput.data = key, last, now, t
	return t, nil
}

// stationColours tell stations apart in the throughput chart (the legend repeats them).
var stationColours = []string{"#1f6feb", "#2da44e", "#bf8700", "#8250df", "#cf222e", "#1b7c83", "#6e7781"}

type stationLegend struct {
	Name, Colour string
	Count        int
}

// stationName names the posts that came with no station.
func stationName(st string) string {
	if st == "" {
		return "API / console"
	}
	return st
}

// throughputSVG draws one stacked bar per bucket, a colour per station.
func throughputSVG(t throughput) (template.HTML, []stationLegend) {
	const w, h, padL, padB, padT = chartW, chartH, chartPadL, chartPadB, chartPadT
	maxC := 1
	for _, row := range t.Counts {
		sum := 0
		for _, c := range row {
			sum += c
		}
		maxC = max(maxC, sum)
	}
	n := len(t.Counts)
	bw := (w - padL - 4) / float64(max(n, 1))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="throughput-chart" viewBox="0 0 %g %g" role="img" aria-label="transactions per %s, %d in all" xmlns="http://www.w3.org/2000/svg">`,
		w, h, fmtSeconds(t.Bucket.Seconds()), t.Total)
	chartFrame(&b, false, uint64(maxC), axisTime(t.Start, n, t.Bucket), t.Start.Add(time.Duration(n)*t.Bucket).Format("15:04"))
	legend := make([]stationLegend, len(t.Stations))
	for k, st := range t.Stations {
		legend[k] = stationLegend{Name: stationName(st), Colour: stationColours[k%len(stationColours)]}
	}
	for i, row := range t.Counts {
		base := h - padB
		for k, c := range row {
			if c == 0 {
				continue
			}
			legend[k].Count += c
			bh := (h - padT - padB) * float64(c) / float64(maxC)
			base -= bh
			from := t.Start.Add(time.Duration(i) * t.Bucket)
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" data-station="%s" data-count="%d"><title>%s %s: %d</title></rect>`,
				padL+float64(i)*bw+1, base, max(bw-2, 1), bh, legend[k].Colour, template.HTMLEscapeString(legend[k].Name), c,
				from.Format("15:04"), template.HTMLEscapeString(legend[k].Name), c)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()), legend // numbers, times and escaped station names only
}

// axisTime labels the left end of a time axis of n buckets: the time of day, and the day
// too where the axis ends on another day (a 24 h axis would else read "14:00 … 14:00").
func axisTime(start time.Time, n int, bucket time.Duration) string {
	if start.Format("2006-01-02") != start.Add(time.Duration(n)*bucket).Format("2006-01-02") {
		return start.Format("Mon 15:04")
	}
	return start.Format("15:04")
}

// clearEstimate says when the backlog will be cleared at the recent drain rate: "clear"
// with no backlog, "—" when no drain has been seen yet.
func clearEstimate(backlog uint64, perSec float64) string {
	switch {
	case backlog == 0:
		return "nothing to clear"
	case perSec <= 0:
		return "—"
	}
	return "about " + fmtSeconds(float64(backlog)/perSec)
}
