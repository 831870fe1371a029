package station_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

// BenchmarkScanToCommit measures what an operator waits for at CMD:VALIDATE: from the
// moment the scan's bytes are written to the scanner's pty until the transaction is
// fsynced in the journal, through the serial driver, the supervisor, the station queue and
// the journal's commit. Each iteration first scans a product (not timed) so that the
// document has a line. Run it as the issue asks, over 10,000 scans:
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
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
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
		lat = append(lat, time.Since(t0))
		if ev := r.next(b); ev.Seq == 0 {
			b.Fatalf("validate: %+v", ev)
		}
	}
	b.StopTimer()
	reportQuantiles(b, lat)
}

// BenchmarkCommitFloor is the floor under BenchmarkScanToCommit on the same machine: the
// journal's own commit of an equivalent one-line receipt (two fdatasyncs), without the
// scanner, the driver or the station.
func BenchmarkCommitFloor(b *testing.B) {
	d := mustDepotNow(b, mustFixture(b), time.Now)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx := edge.Transaction{ID: fmt.Sprintf("floor-%d", i), Type: edge.Receipt, Source: "station",
			Lines: []edge.Line{{Item: "WATER", Qty: edge.QtyFromInt(1), To: "WH/Input"}}}
		t0 := time.Now()
		if _, _, err := d.J.Commit(ctx, tx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportQuantiles(b, lat)
}

func reportQuantiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
}
