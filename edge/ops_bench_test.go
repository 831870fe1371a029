package edge_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	bolt "go.etcd.io/bbolt"
)

// benchTxs is the size of the benchmark database. DEPOTD_BENCH_TXS overrides it for a
// quick run (the goals are stated for 1,000,000).
func benchTxs() int {
	if v := os.Getenv("DEPOTD_BENCH_TXS"); v != "" {
		var n int
		fmt.Sscan(v, &n)
		if n > 0 {
			return n
		}
	}
	return 1_000_000
}

var genOnce sync.Once

// bigJournal returns a database of benchTxs() committed transactions, dated a year ago,
// built once through Commit (so it is exactly what depotd writes) and cached in the temp
// dir across runs.
func bigJournal(b *testing.B) string {
	n := benchTxs()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("depotd-bench-%d.db", n))
	genOnce.Do(func() {
		if _, err := os.Stat(path); err == nil {
			return
		}
		tmp := path + ".tmp"
		os.Remove(tmp)
		old := time.Now().Add(-365 * 24 * time.Hour)
		j, err := edge.Open(tmp, edge.Options{Depot: "D1", Catalog: mustCatalog(b, nil), Now: func() time.Time { return old }})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 256; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1))
					if i > n {
						return
					}
					tx := edge.Transaction{ID: txID("big", i), Type: edge.Receipt,
						Lines: []edge.Line{line(fmt.Sprintf("SKU-%d", i%500), "3", "", "WH/Stock")}}
					if _, _, err := j.Commit(context.Background(), tx); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err := j.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		os.Remove(edge.WALPath(tmp)) // Close checkpointed everything
		st, _ := os.Stat(path)
		b.Logf("built %d transactions (%d MiB) in %s", n, st.Size()>>20, time.Since(start).Round(time.Second))
	})
	if b.Failed() {
		b.FailNow()
	}
	return path
}

func copyDBFile(b *testing.B, src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpenBig measures edge.Open of the 1,000,000-transaction database (bbolt open with
// NoFreelistSync, which rebuilds the freelist by scanning, plus the journal's init and the
// first quota measurement) followed by what /healthz reads (Status). The goal is under 1 s.
// The freelist-synced variant opens the same data with NoFreelistSync false, for comparison.
//
//	go test ./edge -run '^$' -bench BenchmarkOpenBig -benchtime 5x
func BenchmarkOpenBig(b *testing.B) {
	src := bigJournal(b)
	b.Run("journal-NoFreelistSync", func(b *testing.B) {
		var total time.Duration
		n := 0
		for b.Loop() {
			start := time.Now()
			j, err := edge.Open(src, edge.Options{Depot: "D1", Catalog: mustCatalog(b, nil), MaxDBSize: 4 << 30})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := j.Status(); err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
			n++
			j.Close()
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(n), "ms-to-healthy")
	})
	for _, noSync := range []bool{true, false} {
		b.Run(fmt.Sprintf("bbolt-only-NoFreelistSync=%v", noSync), func(b *testing.B) {
			path := src
			if !noSync {
				// A database written without a freelist gets one on its first open with
				// NoFreelistSync false; open a copy once so that the loop reads it.
				path = filepath.Join(b.TempDir(), "synced.db")
				copyDBFile(b, src, path)
				db, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
				if err != nil {
					b.Fatal(err)
				}
				db.Close()
			}
			for b.Loop() {
				db, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: noSync})
				if err != nil {
					b.Fatal(err)
				}
				db.Close()
			}
		})
	}
}

// BenchmarkPruneBigWhilePosting prunes every transaction of the 1,000,000-transaction
// database (all acknowledged and in the ERP's snapshot, a year old) the way RunRetention
// does (PruneExpired, default batch) while 8 writers keep posting, and reports the
// writers' latency percentiles (goal: p99 under 20 ms) and the pruning rate. The baseline
// sub-benchmark posts for as long without pruning, on the same database, so that the
// figures can be read on a loaded machine.
//
//	go test ./edge -run '^$' -bench BenchmarkPruneBigWhilePosting -benchtime 1x
func BenchmarkPruneBigWhilePosting(b *testing.B) {
	src := bigJournal(b)
	var pruneTook time.Duration
	for _, mode := range []string{"pruning", "baseline"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "prune.db")
				copyDBFile(b, src, path)
				j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: mustCatalog(b, nil), MaxDBSize: 4 << 30})
				if err != nil {
					b.Fatal(err)
				}
				last, _ := j.Positions()
				if _, err := j.Ack(edge.Ack{UptoSeq: last}); err != nil {
					b.Fatal(err)
				}
				if err := j.ApplyStockSnapshot(edge.StockSnapshot{V: 1, AppliedSeq: last}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				ctx, cancel := context.WithCancel(context.Background())
				var mu sync.Mutex
				var lat []time.Duration
				var wg sync.WaitGroup
				for w := 0; w < 8; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; ctx.Err() == nil; i++ {
							t0 := time.Now()
							if _, _, err := j.Commit(context.Background(), receipt(fmt.Sprintf("live-%d-%d", w, i), "")); err != nil {
								b.Error(err)
								return
							}
							d := time.Since(t0)
							mu.Lock()
							lat = append(lat, d)
							mu.Unlock()
						}
					}()
				}
				start := time.Now()
				pruned := 0
				if mode == "pruning" {
					_, pruned, err = j.PruneExpired(context.Background(), time.Now().Add(-edge.DefaultRetention), edge.DefaultPruneBatch)
					if err != nil {
						b.Fatal(err)
					}
					pruneTook = time.Since(start)
				} else {
					time.Sleep(pruneTook)
				}
				cancel()
				wg.Wait()
				b.StopTimer()
				if mode == "pruning" && pruned != int(last) {
					b.Fatalf("pruned %d of %d", pruned, last)
				}
				sort.Slice(lat, func(x, y int) bool { return lat[x] < lat[y] })
				pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
				b.ReportMetric(pct(0.50), "post-p50-ms")
				b.ReportMetric(pct(0.99), "post-p99-ms")
				b.ReportMetric(pct(1), "post-max-ms")
				b.ReportMetric(float64(len(lat)), "posted")
				if mode == "pruning" {
					b.ReportMetric(float64(pruned)/pruneTook.Seconds(), "pruned/s")
					b.ReportMetric(pruneTook.Seconds(), "prune-s")
					if probs := j.Check(); len(probs) > 0 {
						b.Fatalf("check after pruning: %v", probs)
					}
				}
				j.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkCommitAfterPruneFreelist is the other side of the NoFreelistSync trade-off:
// after pruning leaves the big database's pages free, every commit with NoFreelistSync
// false also writes the whole freelist. It deletes every transaction of a copy (bbolt
// directly, big batches) and then times small commits both ways.
//
//	go test ./edge -run '^$' -bench BenchmarkCommitAfterPruneFreelist -benchtime 200x
func BenchmarkCommitAfterPruneFreelist(b *testing.B) {
	src := bigJournal(b)
	path := filepath.Join(b.TempDir(), "pruned.db")
	copyDBFile(b, src, path)
	db, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		b.Fatal(err)
	}
	for {
		n := 0
		err := db.Update(func(btx *bolt.Tx) error {
			c := btx.Bucket([]byte("tx")).Cursor()
			var keys [][]byte
			for k, _ := c.First(); k != nil && len(keys) < 50000; k, _ = c.Next() {
				keys = append(keys, append([]byte(nil), k...))
			}
			for _, k := range keys {
				if err := btx.Bucket([]byte("tx")).Delete(k); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	db.Close()
	for _, noSync := range []bool{true, false} {
		b.Run(fmt.Sprintf("NoFreelistSync=%v", noSync), func(b *testing.B) {
			db, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: noSync})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			var free int
			db.View(func(*bolt.Tx) error { return nil })
			free = db.Stats().FreePageN
			var i uint64
			for b.Loop() {
				i++
				if err := db.Update(func(btx *bolt.Tx) error {
					return btx.Bucket([]byte("meta")).Put([]byte("bench"), []byte(fmt.Sprint(i)))
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(free), "free-pages")
		})
	}
}
