package edge_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

// The stock views' unacknowledged figures, kept incrementally between views, are always
// what a full replay of the backlog gives: random commits, acks and prunes, each followed
// by a view compared with a view that replays everything.
func TestUnackedFiguresKeptBetweenViewsEqualAFullReplay(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	j := mustOpen(t, nil)
	locs := []string{"WH/Stock", "Van-1"}
	acked := uint64(0)
	for step := 0; step < 400; step++ {
		last, _ := j.Positions()
		switch r := rng.IntN(10); {
		case r < 6:
			l := edge.Line{Item: fmt.Sprintf("I%d", rng.IntN(4)), Qty: edge.QtyFromInt(int64(rng.IntN(5) + 1)),
				Lot: fmt.Sprintf("L%d", rng.IntN(2))}
			tx := edge.Transaction{ID: fmt.Sprintf("t%d", step), Lines: []edge.Line{l}}
			switch rng.IntN(4) {
			case 0:
				tx.Type, tx.Lines[0].To = edge.Receipt, locs[rng.IntN(2)]
			case 1:
				tx.Type, tx.Lines[0].From = edge.Issue, locs[rng.IntN(2)]
			case 2:
				tx.Type, tx.Lines[0].From, tx.Lines[0].To = edge.Transfer, locs[0], locs[1]
			case 3:
				tx.Type, tx.Lines[0].To = edge.Count, locs[rng.IntN(2)]
			}
			mustCommit(t, j, tx)
		case r < 9 && last > acked:
			acked += uint64(rng.IntN(int(last-acked)) + 1)
			if _, err := j.Ack(edge.Ack{UptoSeq: acked}); err != nil {
				t.Fatal(err)
			}
		case r == 9:
			if _, err := j.Prune(time.Now().Add(time.Hour), 1000); err != nil {
				t.Fatal(err)
			}
		}
		got, err := j.Stock(edge.StockFilter{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := j.StockReplayed(edge.StockFilter{})
		if err != nil {
			t.Fatal(err)
		}
		// Compared as printed: an exact zero reached by subtraction need not be the
		// zero value, and what a view shows is the number.
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Fatalf("step %d (acked %d, last %d): kept figures\n%+v\nfull replay\n%+v", step, acked, last, got, want)
		}
	}
}
