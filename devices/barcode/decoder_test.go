package barcode_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/devices/barcode"
)

// fixedNow makes two-digit years deterministic: the GenSpecs 7.12 window is 1977..2076.
func fixedNow() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) }

func mustDecoder(tb testing.TB, cfg barcode.Config) *barcode.Decoder {
	tb.Helper()
	d, err := barcode.NewDecoder(cfg, barcode.WithNow(fixedNow))
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func resultFields(tb testing.TB, r barcode.Result) map[string]string {
	tb.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	var ais []string
	for _, a := range r.AIs {
		ais = append(ais, a.AI+"="+a.Value)
	}
	out["ais"] = strings.Join(ais, "|")
	return out
}

func TestDecodeCatalogue(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := d.Decode([]byte(tc.in), tc.aim)
			if tc.err != nil {
				var be *barcode.Error
				if !errors.As(err, &be) {
					t.Fatalf("Decode(%q) = %+v, %v; want *Error wrapping %v", tc.in, r, err, tc.err)
				}
				if !errors.Is(err, tc.err) || be.Pos != tc.pos {
					t.Fatalf("Decode(%q) error %v (kind %v, pos %d); want kind %v at %d", tc.in, err, be.Kind, be.Pos, tc.err, tc.pos)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%q): %v", tc.in, err)
			}
			if r.Kind != tc.kind {
				t.Errorf("kind = %q, want %q", r.Kind, tc.kind)
			}
			if tc.sym != "" && r.Symbology != tc.sym {
				t.Errorf("symbology = %q, want %q", r.Symbology, tc.sym)
			}
			got := resultFields(t, r)
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
		})
	}
}

func TestDecodeErrorPositionsInRange(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	for _, tc := range decodeCases {
		_, err := d.Decode([]byte(tc.in), tc.aim)
		var be *barcode.Error
		if errors.As(err, &be) && (be.Pos < 0 || be.Pos > len(tc.in)) {
			t.Errorf("%s: position %d outside 0..%d", tc.name, be.Pos, len(tc.in))
		}
	}
}

func TestAIMIdentifiers(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	cases := []struct {
		aim, data, sym string
		kind           barcode.Kind
	}{
		{"]C1", "0109506000134352", "gs1-128", barcode.KindGS1},
		{"]C0", "ABC", "code128", barcode.KindInternal},
		{"]e0", "0109506000134352", "gs1-databar", barcode.KindGS1},
		{"]d2", "0109506000134352", "gs1-datamatrix", barcode.KindGS1},
		{"]d1", "HELLO", "datamatrix", barcode.KindInternal},
		{"]Q3", "0109506000134352", "gs1-qr", barcode.KindGS1},
		{"]Q1", "HELLO", "qr", barcode.KindInternal},
		{"]J1", "0109506000134352", "gs1-dotcode", barcode.KindGS1},
		{"]E0", "4006381333931", "ean-13", barcode.KindProduct},
		{"]E0", "416000336108", "upc-a", barcode.KindProduct},
		{"]E4", "96385074", "ean-8", barcode.KindProduct},
		{"]E1", "12", "ean-addon", barcode.KindInternal},
		{"]I1", "12345678901231", "itf-14", barcode.KindProduct},
		{"]I0", "123456", "itf", barcode.KindInternal},
		{"]A0", "ABC-1", "code39", barcode.KindInternal},
		{"]X0", "ABC", "unknown", barcode.KindInternal},
	}
	for _, tc := range cases {
		// The same scan with the AIM identifier passed apart and left in the data.
		for _, in := range []struct{ aim, data string }{{tc.aim, tc.data}, {"", tc.aim + tc.data}} {
			r, err := d.Decode([]byte(in.data), in.aim)
			if err != nil {
				t.Errorf("%s%s: %v", tc.aim, tc.data, err)
				continue
			}
			if r.Symbology != tc.sym || r.Kind != tc.kind || r.AIM != tc.aim {
				t.Errorf("%s%s: symbology %q kind %q aim %q; want %q %q", tc.aim, tc.data, r.Symbology, r.Kind, r.AIM, tc.sym, tc.kind)
			}
		}
	}
	if _, err := d.Decode([]byte("x"), "C1"); !errors.Is(err, barcode.ErrSymbology) {
		t.Errorf("malformed AIM: %v", err)
	}
}

func TestPairingStrictAndUnmet(t *testing.T) {
	lotOnly := []byte("]C110LOT42")
	d := mustDecoder(t, barcode.DefaultConfig())
	r, err := d.Decode(lotOnly, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Unmet) != 1 || !strings.Contains(r.Unmet[0], "AI (10) requires one of (01), (02), (03), (8006), (8026)") {
		t.Errorf("unmet = %q", r.Unmet)
	}
	cfg := barcode.DefaultConfig()
	cfg.StrictPairing = true
	strict := mustDecoder(t, cfg)
	if _, err := strict.Decode(lotOnly, ""); !errors.Is(err, barcode.ErrPairing) {
		t.Errorf("strict: %v", err)
	}
	// "+" groups: (250) needs (01) together with (21).
	if _, err := strict.Decode([]byte("]C1010950600013435221S1\x1d250X"), ""); err != nil {
		t.Errorf("01+21+250: %v", err)
	}
	if _, err := strict.Decode([]byte("]C10109506000134352250X"), ""); !errors.Is(err, barcode.ErrPairing) {
		t.Errorf("01+250 without 21: %v", err)
	}
	// (8200) product URL needs a GTIN.
	r, err = d.Decode([]byte("]C18200https://example.com/p"), "")
	if err != nil || len(r.Unmet) != 1 || r.Unmet[0] != "AI (8200) requires (01)" {
		t.Errorf("8200 alone: %q, %v", r.Unmet, err)
	}
	if _, err := strict.Decode([]byte("]C18200https://example.com/p"), ""); !errors.Is(err, barcode.ErrPairing) {
		t.Errorf("strict 8200 alone: %v", err)
	}
	if r, err := strict.Decode([]byte("]C101095060001343528200https://example.com/p"), ""); err != nil || len(r.Unmet) != 0 {
		t.Errorf("01+8200: %+v, %v", r.Unmet, err)
	}
	// Exclusions hold in either order and whatever the strictness.
	for _, in := range []string{"]C10209506000134352" + "37012\x1d" + "0109506000134352", "]C10109506000134352" + "37012"} {
		if _, err := d.Decode([]byte(in), ""); !errors.Is(err, barcode.ErrPairing) {
			t.Errorf("%q: %v", in, err)
		}
	}
	// Repeating an AI with the same value is allowed.
	if _, err := d.Decode([]byte("]C110A\x1d10A"), ""); err != nil {
		t.Errorf("repeated AI, same value: %v", err)
	}
}

func TestFNC1Substitute(t *testing.T) {
	cfg := barcode.DefaultConfig()
	cfg.FNC1Substitute = "#"
	d := mustDecoder(t, cfg)
	r, err := d.Decode([]byte("0109506000134352#10ABC#21S1"), "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Lot != "ABC" || r.Serial != "S1" {
		t.Errorf("got lot %q serial %q", r.Lot, r.Serial)
	}
	// Prefixed codes never see the substitute.
	r, err = d.Decode([]byte("REF:A#B"), "")
	if err != nil || r.Value != "A#B" {
		t.Errorf("REF:A#B = %+v, %v", r, err)
	}
}

func TestMaxLength(t *testing.T) {
	cfg := barcode.DefaultConfig()
	cfg.MaxLength = 10
	d := mustDecoder(t, cfg)
	if _, err := d.Decode([]byte("12345678901"), ""); !errors.Is(err, barcode.ErrTooLong) {
		t.Errorf("11 bytes with max 10: %v", err)
	}
	if _, err := d.Decode([]byte("1234567890"), ""); err != nil {
		t.Errorf("10 bytes with max 10: %v", err)
	}
}

func TestCenturyWindow(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	for yymmdd, want := range map[string]string{
		"520300": "2052-03-31", // [odoo]
		"200200": "2020-02-29", // [odoo]
		"760101": "2076-01-01", // +50 years stays in this century
		"770101": "1977-01-01", // +51 goes back a century
		"000229": "2000-02-29",
		"990630": "1999-06-30",
	} {
		r, err := d.Decode([]byte("]C1010950600013435217"+yymmdd), "")
		if err != nil || r.Expiry != want {
			t.Errorf("(17)%s = %q, %v; want %s", yymmdd, r.Expiry, err, want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	_, err := d.Decode([]byte("]C10112312312312334"), "")
	if got, want := err.Error(), "AI (01): check digit should be 3 (at byte 18)"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}
