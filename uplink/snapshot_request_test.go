package uplink_test

import (
	"testing"
	"time"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// A depot asks the ERP for a stock snapshot once per process (PROTOCOL.md, P request), on
// its first connection: not again after the broker restarts, and again (once) when the
// depot process restarts.
func TestADepotAsksForAStockSnapshotOncePerStartNotOnEveryReconnect(t *testing.T) {
	b := brokertest.StartMosquitto(t)
	rec := startRecorder(t, b.URL(), "depots/D1/request", "depots/D1/tx")
	requests := func() int {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		n := 0
		for _, raw := range rec.raw {
			if r, err := uplink.ParseRequest(raw); err == nil && r.Request == uplink.RequestSnapshot {
				n++
			}
		}
		return n
	}
	seen := func(seq uint64) func() bool {
		return func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return rec.seqs[seq] > 0 }
	}
	j := mustJournal(t, "")
	log, logs := captureLogger(t)
	// Resends until the recorder, subscribed again after the restart, sees seq 1.
	r := startUplinkLog(t, uplink.Config{Brokers: []string{b.URL()}, ResendAfter: 200 * time.Millisecond}, j, log)
	waitFor(t, 30*time.Second, "the snapshot request", func() bool { return requests() == 1 })

	b.Kill()
	b.Start()
	post(t, j, 1, 1)
	// The recorder may miss what is published before it subscribed again: the depot's
	// log says what it sent.
	waitFor(t, 30*time.Second, "seq 1 after the reconnect", seen(1))
	if n := logs.count("uplink online"); n < 2 {
		t.Fatalf("%d connections; the broker restart should have made 2:\n%s", n, logs)
	}
	if n := logs.count("uplink asked the erp for a stock snapshot"); n != 1 {
		t.Fatalf("%d snapshot requests after a broker restart; want still 1:\n%s", n, logs)
	}

	r.stop(t)
	startUplink(t, uplink.Config{Brokers: []string{b.URL()}}, j)
	waitFor(t, 30*time.Second, "the restarted depot's request", func() bool { return requests() == 2 })
}
