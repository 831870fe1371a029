package replenish_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/replenish"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func catalog(t testing.TB) *edge.Catalog {
	t.Helper()
	cat, err := edge.NewCatalog([]edge.Location{
		{Name: "WH/Stock", Type: edge.LocInternal},
		{Name: "Van-1", Type: edge.LocMobile},
		{Name: "Transit", Type: edge.LocTransit},
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func open(t *testing.T, path string) *edge.Journal {
	t.Helper()
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: catalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

var n int

// move commits one transaction and reads the stock once, which checkpoints: the
// proposer reads what the last checkpoint holds.
func move(t *testing.T, j *edge.Journal, typ edge.TxType, l edge.Line) {
	t.Helper()
	n++
	if _, _, err := j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("tx-%d", n), Type: typ, Lines: []edge.Line{l}}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Stock(edge.StockFilter{}); err != nil {
		t.Fatal(err)
	}
}

func config(t *testing.T) replenish.Config {
	cfg := replenish.Config{Rules: []replenish.Rule{
		{Item: "A", Location: "WH/Stock", Min: edge.QtyFromInt(10), Max: edge.QtyFromInt(50), Multiple: edge.QtyFromInt(12)},
		{Item: "A", Location: "Van-1", Min: edge.QtyFromInt(2), Max: edge.QtyFromInt(6)},
	}}
	cfg.ApplyDefaults(catalog(t))
	var probs []string
	cfg.Check("replenishment", catalog(t), func(k, m string) { probs = append(probs, k+": "+m) })
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	return cfg
}

func proposer(j replenish.Journal, cfg replenish.Config) *replenish.Proposer {
	return replenish.NewProposer(j, cfg, slog.New(slog.DiscardHandler))
}

// TestBelowMinimumProposesUpToMaximumRoundedToTheMultipleOnceUntilStockRecovers: a
// location below its minimum gets one proposal for max − available rounded up to the
// multiple, from its source; further passes and a restart add none; stock back at the
// minimum closes it, and the next dip raises a new one. A van is replenished from the
// depot's internal location.
func TestBelowMinimumProposesUpToMaximumRoundedToTheMultipleOnceUntilStockRecovers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := open(t, path)
	cfg := config(t)
	move(t, j, edge.Receipt, edge.Line{Item: "A", Qty: edge.QtyFromInt(30), To: "WH/Stock"})
	move(t, j, edge.Transfer, edge.Line{Item: "A", Qty: edge.QtyFromInt(3), From: "WH/Stock", To: "Van-1"})
	if raised, err := proposer(j, cfg).Check(); err != nil || len(raised) != 0 {
		t.Fatalf("above every minimum: raised %+v, %v", raised, err)
	}
	move(t, j, edge.Issue, edge.Line{Item: "A", Qty: edge.QtyFromInt(22), From: "WH/Stock"})
	move(t, j, edge.Issue, edge.Line{Item: "A", Qty: edge.QtyFromInt(2), From: "Van-1"})
	raised, err := proposer(j, cfg).Check()
	if err != nil || len(raised) != 2 {
		t.Fatalf("raised %+v, %v; want two proposals", raised, err)
	}
	wh, van := raised[0], raised[1]
	// 50 − 5 = 45, rounded up to 12: 48.
	if wh.Location != "WH/Stock" || wh.Qty.String() != "48" || wh.Available.String() != "5" || wh.Source != replenish.SourceCentral {
		t.Errorf("depot proposal %+v, want 48 from central at available 5", wh)
	}
	// 6 − 1 = 5, a multiple of the default 1.
	if van.Location != "Van-1" || van.Qty.String() != "5" || van.Source != "WH/Stock" {
		t.Errorf("van proposal %+v, want 5 from WH/Stock", van)
	}
	if again, err := proposer(j, cfg).Check(); err != nil || len(again) != 0 {
		t.Fatalf("second pass raised %+v, %v", again, err)
	}
	if _, err := j.DecideProposal(wh.ID, edge.ProposalEvent{By: "sup", Action: edge.ProposalDismiss, Reason: "order placed by phone"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = open(t, path)
	defer j.Close()
	if again, err := proposer(j, cfg).Check(); err != nil || len(again) != 0 {
		t.Fatalf("after restart and dismissal, a pass raised %+v, %v", again, err)
	}
	move(t, j, edge.Receipt, edge.Line{Item: "A", Qty: edge.QtyFromInt(5), To: "WH/Stock"})
	if _, err := proposer(j, cfg).Check(); err != nil {
		t.Fatal(err)
	}
	if p, _ := j.GetProposal(wh.ID); p.State != edge.ProposalClosed {
		t.Fatalf("proposal at minimum is %s, want closed", p.State)
	}
	move(t, j, edge.Issue, edge.Line{Item: "A", Qty: edge.QtyFromInt(1), From: "WH/Stock"})
	raised, err = proposer(j, cfg).Check()
	if err != nil || len(raised) != 1 || raised[0].ID == wh.ID || raised[0].Qty.String() != "48" {
		t.Fatalf("next dip raised %+v, %v; want one new proposal of 48 (50 − 9, rounded up to 12)", raised, err)
	}
}

// TestRunProposesAfterACheckpointAndStopsWithItsContext: Run needs no explicit pass: a
// commit that takes stock below the minimum is proposed once it is checkpointed.
func TestRunProposesAfterACheckpointAndStopsWithItsContext(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "depotd.db"))
	defer j.Close()
	p := proposer(j, config(t))
	p.MinGap = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	move(t, j, edge.Receipt, edge.Line{Item: "A", Qty: edge.QtyFromInt(4), To: "WH/Stock"})
	deadline := time.After(10 * time.Second)
	for {
		list, err := j.Proposals(true, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 2 {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("Run raised %+v, want two proposals", list)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestConfigRefusesRulesThatCannotWork: every broken rule is reported with its key.
func TestConfigRefusesRulesThatCannotWork(t *testing.T) {
	q := edge.QtyFromInt
	cfg := replenish.Config{Rules: []replenish.Rule{
		{Location: "WH/Stock", Min: q(1), Max: q(2)},
		{Item: "A", Location: "Nowhere", Min: q(1), Max: q(2)},
		{Item: "A", Location: "Transit", Min: q(1), Max: q(2)},
		{Item: "B", Location: "WH/Stock", Min: q(5), Max: q(2), Multiple: q(-1)},
		{Item: "B", Location: "WH/Stock", Min: q(-1), Max: q(2), Source: "WH/Stock"},
		{Item: "C", Location: "Van-1", Min: q(1), Max: q(2), Source: "Mars"},
	}}
	cfg.ApplyDefaults(catalog(t))
	var got []string
	cfg.Check("replenishment", catalog(t), func(k, m string) { got = append(got, k+": "+m) })
	want := []string{
		"replenishment.rules[0].item: required",
		`replenishment.rules[1].location: unknown location "Nowhere"`,
		`replenishment.rules[2].location: "Transit" is a transit location`,
		"replenishment.rules[3].max: 2: must be above zero and at least min (5)",
		"replenishment.rules[3].multiple: -1: must be above zero",
		"replenishment.rules[4]: a second rule for B at WH/Stock",
		"replenishment.rules[4].min: -1: must not be negative",
		"replenishment.rules[4].source: a location cannot replenish itself",
		`replenishment.rules[5].source: "Mars": neither "central" nor a location`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d: %q, want it to start with %q", i, got[i], want[i])
		}
	}
}

// TestQuantityIsMaximumMinusAvailableRoundedUpToTheMultipleExactly, as Odoo's orderpoint
// rounds: fractional multiples and negative local stock included.
func TestQuantityIsMaximumMinusAvailableRoundedUpToTheMultipleExactly(t *testing.T) {
	for _, c := range []struct{ max, multiple, avail, want string }{
		{"50", "12", "5", "48"},
		{"50", "12", "2", "48"},
		{"50", "12", "1", "60"},
		{"10", "0.5", "2.5", "7.5"},
		{"10", "0.5", "2.6", "7.5"},
		{"10", "3", "-4", "15"},
		{"0.3", "0.1", "0", "0.3"},
	} {
		r := replenish.Rule{Max: edge.MustQty(c.max), Multiple: edge.MustQty(c.multiple)}
		if got := r.Quantity(edge.MustQty(c.avail)); got.String() != c.want {
			t.Errorf("max %s multiple %s available %s: %s, want %s", c.max, c.multiple, c.avail, got, c.want)
		}
	}
}
