package uplink_test

import (
	"context"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/synchealth"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// With WithSyncHealth the status message carries the depot's sync health summary, per
// item class and exception kind, derived from the journal: here one count that found a
// delta (a discrepancy rate of 1 and its open count_discrepancy exception).
func TestStatusCarriesTheSyncHealthSummary(t *testing.T) {
	b := brokertest.StartMochi(t)
	j := mustJournal(t, "")
	for i, tx := range []edge.Transaction{
		{ID: "sh-1", Type: edge.Receipt, Lines: []edge.Line{{Item: "A", Qty: edge.QtyFromInt(10), To: "WH/Stock"}}},
		{ID: "sh-2", Type: edge.Count, Lines: []edge.Line{{Item: "A", Qty: edge.QtyFromInt(9), To: "WH/Stock"}}},
	} {
		if _, _, err := j.Commit(context.Background(), tx); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	if _, err := j.Ack(edge.Ack{UptoSeq: 2}); err != nil {
		t.Fatal(err)
	}
	rec := startRecorder(t, b.URL(), "depots/D1/status")
	cfg := uplink.Config{Brokers: []string{b.URL()}, StatusInterval: 200 * time.Millisecond}
	u, err := uplink.New(cfg, depotID, j, nil, testLogger(t), uplink.WithSyncHealth(uplink.SyncHealthFrom(synchealth.NewTracker(j))))
	if err != nil {
		t.Fatal(err)
	}
	runUplink(t, u)
	var s uplink.Status
	waitFor(t, 10*time.Second, "status with sync health", func() bool {
		var ok bool
		s, ok = rec.lastStatus()
		return ok && s.Online && s.Sync != nil
	})
	all := s.Sync.Classes["all"]
	if s.Sync.WindowD != 30 || all.Counts != 1 || all.DiscrepancyRate != 1 || s.Sync.Classes["A"].Counts != 1 ||
		s.Sync.Exceptions[string(edge.ExcCountDiscrepancy)].Open != 1 {
		t.Fatalf("sync health %+v", *s.Sync)
	}
}
