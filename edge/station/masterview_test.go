package station_test

import (
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/station"
)

// A station's document is held to the same master-data rules as every other post, at
// VALIDATE: an item the ERP made lot-tracked while the document was open is refused with
// the item and what is missing, and the document is kept for the operator to fix.
func TestAStationDocumentIsHeldToTheMasterDataRulesAtValidate(t *testing.T) {
	d := mustDepot(t, mustFixture(t), newClock())
	mustApply(t, d.M, "sc-dock", "OP:alice")
	if ev := mustApply(t, d.M, "sc-dock", "4006381333931"); ev.Result != station.Accepted {
		t.Fatalf("WATER: %+v", ev)
	}
	if _, err := d.J.PutMaster(edge.MasterKindItems, []byte(`{"v":1,"version":"e1","items":[{"sku":"WATER","barcodes":["4006381333931"],"tracking":"lot"}]}`)); err != nil {
		t.Fatal(err)
	}
	ev := mustApply(t, d.M, "sc-dock", "CMD:VALIDATE")
	if ev.Result != station.Refused || !strings.Contains(ev.Message, "WATER is lot-tracked: give the lot") {
		t.Fatalf("validate: %+v, want a refusal naming WATER and its lot", ev)
	}
	if last, _ := d.J.Positions(); last != 0 {
		t.Fatalf("committed anyway: last seq %d", last)
	}
	if ev := mustApply(t, d.M, "sc-dock", "CMD:CANCEL"); ev.Result == station.Refused {
		t.Fatalf("the document was not kept: %+v", ev)
	}
}

// Expiry is asked where goods enter the depot, as on every other path (edge.Item.Missing):
// a pick of a lot- and expiry-tracked item needs its lot, not its expiry again.
func TestAStationPickNeedsTheLotButNotTheExpiry(t *testing.T) {
	d := mustDepot(t, mustFixture(t), newClock())
	mustApply(t, d.M, "sc-pick", "OP:alice")
	if ev := mustApply(t, d.M, "sc-pick", "]E09506000134352"); ev.Result != station.Prompt || !strings.Contains(ev.Message, "lot") {
		t.Fatalf("VACCINE: %+v, want a prompt for its lot", ev)
	}
	if ev := mustApply(t, d.M, "sc-pick", "]C11012345"); ev.Result != station.Accepted {
		t.Fatalf("lot: %+v, want the line (no expiry needed on a pick)", ev)
	}
	ev := mustApply(t, d.M, "sc-pick", "CMD:VALIDATE")
	if ev.Result != station.Accepted {
		t.Fatalf("validate: %+v", ev)
	}
	tx, err := d.J.Get(1)
	if err != nil || tx.Type != edge.Issue || tx.Lines[0].Lot != "12345" {
		t.Fatalf("committed %+v %v", tx, err)
	}
}
