package station

import (
	"fmt"
	"regexp"
	"time"

	"github.com/depotd/depotd/edge"
)

// Mode is what a station's documents do.
type Mode string

const (
	ModeReceive  Mode = "receive"
	ModeIssue    Mode = "issue"
	ModeTransfer Mode = "transfer"
	ModeCount    Mode = "count"
	ModeReturn   Mode = "return"
	ModeRelease  Mode = "release"
	ModeScrap    Mode = "scrap"
	ModeAdjust   Mode = "adjust"
)

// Modes lists every mode, in the order the command sheet prints them.
var Modes = []Mode{ModeReceive, ModeIssue, ModeTransfer, ModeCount, ModeReturn, ModeRelease, ModeScrap, ModeAdjust}

// TxType is the transaction type a mode posts.
func (m Mode) TxType() edge.TxType {
	switch m {
	case ModeReceive:
		return edge.Receipt
	case ModeIssue:
		return edge.Issue
	case ModeTransfer:
		return edge.Transfer
	case ModeCount:
		return edge.Count
	case ModeReturn:
		return edge.Return
	case ModeRelease:
		return edge.StatusMove
	case ModeScrap:
		return edge.Scrap
	case ModeAdjust:
		return edge.Adjustment
	}
	return ""
}

func (m Mode) valid() bool { return m.TxType() != "" }

// Config is one entry of the `stations:` list.
type Config struct {
	// Name identifies the station in transactions, the API and the console: letters, digits,
	// '.', '_' and '-', starting with a letter or digit.
	Name string `yaml:"name"`
	// Scanner is the name of the scanner device (devices[].name) the station reads. Required;
	// a scanner serves one station.
	Scanner string `yaml:"scanner"`
	// Scale is the name of the scale device weighed goods are read from. Optional; several
	// stations may share a scale.
	Scale string `yaml:"scale,omitempty"`
	// Mode is the mode the station starts in (and returns to after a restart without state):
	// receive, issue, transfer, count, return, release, scrap or adjust. Required.
	Mode Mode `yaml:"mode"`
	// From and To are default locations (by name) for the documents of this station: From
	// for issue, transfer, release and scrap; To for receive, transfer, count, return and
	// adjust. A scanned location label replaces them. Optional.
	From string `yaml:"from,omitempty"`
	To   string `yaml:"to,omitempty"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Check reports every problem of one entry at path ("stations[1]"). Whether Scanner and
// Scale name configured devices is checked by the caller, which knows the devices; cat,
// when not nil, is used to check the default locations.
func (c *Config) Check(path string, cat *edge.Catalog, report func(key, msg string)) {
	switch {
	case c.Name == "":
		report(path+".name", "required")
	case !nameRE.MatchString(c.Name):
		report(path+".name", fmt.Sprintf("%q: use letters, digits, '.', '_' and '-' (at most 64, starting with a letter or digit)", c.Name))
	}
	if c.Scanner == "" {
		report(path+".scanner", "required (the name of a scanner in devices)")
	}
	switch {
	case c.Mode == "":
		report(path+".mode", "required (receive, issue, transfer, count, return, release, scrap or adjust)")
	case !c.Mode.valid():
		report(path+".mode", fmt.Sprintf("unknown mode %q (receive, issue, transfer, count, return, release, scrap or adjust)", c.Mode))
	}
	if cat != nil {
		for _, f := range []struct{ key, loc string }{{".from", c.From}, {".to", c.To}} {
			if f.loc == "" {
				continue
			}
			l, ok := cat.Location(f.loc)
			if !ok {
				report(path+f.key, fmt.Sprintf("unknown location %q (see locations)", f.loc))
			} else if l.Type == edge.LocVirtual {
				report(path+f.key, fmt.Sprintf("%q is virtual: a station works on locations that hold stock", f.loc))
			}
		}
	}
}

// CheckAll checks a whole `stations:` list: each entry, names and scanners used twice.
func CheckAll(list []Config, cat *edge.Catalog, report func(key, msg string)) {
	names, scanners := map[string]int{}, map[string]int{}
	for i := range list {
		p := fmt.Sprintf("stations[%d]", i)
		list[i].Check(p, cat, report)
		if n := list[i].Name; n != "" {
			if j, dup := names[n]; dup {
				report(p+".name", fmt.Sprintf("%q already names stations[%d]", n, j))
			} else {
				names[n] = i
			}
		}
		if s := list[i].Scanner; s != "" {
			if j, dup := scanners[s]; dup {
				report(p+".scanner", fmt.Sprintf("scanner %q already serves stations[%d]", s, j))
			} else {
				scanners[s] = i
			}
		}
	}
}

// Settings is the `station_settings:` section: rules shared by every station.
type Settings struct {
	// WeightTolerance bounds weight counting: the scale's weight must lie within
	// ±WeightTolerance × unit weight of a whole number of units, or the count is refused.
	// A fraction of one unit, above 0 and below 0.5. Default 0.25. An item's own
	// weight_tolerance (master data) wins over it.
	WeightTolerance float64 `yaml:"weight_tolerance"`
	// WeightMaxAge is how old the scale's last reading may be when a weighed product is
	// scanned (a silent scale is never trusted). Default 3s.
	WeightMaxAge time.Duration `yaml:"weight_max_age"`
	// Approval says when adjustments and scrap need a supervisor badge to be validated.
	Approval Approval `yaml:"approval"`
	// IdleLogout logs an operator out after this long without a scan. Default 0: only the
	// badge logs out.
	IdleLogout time.Duration `yaml:"idle_logout"`
	// AdjustReason is the reason code of an adjustment when the operator scanned no REF:
	// (in adjust mode a REF: scan sets the reason code). Default "station-adjust".
	AdjustReason string `yaml:"adjust_reason"`
	// RefuseOverExpected refuses a scan that would take an item above what the ERP
	// document named by REF: expects (an over-receipt). Default false: the scan is
	// accepted and flagged on the screen and in its message.
	RefuseOverExpected bool `yaml:"refuse_over_expected"`
}

// Approval thresholds; a zero value disables that threshold.
type Approval struct {
	// MaxQty: a document whose total quantity (sum of the lines' absolute base quantities)
	// is above it needs a supervisor. Default 10.
	MaxQty *edge.Qty `yaml:"max_qty"`
	// MaxValue: a document whose value (quantity × master.items[].unit_value) is above it
	// needs a supervisor. Items without unit_value count for nothing here. Default 0 (off).
	MaxValue edge.Qty `yaml:"max_value"`
}

// Defaults documented on Settings.
const (
	DefaultWeightTolerance = 0.25
	DefaultWeightMaxAge    = 3 * time.Second
	DefaultAdjustReason    = "station-adjust"
)

// DefaultApprovalMaxQty is Approval.MaxQty's default.
var DefaultApprovalMaxQty = edge.QtyFromInt(10)

// ApplyDefaults fills what the config left out.
func (s *Settings) ApplyDefaults() {
	if s.WeightTolerance == 0 {
		s.WeightTolerance = DefaultWeightTolerance
	}
	if s.WeightMaxAge == 0 {
		s.WeightMaxAge = DefaultWeightMaxAge
	}
	if s.AdjustReason == "" {
		s.AdjustReason = DefaultAdjustReason
	}
	if s.Approval.MaxQty == nil {
		q := DefaultApprovalMaxQty
		s.Approval.MaxQty = &q
	}
}

// Check reports every problem at path ("station_settings").
func (s *Settings) Check(path string, report func(key, msg string)) {
	if s.WeightTolerance < 0 || s.WeightTolerance >= 0.5 {
		report(path+".weight_tolerance", "must be above 0 and below 0.5 (a fraction of one unit's weight)")
	}
	if s.WeightMaxAge < 0 {
		report(path+".weight_max_age", "must not be negative")
	}
	if s.IdleLogout < 0 || (s.IdleLogout > 0 && s.IdleLogout < 10*time.Second) {
		report(path+".idle_logout", "must be 0 (off) or at least 10s")
	}
	if s.Approval.MaxQty != nil && s.Approval.MaxQty.Sign() < 0 {
		report(path+".approval.max_qty", "must not be negative (0 turns it off)")
	}
	if s.Approval.MaxValue.Sign() < 0 {
		report(path+".approval.max_value", "must not be negative (0 turns it off)")
	}
}

// MasterConfig is the `master:` section: master data for standalone use. It reaches the
// stations through the journal (edge.Options.Master, from Data), merged with the ERP's
// master data, which wins for a SKU or badge present in both (edge.MasterView); the
// stations read it through that view.
type MasterConfig struct {
	Items     []MasterItem    `yaml:"items"`
	Operators []edge.Operator `yaml:"operators"`
}

// Data is the section as the journal takes it (edge.Options.Master).
func (m MasterConfig) Data() edge.MasterData {
	d := edge.MasterData{Operators: m.Operators}
	for _, it := range m.Items {
		d.Items = append(d.Items, it.Item)
	}
	return d
}

// MasterItem is an item of the config's master data.
type MasterItem struct {
	edge.Item `yaml:",inline"`
}

// Check reports every problem at path ("master").
func (m *MasterConfig) Check(path string, cat *edge.Catalog, report func(key, msg string)) {
	skus, codes := map[string]int{}, map[string]string{}
	for i, it := range m.Items {
		p := fmt.Sprintf("%s.items[%d]", path, i)
		if it.SKU == "" {
			report(p+".sku", "required")
		} else if j, dup := skus[it.SKU]; dup {
			report(p+".sku", fmt.Sprintf("%q already defined by %s.items[%d]", it.SKU, path, j))
		} else {
			skus[it.SKU] = i
		}
		switch it.Tracking {
		case "", "none", "lot", "serial":
		default:
			report(p+".tracking", fmt.Sprintf("unknown tracking %q (none, lot or serial)", it.Tracking))
		}
		if it.UoM != "" && cat != nil {
			if _, ok := cat.UoM(it.UoM); !ok {
				report(p+".uom", fmt.Sprintf("unknown unit %q (see uoms)", it.UoM))
			}
		}
		if it.UnitWeightKg != "" {
			if q, err := edge.ParseQtyAnyScale(it.UnitWeightKg); err != nil || q.Sign() <= 0 {
				report(p+".unit_weight_kg", "must be a positive decimal number of kilograms")
			}
		}
		if msg := edge.CheckWeightTolerance(it.WeightTolerance); msg != "" {
			report(p+".weight_tolerance", msg)
		}
		if it.UnitValue != "" {
			if q, err := edge.ParseQtyAnyScale(it.UnitValue); err != nil || q.Sign() < 0 {
				report(p+".unit_value", "must be a decimal number, not negative")
			}
		}
		claim := func(key, code string) {
			k := codeKey(code)
			if prev, dup := codes[k]; dup {
				report(key, fmt.Sprintf("barcode %q already used by %s", code, prev))
				return
			}
			codes[k] = key
		}
		for k, b := range it.Barcodes {
			if b == "" {
				report(fmt.Sprintf("%s.barcodes[%d]", p, k), "empty barcode")
				continue
			}
			claim(fmt.Sprintf("%s.barcodes[%d]", p, k), b)
		}
		for k, pk := range it.Packagings {
			pp := fmt.Sprintf("%s.packagings[%d]", p, k)
			if pk.Barcode == "" {
				report(pp+".barcode", "required")
			} else {
				claim(pp+".barcode", pk.Barcode)
			}
			if pk.Qty.Sign() <= 0 {
				report(pp+".qty", "must be greater than zero (how many units the packaging holds)")
			}
		}
	}
	badges := map[string]int{}
	for i, o := range m.Operators {
		p := fmt.Sprintf("%s.operators[%d]", path, i)
		if o.Badge == "" {
			report(p+".badge", "required")
		} else if j, dup := badges[o.Badge]; dup {
			report(p+".badge", fmt.Sprintf("%q already used by %s.operators[%d]", o.Badge, path, j))
		} else {
			badges[o.Badge] = i
		}
		if o.Name == "" {
			report(p+".name", "required")
		}
		switch o.Role {
		case RoleOperator, RoleSupervisor, RoleAdmin:
		default:
			report(p+".role", fmt.Sprintf("unknown role %q (operator, supervisor or admin)", o.Role))
		}
	}
}

// Operator roles.
const (
	RoleOperator   = "operator"
	RoleSupervisor = "supervisor"
	RoleAdmin      = "admin"
)
