package station_test

import (
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/station"
)

// TestAPackagingWhoseWeightDisagreesWithItsNominalQuantityRaisesAnExceptionWithBothFigures:
// a bag of 100 screws weighed on the station's scale counts what the scale weighed; when
// that disagrees with the bag's 100 beyond the tolerance, a weight_mismatch exception
// keeps both figures (nominal and weighed, in units and kg) for a supervisor; a bag that
// weighs what it should raises nothing.
func TestAPackagingWhoseWeightDisagreesWithItsNominalQuantityRaisesAnExceptionWithBothFigures(t *testing.T) {
	r := mustRig(t)
	if ev := r.scan(t, "OP:alice"); ev.Result != station.Accepted {
		t.Fatalf("login: %+v", ev)
	}
	r.beep(t)
	r.setLoad(t, "0.4201") // 100.02 units: within ±0.25 of a unit of the bag's 100
	if ev := r.scan(t, "BAG-SCREW-M4"); ev.Result != station.Accepted || ev.Exception != 0 {
		t.Fatalf("full bag: %+v", ev)
	}
	r.beep(t)
	r.setLoad(t, "0.3949") // 94.02 units
	ev := r.scan(t, "BAG-SCREW-M4")
	if ev.Result != station.Accepted || ev.Exception == 0 || !strings.Contains(ev.Message, "the weight says 94, the bag100 says 100") {
		t.Fatalf("short bag: %+v", ev)
	}
	r.beep(t)
	e, err := r.d.J.Exception(ev.Exception)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"nominal_qty": "100", "expected_kg": "0.42", "weighed_kg": "0.3949", "weighed_qty": "94",
		"unit_weight_kg": "0.0042", "difference_kg": "-0.0251", "tolerance_kg": "0.00105", "packaging": "bag100"}
	if e.Kind != edge.ExcWeightMismatch || e.Item != "SCREW-M4" || e.Station != "dock" || e.Location == "" {
		t.Fatalf("exception %+v", e)
	}
	for k, v := range want {
		if e.Evidence[k] != v {
			t.Errorf("evidence %s = %q, want %q (all: %v)", k, e.Evidence[k], v, e.Evidence)
		}
	}
	ev = r.scan(t, "CMD:VALIDATE")
	r.beep(t)
	tx, err := r.d.J.Get(ev.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if len(tx.Lines) != 1 || tx.Lines[0].Qty.String() != "194" || tx.Lines[0].WeightKg != "0.815" {
		t.Fatalf("transaction lines %+v, want 100 + 94 weighed 0.4201 + 0.3949 kg", tx.Lines)
	}
	open, err := r.d.J.Exceptions(true, 10)
	if err != nil || len(open) != 1 {
		t.Fatalf("open exceptions %+v (%v), want only the short bag's", open, err)
	}
}

// TestAnItemsOwnWeightToleranceBoundsTheStationsCountByWeight: an item whose master data
// gives a weight_tolerance is held to it at the station, not to
// station_settings.weight_tolerance: a weight the station's ±0.25 of a unit accepts is
// refused at the item's ±0.1, and a packaging's mismatch is judged at ±0.1 too.
func TestAnItemsOwnWeightToleranceBoundsTheStationsCountByWeight(t *testing.T) {
	r := mustRig(t)
	if _, err := r.d.J.PutMaster(edge.MasterKindItems, []byte(`{"v":1,"version":"e1","items":[{"sku":"SCREW-M4",
		"barcodes":["SKU-SCREW-M4"],"packagings":[{"name":"bag100","barcode":"BAG-SCREW-M4","qty":"100"}],
		"unit_weight_kg":"0.0042","weight_tolerance":"0.1"}]}`)); err != nil {
		t.Fatal(err)
	}
	if ev := r.scan(t, "OP:alice"); ev.Result != station.Accepted {
		t.Fatalf("login: %+v", ev)
	}
	r.beep(t)
	r.setLoad(t, "0.4210") // 100.24 units: within ±0.25, not within ±0.1
	if ev := r.scan(t, "BAG-SCREW-M4"); ev.Result != station.Refused || !strings.Contains(ev.Message, "outside the tolerance of ±0.00042 kg") {
		t.Fatalf("bag at 100.24 units: %+v, want refused at the item's ±0.1 of a unit", ev)
	}
	r.beep(t)
	r.setLoad(t, "0.4158") // 99 units: a whole count, one short of the bag's 100
	ev := r.scan(t, "BAG-SCREW-M4")
	if ev.Result != station.Accepted || ev.Exception == 0 {
		t.Fatalf("short bag: %+v", ev)
	}
	r.beep(t)
	e, err := r.d.J.Exception(ev.Exception)
	if err != nil {
		t.Fatal(err)
	}
	if e.Evidence["tolerance_kg"] != "0.00042" {
		t.Errorf("tolerance %q, want the item's 0.1 × 0.0042 kg", e.Evidence["tolerance_kg"])
	}
}
