package fleetweb

import (
	"fmt"
	"html"
	"strings"
	"time"
)

const (
	chartW, chartH               = 640, 180
	padL, padR, padT, padB       = 52, 52, 22, 20
	colorBacklog, colorLag, grid = "#0b5cd5", "#cf222e", "#d8dee4"
)

// chartSVG draws backlog (left axis, blue) and ERP lag (right axis, red) over the samples
// held, at most window ending now. The time axis spans the data held, as the depot
// console's charts do. Presentation attributes only: the CSP allows no inline styles.
func chartSVG(title string, samples []sample, now time.Time, window time.Duration) string {
	start := now.Add(-window)
	var pts []sample
	for _, s := range samples {
		if !s.At.Before(start) && !s.At.After(now) {
			pts = append(pts, s)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		chartW, chartH, chartW, chartH, html.EscapeString(title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>`, chartW, chartH)
	fmt.Fprintf(&b, `<text x="%d" y="14" font-size="12" font-family="sans-serif" fill="#1d2329">%s</text>`, padL, html.EscapeString(title))
	x0, x1, y0, y1 := float64(padL), float64(chartW-padR), float64(padT), float64(chartH-padB)
	fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="%s"/>`, x0, y0, x1-x0, y1-y0, grid)
	if len(pts) == 0 {
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="12" font-family="sans-serif" fill="#6b7580" text-anchor="middle">no status received yet</text></svg>`, (x0+x1)/2, (y0+y1)/2)
		return b.String()
	}
	from := pts[0].At
	span := now.Sub(from)
	if span <= 0 {
		span = time.Minute
	}
	var maxB uint64 = 1
	var maxL float32 = 1
	for _, p := range pts {
		maxB, maxL = max(maxB, p.Backlog), max(maxL, p.LagS)
	}
	x := func(t time.Time) float64 { return x0 + (x1-x0)*float64(t.Sub(from))/float64(span) }
	line := func(color string, y func(sample) float64) {
		var pl strings.Builder
		for i, p := range pts {
			if i > 0 {
				pl.WriteByte(' ')
			}
			fmt.Fprintf(&pl, "%.1f,%.1f", x(p.At), y(p))
		}
		// A single sample is a dot, not an invisible line.
		if len(pts) == 1 {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, x(pts[0].At), y(pts[0]), color)
			return
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, pl.String(), color)
	}
	line(colorBacklog, func(p sample) float64 { return y1 - (y1-y0)*float64(p.Backlog)/float64(maxB) })
	line(colorLag, func(p sample) float64 { return y1 - (y1-y0)*float64(p.LagS)/float64(maxL) })
	text := func(xx, yy float64, anchor, color, s string) {
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" font-family="sans-serif" text-anchor="%s" fill="%s">%s</text>`,
			xx, yy, anchor, color, html.EscapeString(s))
	}
	text(x0-4, y0+9, "end", colorBacklog, fmt.Sprint(maxB))
	text(x0-4, y1, "end", colorBacklog, "0")
	text(x1+4, y0+9, "start", colorLag, fmtSecs(float64(maxL)))
	text(x1+4, y1, "start", colorLag, "0s")
	text(x0, float64(chartH-4), "start", "#555", "−"+fmtSpan(span))
	text(x1, float64(chartH-4), "end", "#555", "now")
	fmt.Fprintf(&b, `<text x="%d" y="14" font-size="11" font-family="sans-serif" text-anchor="end"><tspan fill="%s">backlog</tspan> <tspan fill="%s">ERP lag</tspan></text>`,
		chartW-padR, colorBacklog, colorLag)
	b.WriteString(`</svg>`)
	return b.String()
}

func fmtSpan(d time.Duration) string {
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	case d >= time.Minute:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%d s", int(d.Seconds()))
}

func fmtSecs(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}
