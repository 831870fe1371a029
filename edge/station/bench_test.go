package station_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"golang.org/x/sys/unix"
)

// benchRound is how many transactions a journal round commits before a raw round of as
// many 512 B append+fdatasyncs on the same disk: interleaved, so that other load on the
// machine slows both alike.
const benchRound = 32

// interleaved runs b.N transactions through commit (which returns the latency the
// operator waits for) in rounds of benchRound, each followed by a raw round, and reports
// tx/s (transactions over the journal rounds' wall time, untimed parts included),
// p50/p99/max latency, the ratio against raw appends, and the CPU the process used per
// transaction during the journal rounds (getrusage: the test binary's own goroutines, the
// pty reader included).
func interleaved(b *testing.B, j *edge.Journal, commit func(i int) time.Duration) {
	raw, err := os.Create(filepath.Join(b.TempDir(), "raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	buf := make([]byte, 512)
	lat := make([]time.Duration, 0, b.N)
	var journal, rawTime, cpu time.Duration
	rawN := 0
	ckpt0 := j.Checkpoints()
	b.ResetTimer()
	for done := 0; done < b.N; done += benchRound {
		n := min(benchRound, b.N-done)
		cpu0, t0 := cpuTime(b), time.Now()
		for i := done; i < done+n; i++ {
			lat = append(lat, commit(i))
		}
		journal += time.Since(t0)
		cpu += cpuTime(b) - cpu0
		t0 = time.Now()
		for range benchRound {
			if _, err := raw.Write(buf); err != nil {
				b.Fatal(err)
			}
			if err := unix.Fdatasync(int(raw.Fd())); err != nil {
				b.Fatal(err)
			}
		}
		rawTime += time.Since(t0)
		rawN += benchRound
	}
	b.StopTimer()
	txRate, rawRate := float64(b.N)/journal.Seconds(), float64(rawN)/rawTime.Seconds()
	b.ReportMetric(txRate, "tx/s")
	b.ReportMetric(rawRate, "raw-fsyncs/s")
	b.ReportMetric(txRate/rawRate, "x-raw-fsync")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/tx")
	b.ReportMetric(float64(j.Checkpoints()-ckpt0)/float64(b.N), "checkpoints/tx")
	reportQuantiles(b, lat)
}

func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScanToCommit measures the station path: from the moment CMD:VALIDATE's bytes
// are written to the scanner's pty until the transaction is fsynced in the journal,
// through the serial driver, the supervisor, the station queue and the journal's commit
// (the latency an operator waits for). Each transaction first scans a product, outside
// the latency but inside tx/s and CPU. Run it as the issue asks, over 10,000 scans:
//
//	go test -run XXX -bench ScanToCommit -benchtime 10000x ./edge/station
func BenchmarkScanToCommit(b *testing.B) {
	r := mustRig(b)
	stop := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		// The beeps go back to the scanner; a real one consumes them, so does this.
		defer close(drained)
		buf := make([]byte, 256)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = r.scanner.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			_, _ = r.scanner.Read(buf)
		}
	}()
	defer func() { close(stop); <-drained }()
	if ev := r.scan(b, "OP:alice"); ev.Result != "accepted" {
		b.Fatalf("login: %+v", ev)
	}
	interleaved(b, r.d.J, func(i int) time.Duration {
		if ev := r.scan(b, "4006381333931"); ev.Result != "accepted" {
			b.Fatalf("product: %+v", ev)
		}
		committed := r.d.J.Committed()
		t0 := time.Now()
		if err := r.scanner.Scan("", "CMD:VALIDATE"); err != nil {
			b.Fatal(err)
		}
		select {
		case <-committed:
		case <-time.After(30 * time.Second):
			b.Fatalf("scan %d: no commit; station said %+v", i, r.next(b))
		}
		d := time.Since(t0)
		if ev := r.next(b); ev.Seq == 0 {
			b.Fatalf("validate: %+v", ev)
		}
		return d
	})
}

// BenchmarkCommitFloor is the floor under BenchmarkScanToCommit on the same machine: the
// journal's own commit of an equivalent one-line receipt, without the scanner, the driver
// or the station.
func BenchmarkCommitFloor(b *testing.B) {
	d := mustDepotNow(b, mustFixture(b), time.Now)
	ctx := context.Background()
	interleaved(b, d.J, func(i int) time.Duration {
		tx := edge.Transaction{ID: fmt.Sprintf("floor-%d", i), Type: edge.Receipt, Source: "station",
			Lines: []edge.Line{{Item: "WATER", Qty: edge.QtyFromInt(1), To: "WH/Input"}}}
		t0 := time.Now()
		if _, _, err := d.J.Commit(ctx, tx); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	})
}

func reportQuantiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
}
