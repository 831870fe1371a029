package console

import (
	"context"
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
	// seenDrain is the drain rate (tx/s) over the rate window as of the last sample in
	// which the ack watermark moved: while the uplink is down the current rate decays to
	// 0, and the estimate of when the backlog clears once it is back needs the rate it
	// drained at while it drained.
	seenDrain float64
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
	moved := len(h.rate) > 0 && x.Acked > h.rate[len(h.rate)-1].Acked
	h.rate = append(h.rate, x)
	if len(h.rate) > rateWindow {
		h.rate = h.rate[len(h.rate)-rateWindow:]
	}
	if r := h.rateLocked(); moved && r > 0 {
		h.seenDrain = r
	}
}

// seenDrainRate is the drain rate when the watermark last moved (0: never seen it move).
func (h *history) seenDrainRate() float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seenDrain
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
	return h.rateLocked()
}

func (h *history) rateLocked() float64 {
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
