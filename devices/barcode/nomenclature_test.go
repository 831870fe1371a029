package barcode_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/depotd/depotd/devices/barcode"
)

func TestNomenclaturePatterns(t *testing.T) {
	cases := []struct {
		name     string
		pattern  barcode.Pattern
		code     string
		kind     barcode.Kind
		value    string // weight_kg or price
		baseCode string
	}{
		// [odoo] documentation and POS tour vectors; [ref] check digits verified.
		{"odoo docs 1.5 kg", barcode.Pattern{Type: "weight", Pattern: "21.....{NNDDD}"}, "2112345015002", barcode.KindWeight, "1.500", "2112345000008"},
		{"odoo 8 kg", barcode.Pattern{Type: "weight", Pattern: "21.....{NNDDD}", Unit: "kg"}, "2100005080002", barcode.KindWeight, "8.000", "2100005000000"},
		{"odoo price", barcode.Pattern{Type: "price", Pattern: "23.....{NNNDD}"}, "2305000123451", barcode.KindPrice, "123.45", "2305000000004"},
		{"odoo test rule 1........{NND}.", barcode.Pattern{Type: "weight", Pattern: "1........{NND}.", Encoding: "any"}, "1020034051259", barcode.KindWeight, "12.5", "1020034050009"},
		{"grams", barcode.Pattern{Type: "weight", Pattern: "28.....{NNNNN}", Unit: "g"}, "2812345012505", barcode.KindWeight, "1.25", "2812345000007"},
		{"pounds exact", barcode.Pattern{Type: "weight", Pattern: "22.....{NNDDD}", Unit: "lb"}, "2212345010004", barcode.KindWeight, "0.45359237", "2212345000005"},
		{"escaped literal", barcode.Pattern{Type: "price", Pattern: `P\.{NNDD}`, Encoding: "any"}, "P.1234", barcode.KindPrice, "12.34", "P.0000"},
		{"trailing .* accepted", barcode.Pattern{Type: "price", Pattern: "29.....{NNNDD}.*"}, "2912345001995", barcode.KindPrice, "1.99", "2912345000004"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := barcode.DefaultConfig()
			cfg.Patterns = []barcode.Pattern{tc.pattern}
			d := mustDecoder(t, cfg)
			r, err := d.Decode([]byte(tc.code), "")
			if err != nil {
				t.Fatal(err)
			}
			got := r.WeightKg
			if tc.kind == barcode.KindPrice {
				got = r.Price
			}
			if r.Kind != tc.kind || got != tc.value || r.BaseCode != tc.baseCode {
				t.Errorf("%s: kind %s value %q base %q; want %s %q %q", tc.code, r.Kind, got, r.BaseCode, tc.kind, tc.value, tc.baseCode)
			}
			if len(tc.baseCode) == 13 && strings.HasPrefix(tc.code, "2") && !barcode.ValidCheckDigit(r.BaseCode) {
				t.Errorf("base code %s has a wrong check digit", r.BaseCode)
			}
		})
	}
}

func TestNomenclatureFirstMatchWins(t *testing.T) {
	cfg := barcode.DefaultConfig()
	cfg.Patterns = []barcode.Pattern{
		{Type: "price", Pattern: "21.....{NNNDD}"},
		{Type: "weight", Pattern: "21.....{NNDDD}"},
	}
	r, err := mustDecoder(t, cfg).Decode([]byte("2112345015002"), "")
	if err != nil || r.Kind != barcode.KindPrice || r.Price != "15.00" {
		t.Errorf("got %s %q, %v", r.Kind, r.Price, err)
	}
	// A UPC-A is matched as the EAN-13 with a leading zero; default rules do not match it.
	r, err = mustDecoder(t, barcode.DefaultConfig()).Decode([]byte("416000336108"), "")
	if err != nil || r.Kind != barcode.KindProduct {
		t.Errorf("UPC-A: %s, %v", r.Kind, err)
	}
}

func TestPatternCheck(t *testing.T) {
	cases := []struct {
		p    barcode.Pattern
		want string // substring of the reported problem; "" = valid
	}{
		{barcode.Pattern{Type: "weight", Pattern: "21.....{NNDDD}"}, ""},
		{barcode.Pattern{Type: "weight", Pattern: "21.....{}"}, "empty group"},                // [odoo] {} is invalid
		{barcode.Pattern{Type: "weight", Pattern: "21.....{DDNNN}"}, "integer digits before"}, // [odoo] D before N
		{barcode.Pattern{Type: "weight", Pattern: "2{NN}1{DD}"}, "only one"},                  // [odoo] one group
		{barcode.Pattern{Type: "weight", Pattern: "21.....NNDDD"}, "no {N…D…} value group"},
		{barcode.Pattern{Type: "weight", Pattern: "21(3|4)..{NNDDD}"}, "not supported"},
		{barcode.Pattern{Type: "weight", Pattern: "21......{NNDDD}"}, "check digit"},
		{barcode.Pattern{Type: "weight", Pattern: "21.....{NNDDD"}, "not closed"},
		{barcode.Pattern{Type: "weight", Pattern: "21.....{NNDDD}", Unit: "oz"}, "unknown weight unit"},
		{barcode.Pattern{Type: "price", Pattern: "23.....{NNNDD}", Unit: "kg"}, "takes no unit"},
		{barcode.Pattern{Type: "discount", Pattern: "22{NN}"}, "unknown type"},
		{barcode.Pattern{Type: "weight", Pattern: "21.....{NNDDD}", Encoding: "upca"}, "unknown encoding"},
		{barcode.Pattern{Pattern: "21.....{NNDDD}"}, "required"},
		{barcode.Pattern{Type: "price", Pattern: ""}, "empty pattern"},
		{barcode.Pattern{Type: "price", Pattern: `21\`}, "backslash"},
	}
	for _, tc := range cases {
		cfg := barcode.DefaultConfig()
		cfg.Patterns = []barcode.Pattern{tc.p}
		var got []string
		cfg.Check("barcodes", func(key, msg string) { got = append(got, key+": "+msg) })
		joined := strings.Join(got, "; ")
		if tc.want == "" && len(got) > 0 || tc.want != "" && !strings.Contains(joined, tc.want) {
			t.Errorf("%+v: problems %q, want %q", tc.p, joined, tc.want)
		}
		if tc.want != "" && !strings.HasPrefix(joined, "barcodes.patterns[0].") {
			t.Errorf("%+v: key path in %q", tc.p, joined)
		}
		if _, err := barcode.NewDecoder(cfg); (err != nil) != (tc.want != "") {
			t.Errorf("%+v: NewDecoder error %v", tc.p, err)
		}
	}
}

func TestEmbeddedValueNeedsValidEAN(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	_, err := d.Decode([]byte("2112345015003"), "")
	if !errors.Is(err, barcode.ErrCheckDigit) {
		t.Errorf("bad check digit: %v", err)
	}
}
