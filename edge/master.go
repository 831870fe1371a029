package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Item is one product of the master data.
type Item struct {
	SKU          string      `yaml:"sku" json:"sku"`
	Name         string      `yaml:"name,omitempty" json:"name,omitempty"`
	UoM          string      `yaml:"uom,omitempty" json:"uom,omitempty"`
	Barcodes     []string    `yaml:"barcodes,omitempty" json:"barcodes,omitempty"`
	Packagings   []Packaging `yaml:"packagings,omitempty" json:"packagings,omitempty"`
	UnitWeightKg string      `yaml:"unit_weight_kg,omitempty" json:"unit_weight_kg,omitempty"`
	// WeightTolerance is how far, as a fraction of one unit's weight (above 0, below
	// 0.5), a weight may lie from a count of this item before they disagree: a count by
	// weight off by more is refused, a packaging or a posted count off by more raises
	// weight_mismatch. Optional: without it, station_settings.weight_tolerance.
	WeightTolerance string `yaml:"weight_tolerance,omitempty" json:"weight_tolerance,omitempty"`
	// UnitValue is the value of one unit (the ERP's cost price, Odoo's standard_price), an
	// exact decimal string, not negative: the approval's max_value and the count list's
	// ABC by value use it. Optional.
	UnitValue string `yaml:"unit_value,omitempty" json:"unit_value,omitempty"`
	Tracking  string `yaml:"tracking,omitempty" json:"tracking,omitempty"` // none, lot, serial
	Expiry    bool   `yaml:"expiry,omitempty" json:"expiry,omitempty"`     // needs an expiry date
}

// Packaging is a barcode that stands for several base units (a case of 12).
type Packaging struct {
	Name    string `yaml:"name,omitempty" json:"name,omitempty"`
	Barcode string `yaml:"barcode" json:"barcode"`
	Qty     Qty    `yaml:"qty" json:"qty"`
}

// Operator is a person who can log in at a station with a badge.
type Operator struct {
	Badge string `yaml:"badge" json:"badge"`
	Name  string `yaml:"name" json:"name"`
	Role  string `yaml:"role" json:"role"` // operator, supervisor, admin
}

// MasterItems, MasterLocations and MasterOperators are full snapshots as the ERP sends them.
type MasterItems struct {
	V       int    `json:"v"`
	Version string `json:"version"`
	Items   []Item `json:"items"`
}

type MasterLocations struct {
	V         int        `json:"v"`
	Version   string     `json:"version"`
	Locations []Location `json:"locations"`
}

type MasterOperators struct {
	V         int        `json:"v"`
	Version   string     `json:"version"`
	Operators []Operator `json:"operators"`
}

// Master data kinds.
const (
	MasterKindItems     = "items"
	MasterKindLocations = "locations"
	MasterKindOperators = "operators"
)

// ValidateMaster decodes and checks a master-data payload of the given kind, refusing
// unknown fields, and returns its version.
func ValidateMaster(kind string, payload []byte) (string, error) {
	// The decoder below stops after the first value; what follows it would make the stored
	// payload unreadable later (json.Unmarshal refuses trailing data), so refuse it now.
	if !json.Valid(payload) {
		return "", fmt.Errorf("master %s: not one JSON value (malformed or trailing data)", kind)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	switch kind {
	case MasterKindItems:
		var m MasterItems
		if err := dec.Decode(&m); err != nil {
			return "", fmt.Errorf("master items: %w", err)
		}
		for i, it := range m.Items {
			p := fmt.Sprintf("items[%d]", i)
			if fe := checkText(p+".sku", it.SKU, maxTextLen, true); fe != nil {
				return "", fe
			}
			switch it.Tracking {
			case "", "none", "lot", "serial":
			default:
				return "", fieldErr(p+".tracking", "unknown tracking %q (none, lot, serial)", it.Tracking)
			}
			for k, pk := range it.Packagings {
				if pk.Qty.Sign() <= 0 {
					return "", fieldErr(fmt.Sprintf("%s.packagings[%d].qty", p, k), "must be greater than zero")
				}
			}
			if it.UnitWeightKg != "" {
				if q, err := ParseQtyAnyScale(it.UnitWeightKg); err != nil || q.Sign() <= 0 {
					return "", fieldErr(p+".unit_weight_kg", "must be a positive decimal")
				}
			}
			if msg := CheckWeightTolerance(it.WeightTolerance); msg != "" {
				return "", fieldErr(p+".weight_tolerance", "%s", msg)
			}
			if _, ok := it.Value(); !ok && it.UnitValue != "" {
				return "", fieldErr(p+".unit_value", "%q: must be a decimal number, not negative", it.UnitValue)
			}
		}
		return checkV(m.V, m.Version)
	case MasterKindLocations:
		var m MasterLocations
		if err := dec.Decode(&m); err != nil {
			return "", fmt.Errorf("master locations: %w", err)
		}
		for i, l := range m.Locations {
			if fe := checkText(fmt.Sprintf("locations[%d].name", i), l.Name, maxTextLen, true); fe != nil {
				return "", fe
			}
		}
		return checkV(m.V, m.Version)
	case MasterKindOperators:
		var m MasterOperators
		if err := dec.Decode(&m); err != nil {
			return "", fmt.Errorf("master operators: %w", err)
		}
		for i, o := range m.Operators {
			if fe := checkText(fmt.Sprintf("operators[%d].badge", i), o.Badge, maxTextLen, true); fe != nil {
				return "", fe
			}
			switch o.Role {
			case "operator", "supervisor", "admin":
			default:
				return "", fieldErr(fmt.Sprintf("operators[%d].role", i), "unknown role %q", o.Role)
			}
		}
		return checkV(m.V, m.Version)
	case MasterKindOrderpoints:
		return validateOrderpoints(dec)
	case MasterKindDocuments:
		return validateDocuments(dec)
	}
	return "", fmt.Errorf("unknown master data kind %q (items, locations, operators, orderpoints, documents)", kind)
}

func checkV(v int, version string) (string, error) {
	if v != 1 {
		return "", fieldErr("v", "unsupported payload version %d (this depotd speaks 1)", v)
	}
	if version == "" {
		return "", fieldErr("version", "required")
	}
	return version, nil
}

// PutMaster validates and stores a master-data snapshot (fsynced) and returns its version.
func (j *Journal) PutMaster(kind string, payload []byte) (string, error) {
	version, err := ValidateMaster(kind, payload)
	if err != nil {
		return "", err
	}
	err = j.update(func(btx *bolt.Tx) error {
		return btx.Bucket(bucketMaster).Put([]byte(kind), bytes.Clone(payload))
	})
	// Moved even after an error: whether the write took is then unknown, and a view
	// rebuilt once costs nothing wrong.
	j.masterGen.Add(1)
	if err != nil {
		return "", fmt.Errorf("store master %s: %w", kind, err)
	}
	return version, nil
}

// Master returns the stored payload of a master-data kind, or nil when none was received.
func (j *Journal) Master(kind string) ([]byte, error) {
	var out []byte
	err := j.db.View(func(btx *bolt.Tx) error {
		out = bytes.Clone(btx.Bucket(bucketMaster).Get([]byte(kind)))
		return nil
	})
	return out, err
}

// MasterData is master data as a depot's config carries it (the `master:` section), for
// standalone use and for what the ERP does not send.
type MasterData struct {
	Items     []Item
	Operators []Operator
	// WeightTolerance is the tolerance of items without their own (Item.WeightTolerance),
	// station_settings.weight_tolerance; 0 means DefaultWeightTolerance.
	WeightTolerance float64
}

// MasterView is the depot's one view of its master data: the config's, merged with the
// snapshots the ERP downlinked. The merge rule: an ERP item replaces the config's item with
// the same SKU whole (barcodes, packagings, tracking and all), an ERP operator the config's
// with the same badge; entries on one side only are kept; where an ERP barcode is also a
// config item's, the ERP's item wins it. Every path that accepts a transaction (API,
// console form, stations) reads this view, through Journal.MasterView, so that the same
// item is held to the same rules wherever it is posted. Immutable once built.
type MasterView struct {
	items     []Item // config items the ERP does not replace, then the ERP's
	bySKU     map[string]int
	byCode    map[string]int
	operators []Operator
	byBadge   map[string]int
	weightTol float64
}

func newMasterView(cfg MasterData, erpItems, erpOps []byte) (*MasterView, error) {
	v := &MasterView{bySKU: map[string]int{}, byCode: map[string]int{}, byBadge: map[string]int{}, weightTol: cfg.WeightTolerance}
	if v.weightTol <= 0 {
		v.weightTol = DefaultWeightTolerance
	}
	var problem error
	var erp MasterItems
	if len(erpItems) > 0 {
		if err := json.Unmarshal(erpItems, &erp); err != nil {
			problem = fmt.Errorf("stored master items unreadable, using the config's only: %w", err)
			erp.Items = nil
		}
	}
	replaced := map[string]bool{}
	for _, it := range erp.Items {
		replaced[it.SKU] = true
	}
	cfgValue := map[string]string{}
	for _, it := range cfg.Items {
		if it.UnitValue != "" {
			cfgValue[it.SKU] = it.UnitValue
		}
	}
	add := func(it Item) {
		i, ok := v.bySKU[it.SKU]
		if ok {
			v.items[i] = it // a later duplicate in one payload wins
		} else {
			i = len(v.items)
			v.items = append(v.items, it)
			v.bySKU[it.SKU] = i
		}
		for _, b := range it.Barcodes {
			v.byCode[b] = i
		}
		for _, p := range it.Packagings {
			v.byCode[p.Barcode] = i
		}
	}
	for _, it := range cfg.Items {
		if !replaced[it.SKU] {
			add(it)
		}
	}
	for _, it := range erp.Items {
		if it.UnitValue == "" {
			it.UnitValue = cfgValue[it.SKU]
		}
		add(it)
	}
	var ops MasterOperators
	if len(erpOps) > 0 {
		if err := json.Unmarshal(erpOps, &ops); err != nil {
			problem = errors.Join(problem, fmt.Errorf("stored master operators unreadable, using the config's only: %w", err))
			ops.Operators = nil
		}
	}
	for _, o := range append(append([]Operator(nil), cfg.Operators...), ops.Operators...) {
		if i, ok := v.byBadge[o.Badge]; ok {
			v.operators[i] = o
			continue
		}
		v.byBadge[o.Badge] = len(v.operators)
		v.operators = append(v.operators, o)
	}
	return v, problem
}

// Item returns the item with a SKU.
func (v *MasterView) Item(sku string) (Item, bool) {
	i, ok := v.bySKU[sku]
	if !ok {
		return Item{}, false
	}
	return v.items[i], true
}

// ItemByBarcode returns the item a barcode (its own or a packaging's) belongs to, matched
// exactly.
func (v *MasterView) ItemByBarcode(code string) (Item, bool) {
	i, ok := v.byCode[code]
	if !ok {
		return Item{}, false
	}
	return v.items[i], true
}

// Items returns every item: the config's the ERP does not replace, then the ERP's. The
// slice is shared and must not be modified.
func (v *MasterView) Items() []Item { return v.items }

// Operators returns every operator, the config's first; shared, not to be modified.
func (v *MasterView) Operators() []Operator { return v.operators }

// Empty says whether the depot has no item master data at all: then no item is "unknown",
// every item would be.
func (v *MasterView) Empty() bool { return len(v.items) == 0 }

// Unknown lists, once each, the transaction's items that the view does not know; nothing
// when the view is empty.
func (v *MasterView) Unknown(tx Transaction) []string {
	if v.Empty() {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, l := range tx.Lines {
		if _, ok := v.bySKU[l.Item]; !ok && !seen[l.Item] {
			out = append(out, l.Item)
			seen[l.Item] = true
		}
	}
	return out
}

// UnknownExceptions are the unknown_item exceptions tx raises, one per item the view does
// not know (none when the view is empty): the transaction stands (the depot must not stop
// on missing master data) and a supervisor looks at it. Give them to CommitRaising, which
// raises them in the transaction's own commit, so that a crash cannot lose them.
func (v *MasterView) UnknownExceptions(tx Transaction) []Exception {
	var out []Exception
	for _, it := range v.Unknown(tx) {
		loc := ""
		for _, l := range tx.Lines {
			if l.Item == it {
				loc = l.To
				if loc == "" {
					loc = l.From
				}
				break
			}
		}
		out = append(out, Exception{Kind: ExcUnknownItem, Item: it, Location: loc,
			Message: fmt.Sprintf("item %q is not in the master data", it)})
	}
	return out
}

// Missing names what a line of this item lacks under the item's tracking rules (the
// field and what to give), or "", "" when nothing. The rules, the same on every path:
// a serial-tracked item needs its serial and a lot-tracked item its lot on every movement;
// an item with expiry needs its expiry date where goods enter the depot (receipt,
// return), since the date belongs to the lot from then on, as in Odoo.
func (it Item) Missing(t TxType, l Line) (field, what string) {
	switch {
	case it.Tracking == "serial" && l.Serial == "":
		return "serial", "the serial number"
	case it.Tracking == "lot" && l.Lot == "":
		return "lot", "the lot"
	case it.Expiry && l.Expiry == "" && (t == Receipt || t == Return):
		return "expiry", "the expiry date (YYYY-MM-DD)"
	}
	return "", ""
}

// Check applies each known item's tracking rules to tx's lines, refusing the first line
// that lacks something with a *FieldError naming the line's field, the item and what is
// missing. Items the view does not know pass (they raise an unknown_item exception
// instead: the depot must not stop on missing master data). A serial-tracked line
// without a lot gets its serial as its lot, as the stations record it: the ledger keys
// stock by lot, so it then tells where each serial is.
func (v *MasterView) Check(tx *Transaction) error {
	for i := range tx.Lines {
		l := &tx.Lines[i]
		it, ok := v.Item(l.Item)
		if !ok {
			continue
		}
		if field, what := it.Missing(tx.Type, *l); field != "" {
			return fieldErr(fmt.Sprintf("lines[%d].%s", i, field), "%s is %s: give %s", it.SKU, it.trackingName(), what)
		}
		if it.Tracking == "serial" && l.Lot == "" {
			l.Lot = l.Serial
		}
	}
	return nil
}

func (it Item) trackingName() string {
	switch {
	case it.Tracking == "serial":
		return "serial-numbered"
	case it.Tracking == "lot" && it.Expiry:
		return "lot- and expiry-tracked"
	case it.Tracking == "lot":
		return "lot-tracked"
	case it.Expiry:
		return "expiry-tracked"
	}
	return "tracked"
}

// MasterView returns the merged master data, rebuilt only when the ERP stored a new
// snapshot. On a read error it returns the last view built (stale master data beats none)
// with the error; before any was built, it returns the config's alone with the error.
func (j *Journal) MasterView() (*MasterView, error) {
	m := &j.masterView
	gen := j.masterGen.Load()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.view != nil && m.gen == gen {
		return m.view, nil
	}
	var items, ops []byte
	err := j.db.View(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketMaster)
		items = bytes.Clone(b.Get([]byte(MasterKindItems)))
		ops = bytes.Clone(b.Get([]byte(MasterKindOperators)))
		return nil
	})
	if err != nil {
		if m.view == nil {
			v, _ := newMasterView(j.master, nil, nil)
			return v, fmt.Errorf("read master data: %w", err)
		}
		return m.view, fmt.Errorf("read master data: %w", err)
	}
	v, problem := newMasterView(j.master, items, ops)
	if problem != nil {
		// Once per stored snapshot: the view is rebuilt only when the ERP sends another.
		j.log.Error("master data", "err", problem)
	}
	m.view, m.gen = v, gen
	return v, nil
}

type masterViewCache struct {
	mu   sync.Mutex
	gen  uint64
	view *MasterView
}
