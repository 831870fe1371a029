package anomaly_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/anomaly"
	"go.uber.org/goleak"
	"gonum.org/v1/gonum/stat/distuv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func openJournal(t *testing.T, path string, c *clock) *edge.Journal {
	t.Helper()
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: cat, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

var day0 = time.Date(2026, 9, 7, 0, 0, 0, 0, time.UTC) // a Monday

// history commits 50 days of issues: STEADY at about 20 a day throughout, SURGE at about
// 20 a day until day 47 and 60 a day from then on.
func history(t *testing.T, j *edge.Journal, c *clock) {
	t.Helper()
	ctx := context.Background()
	c.set(day0.Add(time.Hour))
	if _, _, err := j.Commit(ctx, edge.Transaction{ID: "in", Type: edge.Receipt, Lines: []edge.Line{
		{Item: "STEADY", Qty: edge.QtyFromInt(100000), To: "WH/Stock"},
		{Item: "SURGE", Qty: edge.QtyFromInt(100000), To: "WH/Stock"},
	}}); err != nil {
		t.Fatal(err)
	}
	src := rand.NewPCG(7, 7)
	for d := range 50 {
		c.set(day0.AddDate(0, 0, d).Add(14 * time.Hour))
		surge := 20.0
		if d >= 47 {
			surge = 60
		}
		steady := distuv.Poisson{Lambda: 20, Src: src}.Rand()
		surged := distuv.Poisson{Lambda: surge, Src: src}.Rand()
		if _, _, err := j.Commit(ctx, edge.Transaction{ID: fmt.Sprintf("out-%d", d), Type: edge.Issue, Lines: []edge.Line{
			{Item: "STEADY", Qty: edge.QtyFromInt(int64(steady)), From: "WH/Stock"},
			{Item: "SURGE", Qty: edge.QtyFromInt(int64(surged)), From: "WH/Stock"},
		}}); err != nil {
			t.Fatal(err)
		}
	}
}

func watcher(j anomaly.Journal, c *clock) *anomaly.Watcher {
	cfg := anomaly.Config{}
	cfg.ApplyDefaults()
	w := anomaly.NewWatcher(j, cfg, slog.New(slog.DiscardHandler))
	w.Now, w.Location = c.now, time.UTC
	return w
}

// TestASurgeRaisesOneExceptionWithEvidenceAndNotAgainAfterARestart: the journal's own
// history is judged, the surge becomes one exception naming its direction and figures,
// the steady item none, and neither a second check nor a restart nor the supervisor's
// dismissal raises it again.
func TestASurgeRaisesOneExceptionWithEvidenceAndNotAgainAfterARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	c := &clock{}
	j := openJournal(t, path, c)
	history(t, j, c)
	c.set(day0.AddDate(0, 0, 50).Add(8 * time.Hour))
	raised, err := watcher(j, c).Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(raised) != 1 {
		t.Fatalf("raised %d exceptions, want 1: %+v", len(raised), raised)
	}
	e := raised[0]
	if e.Kind != edge.ExcConsumptionAnomaly || e.Item != "SURGE" || e.Evidence["direction"] != "surge" {
		t.Fatalf("raised %+v, want a surge of SURGE", e)
	}
	for _, k := range []string{"expected", "observed", "window", "p_value"} {
		if e.Evidence[k] == "" {
			t.Errorf("evidence has no %s: %v", k, e.Evidence)
		}
	}
	t.Logf("%s %v", e.Message, e.Evidence)
	if again, err := watcher(j, c).Check(context.Background()); err != nil || len(again) != 0 {
		t.Fatalf("second check raised %v (err %v), want nothing", again, err)
	}
	if _, err := j.ResolveException(e.ID, edge.Resolution{By: "sup", Action: "dismissed", Reason: "promotion"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = openJournal(t, path, c)
	defer j.Close()
	c.set(day0.AddDate(0, 0, 50).Add(9 * time.Hour))
	if again, err := watcher(j, c).Check(context.Background()); err != nil || len(again) != 0 {
		t.Fatalf("check after restart raised %v (err %v), want nothing", again, err)
	}
}

// TestRunJudgesOnStartAndStopsWithItsContext: Run raises what a check finds without
// waiting for its interval, and returns when its context ends.
func TestRunJudgesOnStartAndStopsWithItsContext(t *testing.T) {
	c := &clock{}
	j := openJournal(t, filepath.Join(t.TempDir(), "depotd.db"), c)
	defer j.Close()
	history(t, j, c)
	c.set(day0.AddDate(0, 0, 50).Add(8 * time.Hour))
	w := watcher(j, c)
	w.Interval = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.After(10 * time.Second)
	for {
		open, err := j.Exceptions(true, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(open) == 1 && open[0].Kind == edge.ExcConsumptionAnomaly {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("no anomaly exception raised by Run; open: %+v", open)
		case <-j.Committed():
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
