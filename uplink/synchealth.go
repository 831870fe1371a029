package uplink

import (
	"context"

	"github.com/depotd/depotd/edge/synchealth"
)

// SyncReporter gives a depot's sync health report; *synchealth.Tracker is one.
type SyncReporter interface {
	Report(ctx context.Context) (synchealth.Report, error)
}

// SyncHealthFrom summarises r's reports for the status message: per item class the
// latency percentiles, the adjustment frequency, the counts and their discrepancy rate;
// per exception kind with open exceptions their number and the oldest's age. The backlog
// and its age are in the status already.
func SyncHealthFrom(r SyncReporter) SyncHealthSource { return syncSummary{r} }

type syncSummary struct{ r SyncReporter }

func (s syncSummary) SyncHealth(ctx context.Context) (SyncHealth, error) {
	rep, err := s.r.Report(ctx)
	if err != nil {
		return SyncHealth{}, err
	}
	out := SyncHealth{WindowD: rep.Days, Classes: map[string]SyncClass{}}
	for name, c := range rep.Classes {
		out.Classes[name] = SyncClass{LatencyP50S: c.LatencyP50S, LatencyP95S: c.LatencyP95S,
			AdjustmentsPerItemWeek: c.AdjustmentsPerItemWeek, Counts: c.Counts, DiscrepancyRate: c.DiscrepancyRate}
	}
	for _, k := range rep.Exceptions {
		if k.Open == 0 {
			continue
		}
		if out.Exceptions == nil {
			out.Exceptions = map[string]SyncExceptions{}
		}
		out.Exceptions[k.Kind] = SyncExceptions{Open: k.Open, OldestOpenS: k.OldestOpenS}
	}
	return out, nil
}
