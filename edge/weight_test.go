package edge_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

func weightLine(item, qty, kg string) edge.Line {
	return edge.Line{Item: item, Qty: edge.MustQty(qty), To: "WH/Stock", WeightKg: kg}
}

// TestALineCountedAndWeighedThatDisagreeRaisesWeightMismatchWithBothFigures: a line
// that carries a counted quantity and a weight of an item with a unit weight, the two
// further apart than the tolerance, commits as posted and raises one weight_mismatch
// exception, in the same commit, with the count, the weight and what each says; a line
// within the tolerance, a line of an item without a unit weight and a line without a
// weight raise nothing.
func TestALineCountedAndWeighedThatDisagreeRaisesWeightMismatchWithBothFigures(t *testing.T) {
	j := openWithMaster(t, edge.MasterData{Items: []edge.Item{
		{SKU: "BOLT", UnitWeightKg: "0.5"},
		{SKU: "ROPE"},
	}})
	tx := mustCommit(t, j, edge.Transaction{ID: "r1", Type: edge.Receipt, Lines: []edge.Line{
		weightLine("BOLT", "10", "5.1"),   // 10.2 units: within ±0.25 of one
		weightLine("BOLT", "10", "4.2"),   // 8.4 units: 0.8 kg off, beyond ±0.125 kg
		weightLine("ROPE", "10", "99"),    // no unit weight: nothing to compare
		line("BOLT", "3", "", "WH/Stock"), // no weight
	}})
	if !tx.Lines[1].Qty.Equal(edge.MustQty("10")) {
		t.Fatalf("the posted count was changed: %+v", tx.Lines[1])
	}
	exc, err := j.Exceptions(true, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(exc) != 1 {
		t.Fatalf("exceptions %+v, want one weight_mismatch", exc)
	}
	e := exc[0]
	if e.Kind != edge.ExcWeightMismatch || e.Item != "BOLT" || e.Seq != tx.Seq || e.Code != "lines[1]" || e.Location != "WH/Stock" {
		t.Fatalf("exception %+v", e)
	}
	want := map[string]string{"line": "1", "counted_qty": "10", "expected_kg": "5", "weighed_kg": "4.2", "weighed_qty": "8.4",
		"unit_weight_kg": "0.5", "difference_kg": "-0.8", "tolerance_kg": "0.125"}
	for k, v := range want {
		if e.Evidence[k] != v {
			t.Errorf("evidence %s = %q, want %q (all: %v)", k, e.Evidence[k], v, e.Evidence)
		}
	}
	if e.Message != "BOLT line 1: counted 10 Units, weighed 4.2 kg = 8.4 Units (unit weight 0.5 kg): off by -0.8 kg, tolerance ±0.125 kg" {
		t.Errorf("message %q", e.Message)
	}
	// A retry of the same id raises nothing again.
	mustCommit(t, j, edge.Transaction{ID: "r1", Type: edge.Receipt, Lines: tx.Lines})
	if again, _ := j.Exceptions(true, 10); len(again) != 1 {
		t.Errorf("a retry raised again: %+v", again)
	}
}

// TestAnItemsOwnWeightToleranceWinsOverTheStationsAndTheERPsOverTheConfigs: the
// tolerance is the item's weight_tolerance where master data gives one, else the
// journal's default (station_settings.weight_tolerance); an ERP item carries its own.
func TestAnItemsOwnWeightToleranceWinsOverTheStationsAndTheERPsOverTheConfigs(t *testing.T) {
	j := openWithMaster(t, edge.MasterData{WeightTolerance: 0.4, Items: []edge.Item{
		{SKU: "LOOSE", UnitWeightKg: "1"},
		{SKU: "TIGHT", UnitWeightKg: "1", WeightTolerance: "0.05"},
	}})
	mustCommit(t, j, edge.Transaction{ID: "r1", Type: edge.Receipt, Lines: []edge.Line{
		weightLine("LOOSE", "10", "10.35"), // within the station's ±0.4
		weightLine("TIGHT", "10", "10.06"), // beyond its own ±0.05
	}})
	exc, _ := j.Exceptions(true, 10)
	if len(exc) != 1 || exc[0].Item != "TIGHT" || exc[0].Evidence["tolerance_kg"] != "0.05" {
		t.Fatalf("exceptions %+v, want TIGHT's only, at ±0.05 kg", exc)
	}
	if _, err := j.PutMaster(edge.MasterKindItems, []byte(`{"v":1,"version":"e1","items":[{"sku":"LOOSE","unit_weight_kg":"1","weight_tolerance":"0.1"}]}`)); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, j, edge.Transaction{ID: "r2", Type: edge.Receipt, Lines: []edge.Line{weightLine("LOOSE", "10", "10.35")}})
	exc, _ = j.Exceptions(true, 10)
	if len(exc) != 2 || (exc[0].Item != "LOOSE" && exc[1].Item != "LOOSE") {
		t.Fatalf("exceptions %+v, want LOOSE's at the ERP's ±0.1 too", exc)
	}
}

// TestAWeightToleranceOutsideZeroToAHalfIsRefusedFromTheERP: a downlinked item whose
// weight_tolerance is not a fraction above 0 and below 0.5 is refused with its field.
func TestAWeightToleranceOutsideZeroToAHalfIsRefusedFromTheERP(t *testing.T) {
	for _, tol := range []string{`"0.5"`, `"0"`, `"-0.1"`, `"x"`} {
		_, err := edge.ValidateMaster(edge.MasterKindItems, []byte(`{"v":1,"version":"e1","items":[{"sku":"A","weight_tolerance":`+tol+`}]}`))
		if err == nil || !strings.Contains(err.Error(), "items[0].weight_tolerance") {
			t.Errorf("weight_tolerance %s: %v, want a refusal naming items[0].weight_tolerance", tol, err)
		}
	}
	if _, err := edge.ValidateMaster(edge.MasterKindItems, []byte(`{"v":1,"version":"e1","items":[{"sku":"A","weight_tolerance":"0.1"}]}`)); err != nil {
		t.Errorf("0.1: %v", err)
	}
}

// FuzzValidateMasterItems: any items payload is refused with an error or accepted with a
// version, never a panic; an accepted one holds only decimals the depot can use (a unit
// weight above 0, a weight tolerance above 0 and below a half, a unit value not negative).
func FuzzValidateMasterItems(f *testing.F) {
	for _, p := range []string{
		`{"v":1,"version":"e1","items":[{"sku":"A","unit_weight_kg":"0.5","weight_tolerance":"0.1"}]}`,
		`{"v":1,"version":"e1","items":[{"sku":"A","weight_tolerance":"0.5"}]}`,
		`{"v":1,"version":"e1","items":[{"sku":"A","weight_tolerance":"1e-3"}]}`,
		`{"v":1,"version":"e1","items":[{"sku":"A","unit_weight_kg":"-1"}]}`,
		`{"v":1,"version":"e1","items":[{"sku":"A","unit_value":"12.50"}]}`,
		`{"v":1,"version":"e1","items":[{"sku":"A","unit_value":"-0.01"}]}`,
	} {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		v, err := edge.ValidateMaster(edge.MasterKindItems, payload)
		if err != nil {
			return
		}
		if v == "" {
			t.Fatal("accepted without a version")
		}
		var m edge.MasterItems
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatalf("accepted but unreadable: %v", err)
		}
		for _, it := range m.Items {
			if it.WeightTolerance != "" {
				q, err := edge.ParseQtyAnyScale(it.WeightTolerance)
				if err != nil || q.Sign() <= 0 || !q.LessThan(edge.MustQty("0.5")) {
					t.Fatalf("accepted weight_tolerance %q", it.WeightTolerance)
				}
			}
			if it.UnitWeightKg != "" {
				if q, err := edge.ParseQtyAnyScale(it.UnitWeightKg); err != nil || q.Sign() <= 0 {
					t.Fatalf("accepted unit_weight_kg %q", it.UnitWeightKg)
				}
			}
			if _, ok := it.Value(); it.UnitValue != "" && !ok {
				t.Fatalf("accepted unit_value %q", it.UnitValue)
			}
		}
	})
}

// TestAnERPItemsUnitValueIsCheckedAndAConfigValueSurvivesAnERPItemWithoutOne: a
// downlinked unit_value must be a decimal, not negative; an ERP item that replaces the
// config's keeps the config's unit value when it brings none, and its own otherwise.
func TestAnERPItemsUnitValueIsCheckedAndAConfigValueSurvivesAnERPItemWithoutOne(t *testing.T) {
	for _, v := range []string{`"-1"`, `"x"`, `"1,5"`} {
		if _, err := edge.ValidateMaster(edge.MasterKindItems, []byte(`{"v":1,"version":"e1","items":[{"sku":"A","unit_value":`+v+`}]}`)); err == nil || !strings.Contains(err.Error(), "items[0].unit_value") {
			t.Errorf("unit_value %s: %v, want a refusal naming items[0].unit_value", v, err)
		}
	}
	j := openWithMaster(t, edge.MasterData{Items: []edge.Item{{SKU: "A", UnitValue: "3.20"}, {SKU: "B", UnitValue: "1"}}})
	if _, err := j.PutMaster(edge.MasterKindItems, []byte(`{"v":1,"version":"e1","items":[{"sku":"A","name":"from the ERP"},{"sku":"B","unit_value":"7.125"}]}`)); err != nil {
		t.Fatal(err)
	}
	v, _ := j.MasterView()
	a, _ := v.Item("A")
	b, _ := v.Item("B")
	if a.Name != "from the ERP" || a.UnitValue != "3.20" || b.UnitValue != "7.125" {
		t.Errorf("A %+v, B %+v: want A's config value kept, B's the ERP's", a, b)
	}
}
