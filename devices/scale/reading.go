package scale

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/scale/unit"
)

// Reading is what a decoder extracts from one frame. HasValue is false when the frame
// carries only a status (MT-SICS "S +", a Toledo "?" status byte, an NCI status-only reply):
// Value is then zero and Unit may be empty.
type Reading struct {
	Value    decimal.Decimal
	HasValue bool
	Unit     string
	Stable   bool
	Net      bool
	Status   devices.WeightStatus
}

// Weight stamps r into a devices.Weight. Kg is computed exactly; a reading without a value
// (overload, motion status) keeps Value and Kg zero. fallbackUnit fills Unit when the frame
// carried none, so every event names a unit.
func (r Reading) Weight(device string, at time.Time, raw []byte, fallbackUnit string) (devices.Weight, error) {
	w := devices.Weight{
		Device: device,
		At:     at,
		Value:  r.Value,
		Unit:   r.Unit,
		Stable: r.Stable,
		Net:    r.Net,
		Status: r.Status,
		Raw:    append([]byte(nil), raw...),
	}
	if w.Unit == "" {
		w.Unit = fallbackUnit
	}
	if !r.HasValue {
		// A status without a weight is never usable, whatever its bits say.
		w.Stable = false
		w.Value = decimal.Zero
		w.Kg = decimal.Zero
		return w, nil
	}
	kg, err := unit.ToKg(r.Value, w.Unit)
	if err != nil {
		return devices.Weight{}, fmt.Errorf("reading %s %s: %w", r.Value, w.Unit, err)
	}
	w.Kg = kg
	return w, nil
}

// parseUnit maps a unit as scales print it (any case, padded) to depotd's unit names.
func parseUnit(s string) (string, error) {
	switch s {
	case "g", "G":
		return unit.G, nil
	case "kg", "KG", "Kg":
		return unit.Kg, nil
	case "lb", "LB", "Lb":
		return unit.Lb, nil
	case "oz", "OZ", "Oz":
		return unit.Oz, nil
	}
	return "", fmt.Errorf("%q: %w", s, unit.ErrUnsupported)
}

// parseNumber parses a weight printed by a scale: optional sign, digits, at most one point.
// decimal.NewFromString alone would also accept exponents ("1e3") and other forms no scale
// sends, so the bytes are checked first.
func parseNumber(s string) (decimal.Decimal, error) {
	if len(s) == 0 || len(s) > 16 {
		return decimal.Decimal{}, fmt.Errorf("weight %q: %w", s, ErrMalformed)
	}
	digits, points := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			points++
		case (c == '-' || c == '+') && i == 0:
		default:
			return decimal.Decimal{}, fmt.Errorf("weight %q: %w", s, ErrMalformed)
		}
	}
	if digits == 0 || points > 1 {
		return decimal.Decimal{}, fmt.Errorf("weight %q: %w", s, ErrMalformed)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("weight %q: %w", s, ErrMalformed)
	}
	return d, nil
}
