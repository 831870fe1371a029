package edge

import (
	"encoding/json"
	"fmt"
)

// MasterKindOrderpoints is the master-data kind of the ERP's min/max rules.
const MasterKindOrderpoints = "orderpoints"

// Orderpoint is one of the ERP's min/max rules (Odoo's stock.warehouse.orderpoint) as the
// depot receives it: an item at a depot location, its minimum, maximum and multiple, and
// where it is replenished from ("central", or a location of this depot).
type Orderpoint struct {
	Item     string `json:"item"`
	Location string `json:"location"`
	Min      Qty    `json:"min"`
	Max      Qty    `json:"max"`
	Multiple Qty    `json:"multiple"`
	Source   string `json:"source"`
}

// MasterOrderpoints is the full snapshot of a depot's orderpoints as the ERP sends it.
type MasterOrderpoints struct {
	V           int          `json:"v"`
	Version     string       `json:"version"`
	Orderpoints []Orderpoint `json:"orderpoints"`
}

// validateOrderpoints checks an orderpoints payload as strictly as the depot's own
// replenishment rules: an item and a location, 0 ≤ min ≤ max, max and multiple above zero,
// a source, and one orderpoint per item and location (Odoo allows one per product and
// location, so a second is the sender's mistake, not a choice to make here). Whether the
// location is one of the depot's is the proposer's question: master data is stored whole.
func validateOrderpoints(dec *json.Decoder) (string, error) {
	var m MasterOrderpoints
	if err := dec.Decode(&m); err != nil {
		return "", fmt.Errorf("master orderpoints: %w", err)
	}
	seen := map[[2]string]int{}
	for i, o := range m.Orderpoints {
		p := fmt.Sprintf("orderpoints[%d]", i)
		if fe := checkText(p+".item", o.Item, maxTextLen, true); fe != nil {
			return "", fe
		}
		if fe := checkText(p+".location", o.Location, maxTextLen, true); fe != nil {
			return "", fe
		}
		if fe := checkText(p+".source", o.Source, maxTextLen, true); fe != nil {
			return "", fe
		}
		if o.Source == o.Location {
			return "", fieldErr(p+".source", "a location cannot replenish itself")
		}
		if o.Min.Sign() < 0 {
			return "", fieldErr(p+".min", "%s: must not be negative", o.Min)
		}
		if o.Max.Sign() <= 0 || o.Max.LessThan(o.Min) {
			return "", fieldErr(p+".max", "%s: must be above zero and at least min (%s)", o.Max, o.Min)
		}
		if o.Multiple.Sign() <= 0 {
			return "", fieldErr(p+".multiple", "%s: must be above zero", o.Multiple)
		}
		k := [2]string{o.Item, o.Location}
		if j, dup := seen[k]; dup {
			return "", fieldErr(p, "a second orderpoint for %s at %s (the first is orderpoints[%d])", o.Item, o.Location, j)
		}
		seen[k] = i
	}
	return checkV(m.V, m.Version)
}
