package hidpos

import (
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/scale/unit"
)

// ReportSize is the Scale Data Report with its report ID byte, as hidraw returns it.
const ReportSize = 6

// Scale status values (report byte 1): usages 0x71..0x78 of the HID POS usage page.
const (
	StatusFault         = 1
	StatusStableZero    = 2
	StatusInMotion      = 3
	StatusStable        = 4
	StatusUnderZero     = 5
	StatusOverLimit     = 6
	StatusNeedsCalib    = 7
	StatusNeedsRezeroed = 8
)

// Unit codes (report byte 2): usages 0x51..0x5C.
var unitNames = [...]string{1: "mg", 2: "g", 3: "kg", 4: "ct", 5: "tael", 6: "grain", 7: "dwt", 8: "t", 9: "ton", 10: "ozt", 11: "oz", 12: "lb"}

// ErrMalformed: the report is not a Scale Data Report (wrong length, report ID, status or
// unit code).
var ErrMalformed = errors.New("malformed HID scale report")

// Report is a decoded Scale Data Report.
type Report struct {
	ID     byte
	Status byte
	Unit   string // as the scale names it; Weight refuses all but g, kg, oz, lb
	Value  decimal.Decimal
}

// Decode decodes one report of exactly ReportSize bytes: report ID 3 (4 is accepted, as
// usbscale does), status 1..8, unit 1..12, a signed base-10 exponent and an unsigned
// little-endian weight. Value is weight × 10^exponent, exact.
func Decode(b []byte) (Report, error) {
	if len(b) != ReportSize {
		return Report{}, fmt.Errorf("hid scale report of %d bytes: %w", len(b), ErrMalformed)
	}
	if b[0] != 3 && b[0] != 4 {
		return Report{}, fmt.Errorf("hid scale report % x: report id %d: %w", b, b[0], ErrMalformed)
	}
	if b[1] < StatusFault || b[1] > StatusNeedsRezeroed {
		return Report{}, fmt.Errorf("hid scale report % x: status %d: %w", b, b[1], ErrMalformed)
	}
	if b[2] < 1 || int(b[2]) >= len(unitNames) {
		return Report{}, fmt.Errorf("hid scale report % x: unit code %d: %w", b, b[2], ErrMalformed)
	}
	raw := int64(b[4]) | int64(b[5])<<8
	return Report{ID: b[0], Status: b[1], Unit: unitNames[b[2]], Value: decimal.New(raw, int32(int8(b[3])))}, nil
}

// Weight turns the report into a devices.Weight. Under zero and over limit carry no
// usable value (the weight field is not the weight then); fault and calibration states
// are errors. A unit depotd does not weigh in gives an error.
func (r Report) Weight(device string, at time.Time, raw []byte) (devices.Weight, error) {
	w := devices.Weight{Device: device, At: at, Value: r.Value, Unit: r.Unit, Raw: append([]byte(nil), raw...)}
	switch r.Status {
	case StatusStable, StatusStableZero:
		w.Stable, w.Status = true, devices.WeightOK
	case StatusInMotion:
		w.Status = devices.WeightMotion
	case StatusUnderZero:
		w.Status, w.Value = devices.WeightUnderload, decimal.Zero
	case StatusOverLimit:
		w.Status, w.Value = devices.WeightOverload, decimal.Zero
	default:
		w.Status, w.Value = devices.WeightError, decimal.Zero
	}
	kg, err := unit.ToKg(w.Value, w.Unit)
	if err != nil {
		return devices.Weight{}, fmt.Errorf("hid scale report % x: %w", raw, err)
	}
	w.Kg = kg
	return w, nil
}
