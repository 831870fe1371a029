package edge

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// DefaultWeightTolerance is station_settings.weight_tolerance's default: a weight may lie
// a quarter of one unit's weight from a count before they disagree.
const DefaultWeightTolerance = 0.25

// CheckWeightTolerance says what is wrong with an item's weight_tolerance, or "" when it
// is empty or usable.
func CheckWeightTolerance(tol string) string {
	if tol == "" {
		return ""
	}
	q, err := ParseQtyAnyScale(tol)
	if err != nil || q.Sign() <= 0 || q.Decimal().GreaterThanOrEqual(decimal.NewFromFloat(0.5)) {
		return fmt.Sprintf("%q: must be a decimal above 0 and below 0.5 (a fraction of one unit's weight)", tol)
	}
	return ""
}

// WeightToleranceOr is the item's tolerance as a fraction of one unit's weight: its own
// weight_tolerance, else def.
func (it Item) WeightToleranceOr(def float64) decimal.Decimal {
	if it.WeightTolerance != "" {
		if q, err := ParseQtyAnyScale(it.WeightTolerance); err == nil && q.Sign() > 0 {
			return q.Decimal()
		}
	}
	return decimal.NewFromFloat(def)
}

// WeightExceptions are the weight_mismatch exceptions tx raises: one per line that carries
// both a counted quantity and a weight (weight_kg) of an item with a unit weight, whose
// weight lies further from quantity × unit weight than the item's tolerance (its
// weight_tolerance, else station_settings.weight_tolerance, of one unit's weight). The
// transaction stands as posted: the poster asserts the count, the exception keeps both
// figures for a supervisor. A station's transaction (source "station") is not compared:
// the station holds each weighing to the tolerance as it is scanned (refusing it, or
// raising what a packaging's nominal quantity says against it), and its line sums several
// weighings, whose deviations would add up past one tolerance. A line in a unit
// other than the item's own is not compared (the unit weight is per the item's unit).
// Give them to CommitRaising with the transaction (Journal.CommitRaising does so itself).
func (v *MasterView) WeightExceptions(tx Transaction) []Exception {
	if tx.Source == "station" {
		return nil
	}
	var out []Exception
	for i, l := range tx.Lines {
		if l.WeightKg == "" {
			continue
		}
		it, ok := v.Item(l.Item)
		if !ok || it.UnitWeightKg == "" {
			continue
		}
		unit, err := ParseQtyAnyScale(it.UnitWeightKg)
		kg, kerr := ParseQtyAnyScale(l.WeightKg)
		if err != nil || kerr != nil || unit.Sign() <= 0 {
			continue // refused by validation before this is asked
		}
		uom := it.UoM
		if uom == "" {
			uom = DefaultUoM
		}
		qty := l.Qty
		switch {
		case l.UoM == "" || l.UoM == uom:
		case l.BaseQty != nil && l.BaseUoM == uom:
			qty = *l.BaseQty
		default:
			continue
		}
		expected := qty.Decimal().Abs().Mul(unit.Decimal())
		off := kg.Decimal().Sub(expected)
		tol := it.WeightToleranceOr(v.weightTol).Mul(unit.Decimal())
		if off.Abs().LessThanOrEqual(tol) {
			continue
		}
		weighed := kg.Decimal().DivRound(unit.Decimal(), 3)
		loc := l.To
		if loc == "" {
			loc = l.From
		}
		out = append(out, Exception{
			Kind: ExcWeightMismatch, Item: l.Item, Location: loc, Lot: l.Lot, Code: fmt.Sprintf("lines[%d]", i),
			Message: fmt.Sprintf("%s line %d: counted %s %s, weighed %s kg = %s %s (unit weight %s kg): off by %s kg, tolerance ±%s kg",
				l.Item, i, qty, uom, kg, weighed, uom, unit, off, tol),
			Evidence: map[string]string{
				"line":           fmt.Sprint(i),
				"counted_qty":    qty.String(),
				"expected_kg":    expected.String(),
				"weighed_kg":     kg.String(),
				"weighed_qty":    weighed.String(),
				"unit_weight_kg": unit.String(),
				"difference_kg":  off.String(),
				"tolerance_kg":   tol.String(),
			},
		})
	}
	return out
}

// hasWeight says whether any line of tx carries a weight (only those are compared).
func hasWeight(tx Transaction) bool {
	for _, l := range tx.Lines {
		if l.WeightKg != "" {
			return true
		}
	}
	return false
}

// Value is the item's unit value, when it has a usable one (a decimal, not negative).
func (it Item) Value() (Qty, bool) {
	if it.UnitValue == "" {
		return Qty{}, false
	}
	q, err := ParseQtyAnyScale(it.UnitValue)
	if err != nil || q.Sign() < 0 {
		return Qty{}, false
	}
	return q, true
}
