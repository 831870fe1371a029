package uplink_test

import (
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// The status carries what central ops judge a depot on besides its backlog: open
// exceptions, open ERP rejections, the ERP lag (the time the ERP has kept the depot
// waiting, 0 once nothing is pending) and the status interval that staleness counts in.
func TestStatusCarriesOpenExceptionsRejectionsERPLagAndInterval(t *testing.T) {
	b := brokertest.StartMochi(t)
	j := mustJournal(t, "")
	post(t, j, 0, 3)
	if _, err := j.Ack(edge.Ack{UptoSeq: 1, Rejected: []edge.Rejection{{Seq: 1, Code: "UNKNOWN_PRODUCT", Message: "SKU-1"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.RaiseException(edge.Exception{Kind: edge.ExcUnresolvedScan, Message: "unknown barcode"}); err != nil {
		t.Fatal(err)
	}
	rec := startRecorder(t, b.URL(), "depots/D1/status")
	cfg := uplink.Config{Brokers: []string{b.URL()}, StatusInterval: 300 * time.Millisecond}
	startUplink(t, cfg, j)
	// Two pending, never acked by this process: the lag is the oldest pending's age.
	var s uplink.Status
	waitFor(t, 10*time.Second, "status with a lag above 0.3 s", func() bool {
		var ok bool
		s, ok = rec.lastStatus()
		return ok && s.Online && s.ERPLagS != nil && *s.ERPLagS >= 0.3
	})
	if s.OpenExceptions == nil || *s.OpenExceptions != 2 || s.OpenRejections == nil || *s.OpenRejections != 1 {
		t.Fatalf("open exceptions %v, rejections %v; want 2 (the rejection and the scan) and 1", ptr(s.OpenExceptions), ptr(s.OpenRejections))
	}
	if s.StatusIntervalS == nil || *s.StatusIntervalS != 0.3 {
		t.Fatalf("status_interval_s %v, want 0.3", s.StatusIntervalS)
	}
	if *s.ERPLagS > *s.OldestPendingS+0.001 {
		t.Fatalf("erp lag %v beyond the oldest pending %v", *s.ERPLagS, *s.OldestPendingS)
	}
	// The rejection resolved, everything acked: no rejection, no lag.
	list, err := j.Exceptions(true, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range list {
		if e.Kind == edge.ExcERPRejected {
			if _, err := j.ResolveException(e.ID, edge.Resolution{By: "sam", Action: "acknowledged", Reason: "fixed in Odoo"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := j.Ack(edge.Ack{UptoSeq: 3}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "status after the acks", func() bool {
		s, ok := rec.lastStatus()
		return ok && s.Backlog != nil && *s.Backlog == 0 && s.OpenRejections != nil && *s.OpenRejections == 0 &&
			s.OpenExceptions != nil && *s.OpenExceptions == 1 && s.ERPLagS != nil && *s.ERPLagS == 0
	})
}

func ptr(n *int) any {
	if n == nil {
		return nil
	}
	return *n
}
