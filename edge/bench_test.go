package edge_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

// rawFsync appends 512 bytes to a file and fsyncs it, n times, and returns the time taken:
// the baseline that journal commits are compared with, on the same disk.
type rawFsync struct{ f *os.File }

func newRawFsync(tb testing.TB) *rawFsync {
	f, err := os.Create(filepath.Join(tb.TempDir(), "raw"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return &rawFsync{f}
}

func (r *rawFsync) run(tb testing.TB, n int) time.Duration {
	buf := make([]byte, 512)
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := r.f.Write(buf); err != nil {
			tb.Fatal(err)
		}
		if err := r.f.Sync(); err != nil {
			tb.Fatal(err)
		}
	}
	return time.Since(start)
}

// BenchmarkCommit measures journal commits with 1 and with 16 concurrent writers against raw
// append+fsync on the same disk; tx/commit is transactions per WAL write. The two are
// interleaved in short rounds so that other load on the machine affects both alike; the
// ratio is reported as x-raw-fsync.
//
//	go test ./edge -run '^$' -bench '^BenchmarkCommit$' -benchtime 20000x
func BenchmarkCommit(b *testing.B) {
	for _, writers := range []int{1, 16} {
		b.Run(fmt.Sprintf("journal-%d-writers", writers), func(b *testing.B) {
			// Checkpoints come only from the WAL's size bounds, as under continuous load:
			// an idle or age checkpoint would otherwise fall into a raw round and slow the
			// baseline. Every checkpoint, and a final one, counts in the journal's time.
			j := mustOpenAt(b, filepath.Join(b.TempDir(), "depotd.db"), edge.Options{
				CheckpointIdle: time.Hour, CheckpointEvery: time.Hour})
			raw := newRawFsync(b)
			var next atomic.Int64
			var journalTime, rawTime time.Duration
			rawN := 0
			round := 32 * writers
			b.ResetTimer()
			for done := 0; done < b.N; done += round {
				n := min(round, b.N-done)
				start := time.Now()
				var wg sync.WaitGroup
				var left atomic.Int64
				left.Store(int64(n))
				for w := 0; w < writers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for left.Add(-1) >= 0 {
							i := next.Add(1)
							_, _, err := j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("tx-%d", i), Type: edge.Receipt,
								Ref: "PO0042", Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("12"), Lot: "L1", Expiry: "2027-01-31", To: "WH/Stock"}}})
							if err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				journalTime += time.Since(start)
				rawTime += raw.run(b, 32)
				rawN += 32
			}
			start := time.Now()
			if _, err := j.Status(); err != nil { // a read checkpoints what the WAL holds
				b.Fatal(err)
			}
			journalTime += time.Since(start)
			b.StopTimer()
			commitRate := float64(b.N) / journalTime.Seconds()
			rawRate := float64(rawN) / rawTime.Seconds()
			b.ReportMetric(commitRate, "commits/s")
			b.ReportMetric(rawRate, "raw-fsyncs/s")
			b.ReportMetric(commitRate/rawRate, "x-raw-fsync")
			if commits, txs := j.Stats(); commits > 0 {
				b.ReportMetric(float64(txs)/float64(commits), "tx/commit")
			}
		})
	}
}
