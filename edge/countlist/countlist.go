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
	Item      string   `json:"item"`
	Class     string   `json:"class"`
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
	classes := classify(items)
	var out []Entry
	for it, h := range items {
		c := classes[it]
		interval := intervals[c]
		for range min(h.deltas, 4) {
			interval /= 2
		}
		e := Entry{Item: it, Class: c, Moves: h.moves}
		var overdue float64
		if h.lastCount.IsZero() {
			overdue = float64(cfg.WindowDays) / interval
			e.Reasons = append(e.Reasons, fmt.Sprintf("class %s (%d moves in %d days), not counted in that time", c, h.moves, cfg.WindowDays))
		} else {
			t := h.lastCount
			e.LastCounted = &t
			days := now.Sub(h.lastCount).Hours() / 24
			overdue = days / interval
			if overdue >= 1 {
				e.Reasons = append(e.Reasons, fmt.Sprintf("class %s (%d moves in %d days), last counted %.0f days ago (due every %.1f)", c, h.moves, cfg.WindowDays, days, interval))
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

// classify ranks items by moves and splits them 80/15/5 by cumulative share.
func classify(items map[string]*history) map[string]string {
	names := make([]string, 0, len(items))
	total := 0
	for it, h := range items {
		names = append(names, it)
		total += h.moves
	}
	sort.Slice(names, func(a, b int) bool {
		if items[names[a]].moves != items[names[b]].moves {
			return items[names[a]].moves > items[names[b]].moves
		}
		return names[a] < names[b]
	})
	out := map[string]string{}
	cum := 0
	for _, it := range names {
		share := float64(cum) / float64(max(total, 1))
		switch {
		case share < 0.80 && items[it].moves > 0:
			out[it] = "A"
		case share < 0.95 && items[it].moves > 0:
			out[it] = "B"
		default:
			out[it] = "C"
		}
		cum += items[it].moves
	}
	return out
}
