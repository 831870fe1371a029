package unit_test

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/devices/scale/unit"
)

func TestToKgExact(t *testing.T) {
	cases := []struct {
		v, u, want string
	}{
		{"1.234", "kg", "1.234"},
		{"1234", "g", "1.234"},
		{"0.5", "g", "0.0005"},
		{"1", "lb", "0.45359237"},
		{"1.25", "lb", "0.5669904625"},
		{"1", "oz", "0.028349523125"},
		{"16", "oz", "0.45359237"}, // 16 oz is exactly 1 lb
		{"4.9", "oz", "0.1389126633125"},
		{"-0.02", "kg", "-0.02"},
		{"0", "lb", "0"},
	}
	for _, c := range cases {
		got, err := unit.ToKg(decimal.RequireFromString(c.v), c.u)
		if err != nil {
			t.Fatalf("%s %s: %v", c.v, c.u, err)
		}
		if !got.Equal(decimal.RequireFromString(c.want)) {
			t.Errorf("%s %s = %s kg, want %s", c.v, c.u, got, c.want)
		}
	}
	for _, u := range []string{"", "mg", "KG", "ct", "t"} {
		if _, err := unit.ToKg(decimal.NewFromInt(1), u); !errors.Is(err, unit.ErrUnsupported) {
			t.Errorf("unit %q: err %v, want ErrUnsupported", u, err)
		}
		if unit.Valid(u) {
			t.Errorf("Valid(%q) = true", u)
		}
	}
}
