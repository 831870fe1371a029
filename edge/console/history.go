package console

import (
	"context"
	"fmt"
	"html/template"
	"strings"
	"sync"
	"time"
)

// history keeps the backlog over the last 24 h in memory (one sample per period, a fixed
// ring) for the dashboard chart, and a short window of ack positions for the drain rate.
// It is lost at restart, which a chart of the last day can afford.
type history struct {
	mu     sync.Mutex
	period time.Duration
	ring   []sample
	next   int
	full   bool
	rate   []sample // every rateEvery, the last rateWindow
}

type sample struct {
	At      time.Time
	Backlog uint64
	Acked   uint64
}

const (
	rateEvery  = 10 * time.Second
	rateWindow = 31 // 5 minutes of 10 s samples
)

func newHistory(n int, period time.Duration) *history {
	if n < 2 {
		n = 2
	}
	return &history{period: period, ring: make([]sample, n)}
}

func (h *history) add(x sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring[h.next] = x
	h.next = (h.next + 1) % len(h.ring)
	if h.next == 0 {
		h.full = true
	}
}

func (h *history) addRate(x sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rate = append(h.rate, x)
	if len(h.rate) > rateWindow {
		h.rate = h.rate[len(h.rate)-rateWindow:]
	}
}

// samples returns the ring oldest first.
func (h *history) samples() []sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []sample
	if h.full {
		out = append(out, h.ring[h.next:]...)
	}
	return append(out, h.ring[:h.next]...)
}

// drainRate is transactions acknowledged per second over the rate window (0 until two
// samples exist).
func (h *history) drainRate() float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.rate) < 2 {
		return 0
	}
	a, b := h.rate[0], h.rate[len(h.rate)-1]
	d := b.At.Sub(a.At).Seconds()
	if d <= 0 || b.Acked < a.Acked {
		return 0
	}
	return float64(b.Acked-a.Acked) / d
}

// sample records positions until ctx is done.
func (s *Server) sample(ctx context.Context) {
	take := func() sample {
		last, acked := s.j.Positions()
		return sample{At: s.now(), Backlog: last - acked, Acked: acked}
	}
	first := take()
	s.hist.add(first)
	s.hist.addRate(first)
	lastHist := first.At
	every := min(rateEvery, s.opts.SampleEvery)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			x := take()
			s.hist.addRate(x)
			if x.At.Sub(lastHist) >= s.opts.SampleEvery {
				s.hist.add(x)
				lastHist = x.At
			}
		}
	}
}

// backlogSVG draws the backlog over the last 24 h ending now, with the current backlog as
// the last point. It uses presentation attributes only: the CSP allows no inline styles.
func backlogSVG(samples []sample, now time.Time, current uint64) template.HTML {
	const w, h, padL, padB, padT = 600.0, 140.0, 48.0, 20.0, 10.0
	pts := append([]sample(nil), samples...)
	pts = append(pts, sample{At: now, Backlog: current})
	start := now.Add(-24 * time.Hour)
	var maxB uint64 = 1
	for _, p := range pts {
		maxB = max(maxB, p.Backlog)
	}
	x := func(t time.Time) float64 {
		f := t.Sub(start).Seconds() / (24 * time.Hour).Seconds()
		f = min(max(f, 0), 1)
		return padL + f*(w-padL-4)
	}
	y := func(v uint64) float64 { return padT + (h-padT-padB)*(1-float64(v)/float64(maxB)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" role="img" aria-label="backlog over the last 24 hours, now %d" xmlns="http://www.w3.org/2000/svg">`, w, h, current)
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#888" stroke-width="1"/>`, padL, h-padB, w-4, h-padB)
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#888" stroke-width="1"/>`, padL, padT, padL, h-padB)
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" text-anchor="end" fill="#555">%d</text>`, padL-4, padT+8, maxB)
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" text-anchor="end" fill="#555">0</text>`, padL-4, h-padB)
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" fill="#555">24 h ago</text>`, padL, h-4)
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" text-anchor="end" fill="#555">now</text>`, w-4, h-4)
	b.WriteString(`<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="`)
	for i, p := range pts {
		if p.At.Before(start) {
			continue
		}
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
