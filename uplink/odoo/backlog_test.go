package odoo_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// backlogSize is the outage backlog TestADepotsBacklogDrainsIntoOdooOnceAfterAnOutage
// drains: DEPOTD_BACKLOG receipts (the figure is 10000), 1000 by default. With
// runs of receipts posted together Odoo takes 12 to 27 a second on the shared 2-core box
// (10,000 in 13m37s), so the default keeps the test well under 90 s.
func backlogSize(t *testing.T) int {
	v := os.Getenv("DEPOTD_BACKLOG")
	if v == "" {
		return 1000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 2 {
		t.Fatalf("DEPOTD_BACKLOG=%q: want a number of receipts, at least 2", v)
	}
	return n
}

// A depot keeps committing while the connector is down; when the connector comes back,
// its whole backlog drains through the real uplink, mosquitto and the connector (batching
// as erp.yaml's default) into the real Odoo: every seq is there once (counted by key),
// the stock is exact, and the depot's backlog is 0.
func TestADepotsBacklogDrainsIntoOdooOnceAfterAnOutage(t *testing.T) {
	n := backlogSize(t)
	r := newE2ERig(t)
	r.startUplink()
	// The connector runs once, so that the broker keeps its session while it is down.
	svc, _ := r.startService()
	r.receipts(1, "2")
	waitUntil(t, 3*time.Minute, "the first receipt acked", func() bool { _, a := r.j.Positions(); return a == 1 })
	svc.stop(t, "erp service")

	start := time.Now()
	r.receipts(n-1, "2")
	t.Logf("outage: %d receipts committed at the depot in %v", n-1, time.Since(start).Round(time.Millisecond))
	if last, acked := r.j.Positions(); last != uint64(n) || acked != 1 {
		t.Fatalf("during the outage the depot is at %d, acked %d; want %d, 1", last, acked, n)
	}

	start = time.Now()
	_, core := r.startService()
	waitUntil(t, time.Duration(n)*time.Second+5*time.Minute, "the backlog drained", func() bool {
		last, acked := r.j.Positions()
		return acked == last
	})
	took := time.Since(start)
	t.Logf("backlog of %d drained in %v (%.1f tx/s); connector stats %+v", n-1, took.Round(time.Millisecond),
		float64(n-1)/took.Seconds(), core().Stats(r.depot.ID))
	keys, moves, pickings, onHand := r.odooCounts()
	want := decimal.RequireFromString("2").Mul(decimal.NewFromInt(int64(n)))
	if keys != n || moves != n || pickings != n || !onHand.Equal(want) || r.applied() != uint64(n) {
		t.Fatalf("Odoo holds %d keys, %d moves in %d pickings, %s on hand, applied seq %d; want %d each, %s, %d",
			keys, moves, pickings, onHand, r.applied(), n, want, n)
	}
	if last, acked := r.j.Positions(); last != uint64(n) || acked != uint64(n) {
		t.Fatalf("depot at %d, acked %d; want backlog 0 at %d", last, acked, n)
	}
}
