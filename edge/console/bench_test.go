package console_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
	"golang.org/x/sys/unix"
)

// benchEntries and benchRows size the database of BenchmarkPages: the issue asks for pages
// under 50 ms (p99) with 1,000,000 journal entries and 50,000 stock rows.
const (
	benchRows = 50000
	benchLocs = 5
)

func benchEntries() int {
	if v, err := strconv.Atoi(os.Getenv("DEPOTD_BENCH_ENTRIES")); err == nil && v > 0 {
		return v
	}
	return 1000000
}

// fillBench commits n transactions through Journal.Commit (64 writers, so group commit
// batches them) spreading over benchRows ledger rows: items SKU-00000.. at benchLocs
// locations. Every 1000th is a count (an exception), every 97th comes from a station.
func fillBench(b *testing.B, j *edge.Journal, n int) {
	last, _ := j.Positions()
	if int(last) >= n {
		return
	}
	start := time.Now()
	var next atomic.Int64
	next.Store(int64(last))
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1))
				if i > n {
					return
				}
				row := i % benchRows
				tx := edge.Transaction{ID: fmt.Sprintf("bench-%d", i), Type: edge.Receipt, Ref: fmt.Sprintf("PO%06d", i/20),
					Lines: []edge.Line{{Item: fmt.Sprintf("SKU-%05d", row/benchLocs), Qty: edge.QtyFromInt(int64(i%7 + 1)),
						Lot: fmt.Sprintf("L%d", row%3), To: fmt.Sprintf("LOC-%d", row%benchLocs)}}}
				if i%97 == 0 {
					tx.Station, tx.Operator = "dock-1", "olivia"
				}
				if i%1000 == 0 {
					tx.Type, tx.Ref = edge.Count, ""
				}
				if _, _, err := j.Commit(context.Background(), tx); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.Logf("filled %d entries in %s", n, time.Since(start).Round(time.Second))
}

// BenchmarkPages measures each console page over HTTP (a logged-in session, loopback) on a
// database of 1,000,000 journal entries and 50,000 stock rows, and reports p50 and p99.
// Filling takes minutes: set DEPOTD_BENCH_DB to a path to keep and reuse the database, and
// DEPOTD_BENCH_ENTRIES to size it differently.
//
//	DEPOTD_BENCH_DB=/tmp/bench.db go test ./edge/console -run '^$' -bench BenchmarkPages -benchtime 200x
func BenchmarkPages(b *testing.B) {
	n := benchEntries()
	path := os.Getenv("DEPOTD_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
	}
	var locs []edge.Location
	for i := 0; i < benchLocs; i++ {
		locs = append(locs, edge.Location{Name: fmt.Sprintf("LOC-%d", i), Type: edge.LocInternal})
	}
	locs = append(locs, edge.Location{Name: "WH/Stock", Type: edge.LocInternal}, edge.Location{Name: "Van-1", Type: edge.LocMobile})
	cat, err := edge.NewCatalog(locs, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: cat})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	fillBench(b, j, n)
	last, _ := j.Positions()
	if _, err := j.Ack(edge.Ack{UptoSeq: last / 2}); err != nil {
		b.Fatal(err)
	}
	rows, _ := j.Stock(edge.StockFilter{Limit: 1 << 30})
	b.Logf("journal: %d entries, %d stock rows", last, len(rows))

	cfg := testConfig(b)
	s := console.New(cfg, j, console.Options{Version: "bench"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()
	env := &webEnv{url: "http://" + ln.Addr().String(), j: j, srv: s}
	br := logIn(b, env, 1)
	today := time.Now().Format("2006-01-02")
	pages := []struct{ name, path string }{
		{"dashboard", "/"},
		{"journal", "/journal"},
		{"journal-older-page", fmt.Sprintf("/journal?before=%d", last/2)},
		{"journal-item-rare", "/journal?item=SKU-04242"},
		{"journal-station", "/journal?station=dock-1"},
		{"journal-type-count", "/journal?type=count"},
		{"journal-pending-today", "/journal?sync=pending&from=" + today},
		{"journal-entry", fmt.Sprintf("/journal/%d", last/2)},
		{"stock", "/stock"},
		{"stock-item", "/stock?item=SKU-04242"},
		{"stock-location-rare", "/stock?location=Van-1"},
		{"stock-location", "/stock?location=LOC-3"},
		{"exceptions", "/exceptions"},
		{"post-form", "/post"},
		{"devices", "/devices"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				resp, err := br.c.Get(env.url + p.path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = drain(resp)
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", p.path, resp.StatusCode)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			// CPU time per page (server and client, this process) does not depend on how
			// loaded the machine is, unlike the latency percentiles.
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			sort.Slice(lat, func(x, y int) bool { return lat[x] < lat[y] })
			pct := func(q float64) float64 {
				return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}

func drain(resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}

func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
