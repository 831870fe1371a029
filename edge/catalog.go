package edge

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Catalog is what validation needs to know about the depot: its locations and units.
// It is immutable after NewCatalog and safe for concurrent use.
type Catalog struct {
	locs   map[string]Location
	byCode map[string]Location
	roles  map[string]string // role → location name
	uoms   map[string]UoM
	allowN map[LocationType]bool
}

// NegativePolicy says whether a location type may go below zero.
type NegativePolicy string

const (
	NegativeAllow  NegativePolicy = "allow"  // allowed, raises an exception record
	NegativeRefuse NegativePolicy = "refuse" // the transaction is refused
)

// NewCatalog builds a catalog. Virtual locations for missing roles are added from
// DefaultVirtualLocations; units from DefaultUoMs unless redefined. negative maps a location
// type to its policy; types not named allow negative stock (the depot must keep moving during
// an outage even when local stock is stale).
func NewCatalog(locs []Location, uoms []UoM, negative map[LocationType]NegativePolicy) (*Catalog, error) {
	c := &Catalog{
		locs: map[string]Location{}, byCode: map[string]Location{}, roles: map[string]string{},
		uoms: map[string]UoM{}, allowN: map[LocationType]bool{},
	}
	for _, l := range locs {
		if _, dup := c.locs[l.Name]; dup {
			return nil, fmt.Errorf("location %q defined twice", l.Name)
		}
		c.locs[l.Name] = l
		if l.Barcode != "" {
			c.byCode[l.Barcode] = l
		}
		if l.Role != "" {
			if _, dup := c.roles[l.Role]; dup {
				return nil, fmt.Errorf("two locations have role %q", l.Role)
			}
			c.roles[l.Role] = l.Name
		}
	}
	for _, l := range DefaultVirtualLocations {
		if _, ok := c.roles[l.Role]; ok {
			continue
		}
		if _, taken := c.locs[l.Name]; taken {
			continue
		}
		c.locs[l.Name] = l
		c.roles[l.Role] = l.Name
	}
	for _, u := range DefaultUoMs {
		c.uoms[u.Name] = u
	}
	for _, u := range uoms {
		c.uoms[u.Name] = u
	}
	for name, u := range c.uoms {
		if u.Ref != "" {
			ref, ok := c.uoms[u.Ref]
			if !ok {
				return nil, fmt.Errorf("unit %q refers to unknown unit %q", name, u.Ref)
			}
			if ref.Ref != "" {
				return nil, fmt.Errorf("unit %q refers to %q, which is not a reference unit", name, u.Ref)
			}
			if u.Factor.Sign() <= 0 {
				return nil, fmt.Errorf("unit %q needs a positive factor", name)
			}
		}
	}
	for _, t := range LocationTypes {
		c.allowN[t] = true
	}
	for t, p := range negative {
		c.allowN[t] = p != NegativeRefuse
	}
	return c, nil
}

// Location returns a location by name.
func (c *Catalog) Location(name string) (Location, bool) {
	l, ok := c.locs[name]
	return l, ok
}

// LocationByBarcode returns the location whose barcode is code.
func (c *Catalog) LocationByBarcode(code string) (Location, bool) {
	l, ok := c.byCode[code]
	return l, ok
}

// Locations returns every location, configured and default.
func (c *Catalog) Locations() []Location {
	out := make([]Location, 0, len(c.locs))
	for _, l := range c.locs {
		out = append(out, l)
	}
	return out
}

// RoleLocation returns the name of the virtual location for a role (supplier, customer, loss).
func (c *Catalog) RoleLocation(role string) string { return c.roles[role] }

// UoM returns a unit by name.
func (c *Catalog) UoM(name string) (UoM, bool) {
	u, ok := c.uoms[name]
	return u, ok
}

// holdsStock reports whether the ledger tracks stock at a location.
func (c *Catalog) holdsStock(name string) bool {
	l, ok := c.locs[name]
	return ok && l.Type != LocVirtual
}

func (c *Catalog) allowsNegative(loc string) bool {
	return c.allowN[c.locs[loc].Type]
}

const (
	maxIDLen   = 128
	maxTextLen = 256
	maxNoteLen = 2000
	maxLines   = 1000
	maxScans   = 1000
	dateLayout = "2006-01-02"
	maxRawScan = 4096
)

// checkText refuses control characters (the ledger key uses NUL as a separator, and a
// control byte in an item code is always a scanner or typing accident).
func checkText(field, s string, max int, required bool) *FieldError {
	if s == "" {
		if required {
			return fieldErr(field, "required")
		}
		return nil
	}
	if len(s) > max {
		return fieldErr(field, "longer than %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return fieldErr(field, "not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fieldErr(field, "contains control character %U", r)
		}
	}
	if strings.TrimSpace(s) != s {
		return fieldErr(field, "has leading or trailing spaces")
	}
	return nil
}

// Prepare validates tx against the catalog and fills defaults: a receipt without from comes
// from the supplier location, an issue without to goes to the customer location, a return
// lands in quarantine, a line without state is available, a line without uom counts Units.
// It computes each line's base quantity. Stock-dependent checks (negative stock, count
// deltas) happen at commit. The error is a *FieldError naming the field.
func (c *Catalog) Prepare(tx *Transaction) error {
	if fe := checkText("id", tx.ID, maxIDLen, true); fe != nil {
		return fe
	}
	if tx.Type == "" {
		return fieldErr("type", "required (one of %s)", joinTypes())
	}
	if !tx.Type.valid() {
		return fieldErr("type", "unknown type %q (one of %s)", tx.Type, joinTypes())
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"ref", tx.Ref, maxTextLen}, {"reason", tx.Reason, maxTextLen}, {"station", tx.Station, maxTextLen},
		{"operator", tx.Operator, maxTextLen}, {"source", tx.Source, 32}} {
		if fe := checkText(f.name, f.v, f.max, false); fe != nil {
			return fe
		}
	}
	if len(tx.Note) > maxNoteLen || !utf8.ValidString(tx.Note) {
		return fieldErr("note", "longer than %d bytes or not UTF-8", maxNoteLen)
	}
	if tx.Type == Adjustment && tx.Reason == "" {
		return fieldErr("reason", "required for an adjustment (a reason code)")
	}
	if len(tx.Lines) == 0 {
		return fieldErr("lines", "at least one line is required")
	}
	if len(tx.Lines) > maxLines {
		return fieldErr("lines", "more than %d lines", maxLines)
	}
	if len(tx.Scans) > maxScans {
		return fieldErr("scans", "more than %d scans", maxScans)
	}
	for i, s := range tx.Scans {
		if len(s.Raw) > maxRawScan {
			return fieldErr(fmt.Sprintf("scans[%d].raw", i), "longer than %d bytes", maxRawScan)
		}
	}
	for i := range tx.Lines {
		if err := c.prepareLine(tx.Type, &tx.Lines[i], fmt.Sprintf("lines[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

func (c *Catalog) prepareLine(t TxType, l *Line, p string) error {
	if fe := checkText(p+".item", l.Item, maxTextLen, true); fe != nil {
		return fe
	}
	for _, f := range []struct{ name, v string }{{".lot", l.Lot}, {".serial", l.Serial}, {".from", l.From}, {".to", l.To}, {".packaging", l.Packaging}} {
		if fe := checkText(p+f.name, f.v, maxTextLen, false); fe != nil {
			return fe
		}
	}
	if l.Expiry != "" {
		if _, err := time.Parse(dateLayout, l.Expiry); err != nil {
			return fieldErr(p+".expiry", "%q is not a date YYYY-MM-DD", l.Expiry)
		}
	}
	if l.WeightKg != "" {
		if _, err := ParseQtyAnyScale(l.WeightKg); err != nil {
			return fieldErr(p+".weight_kg", "%v", err)
		}
	}
	if l.UoM == "" {
		l.UoM = DefaultUoM
	}
	u, ok := c.uoms[l.UoM]
	if !ok {
		return fieldErr(p+".uom", "unknown unit %q", l.UoM)
	}
	if l.Qty.Decimals() > u.Decimals {
		if u.Decimals == 0 {
			return fieldErr(p+".qty", "%s %s: this unit takes whole numbers only", l.Qty, l.UoM)
		}
		return fieldErr(p+".qty", "%s %s: at most %d decimals for this unit", l.Qty, l.UoM, u.Decimals)
	}
	switch t {
	case Adjustment:
		if l.Qty.IsZero() {
			return fieldErr(p+".qty", "an adjustment must not be zero (positive adds, negative removes)")
		}
	case Count:
		if l.Qty.Sign() < 0 {
			return fieldErr(p+".qty", "a counted quantity cannot be negative")
		}
	default:
		if l.Qty.Sign() <= 0 {
			return fieldErr(p+".qty", "must be greater than zero")
		}
	}
	// Client-supplied computed fields are ignored: the journal computes them.
	l.Expected, l.Delta = nil, nil
	base, baseUoM := l.Qty, l.UoM
	if u.Ref != "" {
		base, baseUoM = l.Qty.Mul(u.Factor), u.Ref
	}
	l.BaseQty, l.BaseUoM = &base, baseUoM
	if l.Serial != "" && !(base.Equal(QtyFromInt(1)) || (t == Adjustment && base.Equal(QtyFromInt(-1))) || (t == Count && base.Cmp(QtyFromInt(1)) <= 0)) {
		return fieldErr(p+".qty", "a serial-numbered line moves exactly one unit")
	}

	if l.State == "" {
		l.State = Available
		if t == Return {
			l.State = Quarantine
		}
	}
	if !l.State.Valid() {
		return fieldErr(p+".state", "unknown state %q (one of %s)", l.State, joinStates())
	}
	if l.ToState != "" && !l.ToState.Valid() {
		return fieldErr(p+".to_state", "unknown state %q (one of %s)", l.ToState, joinStates())
	}

	switch t {
	case Receipt:
		if l.From == "" {
			l.From = c.roles[RoleSupplier]
		}
		if l.To == "" {
			return fieldErr(p+".to", "required for a receipt (where the goods go)")
		}
	case Issue:
		if l.From == "" {
			return fieldErr(p+".from", "required for an issue (where the goods are taken from)")
		}
		if l.To == "" {
			l.To = c.roles[RoleCustomer]
		}
	case Transfer:
		if l.From == "" {
			return fieldErr(p+".from", "required for a transfer")
		}
		if l.To == "" {
			return fieldErr(p+".to", "required for a transfer")
		}
		if l.From == l.To && (l.ToState == "" || l.ToState == l.State) {
			return fieldErr(p+".to", "same as from: nothing would move")
		}
	case Adjustment, Count:
		if l.To == "" && l.From == "" {
			return fieldErr(p+".to", "required: the location being %s", map[TxType]string{Adjustment: "adjusted", Count: "counted"}[t])
		}
		if l.To != "" && l.From != "" && l.To != l.From {
			return fieldErr(p+".from", "give one location (to) for an %s", t)
		}
		if l.To == "" {
			l.To, l.From = l.From, ""
		}
	case Return:
		if l.From == "" {
			l.From = c.roles[RoleCustomer]
		}
		if l.To == "" {
			return fieldErr(p+".to", "required for a return (the returns or quarantine location)")
		}
	case Scrap:
		if l.From == "" {
			return fieldErr(p+".from", "required for scrap")
		}
		if l.To == "" {
			l.To = c.roles[RoleLoss]
		}
	case StatusMove:
		if l.From == "" {
			l.From = l.To
		}
		if l.From == "" {
			return fieldErr(p+".from", "required: the location whose stock changes state")
		}
		if l.To != "" && l.To != l.From {
			return fieldErr(p+".to", "a status change stays at one location (use a transfer to move)")
		}
		l.To = ""
		if l.ToState == "" {
			return fieldErr(p+".to_state", "required for a status change")
		}
		if l.ToState == l.State {
			return fieldErr(p+".to_state", "same as state: nothing would change")
		}
	}
	for _, f := range []struct{ name, v string }{{".from", l.From}, {".to", l.To}} {
		if f.v == "" {
			continue
		}
		if _, ok := c.locs[f.v]; !ok {
			return fieldErr(p+f.name, "unknown location %q", f.v)
		}
	}
	return nil
}

// ParseQtyAnyScale parses an exact decimal without the quantity scale limit (weights in kg
// converted from pounds carry more decimals).
func ParseQtyAnyScale(s string) (Qty, error) {
	if len(s) > 40 {
		return Qty{}, fmt.Errorf("%q: too long for a number", truncate(s, 40))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c == '.' || c == '-') {
			return Qty{}, fmt.Errorf("%q: %w", s, errQtySyntax)
		}
	}
	q, err := ParseQty(s)
	if err == nil {
		return q, nil
	}
	return parseLoose(s)
}

func joinTypes() string {
	s := make([]string, len(TxTypes))
	for i, t := range TxTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func joinStates() string {
	s := make([]string, len(StockStates))
	for i, t := range StockStates {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}
