package edge

import (
	"time"
)

// TxType is the kind of inventory transaction.
type TxType string

const (
	Receipt    TxType = "receipt"    // goods arrive (from a supplier or a transit location)
	Issue      TxType = "issue"      // pick/ship out of the depot
	Transfer   TxType = "transfer"   // between locations, including to/from in-transit
	Adjustment TxType = "adjustment" // signed correction with a reason code
	Count      TxType = "count"      // cycle count: counted quantity; delta computed at commit
	Return     TxType = "return"     // customer return, lands in quarantine
	Scrap      TxType = "scrap"      // out of stock into the loss location
	StatusMove TxType = "status"     // change of stock state at one location
)

// TxTypes lists every transaction type, in the order the API documents them. Void (void.go),
// the seq a restore skipped, is not among them: the journal writes it, nobody posts one.
var TxTypes = []TxType{Receipt, Issue, Transfer, Adjustment, Count, Return, Scrap, StatusMove}

func (t TxType) valid() bool {
	for _, v := range TxTypes {
		if t == v {
			return true
		}
	}
	return false
}

// StockState is the state a quantity is held in.
type StockState string

const (
	Available  StockState = "available"
	Reserved   StockState = "reserved"
	Quarantine StockState = "quarantine"
	Damaged    StockState = "damaged"
	InTransit  StockState = "in_transit"
)

// StockStates lists every stock state.
var StockStates = []StockState{Available, Reserved, Quarantine, Damaged, InTransit}

// Valid reports whether s is one of StockStates.
func (s StockState) Valid() bool {
	for _, v := range StockStates {
		if s == v {
			return true
		}
	}
	return false
}

// Transaction is one inventory transaction as committed to the journal. Seq and At are
// assigned by the journal at commit; values a client sends for them are ignored.
type Transaction struct {
	ID       string     `json:"id"`
	Seq      uint64     `json:"seq,omitempty"`
	At       *time.Time `json:"at,omitempty"`
	Type     TxType     `json:"type"`
	Ref      string     `json:"ref,omitempty"`
	Reason   string     `json:"reason,omitempty"`
	Note     string     `json:"note,omitempty"`
	Station  string     `json:"station,omitempty"`
	Operator string     `json:"operator,omitempty"`
	// Source says who posted it: "api", "console", "station".
	Source string `json:"source,omitempty"`
	Lines  []Line `json:"lines"`
	// Scans are the raw scans a station turned into this transaction, kept as evidence.
	Scans []ScanEvidence `json:"scans,omitempty"`
}

// Line is one item movement. Quantities are in UoM; BaseQty/BaseUoM are the same quantity
// in the unit the ledger counts in, filled at commit.
type Line struct {
	Item    string     `json:"item"`
	Qty     Qty        `json:"qty"`
	UoM     string     `json:"uom,omitempty"`
	Lot     string     `json:"lot,omitempty"`
	Serial  string     `json:"serial,omitempty"`
	Expiry  string     `json:"expiry,omitempty"` // YYYY-MM-DD
	From    string     `json:"from,omitempty"`
	To      string     `json:"to,omitempty"`
	State   StockState `json:"state,omitempty"`
	ToState StockState `json:"to_state,omitempty"` // status moves (and optionally transfers)

	// Packaging records which packaging a scan counted (evidence; the quantity already
	// includes its multiplier).
	Packaging string `json:"packaging,omitempty"`
	// WeightKg is the scale's stable net weight when the quantity came from weighing, as an
	// exact decimal string (a pound converts to kg with more decimals than a Qty carries).
	WeightKg string `json:"weight_kg,omitempty"`

	BaseQty *Qty   `json:"base_qty,omitempty"`
	BaseUoM string `json:"base_uom,omitempty"`
	// Expected and Delta are filled for counts: the local quantity before the count, and
	// counted minus expected.
	Expected *Qty `json:"expected,omitempty"`
	Delta    *Qty `json:"delta,omitempty"`
}

// ScanEvidence is one raw scan behind a transaction.
type ScanEvidence struct {
	At     time.Time `json:"at"`
	Device string    `json:"device,omitempty"`
	Raw    string    `json:"raw"` // the scanned bytes as a Go-quoted-free string; GS shown as \u001d in JSON
	AIM    string    `json:"aim,omitempty"`
}

// Location is a place stock can be. Virtual locations (suppliers, customers, loss) are
// sources and sinks: the ledger does not hold stock there.
type Location struct {
	Name    string       `yaml:"name" json:"name"`
	Type    LocationType `yaml:"type" json:"type"`
	Barcode string       `yaml:"barcode,omitempty" json:"barcode,omitempty"`
	// Role marks the virtual location used by default: supplier, customer or loss.
	Role string `yaml:"role,omitempty" json:"role,omitempty"`
}

// LocationType is what a location is for.
type LocationType string

const (
	LocInternal   LocationType = "internal"
	LocTransit    LocationType = "transit"
	LocQuarantine LocationType = "quarantine"
	LocReturns    LocationType = "returns"
	LocMobile     LocationType = "mobile" // a van
	LocVirtual    LocationType = "virtual"
)

// LocationTypes lists every location type.
var LocationTypes = []LocationType{LocInternal, LocTransit, LocQuarantine, LocReturns, LocMobile, LocVirtual}

// Virtual location roles.
const (
	RoleSupplier = "supplier"
	RoleCustomer = "customer"
	RoleLoss     = "loss"
)

// DefaultVirtualLocations are added when the config does not name a location for a role.
var DefaultVirtualLocations = []Location{
	{Name: "Partners/Vendors", Type: LocVirtual, Role: RoleSupplier},
	{Name: "Partners/Customers", Type: LocVirtual, Role: RoleCustomer},
	{Name: "Virtual/Loss", Type: LocVirtual, Role: RoleLoss},
}

// UoM is a unit of measure. Ref and Factor convert it to the unit the ledger counts in
// (1 Dozens = 12 Units); a unit with no Ref is its own reference.
type UoM struct {
	Name     string `yaml:"name" json:"name"`
	Decimals int    `yaml:"decimals" json:"decimals"`
	Ref      string `yaml:"ref,omitempty" json:"ref,omitempty"`
	Factor   Qty    `yaml:"factor,omitempty" json:"factor,omitempty"`
}

// DefaultUoMs are the units known without configuration.
var DefaultUoMs = []UoM{
	{Name: "Units", Decimals: 0},
	{Name: "Dozens", Decimals: 0, Ref: "Units", Factor: QtyFromInt(12)},
	{Name: "kg", Decimals: 3},
	{Name: "g", Decimals: 0, Ref: "kg", Factor: MustQty("0.001")},
	{Name: "L", Decimals: 3},
	{Name: "m", Decimals: 3},
}

// DefaultUoM is the unit of a line that names none.
const DefaultUoM = "Units"

// retryOf answers posted, whose id is stored's: the original if it is a retry of it,
// refused with *IDConflictError if it asks for something else.
func retryOf(posted, stored Transaction) (Transaction, bool, error) {
	if !sameRequest(posted, stored) {
		return Transaction{}, false, &IDConflictError{ID: stored.ID, Seq: stored.Seq}
	}
	return stored, true, nil
}

// sameRequest says whether posted (prepared) asks for what stored holds, which makes it a
// retry. What the journal fills at commit (seq, time, base quantities, a count's
// expected and delta), who relayed it (source) and the scan evidence do not count;
// quantities compare as numbers ("5" is "5.0").
func sameRequest(posted, stored Transaction) bool {
	if posted.Type != stored.Type || posted.Ref != stored.Ref || posted.Reason != stored.Reason ||
		posted.Note != stored.Note || posted.Station != stored.Station || posted.Operator != stored.Operator ||
		len(posted.Lines) != len(stored.Lines) {
		return false
	}
	for i, a := range posted.Lines {
		b := stored.Lines[i]
		if a.Item != b.Item || a.Qty.Cmp(b.Qty) != 0 || a.UoM != b.UoM || a.Lot != b.Lot || a.Serial != b.Serial ||
			a.Expiry != b.Expiry || a.From != b.From || a.To != b.To || a.State != b.State || a.ToState != b.ToState ||
			a.Packaging != b.Packaging || a.WeightKg != b.WeightKg {
			return false
		}
	}
	return true
}
