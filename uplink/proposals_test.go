package uplink_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

func approvedProposal(t *testing.T, j *edge.Journal, item string) edge.Proposal {
	t.Helper()
	p, created, err := j.RaiseProposal(edge.Proposal{Item: item, Location: "WH/Stock", Source: "central",
		Min: edge.QtyFromInt(10), Max: edge.QtyFromInt(50), Multiple: edge.QtyFromInt(12),
		Available: edge.QtyFromInt(5), Qty: edge.QtyFromInt(48)})
	if err != nil || !created {
		t.Fatalf("raise: %v %v", created, err)
	}
	if p, err = j.DecideProposal(p.ID, edge.ProposalEvent{By: "sam", Action: edge.ProposalApprove, Reason: "for Monday"}); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAnApprovedProposalIsSentUpOnceAndNotAgainAfterARestart: the uplink publishes an
// approved proposal on P proposal with its rule, figures and approval, records it as
// sent, and a new uplink (a restart) does not send it again.
func TestAnApprovedProposalIsSentUpOnceAndNotAgainAfterARestart(t *testing.T) {
	b := brokertest.StartMochi(t)
	j := mustJournal(t, "")
	if _, _, err := j.RaiseProposal(edge.Proposal{Item: "OPEN", Location: "WH/Stock", Source: "central",
		Min: edge.QtyFromInt(1), Max: edge.QtyFromInt(2), Multiple: edge.QtyFromInt(1), Qty: edge.QtyFromInt(2)}); err != nil {
		t.Fatal(err)
	}
	first := approvedProposal(t, j, "A")
	rec := startRecorder(t, b.URL(), "depots/D1/proposal")
	got := func() []uplink.Proposal {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		var out []uplink.Proposal
		for _, raw := range rec.raw {
			var p uplink.Proposal
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Errorf("proposal payload %s: %v", raw, err)
			}
			out = append(out, p)
		}
		return out
	}
	r := startUplink(t, uplink.Config{Brokers: []string{b.URL()}, StatusInterval: time.Hour}, j)
	waitFor(t, 20*time.Second, "proposal sent and recorded", func() bool {
		p, _ := j.GetProposal(first.ID)
		return p.SentAt != nil && len(got()) == 1
	})
	m := got()[0]
	if m.V != 1 || m.Depot != "D1" || m.ID != first.ID || m.Item != "A" || m.Qty.String() != "48" || m.Source != "central" ||
		m.Available.String() != "5" || m.Multiple.String() != "12" || m.ApprovedBy != "sam" || m.Reason != "for Monday" {
		t.Fatalf("payload %+v", m)
	}
	r.stop(t)

	second := approvedProposal(t, j, "B")
	startUplink(t, uplink.Config{Brokers: []string{b.URL()}, StatusInterval: time.Hour}, j)
	waitFor(t, 20*time.Second, "second proposal sent", func() bool { return len(got()) >= 2 })
	all := got()
	if len(all) != 2 || all[1].ID != second.ID {
		t.Fatalf("after restart: %+v, want only proposal %d", all, second.ID)
	}
}
