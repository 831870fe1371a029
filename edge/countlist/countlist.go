package countlist

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/depotd/depotd/edge"
)

// Journal is what Build needs; *edge.Journal satisfies it.
type Journal interface {
	Scan(ctx context.Context, after uint64, fn func(seq uint64, raw []byte) error) error
	Exceptions(openOnly bool, limit int) ([]edge.Exception, error)
	Stock(f edge.StockFilter) ([]edge.StockRow, error)
	MasterView() (*edge.MasterView, error)
}

// Config tunes the list; zero fields take the documented defaults.
type Config struct {
	WindowDays, RecentDays, Size int
}

func (c Config) withDefaults() Config {
	if c.WindowDays <= 0 {
		c.WindowDays = 90
	}
	if c.RecentDays <= 0 {
		c.RecentDays = 14
	}
	if c.Size <= 0 {
		c.Size = 20
	}
	return c
}

// eventWeight is what one recent adjustment or disagreement adds to the score: as much
// as being three intervals overdue, since it says the item may be wrong now.
const eventWeight = 3

// Class intervals in days.
var intervals = map[string]float64{"A": 7, "B": 30, "C": 90}

// Entry is one item on the list.
type Entry struct {
	Item  string `json:"item"`
	Class string `json:"class"`
	// ValueClass and VelocityClass are the classes by consumption value and by movements;
	// Class is the higher of the two. ValueClass is empty for an item without a unit value.
	ValueClass    string `json:"value_class,omitempty"`
	VelocityClass string `json:"velocity_class"`
	// Value is the consumption value in the window (issued and scrapped quantity × unit
	// value), exact; empty without a unit value.
	Value     string   `json:"value,omitempty"`
	Score     float64  `json:"score"`
	Reasons   []string `json:"reasons"`
	Locations []string `json:"locations,omitempty"`
	// Moves is how many transactions moved it in the window; LastCounted its last count.
	Moves       int        `json:"moves"`
	LastCounted *time.Time `json:"last_counted,omitempty"`
}

// List is the day's count list.
type List struct {
	At      time.Time `json:"at"`
	Entries []Entry   `json:"entries"`
}

type history struct {
	moves       int
	consumed    edge.Qty // issued and scrapped, in the ledger's unit
	value       *edge.Qty
	lastCount   time.Time
	deltas      int
	adjustments []time.Time
	disagree    []string
}

// Build computes the list as of now.
func Build(ctx context.Context, j Journal, now time.Time, cfg Config) (List, error) {
	cfg = cfg.withDefaults()
	from := now.AddDate(0, 0, -cfg.WindowDays)
	recent := now.AddDate(0, 0, -cfg.RecentDays)
	items := map[string]*history{}
	get := func(it string) *history {
		h := items[it]
		if h == nil {
			h = &history{}
			items[it] = h
		}
		return h
	}
	err := j.Scan(ctx, 0, func(seq uint64, raw []byte) error {
		var tx edge.Transaction
		if err := json.Unmarshal(raw, &tx); err != nil {
			return fmt.Errorf("transaction %d: %w", seq, err)
		}
		if tx.At == nil || tx.At.Before(from) || tx.Type == "void" {
			return nil
		}
		seen := map[string]bool{}
		for _, l := range tx.Lines {
			h := get(l.Item)
			if !seen[l.Item] && tx.Type != edge.Count {
				h.moves++
			}
			seen[l.Item] = true
			switch tx.Type {
			case edge.Issue, edge.Scrap:
				q := l.BaseQtyOrQty()
				if q.Sign() < 0 {
					q = q.Neg()
				}
				h.consumed = h.consumed.Add(q)
			case edge.Count:
				if tx.At.After(h.lastCount) {
					h.lastCount = *tx.At
				}
				if l.Delta != nil && !l.Delta.IsZero() {
					h.deltas++
				}
			case edge.Adjustment:
				if !tx.At.Before(recent) {
					h.adjustments = append(h.adjustments, *tx.At)
				}
			}
		}
		return nil
	})
	if err != nil {
		return List{}, fmt.Errorf("read journal: %w", err)
	}
	excs, err := j.Exceptions(false, 1<<16)
	if err != nil {
		return List{}, fmt.Errorf("list exceptions: %w", err)
	}
	for _, e := range excs {
		if e.Item == "" || e.At.Before(recent) || (e.Kind != edge.ExcWeightMismatch && e.Kind != edge.ExcCountDiscrepancy) {
			continue
		}
		get(e.Item).disagree = append(get(e.Item).disagree, fmt.Sprintf("%s on %s", e.Kind, e.At.Format(time.DateOnly)))
	}
	view, err := j.MasterView()
	if err != nil {
		return List{}, fmt.Errorf("master data: %w", err)
	}
	for it, h := range items {
		if m, ok := view.Item(it); ok {
			if v, ok := m.Value(); ok {
				cv := h.consumed.Mul(v)
				h.value = &cv
			}
		}
	}
	byVelocity := classify(items, func(h *history) (edge.Qty, bool) { return edge.QtyFromInt(int64(h.moves)), true })
	byValue := classify(items, func(h *history) (edge.Qty, bool) {
		if h.value == nil {
			return edge.Qty{}, false
		}
		return *h.value, true
	})
	var out []Entry
	for it, h := range items {
		c := byVelocity[it]
		if vc, ok := byValue[it]; ok && vc < c {
			c = vc
		}
		vel := fmt.Sprintf("velocity %s: %d moves in %d days", byVelocity[it], h.moves, cfg.WindowDays)
		why := vel + "; no unit value"
		if h.value != nil {
			why = fmt.Sprintf("value %s: %s consumed in %d days; %s", byValue[it], h.value, cfg.WindowDays, vel)
		}
		interval := intervals[c]
		for range min(h.deltas, 4) {
			interval /= 2
		}
		e := Entry{Item: it, Class: c, ValueClass: byValue[it], VelocityClass: byVelocity[it], Moves: h.moves}
		if h.value != nil {
			e.Value = h.value.String()
		}
		var overdue float64
		if h.lastCount.IsZero() {
			overdue = float64(cfg.WindowDays) / interval
			e.Reasons = append(e.Reasons, fmt.Sprintf("class %s (%s), not counted in %d days", c, why, cfg.WindowDays))
		} else {
			t := h.lastCount
			e.LastCounted = &t
			days := now.Sub(h.lastCount).Hours() / 24
			overdue = days / interval
			if overdue >= 1 {
				e.Reasons = append(e.Reasons, fmt.Sprintf("class %s (%s), last counted %.0f days ago (due every %.1f)", c, why, days, interval))
			}
		}
		if h.deltas > 0 {
			e.Reasons = append(e.Reasons, fmt.Sprintf("%d count(s) in the window found deltas: due every %.1f days instead of %.0f", h.deltas, interval, intervals[c]))
		}
		for _, a := range h.adjustments {
			e.Reasons = append(e.Reasons, "adjusted on "+a.Format(time.DateOnly))
		}
		e.Reasons = append(e.Reasons, h.disagree...)
		e.Score = overdue + eventWeight*float64(len(h.adjustments)+len(h.disagree))
		if overdue < 1 && len(h.adjustments)+len(h.disagree) == 0 {
			continue // not due and nothing happened to it
		}
		out = append(out, e)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Score != out[b].Score {
			return out[a].Score > out[b].Score
		}
		return out[a].Item < out[b].Item
	})
	if len(out) > cfg.Size {
		out = out[:cfg.Size]
	}
	for i := range out {
		rows, err := j.Stock(edge.StockFilter{Item: out[i].Item, Limit: 100})
		if err != nil {
			return List{}, err
		}
		seen := map[string]bool{}
		for _, r := range rows {
			if r.Qty.Sign() != 0 && !seen[r.Location] {
				out[i].Locations = append(out[i].Locations, r.Location)
				seen[r.Location] = true
			}
		}
	}
	return List{At: now, Entries: out}, nil
}

// classify ranks the items that have a measure (by, false for none) by it, largest first,
// and splits them 80/15/5 by cumulative share: A holds the items that make the first 80 %
// of the total, B the next 15 %, C the rest and every item whose measure is 0. Items
// without a measure get no class.
func classify(items map[string]*history, by func(*history) (edge.Qty, bool)) map[string]string {
	type ranked struct {
		item string
		m    edge.Qty
	}
	var rs []ranked
	var total edge.Qty
	for it, h := range items {
		if m, ok := by(h); ok {
			rs = append(rs, ranked{it, m})
			total = total.Add(m)
		}
	}
	sort.Slice(rs, func(a, b int) bool {
		if c := rs[a].m.Cmp(rs[b].m); c != 0 {
			return c > 0
		}
		return rs[a].item < rs[b].item
	})
	out := map[string]string{}
	var cum edge.Qty
	a, b := total.Mul(edge.MustQty("0.80")), total.Mul(edge.MustQty("0.95"))
	for _, r := range rs {
		switch {
		case r.m.Sign() > 0 && cum.LessThan(a):
			out[r.item] = "A"
		case r.m.Sign() > 0 && cum.LessThan(b):
			out[r.item] = "B"
		default:
			out[r.item] = "C"
		}
		cum = cum.Add(r.m)
	}
	return out
}
