package barcode_test

import (
	"testing"

	"github.com/depotd/depotd/devices/barcode"
)

func TestDecimalAIs(t *testing.T) {
	cases := []struct {
		ai, value, want, currency string
	}{
		{"3100", "001250", "1250", ""},
		{"3101", "001250", "125.0", ""},
		{"3103", "001250", "1.250", ""}, // [ref] (3103)000123 = 0.123 kg analogue
		{"3103", "000123", "0.123", ""}, // [ref]
		{"3105", "123456", "1.23456", ""},
		{"3115", "000001", "0.00001", ""},
		{"3202", "000100", "1.00", ""},
		{"3302", "012345", "123.45", ""},
		{"3375", "100000", "1.00000", ""},
		{"3695", "999999", "9.99999", ""},
		{"3900", "12599", "12599", ""},
		{"3902", "12599", "125.99", ""},
		{"3909", "1", "0.000000001", ""},
		{"3912", "97812599", "125.99", "978"},
		{"3922", "12599", "125.99", ""}, // [ref] (3922)12599 = 125.99
		{"3925", "12599", "0.12599", ""},
		{"3932", "840000001", "0.01", "840"},
		{"3941", "0250", "25.0", ""},
		{"3955", "001234", "0.01234", ""},
	}
	for _, tc := range cases {
		a := barcode.AI{AI: tc.ai, Value: tc.value}
		got, ok := a.Decimal()
		if !ok || got != tc.want || a.Currency() != tc.currency {
			t.Errorf("(%s)%s = %q %v currency %q; want %q %q", tc.ai, tc.value, got, ok, a.Currency(), tc.want, tc.currency)
		}
	}
	for _, ai := range []string{"01", "10", "37", "30", "8005", "3940x"} {
		if v, ok := (barcode.AI{AI: ai, Value: "000123"}).Decimal(); ok {
			t.Errorf("(%s) has decimal %q", ai, v)
		}
	}
}

// Decimal AIs through the decoder: the implied decimal point of every 310n-369n AI.
func TestDecimalAIsDecoded(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	for _, p := range []string{"31", "32", "33", "34", "35", "36"} {
		for _, mid := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"} {
			for n := 0; n <= 5; n++ {
				ai := p + mid + string(rune('0'+n))
				req := "]C10109506000134352"
				r, err := d.Decode([]byte(req+ai+"123456"), "")
				if err != nil {
					if _, ok := (barcode.AI{AI: ai, Value: "123456"}).Decimal(); ok {
						t.Errorf("(%s): %v", ai, err)
					}
					continue // not every 3xx0-3xx9 family is allocated
				}
				got, ok := r.AIs[1].Decimal()
				want := map[int]string{0: "123456", 1: "12345.6", 2: "1234.56", 3: "123.456", 4: "12.3456", 5: "1.23456"}[n]
				if !ok || got != want {
					t.Errorf("(%s)123456 = %q, want %q", ai, got, want)
				}
			}
		}
	}
}
