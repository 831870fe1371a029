// Package unit converts scale readings to kilograms exactly. It is shared by the serial
// scale drivers (package scale) and the HID point-of-sale driver (package hidpos), so the
// conversion factors live in one place.
//
// The factors are definitions, not measurements: 1 lb = 0.45359237 kg exactly (International
// Yard and Pound Agreement, 1959) and 1 oz = 1/16 lb = 0.028349523125 kg exactly. A decimal
// type keeps them exact; a float64 would not (0.45359237 has no finite binary expansion).
package unit

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// The units a depotd weight may carry (devices.Weight.Unit).
const (
	G  = "g"
	Kg = "kg"
	Lb = "lb"
	Oz = "oz"
)

// ErrUnsupported is returned for a unit depotd does not weigh in (mg, ct, lb-oz, ...):
// the scale must be set to g, kg, lb or oz.
var ErrUnsupported = errors.New("unsupported unit (set the scale to g, kg, lb or oz)")

var (
	kgPerLb = decimal.RequireFromString("0.45359237")
	kgPerOz = decimal.RequireFromString("0.028349523125")
)

// Valid reports whether u is one of g, kg, lb, oz.
func Valid(u string) bool {
	switch u {
	case G, Kg, Lb, Oz:
		return true
	}
	return false
}

// ToKg converts v in unit u to kilograms exactly. g→kg divides by 1000 exactly (a decimal
// division by a power of ten only moves the exponent, so DivisionPrecision never applies).
func ToKg(v decimal.Decimal, u string) (decimal.Decimal, error) {
	switch u {
	case Kg:
		return v, nil
	case G:
		return v.Shift(-3), nil
	case Lb:
		return v.Mul(kgPerLb), nil
	case Oz:
		return v.Mul(kgPerOz), nil
	}
	return decimal.Decimal{}, fmt.Errorf("%q: %w", u, ErrUnsupported)
}
