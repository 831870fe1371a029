package edge_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

// BenchmarkStockViewUnacked measures a stock page (200 rows) over a backlog of 20,000
// unacknowledged transactions, with one new transaction committed before each view (an
// outage with a busy dock): "kept" moves the figures kept between views forward, "replay"
// replays the whole backlog per view, as every view did before. The two alternate in
// rounds on the same journal; the ratio is reported as x-faster.
//
//	go test ./edge -run '^$' -bench BenchmarkStockViewUnacked -benchtime 200x
func BenchmarkStockViewUnacked(b *testing.B) {
	j := mustOpen(b, nil)
	ctx := context.Background()
	const backlog = 20000
	seq := 0
	commit := func() {
		seq++
		tx := edge.Transaction{ID: fmt.Sprintf("t%d", seq), Type: edge.Receipt,
			Lines: []edge.Line{{Item: fmt.Sprintf("SKU-%04d", seq%3000), Qty: edge.QtyFromInt(int64(seq%7 + 1)), Lot: fmt.Sprintf("L%d", seq%3), To: "WH/Stock"}}}
		if _, _, err := j.Commit(ctx, tx); err != nil {
			b.Fatal(err)
		}
	}
	for seq < backlog {
		commit()
	}
	view := func(replay bool) time.Duration {
		commit()
		if replay {
			j.DropUnackedCache()
		}
		t0 := time.Now()
		page, err := j.StockQuery(edge.StockFilter{}, "")
		if err != nil || len(page.Rows) == 0 {
			b.Fatalf("stock page: %d rows, %v", len(page.Rows), err)
		}
		return time.Since(t0)
	}
	view(false) // the first view after Open replays the backlog once
	var kept, replay time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		kept += view(false)
		replay += view(true)
	}
	b.StopTimer()
	b.ReportMetric(float64(kept.Microseconds())/1000/float64(b.N), "kept-ms/view")
	b.ReportMetric(float64(replay.Microseconds())/1000/float64(b.N), "replay-ms/view")
	b.ReportMetric(float64(replay)/float64(kept), "x-faster")
}
