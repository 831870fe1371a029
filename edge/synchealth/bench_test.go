package synchealth_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/synchealth"
)

// BenchmarkReport builds a report over a window of 20,000 transactions (every one
// acknowledged) that follows 5,000 older ones, and reports the cost per transaction of
// the window (the older ones cost a binary search).
func BenchmarkReport(b *testing.B) {
	clk := &clock{t: now.AddDate(0, 0, -60)}
	j, err := edge.Open(filepath.Join(b.TempDir(), "depotd.db"), edge.Options{Depot: "D7", Catalog: cat, Now: clk.now})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	const older, window = 5_000, 20_000
	step := func(n int, span time.Duration) time.Duration { return span / time.Duration(n) }
	commit := func(i int) {
		tx, _, err := j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("b%06d", i), Type: edge.Receipt,
			Lines: []edge.Line{{Item: fmt.Sprintf("SKU-%02d", i%40), Qty: edge.QtyFromInt(1), To: "WH/Stock"}}})
		if err != nil {
			b.Fatal(err)
		}
		if i%4 == 3 {
			if _, err := j.Ack(edge.Ack{UptoSeq: tx.Seq}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range older {
		commit(i)
		clk.t = clk.t.Add(step(older, 29*24*time.Hour))
	}
	clk.t = now.AddDate(0, 0, -28)
	for i := range window {
		commit(older + i)
		clk.t = clk.t.Add(step(window, 27*24*time.Hour))
	}
	b.ResetTimer()
	for range b.N {
		r, err := synchealth.Build(context.Background(), j, now, time.UTC)
		if err != nil {
			b.Fatal(err)
		}
		if r.Classes["all"].Transactions != window {
			b.Fatalf("%d transactions in the window, want %d", r.Classes["all"].Transactions, window)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/window, "ns/window-tx")
}
