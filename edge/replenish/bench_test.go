package replenish_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/replenish"
)

// BenchmarkCommitBesideProposer measures 16 concurrent writers committing to a journal
// that a proposer with 200 satisfied rules watches (as depotd runs it: woken by checkpoints, at
// most once per MinGap) against the same on a journal nobody watches, in interleaved
// rounds (alternating which goes first) so that other load on the machine affects both
// alike. time-x-unwatched is the watched journal's time over the unwatched one's: 1 means
// the proposer costs the commit path nothing.
//
//	go test ./edge/replenish -run '^$' -bench CommitBesideProposer -benchtime 20000x
func BenchmarkCommitBesideProposer(b *testing.B) {
	const writers = 16
	open := func() *edge.Journal {
		j, err := edge.Open(filepath.Join(b.TempDir(), "depotd.db"), edge.Options{Depot: "D1", Catalog: catalog(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { j.Close() })
		return j
	}
	watched, alone := open(), open()
	var cfg replenish.Config
	for i := range 200 {
		cfg.Rules = append(cfg.Rules, replenish.Rule{Item: fmt.Sprintf("SKU-%d", i), Location: "WH/Stock",
			Min: edge.QtyFromInt(0), Max: edge.QtyFromInt(10)})
	}
	cfg.ApplyDefaults(catalog(b))
	p := replenish.NewProposer(watched, cfg, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var next atomic.Int64
	round := func(j *edge.Journal, n int) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		var left atomic.Int64
		left.Store(int64(n))
		for range writers {
			wg.Go(func() {
				for left.Add(-1) >= 0 {
					i := next.Add(1)
					_, _, err := j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("tx-%d", i), Type: edge.Receipt,
						Lines: []edge.Line{{Item: fmt.Sprintf("SKU-%d", i%200), Qty: edge.QtyFromInt(1), To: "WH/Stock"}}})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	var tw, ta time.Duration
	b.ResetTimer()
	for doneN := 0; doneN < b.N; doneN += 2 * 32 * writers {
		n := min(32*writers, (b.N-doneN+1)/2)
		if doneN%(4*32*writers) == 0 {
			tw += round(watched, n)
			ta += round(alone, n)
		} else {
			ta += round(alone, n)
			tw += round(watched, n)
		}
	}
	b.StopTimer()
	b.ReportMetric(tw.Seconds()/ta.Seconds(), "time-x-unwatched")
}
