package anomaly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"github.com/depotd/depotd/edge"
)

// Journal is what the watcher needs of the journal; *edge.Journal satisfies it.
type Journal interface {
	Scan(ctx context.Context, after uint64, fn func(seq uint64, raw []byte) error) error
	Exceptions(openOnly bool, limit int) ([]edge.Exception, error)
	RaiseException(e edge.Exception) (edge.Exception, error)
}

// Config is the `anomalies:` section of the depot config.
type Config struct {
	// Disabled turns the watcher off.
	Disabled bool `yaml:"disabled"`
	// Significance is the chance, per item and day, that a stable item is flagged anyway
	// (default 0.0035; between 0.00001 and 0.05).
	Significance float64 `yaml:"significance"`
	// WarmupDays is how many days of an item's history are needed before it is judged
	// (default 28, at least 14: four samples of each weekday).
	WarmupDays int `yaml:"warmup_days"`
}

// ApplyDefaults fills unset fields with their documented defaults.
func (c *Config) ApplyDefaults() {
	if c.Significance == 0 {
		c.Significance = DefaultParams.Significance
	}
	if c.WarmupDays == 0 {
		c.WarmupDays = DefaultParams.WarmupDays
	}
}

// Check reports every problem with its key path.
func (c *Config) Check(path string, report func(key, msg string)) {
	if c.Significance < 0.00001 || c.Significance > 0.05 {
		report(path+".significance", fmt.Sprintf("%g: must be between 0.00001 and 0.05 (the chance per item and day of a false flag)", c.Significance))
	}
	if c.WarmupDays < 14 || c.WarmupDays > 365 {
		report(path+".warmup_days", fmt.Sprintf("%d: must be between 14 and 365", c.WarmupDays))
	}
}

func (c Config) params() Params {
	p := DefaultParams
	p.Significance = c.Significance
	p.WarmupDays = c.WarmupDays
	return p
}

// raiseWithin is how far back an episode may have begun and still be raised: a depot that
// was off for a few days catches up, and a first start on an old journal does not raise
// its whole past.
const raiseWithin = 7

// Watcher judges each item's daily consumption once a day and raises an exception for
// each episode (consecutive flagged days of one direction), once.
type Watcher struct {
	j   Journal
	cfg Config
	log *slog.Logger
	// Now and Location set the clock and the depot's days (defaults time.Now, time.Local).
	Now      func() time.Time
	Location *time.Location
	// Interval is how often Run looks whether a day has ended (default 10 minutes).
	Interval time.Duration
}

// NewWatcher returns a watcher; cfg must have passed Check after ApplyDefaults.
func NewWatcher(j Journal, cfg Config, log *slog.Logger) *Watcher {
	return &Watcher{j: j, cfg: cfg, log: log, Now: time.Now, Location: time.Local, Interval: 10 * time.Minute}
}

// Run judges every day as it ends until ctx is done. A failed pass is logged (once per
// distinct error) and retried at the next interval.
func (w *Watcher) Run(ctx context.Context) error {
	if w.cfg.Disabled {
		return nil
	}
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	judged, lastErr := -1, ""
	for {
		if today := dayOf(w.Now(), w.Location); today != judged {
			raised, err := w.Check(ctx)
			switch {
			case errors.Is(err, context.Canceled):
				return nil
			case err != nil:
				if err.Error() != lastErr {
					w.log.Error("consumption anomaly check failed", "err", err)
				}
				lastErr = err.Error()
			default:
				judged, lastErr = today, ""
				for _, e := range raised {
					w.log.Warn("consumption anomaly", "item", e.Item, "code", e.Code, "exception", e.ID)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Episode is one departure of an item's consumption, as judged on its last day.
type Episode struct {
	Item  string
	Start time.Time // the first flagged day
	End   time.Time // the last flagged day
	Flag  Flag      // the last flagged day's finding
	// Observed is the window's consumption, exact.
	Observed edge.Qty
}

// Code is the exception code naming the episode: direction and first day.
func (e Episode) Code() string { return string(e.Flag.Direction) + ":" + e.Start.Format(time.DateOnly) }

// Check judges every completed day up to yesterday and raises an exception for each
// episode that began within the last week and has none yet (open or resolved: a
// supervisor's dismissal stands). It returns the exceptions it raised.
func (w *Watcher) Check(ctx context.Context) ([]edge.Exception, error) {
	yesterday := dayOf(w.Now(), w.Location) - 1
	daily, err := Daily(ctx, w.j, w.Location)
	if err != nil {
		return nil, err
	}
	eps := Episodes(daily, w.cfg.params(), yesterday, w.Location)
	known, err := w.j.Exceptions(false, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("list exceptions: %w", err)
	}
	seen := map[[2]string]bool{}
	for _, e := range known {
		if e.Kind == edge.ExcConsumptionAnomaly {
			seen[[2]string{e.Item, e.Code}] = true
		}
	}
	var raised []edge.Exception
	for _, ep := range eps {
		if dayOf(ep.Start, w.Location) < yesterday-raiseWithin+1 || seen[[2]string{ep.Item, ep.Code()}] {
			continue
		}
		e, err := w.j.RaiseException(ep.exception())
		if err != nil {
			return raised, err
		}
		raised = append(raised, e)
	}
	return raised, nil
}

func (ep Episode) exception() edge.Exception {
	f := ep.Flag
	from := ep.End.AddDate(0, 0, 1-f.Days)
	window := from.Format(time.DateOnly) + ".." + ep.End.Format(time.DateOnly)
	msg := fmt.Sprintf("%s: consumption %s over %s: expected %s, observed %s", ep.Item, describe[f.Direction], window,
		strconv.FormatFloat(f.Expected, 'f', 2, 64), ep.Observed)
	return edge.Exception{
		Kind: edge.ExcConsumptionAnomaly, Item: ep.Item, Code: ep.Code(), Message: msg,
		Evidence: map[string]string{
			"direction":    string(f.Direction),
			"window":       window,
			"window_days":  strconv.Itoa(f.Days),
			"expected":     strconv.FormatFloat(f.Expected, 'f', 2, 64),
			"observed":     ep.Observed.String(),
			"p_value":      strconv.FormatFloat(f.P, 'g', 3, 64),
			"significance": strconv.FormatFloat(f.Threshold, 'g', 3, 64),
		},
	}
}

var describe = map[Direction]string{Surge: "surged", Drop: "dropped", Stopped: "stopped"}

// Day numbers count days since 1970-01-01 in the depot's time zone.
func dayOf(t time.Time, loc *time.Location) int {
	y, m, d := t.In(loc).Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dateOf(day int, loc *time.Location) time.Time {
	u := time.Unix(int64(day)*86400, 0).UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, loc)
}

// Daily sums each item's consumption per day, exactly: what left stock to customers
// (issues) or to loss (scraps), in base units. Only transactions still in the journal
// count: history older than journal.retention that was pruned is gone.
func Daily(ctx context.Context, j Journal, loc *time.Location) (map[string]map[int]edge.Qty, error) {
	out := map[string]map[int]edge.Qty{}
	err := j.Scan(ctx, 0, func(seq uint64, raw []byte) error {
		var tx edge.Transaction
		if err := json.Unmarshal(raw, &tx); err != nil {
			return fmt.Errorf("transaction %d: %w", seq, err)
		}
		if (tx.Type != edge.Issue && tx.Type != edge.Scrap) || tx.At == nil {
			return nil
		}
		d := dayOf(*tx.At, loc)
		for _, l := range tx.Lines {
			m := out[l.Item]
			if m == nil {
				m = map[int]edge.Qty{}
				out[l.Item] = m
			}
			m[d] = m[d].Add(l.BaseQtyOrQty())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read consumption: %w", err)
	}
	return out, nil
}

// Episodes runs the model over each item's days from its first consumption to last (a
// day number) and returns every episode, items in order. It is a pure function of the
// history, so a restart judges the same days the same way.
func Episodes(daily map[string]map[int]edge.Qty, p Params, last int, loc *time.Location) []Episode {
	items := make([]string, 0, len(daily))
	for it := range daily {
		items = append(items, it)
	}
	sort.Strings(items)
	var out []Episode
	for _, it := range items {
		days := daily[it]
		first := last + 1
		for d := range days {
			first = min(first, d)
		}
		m := NewModel(p)
		var cur *Episode
		for d := first; d <= last; d++ {
			x := days[d]
			date := dateOf(d, loc)
			f, ok := m.Observe(date.Weekday(), x.Decimal().InexactFloat64())
			if !ok {
				cur = nil
				continue
			}
			if cur == nil || cur.Flag.Direction != f.Direction {
				out = append(out, Episode{Item: it, Start: date})
				cur = &out[len(out)-1]
			}
			cur.End, cur.Flag = date, f
			var obs edge.Qty
			for k := d - f.Days + 1; k <= d; k++ {
				obs = obs.Add(days[k])
			}
			cur.Observed = obs
		}
	}
	return out
}
