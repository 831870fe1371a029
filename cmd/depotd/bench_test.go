package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"golang.org/x/sys/unix"
)

const (
	benchToken = "bench-operator-token-0001"
	benchItems = 5000
)

// BenchmarkHTTPIngest measures the whole HTTP path: a depotd wired as `depotd run` wires it
// (openDaemon, d.run, info-level text log to a file) on a temporary data dir holding the
// item master data of a mid-sized depot (5,000 SKUs), and 1 or 16
// keep-alive HTTP clients on loopback, each posting one transaction per request to
// POST /api/v1/transactions and waiting for its durable answer. Rounds of requests are
// interleaved with raw rounds on the same disk, so that other load on the machine slows
// both alike: for 1 client, 512 B append+fdatasync; for 16, a perfect group commit (16
// goroutines appending 512 B each, one fdatasync per batch of whatever is waiting).
//
// Reported: tx/s and raw-ops/s, their ratio x-raw, p50 and p99 latency of the requests, and
// CPU µs per transaction of the server alone (getrusage RUSAGE_SELF, user+sys, over the HTTP
// rounds only): the clients are fasthttp's, in a child process (the test binary run again
// as a load generator, see loadGen), whose own CPU per transaction is reported beside it as
// client-cpu-µs/tx.
//
//	go test ./cmd/depotd -run '^$' -bench '^BenchmarkHTTPIngest$' -benchtime 10000x
func BenchmarkHTTPIngest(b *testing.B) {
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients-%d", clients), func(b *testing.B) { benchHTTPIngest(b, clients) })
	}
}

func benchHTTPIngest(b *testing.B, clients int) {
	dir := b.TempDir()
	cfgPath := filepath.Join(dir, "depotd.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`depot: {id: BENCH}
data_dir: %s
console:
  listen: "127.0.0.1:0"
  api_tokens: [{name: bench, token: %q, role: operator}]
locations:
  - {name: WH/Input, type: internal}
  - {name: WH/Stock, type: internal}
`, filepath.Join(dir, "data"), benchToken)), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "depotd.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	log, err := newLogger(logf, "info", "text") // as `depotd run` with its defaults
	if err != nil {
		b.Fatal(err)
	}
	d, err := openDaemon(cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	// The item master data of a mid-sized depot (benchItems SKUs, each with a barcode), as
	// the ERP sends it: every posted item is known, so no transaction raises an exception.
	var mi edge.MasterItems
	mi.V, mi.Version = 1, "bench"
	for i := 0; i < benchItems; i++ {
		mi.Items = append(mi.Items, edge.Item{SKU: fmt.Sprintf("SKU-%04d", i), Name: fmt.Sprintf("Article %d, carton", i),
			UoM: "Units", Barcodes: []string{fmt.Sprintf("0400000%06d", i)}})
	}
	payload, err := json.Marshal(mi)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.journal.PutMaster(edge.MasterKindItems, payload); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	addr := d.ln.Addr().String()
	lg := startLoadGen(b, addr, clients)
	raw := newRawDisk(b, filepath.Join(dir, "raw")) // the same disk as the data dir

	lat := make([]time.Duration, 0, b.N)
	var httpTime, rawTime, cpu, clientCPU time.Duration
	rawOps := 0
	round := 32 * clients
	b.ResetTimer()
	for doneN := 0; doneN < b.N; doneN += round {
		n := min(round, b.N-doneN)
		cpu0 := cpuSelf(b)
		start := time.Now()
		res := lg.round(b, n)
		httpTime += time.Since(start)
		cpu += cpuSelf(b) - cpu0
		clientCPU += res.cpu
		lat = append(lat, res.lat...)
		if clients == 1 {
			rawTime += raw.appendSync(b, 32)
			rawOps += 32
		} else {
			rawTime += raw.groupCommit(b, clients, 32*clients)
			rawOps += 32 * clients
		}
	}
	b.StopTimer()
	txRate := float64(b.N) / httpTime.Seconds()
	rawRate := float64(rawOps) / rawTime.Seconds()
	sort.Slice(lat, func(x, y int) bool { return lat[x] < lat[y] })
	pct := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(txRate, "tx/s")
	b.ReportMetric(rawRate, "raw-ops/s")
	b.ReportMetric(txRate/rawRate, "x-raw")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(b.N), "cpu-µs/tx")
	b.ReportMetric(float64(clientCPU.Nanoseconds())/1000/float64(b.N), "client-cpu-µs/tx")
	if commits, txs := d.journal.Stats(); commits > 0 {
		b.ReportMetric(float64(txs)/float64(commits), "tx/commit")
	}
}

func cpuSelf(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusageSelf is cpuSelf for the load generator, which has no testing.TB: getrusage of
// oneself cannot fail but with a bad argument.
func rusageSelf() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawDisk is the baseline: 512 B records appended to a file and fdatasynced.
type rawDisk struct{ f *os.File }

func newRawDisk(tb testing.TB, path string) *rawDisk {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return &rawDisk{f}
}

// appendSync appends n records, one fdatasync each.
func (r *rawDisk) appendSync(tb testing.TB, n int) time.Duration {
	buf := make([]byte, 512)
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := r.f.Write(buf); err != nil {
			tb.Fatal(err)
		}
		if err := unix.Fdatasync(int(r.f.Fd())); err != nil {
			tb.Fatal(err)
		}
	}
	return time.Since(start)
}

// groupCommit is a perfect group commit: writers goroutines each append a 512 B record and
// wait until it is durable, n records in all; one syncer writes everything waiting as one
// write and fdatasyncs it once, and nothing else is done per record.
func (r *rawDisk) groupCommit(tb testing.TB, writers, n int) time.Duration {
	type req struct{ done chan struct{} }
	reqs := make(chan req, writers)
	var left atomic.Int64
	left.Store(int64(n))
	start := time.Now()
	syncerDone := make(chan struct{})
	go func() {
		defer close(syncerDone)
		buf := make([]byte, 0, 512*writers)
		var batch []req
		for first := range reqs {
			batch = append(batch[:0], first)
		more:
			for {
				select {
				case q, ok := <-reqs:
					if !ok {
						break more
					}
					batch = append(batch, q)
				default:
					break more
				}
			}
			buf = buf[:512*len(batch)]
			if _, err := r.f.Write(buf); err != nil {
				tb.Error(err)
			}
			if err := unix.Fdatasync(int(r.f.Fd())); err != nil {
				tb.Error(err)
			}
			for _, q := range batch {
				close(q.done)
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				q := req{make(chan struct{})}
				reqs <- q
				<-q.done
			}
		}()
	}
	wg.Wait()
	close(reqs)
	<-syncerDone
	return time.Since(start)
}
