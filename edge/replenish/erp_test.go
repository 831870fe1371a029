package replenish_test

import (
	"path/filepath"
	"testing"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/replenish"
)

// TestTheERPsOrderpointWinsOverTheConfigsRulePerItemAndLocation: with the ERP's
// orderpoints stored, a pass applies the ERP's min/max/multiple/source where both have a
// rule for an item and location, keeps the config's rule where the ERP has none, leaves
// out an orderpoint for a location the depot does not have, and follows a changed
// snapshot.
func TestTheERPsOrderpointWinsOverTheConfigsRulePerItemAndLocation(t *testing.T) {
	j := open(t, filepath.Join(t.TempDir(), "depotd.db"))
	defer j.Close()
	cfg := config(t) // A at WH/Stock 10/50 by 12, A at Van-1 2/6 from WH/Stock
	if _, err := j.PutMaster(edge.MasterKindOrderpoints, []byte(`{"v":1,"version":"e1","orderpoints":[
		{"item":"A","location":"WH/Stock","min":"20","max":"30","multiple":"5","source":"central"},
		{"item":"A","location":"Elsewhere","min":"1","max":"9","multiple":"1","source":"central"},
		{"item":"B","location":"Van-1","min":"1","max":"4","multiple":"1","source":"WH/Stock"}]}`)); err != nil {
		t.Fatal(err)
	}
	move(t, j, edge.Receipt, edge.Line{Item: "A", Qty: edge.QtyFromInt(17), To: "WH/Stock"})
	p := proposer(j, cfg)
	raised, err := p.Check()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]edge.Proposal{}
	for _, r := range raised {
		got[r.Item+"@"+r.Location] = r
	}
	if len(raised) != 3 {
		t.Fatalf("raised %+v; want A at WH/Stock (ERP), A at Van-1 (config), B at Van-1 (ERP)", raised)
	}
	// The ERP's rule: 30 − 17 = 13, rounded up to 5: 15 (the config's would be 36).
	if a := got["A@WH/Stock"]; a.Qty.String() != "15" || a.Min.String() != "20" || a.Max.String() != "30" || a.Multiple.String() != "5" {
		t.Errorf("A at WH/Stock: %+v; want the ERP's 20/30 by 5, qty 15", a)
	}
	if v := got["A@Van-1"]; v.Qty.String() != "6" || v.Source != "WH/Stock" {
		t.Errorf("A at Van-1: %+v; want the config's rule, 6 from WH/Stock", v)
	}
	if b := got["B@Van-1"]; b.Qty.String() != "4" || b.Source != "WH/Stock" {
		t.Errorf("B at Van-1: %+v; want the ERP's rule, 4 from WH/Stock", b)
	}

	// A new snapshot without the WH/Stock orderpoint gives the config's rule back: at 17
	// A is above nothing new, but the proposer now closes by the config's minimum 10.
	if _, err := j.PutMaster(edge.MasterKindOrderpoints, []byte(`{"v":1,"version":"e2","orderpoints":[]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Check(); err != nil {
		t.Fatal(err)
	}
	if a, _ := j.GetProposal(got["A@WH/Stock"].ID); a.State != edge.ProposalClosed {
		t.Fatalf("A at WH/Stock is %s under the config's minimum 10 at 17 available; want closed", a.State)
	}
}

// TestMergeNamesEachOrderpointItLeavesOut: a transit location, an unknown source and a
// source that is the location itself are each left out with a reason.
func TestMergeNamesEachOrderpointItLeavesOut(t *testing.T) {
	q := edge.QtyFromInt
	rules, skipped := replenish.Merge(nil, []edge.Orderpoint{
		{Item: "A", Location: "Transit", Min: q(1), Max: q(2), Multiple: q(1), Source: "central"},
		{Item: "A", Location: "Van-1", Min: q(1), Max: q(2), Multiple: q(1), Source: "Mars"},
		{Item: "A", Location: "WH/Stock", Min: q(1), Max: q(2), Multiple: q(1), Source: "Van-1"},
		{Item: "B", Location: "WH/Stock", Min: q(1), Max: q(2), Multiple: q(1), Source: "central"},
	}, catalog(t))
	if len(rules) != 1 || rules[0].Item != "B" || len(skipped) != 3 {
		t.Fatalf("rules %+v, skipped %q; want only B's rule and three reasons", rules, skipped)
	}
}
