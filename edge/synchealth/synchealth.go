package synchealth

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/countlist"
)

// Journal is what a report reads; *edge.Journal satisfies it.
type Journal interface {
	FirstSeqAt(at time.Time) (uint64, error)
	Scan(ctx context.Context, after uint64, fn func(seq uint64, raw []byte) error) error
	AckMarks(ctx context.Context, from uint64, fn func(edge.AckMark) error) error
	Exceptions(openOnly bool, limit int) ([]edge.Exception, error)
	Positions() (last, acked uint64)
	Depot() string
}

// Days is the window of a report.
const Days = 30

// Classes are the item classes a report names, "all" last (every transaction once).
var Classes = []string{"A", "B", "C", "all"}

// maxExceptions bounds how many exceptions a report reads (newest first).
const maxExceptions = 1 << 16

// Report is the sync health of one depot over the window.
type Report struct {
	Depot string    `json:"depot"`
	At    time.Time `json:"at"`
	// From is the start of the window's first day (in the depot's time zone).
	From    time.Time                `json:"from"`
	Days    int                      `json:"days"`
	Classes map[string]*ClassFigures `json:"classes"`
	// Exceptions by kind, sorted by kind.
	Exceptions []KindFigures `json:"exceptions"`
	Backlog    Backlog       `json:"backlog"`
	Daily      []Day         `json:"daily"`
}

// ClassFigures are one item class's figures over the window.
type ClassFigures struct {
	Items        int `json:"items"`        // items moved or counted in the window
	Transactions int `json:"transactions"` // committed in the window
	// Acked have a known ack time; Latency* are over them (0 when none).
	Acked                  int     `json:"acked"`
	LatencyP50S            float64 `json:"latency_p50_s"`
	LatencyP95S            float64 `json:"latency_p95_s"`
	LatencyMaxS            float64 `json:"latency_max_s"`
	Adjustments            int     `json:"adjustments"`
	AdjustmentsPerItemWeek float64 `json:"adjustments_per_item_week"`
	Counts                 int     `json:"counts"`
	Discrepancies          int     `json:"discrepancies"`
	DiscrepancyRate        float64 `json:"discrepancy_rate"`
}

// KindFigures are one exception kind's figures.
type KindFigures struct {
	Kind        string  `json:"kind"`
	Open        int     `json:"open"`
	OldestOpenS float64 `json:"oldest_open_s"`
	Raised      int     `json:"raised"` // in the window, open or resolved since
}

// Backlog is the outbox now.
type Backlog struct {
	Transactions   uint64  `json:"transactions"`
	OldestPendingS float64 `json:"oldest_pending_s"`
}

// Day is one day of the window (all classes).
type Day struct {
	Date          string  `json:"date"`
	Transactions  int     `json:"transactions"`
	Acked         int     `json:"acked"`
	LatencyP50S   float64 `json:"latency_p50_s"`
	LatencyP95S   float64 `json:"latency_p95_s"`
	Adjustments   int     `json:"adjustments"`
	Counts        int     `json:"counts"`
	Discrepancies int     `json:"discrepancies"`
	// Exceptions raised that day, by kind.
	Exceptions map[string]int `json:"exceptions,omitempty"`
	// BacklogAgeS is the age of the oldest transaction unacknowledged at the day's end
	// (now for today); BacklogAgeAtLeast says it was committed before the window, so the
	// age is at least the figure.
	BacklogAgeS       float64 `json:"backlog_age_s"`
	BacklogAgeAtLeast bool    `json:"backlog_age_at_least,omitempty"`
}

// rec is what a report keeps of one transaction of the window.
type rec struct {
	seq     uint64
	at      time.Time
	day     int
	typ     edge.TxType
	items   []string
	counts  int
	discrep int
}

// Build computes the report as of now, days in loc.
func Build(ctx context.Context, j Journal, now time.Time, loc *time.Location) (Report, error) {
	if loc == nil {
		loc = time.Local
	}
	now = now.In(loc)
	y, m, d := now.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, loc)
	from := today.AddDate(0, 0, -(Days - 1))
	dayOf := func(t time.Time) int {
		t = t.In(loc)
		y, m, d := t.Date()
		return int(math.Round(time.Date(y, m, d, 0, 0, 0, 0, loc).Sub(from).Hours() / 24))
	}
	r := Report{Depot: j.Depot(), At: now, From: from, Days: Days, Classes: map[string]*ClassFigures{}, Daily: make([]Day, Days)}
	for i := range r.Daily {
		r.Daily[i].Date = from.AddDate(0, 0, i).Format(time.DateOnly)
	}
	for _, c := range Classes {
		r.Classes[c] = &ClassFigures{}
	}
	first, err := j.FirstSeqAt(from)
	if err != nil {
		return r, fmt.Errorf("find the window's first seq: %w", err)
	}
	var recs []rec
	moves := map[string]int{}
	err = j.Scan(ctx, first-1, func(seq uint64, raw []byte) error {
		var tx edge.Transaction
		if err := json.Unmarshal(raw, &tx); err != nil {
			return fmt.Errorf("transaction %d: %w", seq, err)
		}
		if tx.At == nil || tx.At.Before(from) || tx.At.After(now) || tx.Type == edge.Void {
			return nil
		}
		x := rec{seq: seq, at: *tx.At, day: dayOf(*tx.At), typ: tx.Type}
		seen := map[string]bool{}
		for _, l := range tx.Lines {
			if tx.Type == edge.Count {
				x.counts++
				if l.Delta != nil && !l.Delta.IsZero() {
					x.discrep++
				}
			}
			if !seen[l.Item] {
				seen[l.Item] = true
				x.items = append(x.items, l.Item)
				if tx.Type != edge.Count {
					moves[l.Item]++
				} else if _, ok := moves[l.Item]; !ok {
					moves[l.Item] = 0
				}
			}
		}
		recs = append(recs, x)
		return nil
	})
	if err != nil {
		return r, fmt.Errorf("read journal: %w", err)
	}
	classOf := countlist.Classify(moves)
	for _, c := range classOf {
		r.Classes[c].Items++
	}
	r.Classes["all"].Items = len(classOf)

	var marks []edge.AckMark
	if err := j.AckMarks(ctx, max(first-1, 1), func(m edge.AckMark) error { marks = append(marks, m); return nil }); err != nil {
		return r, fmt.Errorf("read ack marks: %w", err)
	}
	last, acked := j.Positions()
	lat := map[string][]float64{}
	dayLat := make([][]float64, Days)
	mi := 0
	for _, x := range recs {
		cls := map[string]bool{"all": true}
		for _, it := range x.items {
			cls[classOf[it]] = true
		}
		for c := range cls {
			f := r.Classes[c]
			f.Transactions++
			f.Counts += x.counts
			f.Discrepancies += x.discrep
		}
		if x.typ == edge.Adjustment {
			for _, it := range x.items {
				r.Classes[classOf[it]].Adjustments++
				r.Classes["all"].Adjustments++
			}
			r.Daily[x.day].Adjustments += len(x.items)
		}
		dd := &r.Daily[x.day]
		dd.Transactions++
		dd.Counts += x.counts
		dd.Discrepancies += x.discrep
		if x.seq > acked {
			continue
		}
		for mi < len(marks) && marks[mi].UptoSeq < x.seq {
			mi++
		}
		if mi == len(marks) || marks[mi].At.IsZero() {
			continue // acknowledged at a time nobody recorded (before layout 5)
		}
		l := max(marks[mi].At.Sub(x.at).Seconds(), 0)
		for c := range cls {
			lat[c] = append(lat[c], l)
			r.Classes[c].Acked++
		}
		dayLat[x.day] = append(dayLat[x.day], l)
	}
	weeks := float64(Days) / 7
	for c, f := range r.Classes {
		f.LatencyP50S, f.LatencyP95S, f.LatencyMaxS = percentile(lat[c], 0.5), percentile(lat[c], 0.95), percentile(lat[c], 1)
		if f.Items > 0 {
			f.AdjustmentsPerItemWeek = round(float64(f.Adjustments) / float64(f.Items) / weeks)
		}
		if f.Counts > 0 {
			f.DiscrepancyRate = round(float64(f.Discrepancies) / float64(f.Counts))
		}
	}
	for i := range r.Daily {
		r.Daily[i].Acked = len(dayLat[i])
		r.Daily[i].LatencyP50S, r.Daily[i].LatencyP95S = percentile(dayLat[i], 0.5), percentile(dayLat[i], 0.95)
	}
	backlogAges(&r, recs, marks, first, now)
	r.Backlog.Transactions = last - acked
	if last > acked {
		r.Backlog.OldestPendingS = r.Daily[Days-1].BacklogAgeS
	}
	excs, err := j.Exceptions(false, maxExceptions)
	if err != nil {
		return r, fmt.Errorf("list exceptions: %w", err)
	}
	kinds := map[string]*KindFigures{}
	for _, e := range excs {
		k := kinds[string(e.Kind)]
		if k == nil {
			k = &KindFigures{Kind: string(e.Kind)}
			kinds[string(e.Kind)] = k
		}
		if e.Resolved == nil {
			k.Open++
			k.OldestOpenS = max(k.OldestOpenS, seconds(now.Sub(e.At)))
		}
		if !e.At.Before(from) && !e.At.After(now) {
			k.Raised++
			dd := &r.Daily[dayOf(e.At)]
			if dd.Exceptions == nil {
				dd.Exceptions = map[string]int{}
			}
			dd.Exceptions[string(e.Kind)]++
		}
	}
	r.Exceptions = []KindFigures{}
	for _, k := range kinds {
		r.Exceptions = append(r.Exceptions, *k)
	}
	sort.Slice(r.Exceptions, func(a, b int) bool { return r.Exceptions[a].Kind < r.Exceptions[b].Kind })
	return r, nil
}

// backlogAges sets each day's backlog age: at the day's end T, the watermark is the
// highest mark that came by T (a mark of unknown time came before the window), and the
// oldest pending transaction is the first one above it, if it was committed by T. The
// marks were read from the seq before the window, so a watermark below that means seqs
// from before the window were pending too: the age is then at least the figure.
func backlogAges(r *Report, recs []rec, marks []edge.AckMark, first uint64, now time.Time) {
	for i := range r.Daily {
		end := r.From.AddDate(0, 0, i+1)
		if end.After(now) {
			end = now
		}
		var w uint64
		for _, m := range marks {
			if m.At.IsZero() || !m.At.After(end) {
				w = max(w, m.UptoSeq)
			}
		}
		k := sort.Search(len(recs), func(k int) bool { return recs[k].seq > w })
		if k == len(recs) || recs[k].at.After(end) {
			continue // nothing pending at the day's end
		}
		r.Daily[i].BacklogAgeS = seconds(end.Sub(recs[k].at))
		r.Daily[i].BacklogAgeAtLeast = first > 1 && w+1 < first
	}
}

func percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return round(s[min(max(i, 0), len(s)-1)])
}

func seconds(d time.Duration) float64 { return max(float64(d.Milliseconds())/1000, 0) }

func round(f float64) float64 { return math.Round(f*1000) / 1000 }

// Tracker keeps the last report: it is reused while it is younger than MinAge (10 s), and
// while it is younger than MaxAge (30 s) if nothing was committed or acknowledged since.
// So a page view after a commit is at most MinAge behind, and a depot that commits all
// the time pays one report per MinAge at most, however many read it.
type Tracker struct {
	j Journal
	// Location is the depot's time zone (default time.Local); Now the clock (time.Now).
	Location       *time.Location
	Now            func() time.Time
	MinAge, MaxAge time.Duration

	mu         sync.Mutex
	last       Report
	at         time.Time
	seq, acked uint64
}

// NewTracker returns a tracker of j's sync health.
func NewTracker(j Journal) *Tracker {
	return &Tracker{j: j, Now: time.Now, MinAge: 10 * time.Second, MaxAge: 30 * time.Second}
}

// Report returns the report, built again when the kept one is too old (see Tracker).
func (t *Tracker) Report(ctx context.Context) (Report, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Now()
	last, acked := t.j.Positions()
	if age := now.Sub(t.at); !t.at.IsZero() && age >= 0 && (age < t.MinAge || (age < t.MaxAge && last == t.seq && acked == t.acked)) {
		return t.last, nil
	}
	r, err := Build(ctx, t.j, now, t.Location)
	if err != nil {
		return r, err
	}
	t.last, t.at, t.seq, t.acked = r, now, last, acked
	return r, nil
}
