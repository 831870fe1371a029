package fleetweb

import (
	"sort"
	"time"

	"github.com/depotd/depotd/uplink"
)

// sample is one step of a depot's (or the fleet's) history: the largest backlog and ERP
// lag reported during the step.
type sample struct {
	At      time.Time
	Backlog uint64
	LagS    float32
}

// stored is a sample as the ring keeps it: 24 bytes, where a time.Time alone takes 24.
type stored struct {
	at      int64 // Unix milliseconds
	backlog uint64
	lag     float32
}

// ring holds the last len(buf) samples, one per step, oldest first once read.
type ring struct {
	buf   []stored
	start int
	n     int
}

func newRing(size int) *ring { return &ring{buf: make([]stored, size)} }

// add records the figures in the step starting at at: a new step pushes a sample
// (dropping the oldest when full), the same step keeps the largest figures seen in it.
func (r *ring) add(at time.Time, backlog uint64, lag float64) {
	ms := at.UnixMilli()
	if r.n > 0 {
		last := &r.buf[(r.start+r.n-1)%len(r.buf)]
		if last.at == ms {
			last.backlog, last.lag = max(last.backlog, backlog), max(last.lag, float32(lag))
			return
		}
		if ms < last.at {
			return // a step already closed; the clock went back
		}
	}
	s := stored{at: ms, backlog: backlog, lag: float32(lag)}
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = s
		r.n++
		return
	}
	r.buf[r.start] = s
	r.start = (r.start + 1) % len(r.buf)
}

func (r *ring) samples() []sample {
	out := make([]sample, 0, r.n)
	for i := range r.n {
		s := r.buf[(r.start+i)%len(r.buf)]
		out = append(out, sample{At: time.UnixMilli(s.at), Backlog: s.backlog, LagS: s.lag})
	}
	return out
}

// history keeps window of samples per depot and for the fleet, in memory: a restart of
// the view starts the charts again (the depots' journals are the truth; this is a view).
// Memory is bounded by window/step+1 samples of 24 bytes per depot (1441 at the default
// 1 min step: 34 KiB, 40 KiB in whole pages, per depot; TestHistoryMemoryPerDepot).
// Not safe for concurrent use: Server locks it.
type history struct {
	step   time.Duration
	size   int
	depots map[string]*ring
	fleet  *ring
}

func newHistory(step, window time.Duration) *history {
	size := int(window/step) + 1
	return &history{step: step, size: size, depots: map[string]*ring{}, fleet: newRing(size)}
}

// observe records the rows as at now: each depot's own figures, and the fleet's (the sum
// of the backlogs, the largest lag), so that a depot that reports nothing new keeps its
// last figures in the fleet total.
func (h *history) observe(rows []uplink.FleetRow, now time.Time) {
	at := now.Truncate(h.step)
	var total uint64
	var worst float64
	for _, r := range rows {
		b, l := figures(r)
		total += b
		worst = max(worst, l)
		rg := h.depots[r.Depot]
		if rg == nil {
			rg = newRing(h.size)
			h.depots[r.Depot] = rg
		}
		rg.add(at, b, l)
	}
	h.fleet.add(at, total, worst)
}

// forget drops the history of depots no longer in the fleet (a cleared status).
func (h *history) forget(keep []uplink.FleetRow) {
	in := make(map[string]bool, len(keep))
	for _, r := range keep {
		in[r.Depot] = true
	}
	for d := range h.depots {
		if !in[d] {
			delete(h.depots, d)
		}
	}
}

// current is the sample of rows at now: the sum of the backlogs, the largest lag.
func current(rows []uplink.FleetRow, now time.Time) sample {
	c := sample{At: now}
	for _, r := range rows {
		b, l := figures(r)
		c.Backlog += b
		c.LagS = max(c.LagS, float32(l))
	}
	return c
}

func figures(r uplink.FleetRow) (backlog uint64, lag float64) {
	if r.Backlog != nil {
		backlog = *r.Backlog
	}
	if r.ERPLagS != nil {
		lag = *r.ERPLagS
	}
	return backlog, lag
}

// Tiers of rank, worst first.
const (
	tierOffline   = iota // offline, or stale (said online, then silence)
	tierLate             // something has waited for the ERP at least lateAfter
	tierAttention        // open rejections or devices down
	tierBusy             // open exceptions or a backlog
	tierOK
)

// lateAfter: a transaction pending (or an ERP silent) this long makes a depot late.
const lateAfter = 5 * time.Minute

var tierNames = [...]string{"offline", "late", "attention", "busy", "ok"}

func tier(r uplink.FleetRow) int {
	switch {
	case !r.Online:
		return tierOffline
	case pendingFor(r) >= lateAfter.Seconds():
		return tierLate
	case deref(r.OpenRejections) > 0 || deref(r.DevicesDown) > 0:
		return tierAttention
	case deref(r.OpenExceptions) > 0 || (r.Backlog != nil && *r.Backlog > 0):
		return tierBusy
	}
	return tierOK
}

// pendingFor is how long the depot has waited: the longer of its oldest pending
// transaction's age and the ERP lag.
func pendingFor(r uplink.FleetRow) float64 {
	var p float64
	if r.Backlog != nil && *r.Backlog > 0 && r.OldestPendingS != nil {
		p = *r.OldestPendingS
	}
	if r.ERPLagS != nil {
		p = max(p, *r.ERPLagS)
	}
	return p
}

func deref(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

// rankWorstFirst orders rows worst first: by tier; offline depots silent longest first;
// the others waiting longest first, then the largest backlog, then the most open issues;
// then by id, so that the order is stable.
func rankWorstFirst(rows []uplink.FleetRow) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if ta, tb := tier(a), tier(b); ta != tb {
			return ta < tb
		}
		if !a.Online && !a.LastSeen.Equal(b.LastSeen) {
			return a.LastSeen.Before(b.LastSeen)
		}
		if pa, pb := pendingFor(a), pendingFor(b); pa != pb {
			return pa > pb
		}
		if ba, bb := deref64(a.Backlog), deref64(b.Backlog); ba != bb {
			return ba > bb
		}
		if ia, ib := issues(a), issues(b); ia != ib {
			return ia > ib
		}
		return a.Depot < b.Depot
	})
}

func deref64(n *uint64) uint64 {
	if n == nil {
		return 0
	}
	return *n
}

func issues(r uplink.FleetRow) int {
	return deref(r.OpenExceptions) + deref(r.OpenRejections) + deref(r.DevicesDown)
}
