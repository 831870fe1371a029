package uplink_test

import (
	"context"
	"errors"
	"sync/atomic"
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

// A status with the sync summary is still a status to a consumer that reads the fields it
// knows (the fleet): the summary is optional and additive.
func TestAStatusWithTheSyncSummaryStillFillsTheFleetRow(t *testing.T) {
	f := uplink.NewFleet("depots/")
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	row, changed, err := f.UpdateMessage("depots/D1/status", []byte(`{"v":1,"depot":"D1","online":true,"session":7,"backlog":2,"open_exceptions":3,`+
		`"sync":{"window_d":30,"classes":{"all":{"latency_p50_s":120,"latency_p95_s":9720,"adjustments_per_item_week":0.1,"counts":4,"discrepancy_rate":0.25}},`+
		`"exceptions":{"count_discrepancy":{"open":3,"oldest_open_s":3600}}},"at":"2026-12-03T10:00:00Z"}`), false, at)
	if err != nil || !changed || !row.Online || row.Backlog == nil || *row.Backlog != 2 || row.OpenExceptions == nil || *row.OpenExceptions != 3 {
		t.Fatalf("fleet row %+v changed %v err %v", row, changed, err)
	}
}

type failingSyncHealth struct{ calls atomic.Int32 }

func (f *failingSyncHealth) SyncHealth(context.Context) (uplink.SyncHealth, error) {
	f.calls.Add(1)
	return uplink.SyncHealth{}, errors.New("journal unreadable")
}

// A status whose sync figures cannot be read goes out all the same, online and with its
// backlog, only without the summary: central ops still see the depot.
func TestAStatusGoesOutWithoutTheSyncSummaryWhenItsFiguresCannotBeRead(t *testing.T) {
	b := brokertest.StartMochi(t)
	j := mustJournal(t, "")
	rec := startRecorder(t, b.URL(), "depots/D1/status")
	src := &failingSyncHealth{}
	cfg := uplink.Config{Brokers: []string{b.URL()}, StatusInterval: 200 * time.Millisecond}
	u, err := uplink.New(cfg, depotID, j, nil, testLogger(t), uplink.WithSyncHealth(src))
	if err != nil {
		t.Fatal(err)
	}
	runUplink(t, u)
	waitFor(t, 10*time.Second, "an online status after the figures failed", func() bool {
		s, ok := rec.lastStatus()
		return ok && s.Online && s.Backlog != nil && src.calls.Load() > 0
	})
	if s, _ := rec.lastStatus(); s.Sync != nil {
		t.Fatalf("status carries a sync summary %+v though its figures failed", *s.Sync)
	}
}
