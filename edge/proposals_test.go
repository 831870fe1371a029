package edge_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/depotd/depotd/edge"
)

func proposal(item, loc string) edge.Proposal {
	return edge.Proposal{Item: item, Location: loc, Source: "central", Min: edge.QtyFromInt(5),
		Max: edge.QtyFromInt(20), Multiple: edge.QtyFromInt(6), Available: edge.QtyFromInt(2), Qty: edge.QtyFromInt(18)}
}

// TestAProposalBlocksAnotherForItsItemAndLocationUntilClosedAndSurvivesARestart: the
// journal refuses a second active proposal for one item and location (returning the
// first), keeps decisions with who and why across a reopen, and allows a new proposal
// only once the old one is closed.
func TestAProposalBlocksAnotherForItsItemAndLocationUntilClosedAndSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	p, created, err := j.RaiseProposal(proposal("A", "WH/Stock"))
	if err != nil || !created || p.ID != 1 || p.State != edge.ProposalOpen {
		t.Fatalf("raise: %+v %v %v", p, created, err)
	}
	again, created, err := j.RaiseProposal(proposal("A", "WH/Stock"))
	if err != nil || created || again.ID != p.ID {
		t.Fatalf("second raise for the same item and location: %+v created=%v %v", again, created, err)
	}
	if other, created, err := j.RaiseProposal(proposal("A", "Van-1")); err != nil || !created || other.ID != 2 {
		t.Fatalf("raise at another location: %+v %v %v", other, created, err)
	}
	q := edge.QtyFromInt(24)
	if _, err := j.DecideProposal(p.ID, edge.ProposalEvent{By: "sup", Action: edge.ProposalChange, Reason: "promo", Qty: &q}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.DecideProposal(p.ID, edge.ProposalEvent{By: "sup", Action: edge.ProposalApprove, Reason: "ok"}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.DecideProposal(p.ID, edge.ProposalEvent{By: "sup", Action: edge.ProposalDismiss, Reason: "late"}); !errors.Is(err, edge.ErrProposalState) {
		t.Fatalf("dismissing an approved proposal: %v, want ErrProposalState", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j, err = edge.Open(path, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	got, err := j.GetProposal(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != edge.ProposalApproved || got.Qty.Cmp(q) != 0 || len(got.History) != 2 || got.History[0].By != "sup" || got.History[0].Reason != "promo" {
		t.Fatalf("after reopen: %+v", got)
	}
	if _, created, _ := j.RaiseProposal(proposal("A", "WH/Stock")); created {
		t.Fatal("a new proposal while the approved one is active")
	}
	if _, err := j.DecideProposal(p.ID, edge.ProposalEvent{By: "replenish", Action: edge.ProposalClose, Reason: "back above minimum"}); err != nil {
		t.Fatal(err)
	}
	if next, created, err := j.RaiseProposal(proposal("A", "WH/Stock")); err != nil || !created || next.ID != 3 {
		t.Fatalf("raise after close: %+v %v %v", next, created, err)
	}
	active, err := j.Proposals(true, 10)
	if err != nil || len(active) != 2 {
		t.Fatalf("active proposals: %+v %v", active, err)
	}
	if probs := j.Check(); len(probs) > 0 {
		t.Fatalf("check: %v", probs)
	}
}
