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

// TestMandatoryAssociationsAreEnforced: an AI whose req= partner is missing refuses the
// scan, naming the AI, what it needs and where it stands; with its partner it is accepted.
// Every rule of the dictionary is proven one by one in TestEveryReqRuleIsEnforced.
func TestMandatoryAssociationsAreEnforced(t *testing.T) {
	const gtin, sscc, gln = "09506000134352", "106141412345678908", "9506000134369"
	refused := []struct {
		name, in, msg string
		pos           int
	}{
		{"(02) needs (37)", "]C102" + gtin, "(02) needs (37) in the same element string", 3},
		{"(37) needs (00) with (02) or (8026)", "]C102" + gtin + "3712", "(37) needs (00) with (02) or (00) with (8026) in the same element string", 19},
		{"(21) needs a trade item", "]C121S1", "(21) needs (01), (03) or (8006) in the same element string", 3},
		{"(10) needs a trade item", "]C110LOT42", "(10) needs (01), (02), (03), (8006) or (8026) in the same element string", 3},
		{"(250) needs (21) as well as (01)", "]C101" + gtin + "250X", "(250) needs (01) with (21), (03) with (21) or (8006) with (21) in the same element string", 19},
		{"(3925) needs its trade item", "]C13925012599", "(3925) needs (01) with (30), (01) with (31nn), (01) with (32nn), (01) with (35nn) or (01) with (36nn) in the same element string", 3},
		{"(3925) with a count but no GTIN", "]C13925012599\x1d3012", "(3925) needs (01) with (30), (01) with (31nn), (01) with (32nn), (01) with (35nn) or (01) with (36nn) in the same element string", 3},
		{"(3932) needs a measure or count", "]C101" + gtin + "3932978012599", "(3932) needs (30), (31nn), (32nn), (35nn) or (36nn) in the same element string", 19},
		{"(8030) needs one of its keys", "]C18030MEUCIQ", "(8030) needs (00), (01) with (21), (03) with (21), (253), (255), (8003), (8004), (8006) with (21), (8010) with (8011), (8017) or (8018) in the same element string", 3},
		{"(8030) with a GTIN but no serial", "]C101" + gtin + "8030MEUCIQ", "(8030) needs (00), (01) with (21), (03) with (21), (253), (255), (8003), (8004), (8006) with (21), (8010) with (8011), (8017) or (8018) in the same element string", 19},
		{"(8041) needs (8040) too", "]C101" + gtin + "21S1\x1d8041123456789012345", "(8041) needs (01) with (21) and (8040) in the same element string", 24},
		{"(8200) needs (01)", "]C18200https://example.com/p", "(8200) needs (01) in the same element string", 3},
		{"(254) needs (414)", "]C1254EXT", "(254) needs (414) in the same element string", 3},
		{"(4303) needs (4302)", "]C1" + "00" + sscc + "4303B", "(4303) needs (4302) in the same element string", 23},
		{"bracketed (17) alone", "(17)201225", "(17) needs (01), (02), (03), (255), (8006) or (8026) in the same element string", 0},
		{"digital link attribute without its partner", "https://a/00/" + sscc + "?17=201225", "(17) needs (01), (02), (03), (255), (8006) or (8026) in the same element string", 32},
	}
	accepted := []struct{ name, in string }{
		{"(02) with (37) and (00)", "]C100" + sscc + "02" + gtin + "3712"},
		{"(21) with (01)", "]C101" + gtin + "21S1"},
		{"(21) with (8006)", "]C18006" + gtin + "0102\x1d21S1"},
		{"(250) with (01) and (21)", "]C101" + gtin + "21S1\x1d250X"},
		{"(3925) with (01) and a weight", "]C101" + gtin + "3103001250" + "3925012599"},
		{"(8030) with (253)", "]C1253" + gln + "\x1d8030MEUCIQ"},
		{"(8030) with (01) and (21)", "]C101" + gtin + "21S1\x1d8030MEUCIQ"},
		{"(8041) with (01), (21) and (8040)", "]C101" + gtin + "21S1\x1d8040123456789012345\x1d8041123456789012345"},
		{"(8200) with (01)", "]C101" + gtin + "8200https://example.com/p"},
		{"(254) with (414)", "]C1414" + gln + "254EXT"},
		{"repeated AI with the same value", "]C101" + gtin + "10A\x1d10A"},
		{"digital link attribute with its partner", "https://a/01/" + gtin + "?17=201225"},
	}
	// strict_pairing is deprecated and changes nothing: the rules hold either way.
	for _, strict := range []bool{false, true} {
		cfg := barcode.DefaultConfig()
		cfg.StrictPairing = strict
		d := mustDecoder(t, cfg)
		for _, tc := range refused {
			_, err := d.Decode([]byte(tc.in), "")
			var be *barcode.Error
			if !errors.As(err, &be) || !errors.Is(err, barcode.ErrPairing) || be.Msg != tc.msg || be.Pos != tc.pos {
				t.Errorf("%s: %q: %v (pos %d); want %q at %d", tc.name, tc.in, err, posOf(err), tc.msg, tc.pos)
			}
		}
		for _, tc := range accepted {
			if _, err := d.Decode([]byte(tc.in), ""); err != nil {
				t.Errorf("%s: %q: %v", tc.name, tc.in, err)
			}
		}
	}
}

// TestExclusionsAreEnforced: ex= pairs refuse the scan in either order.
func TestExclusionsAreEnforced(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	for _, in := range []string{"]C10209506000134352" + "37012\x1d" + "0109506000134352", "]C10109506000134352" + "37012"} {
		if _, err := d.Decode([]byte(in), ""); !errors.Is(err, barcode.ErrPairing) {
			t.Errorf("%q: %v", in, err)
		}
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

// TestItemCarriersMeetMandatoryAssociations: AIs read from the item's other barcodes count
// toward req= (GS1 evaluates pairings over all carriers of an item), also when a "+"
// group is split between them; they never lift an exclusion and are not returned.
func TestItemCarriersMeetMandatoryAssociations(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	gtin := []barcode.AI{{AI: "01", Value: "09506000134352"}}
	for _, tc := range []struct {
		name, in string
		item     []barcode.AI
		err      error
	}{
		{"lot label for a scanned GTIN", "]C11012345", gtin, nil},
		{"expiry and lot label for a scanned GTIN", "]C1172712311012345", gtin, nil},
		{"(250) with (21) here and (01) on the item", "]C121S1\x1d250X", gtin, nil},
		{"lot label without an item", "]C11012345", nil, barcode.ErrPairing},
		{"an SSCC does not stand for a GTIN", "]C11012345", []barcode.AI{{AI: "00", Value: "106141412345678908"}}, barcode.ErrPairing},
		{"item AIs lift no exclusion", "]C10109506000134352" + "37012", []barcode.AI{{AI: "00", Value: "106141412345678908"}}, barcode.ErrPairing},
	} {
		r, err := d.DecodeForItem([]byte(tc.in), "", tc.item)
		if !errors.Is(err, tc.err) || err != nil && tc.err == nil {
			t.Errorf("%s: %v; want %v", tc.name, err, tc.err)
			continue
		}
		if err == nil && r.AIValue("01") != "" && !strings.Contains(tc.in, "01") {
			t.Errorf("%s: the item's (01) leaked into the result: %+v", tc.name, r.AIs)
		}
	}
}

// TestSymbologyIdentifiersKeepTheirPromise: a leading "]" must be a complete AIM
// identifier, and the data after it must be what the identifier promises (]E0 an EAN-13
// with a valid check digit, ]C1/]d2/]Q3 a GS1 element string); anything else is refused
// with the reason.
func TestSymbologyIdentifiersKeepTheirPromise(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	refused := []struct {
		name, aim, in string
		kind          error
		pos           int
		msg           string // substring
	}{
		{"lone ]", "", "]", barcode.ErrSymbology, 1, "incomplete symbology identifier"},
		{"no modifier", "", "]C", barcode.ErrSymbology, 2, "modifier character is missing"},
		{"code character not a letter", "", "]1C0109506000134352", barcode.ErrSymbology, 1, "not a code character"},
		{"modifier not alphanumeric", "", "]C-0109506000134352", barcode.ErrSymbology, 2, "not a modifier character"},
		{"] before plain text", "", "] PALLET-17", barcode.ErrSymbology, 1, "not a code character"},
		{"]E0 with a badge", "", "]E0OP:alice", barcode.ErrSymbology, 3, "ean-13 data must be digits"},
		{"]E0 with a command, AIM passed apart", "]E0", "CMD:VALIDATE", barcode.ErrSymbology, 0, "ean-13 data must be digits"},
		{"]E4 with a quantity", "", "]E4QTY:5", barcode.ErrSymbology, 3, "data must be digits"},
		{"]I1 with a location", "", "]I1LOC:A-01", barcode.ErrSymbology, 3, "data must be digits"},
		{"]E0 wrong check digit", "", "]E04006381333932", barcode.ErrCheckDigit, 15, "check digit should be 1"},
		{"]E0 too short", "", "]E01234567", barcode.ErrSymbology, 3, "must be 13 digits"},
		{"]C1 with plain text", "", "]C1PALLET-17", barcode.ErrSyntax, 3, "expected an application identifier"},
		{"]C1 with a command", "", "]C1CMD:VALIDATE", barcode.ErrSyntax, 3, "expected an application identifier"},
		{"]d2 with plain text", "", "]d2HELLO", barcode.ErrSyntax, 3, "expected an application identifier"},
		{"]Q3 with plain text", "", "]Q3HELLO", barcode.ErrSyntax, 3, "expected an application identifier"},
		{"]Q3 with a URI", "", "]Q3https://id.gs1.org/01/09506000134352", barcode.ErrSymbology, 3, "not a URI"},
		{"]d2 with a bad GTIN", "", "]d20109506000134353", barcode.ErrCheckDigit, 18, "check digit should be 2"},
		{"]C1 with nothing", "", "]C1", barcode.ErrEmpty, 3, "no data"},
		{"malformed AIM passed apart", "C1", "0109506000134352", barcode.ErrSymbology, 0, "malformed AIM identifier"},
	}
	for _, tc := range refused {
		_, err := d.Decode([]byte(tc.in), tc.aim)
		var be *barcode.Error
		if !errors.As(err, &be) || !errors.Is(err, tc.kind) || be.Pos != tc.pos || !strings.Contains(be.Msg, tc.msg) {
			t.Errorf("%s: %q: %v (pos %d); want %v at %d containing %q", tc.name, tc.in, err, posOf(err), tc.kind, tc.pos, tc.msg)
		}
	}
	accepted := []struct {
		name, in, sym string
		kind          barcode.Kind
	}{
		{"]E0 EAN-13", "]E04006381333931", "ean-13", barcode.KindProduct},
		{"]C1 GS1-128", "]C10109506000134352", "gs1-128", barcode.KindGS1},
		{"]d2 GS1 DataMatrix", "]d20109506000134352\x1d10ABC", "gs1-datamatrix", barcode.KindGS1},
		{"]Q3 GS1 QR", "]Q30109506000134352", "gs1-qr", barcode.KindGS1},
		{"]Q1 Digital Link", "]Q1https://id.gs1.org/01/09506000134352", "qr", barcode.KindGS1},
		{"]C0 command sheet", "]C0CMD:VALIDATE", "code128", barcode.KindCommand},
		{"]A0 location label", "]A0LOC:A-01", "code39", barcode.KindLocation},
		{"unknown symbology, complete identifier", "]X0ABC", "unknown", barcode.KindInternal},
	}
	for _, tc := range accepted {
		r, err := d.Decode([]byte(tc.in), "")
		if err != nil || r.Symbology != tc.sym || r.Kind != tc.kind {
			t.Errorf("%s: %q: %s %s, %v; want %s %s", tc.name, tc.in, r.Symbology, r.Kind, err, tc.sym, tc.kind)
		}
	}
}
