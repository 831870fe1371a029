package synchealth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/synchealth"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// depot is a generated depot: 40 days of receipts, issues, counts and adjustments over 20
// items of Zipf-like popularity, acks at known delays (with one six-hour ERP outage), and
// exceptions, with what the report must find counted by the generator itself.
type depot struct {
	t     *testing.T
	path  string
	clk   *clock
	j     *edge.Journal
	n     int
	stock map[string]int64
	rng   *rand.Rand

	// What the generator knows of the window.
	from                  time.Time
	counts, discrepancies int
	adjustments           int
	scans, openScans      int
	oldestScan            time.Time
}

var (
	cat = func() *edge.Catalog {
		c, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
		if err != nil {
			panic(err)
		}
		return c
	}()
	now = time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
)

const normalAck = 2 * time.Minute

func (d *depot) open() {
	j, err := edge.Open(d.path, edge.Options{Depot: "D7", Catalog: cat, Now: d.clk.now})
	if err != nil {
		d.t.Fatal(err)
	}
	d.j = j
}

func (d *depot) commit(tx edge.Transaction) edge.Transaction {
	d.t.Helper()
	d.n++
	tx.ID = fmt.Sprintf("g%05d", d.n)
	out, _, err := d.j.Commit(context.Background(), tx)
	if err != nil {
		d.t.Fatalf("commit %s: %v", tx.ID, err)
	}
	return out
}

func (d *depot) ack(upto uint64) {
	d.t.Helper()
	if _, err := d.j.Ack(edge.Ack{UptoSeq: upto}); err != nil {
		d.t.Fatal(err)
	}
}

func item(i int) string { return fmt.Sprintf("SKU-%02d", i) }

// pick draws an item, SKU-01 most often (weight 1/i).
func (d *depot) pick() int {
	var w [21]float64
	total := 0.0
	for i := 1; i <= 20; i++ {
		total += 1 / float64(i)
		w[i] = total
	}
	x := d.rng.Float64() * total
	for i := 1; i <= 20; i++ {
		if x < w[i] {
			return i
		}
	}
	return 20
}

func generate(t *testing.T) *depot {
	d := &depot{t: t, path: filepath.Join(t.TempDir(), "depotd.db"), stock: map[string]int64{}, rng: rand.New(rand.NewPCG(16, 5))}
	start := now.AddDate(0, 0, -40).Truncate(24 * time.Hour)
	d.from = now.Truncate(24*time.Hour).AddDate(0, 0, -(synchealth.Days - 1))
	d.clk = &clock{t: start.Add(7 * time.Hour)}
	d.open()
	var lines []edge.Line
	for i := 1; i <= 20; i++ {
		lines = append(lines, edge.Line{Item: item(i), Qty: edge.QtyFromInt(10000), To: "WH/Stock"})
		d.stock[item(i)] = 10000
	}
	d.ack(d.commit(edge.Transaction{Type: edge.Receipt, Lines: lines}).Seq)
	inWindow := func() bool { return !d.clk.t.Before(d.from) }
	outage := d.from.AddDate(0, 0, 20) // the ERP is silent from 09:00 to 15:00 that day
	var pending []uint64
	for day := start; day.Before(now); day = day.AddDate(0, 0, 1) {
		for slot := range 12 {
			d.clk.t = day.Add(8*time.Hour + time.Duration(slot)*40*time.Minute)
			if !d.clk.t.Before(now) {
				break
			}
			it := item(d.pick())
			q := int64(1 + d.rng.IntN(5))
			d.stock[it] -= q
			seq := d.commit(edge.Transaction{Type: edge.Issue, Lines: []edge.Line{{Item: it, Qty: edge.QtyFromInt(q), From: "WH/Stock"}}}).Seq
			if !d.clk.t.Before(now.Add(-time.Hour)) {
				continue // the last hour's transactions stay unacknowledged
			}
			if day.Equal(outage) && d.clk.t.Hour() >= 9 && d.clk.t.Hour() < 15 {
				pending = append(pending, seq)
				continue
			}
			d.clk.t = d.clk.t.Add(normalAck)
			if len(pending) > 0 && d.clk.t.Hour() >= 15 {
				pending = nil // this ack covers them all
			}
			if len(pending) == 0 {
				d.ack(seq)
			}
		}
		if day.After(now.Add(-24 * time.Hour)) {
			break
		}
		// 16:00: two counts, one in three finding a delta of ±1; every third day an
		// adjustment of the most popular item.
		d.clk.t = day.Add(16 * time.Hour)
		for range 2 {
			it := item(d.pick())
			counted := d.stock[it]
			if d.rng.IntN(3) == 0 {
				counted += int64(1 - 2*d.rng.IntN(2))
				if inWindow() {
					d.discrepancies++
				}
			}
			if inWindow() {
				d.counts++
			}
			d.stock[it] = counted
			d.ack(d.commit(edge.Transaction{Type: edge.Count, Lines: []edge.Line{{Item: it, Qty: edge.QtyFromInt(counted), To: "WH/Stock"}}}).Seq)
		}
		if day.YearDay()%3 == 0 {
			d.clk.t = day.Add(16*time.Hour + 10*time.Minute)
			d.stock[item(1)]++
			if inWindow() {
				d.adjustments++
			}
			d.ack(d.commit(edge.Transaction{Type: edge.Adjustment, Reason: "found", Lines: []edge.Line{{Item: item(1), Qty: edge.QtyFromInt(1), To: "WH/Stock"}}}).Seq)
		}
		if day.YearDay()%5 == 0 {
			d.clk.t = day.Add(16*time.Hour + 20*time.Minute)
			e, err := d.j.RaiseException(edge.Exception{Kind: edge.ExcUnresolvedScan, Message: "unreadable label", Station: "s1"})
			if err != nil {
				t.Fatal(err)
			}
			if inWindow() {
				d.scans++
			}
			if day.YearDay()%10 != 0 {
				d.openScans++
				if d.oldestScan.IsZero() {
					d.oldestScan = d.clk.t
				}
			}
			if day.YearDay()%10 == 0 {
				if _, err := d.j.ResolveException(e.ID, edge.Resolution{By: "sup", Action: "dismissed", Reason: "relabelled"}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	d.clk.t = now
	return d
}

func report(t *testing.T, j *edge.Journal) ([]byte, synchealth.Report) {
	t.Helper()
	r, err := synchealth.Build(context.Background(), j, now, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(raw, '\n'), r
}

// TestTheReportMeasuresLatencyDiscrepanciesAdjustmentsExceptionsAndBacklogAgeAcrossARestart:
// on 40 generated days, the report finds the generator's own figures (acks 2 minutes after
// commit except during a six-hour outage, the counts and their deltas, the adjustments,
// the open exceptions and the backlog of the last hour), matches the golden output, and
// gives the same after a close and open: it derives from the journal alone.
func TestTheReportMeasuresLatencyDiscrepanciesAdjustmentsExceptionsAndBacklogAgeAcrossARestart(t *testing.T) {
	d := generate(t)
	raw, r := report(t, d.j)
	all := r.Classes["all"]
	if all.LatencyP50S != normalAck.Seconds() {
		t.Errorf("median latency %v s, want %v (acks come %v after commit)", all.LatencyP50S, normalAck.Seconds(), normalAck)
	}
	out := r.Daily[20]
	if out.LatencyP95S < 5*3600 || r.Daily[19].LatencyP95S != normalAck.Seconds() {
		t.Errorf("p95 latency on the outage day %v s (want ≥ 5 h), the day before %v s", out.LatencyP95S, r.Daily[19].LatencyP95S)
	}
	if all.Counts != d.counts || all.Discrepancies != d.discrepancies || all.DiscrepancyRate != float64(int(float64(d.discrepancies)/float64(d.counts)*1000+0.5))/1000 {
		t.Errorf("counts %d with %d discrepancies (rate %v), generated %d with %d", all.Counts, all.Discrepancies, all.DiscrepancyRate, d.counts, d.discrepancies)
	}
	if all.Adjustments != d.adjustments || r.Classes["A"].Adjustments != d.adjustments {
		t.Errorf("adjustments %d (class A %d), generated %d, all of the most popular item", all.Adjustments, r.Classes["A"].Adjustments, d.adjustments)
	}
	if r.Backlog.Transactions == 0 || r.Backlog.OldestPendingS <= 0 || r.Backlog.OldestPendingS > 3600 {
		t.Errorf("backlog %+v: the last hour's transactions are pending", r.Backlog)
	}
	if r.Daily[20].BacklogAgeS != 0 || r.Daily[19].BacklogAgeS != 0 {
		t.Errorf("backlog age at the outage day's end %v s: the 15:00 ack cleared it", r.Daily[20].BacklogAgeS)
	}
	// A count that finds a delta raises a count_discrepancy; every tenth day's unresolved
	// scan is dismissed.
	if len(r.Exceptions) != 2 || r.Exceptions[0].Kind != string(edge.ExcCountDiscrepancy) || r.Exceptions[0].Raised != d.discrepancies ||
		r.Exceptions[1].Kind != string(edge.ExcUnresolvedScan) || r.Exceptions[1].Raised != d.scans || r.Exceptions[1].Open != d.openScans ||
		r.Exceptions[1].OldestOpenS != now.Sub(d.oldestScan).Seconds() {
		t.Errorf("exceptions %+v, generated %d discrepancies, %d scans in the window, %d open since %v", r.Exceptions, d.discrepancies, d.scans, d.openScans, d.oldestScan)
	}
	if c := r.Classes; c["A"].Items+c["B"].Items+c["C"].Items != c["all"].Items || c["A"].Items == 0 || c["C"].Items == 0 {
		t.Errorf("classes A %d B %d C %d of %d items", c["A"].Items, c["B"].Items, c["C"].Items, c["all"].Items)
	}
	golden := filepath.Join("testdata", "report.golden.json")
	if *update {
		if err := os.WriteFile(golden, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(raw, want) {
		t.Errorf("report differs from %s (rerun with -update after checking):\n%s", golden, raw)
	}
	if err := d.j.Close(); err != nil {
		t.Fatal(err)
	}
	d.open()
	defer d.j.Close()
	again, _ := report(t, d.j)
	if !bytes.Equal(again, raw) {
		t.Errorf("report after a restart differs:\n%s", again)
	}
}

// The tracker answers from its last report for MinAge, and until MaxAge while nothing was
// committed or acknowledged.
func TestTheTrackerReadsTheJournalAgainOnlyAfterMinAgeOrMaxAge(t *testing.T) {
	d := generate(t)
	defer d.j.Close()
	tr := synchealth.NewTracker(d.j)
	tr.Location, tr.Now = time.UTC, d.clk.now
	n := func() int {
		t.Helper()
		r, err := tr.Report(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return r.Classes["all"].Transactions
	}
	n0 := n()
	d.commit(edge.Transaction{Type: edge.Receipt, Lines: []edge.Line{{Item: item(1), Qty: edge.QtyFromInt(1), To: "WH/Stock"}}})
	d.clk.t = now.Add(tr.MinAge - time.Second)
	if got := n(); got != n0 {
		t.Fatalf("report rebuilt before MinAge: %d transactions, then %d", n0, got)
	}
	d.clk.t = now.Add(tr.MinAge)
	if got := n(); got != n0+1 {
		t.Fatalf("report after MinAge and a commit: %d transactions, want %d", got, n0+1)
	}
	// Nothing committed since: kept until MaxAge, even though an exception came.
	if _, err := d.j.RaiseException(edge.Exception{Kind: edge.ExcUnresolvedScan, Message: "x"}); err != nil {
		t.Fatal(err)
	}
	raised := func() int {
		r, _ := tr.Report(context.Background())
		for _, k := range r.Exceptions {
			if k.Kind == string(edge.ExcUnresolvedScan) {
				return k.Raised
			}
		}
		return 0
	}
	r0 := raised()
	d.clk.t = now.Add(tr.MinAge + tr.MaxAge - time.Second)
	if got := raised(); got != r0 {
		t.Fatalf("report rebuilt before MaxAge with nothing committed")
	}
	d.clk.t = now.Add(tr.MinAge + tr.MaxAge)
	if got := raised(); got != r0+1 {
		t.Fatalf("report after MaxAge: %d unresolved scans raised, want %d", got, r0+1)
	}
}
