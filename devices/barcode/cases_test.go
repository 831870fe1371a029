package barcode_test

import (
	"github.com/depotd/depotd/devices/barcode"
)

// decodeCase is one scan in the byte-level catalogue shared by the table tests and the
// fuzz seeds (testdata/fuzz/FuzzDecode is generated from it with -update).
type decodeCase struct {
	name string
	aim  string // passed separately, as drivers do; "" lets Decode find a leading AIM id
	in   string
	// On success:
	kind barcode.Kind
	sym  string
	want map[string]string // Result field (JSON name) -> value; "ais" = "01=...|10=..."
	// On refusal:
	err error // sentinel
	pos int
}

// Vectors marked [gse] come from gs1/gs1-syntax-engine tests (scandata.c, dl.c, ai.c),
// [odoo] from odoo/odoo barcode tests and docs, [ref] from shared/reference/devices.md;
// the rest are constructed from the GS1 General Specifications and checked here.
var decodeCases = []decodeCase{
	// GS1-128 with AIM identifier.
	{name: "gs1-128 gtin expiry lot", in: "]C1010950600013435217201225\x1d10ABC", kind: barcode.KindGS1, sym: "gs1-128",
		want: map[string]string{"gtin": "09506000134352", "expiry": "2020-12-25", "lot": "ABC", "ais": "01=09506000134352|17=201225|10=ABC"}},
	{name: "[gse] scandata 01 10 99", in: "]C1011231231231233310ABC123\x1d99TESTING", kind: barcode.KindGS1, sym: "gs1-128",
		want: map[string]string{"ais": "01=12312312312333|10=ABC123|99=TESTING"}},
	{name: "[gse] trailing GS tolerated", in: "]C1011231231231233310ABC123\x1d", kind: barcode.KindGS1, sym: "gs1-128",
		want: map[string]string{"ais": "01=12312312312333|10=ABC123"}},
	{name: "aim passed separately", aim: "]C1", in: "0109506000134352\x1d", kind: barcode.KindGS1, sym: "gs1-128",
		want: map[string]string{"gtin": "09506000134352"}},
	{name: "logistic label", in: "]C100106141412345678908\x1d0209506000134352\x1d37120\x1d10LOT1\x1d15271231\x1d3103001250",
		kind: barcode.KindGS1, sym: "gs1-128",
		want: map[string]string{"sscc": "106141412345678908", "content_gtin": "09506000134352", "count": "120", "lot": "LOT1",
			"best_before": "2027-12-31", "weight_kg": "1.250"}},
	{name: "redundant GS after fixed-length AI", in: "]C10109506000134352\x1d17201225", kind: barcode.KindGS1, sym: "gs1-128",
		want: map[string]string{"ais": "01=09506000134352|17=201225"}},
	{name: "leading GS as FNC1 without AIM", in: "\x1d0109506000134352\x1d10L1", kind: barcode.KindGS1, sym: "unknown",
		want: map[string]string{"lot": "L1"}},
	{name: "GS1 digits without AIM or GS", in: "010950600013435217201231", kind: barcode.KindGS1, sym: "unknown",
		want: map[string]string{"expiry": "2020-12-31"}},
	{name: "expiry DD=00 is end of month", in: "]C1010950600013435217240200", kind: barcode.KindGS1, sym: "gs1-128",
		want: map[string]string{"expiry": "2024-02-29"}},
	{name: "net weight 3103", in: "]C101095060001343523103012345", kind: barcode.KindGS1, sym: "gs1-128",
		want: map[string]string{"weight_kg": "12.345"}},
	{name: "net weight lb 3202 exact", in: "]C101095060001343523202000100", kind: barcode.KindGS1, sym: "gs1-128",
		want: map[string]string{"weight_kg": "0.45359237"}},
	{name: "price 3922", in: "]C101095060001343523012\x1d3922012599", kind: barcode.KindGS1, sym: "gs1-128",
		want: map[string]string{"price": "125.99", "count": "12"}},
	{name: "price with currency 3932", in: "]C10109506000134352\x1d3012\x1d3932978012599", kind: barcode.KindGS1, sym: "gs1-128",
		want: map[string]string{"price": "125.99", "currency": "978"}},
	{name: "gs1 datamatrix pharma", in: "]d20109506000134352172612311012345\x1d21SN0001", kind: barcode.KindGS1, sym: "gs1-datamatrix",
		want: map[string]string{"gtin": "09506000134352", "expiry": "2026-12-31", "lot": "12345", "serial": "SN0001"}},
	{name: "gs1 qr", in: "]Q3010950600013435210ABC", kind: barcode.KindGS1, sym: "gs1-qr", want: map[string]string{"lot": "ABC"}},
	{name: "gs1 databar", in: "]e001095060001343523103000500", kind: barcode.KindGS1, sym: "gs1-databar",
		want: map[string]string{"weight_kg": "0.500"}},
	{name: "gs1 dotcode", in: "]J10109506000134352", kind: barcode.KindGS1, sym: "gs1-dotcode"},
	{name: "bracketed", in: "(01)09506000134352(17)201225(10)ABC", kind: barcode.KindGS1, sym: "gs1-hri",
		want: map[string]string{"gtin": "09506000134352", "expiry": "2020-12-25", "lot": "ABC"}},
	{name: "[gse] bracketed escaped paren", in: "(01)09506000134352(10)12345\\(11)991225", kind: barcode.KindGS1, sym: "gs1-hri",
		want: map[string]string{"lot": "12345(11)991225"}},

	// GS1 refusals with positions.
	{name: "bad GTIN check digit", in: "]C10112312312312334", err: barcode.ErrCheckDigit, pos: 18},
	{name: "[gse] ^ is not FNC1", in: "]C10109506000134352\x1d10AB^C", err: barcode.ErrCharset, pos: 24},
	{name: "lot too long or FNC1 missing", in: "]C10109506000134352101234567890123456789012", err: barcode.ErrLength, pos: 41},
	{name: "two GS in a row", in: "]C10109506000134352\x1d\x1d10A", err: barcode.ErrSyntax, pos: 20},
	{name: "unknown AI 23", in: "]C10109506000134352231", err: barcode.ErrUnknownAI, pos: 19},
	{name: "not an AI", in: "]C1AB", err: barcode.ErrSyntax, pos: 3},
	{name: "short GTIN", in: "]C101123", err: barcode.ErrLength, pos: 8},
	{name: "month 13", in: "]C1010950600013435217201325", err: barcode.ErrContent, pos: 23},
	{name: "[odoo] 410551 is not a date", in: "]C1010950600013435217410551", err: barcode.ErrContent, pos: 25},
	{name: "AI without value", in: "]C10109506000134352\x1d10", err: barcode.ErrLength, pos: 22},
	{name: "01 with 02 excluded", in: "]C101095060001343520209506000134352", err: barcode.ErrPairing, pos: 19},
	{name: "two net weights excluded", in: "]C1010950600013435231030012503102000125", err: barcode.ErrPairing, pos: 29},
	{name: "repeated AI different value", in: "]C1010950600013435210A\x1d10B", err: barcode.ErrPairing, pos: 23},
	{name: "bracketed unknown AI", in: "(01)09506000134352(23)1", err: barcode.ErrUnknownAI, pos: 19},
	{name: "[gse] bracketed empty value", in: "(10)(11)98765", err: barcode.ErrLength, pos: 4},
	{name: "[gse] bracketed (17)9(90)217", in: "(17)9(90)217", err: barcode.ErrLength, pos: 5},
	{name: "bracketed fixed AI too long", in: "(01)095060001343521(10)A", err: barcode.ErrLength, pos: 18},

	// Retail symbologies.
	{name: "[ref] ean-13", in: "4006381333931", kind: barcode.KindProduct, sym: "ean-13", want: map[string]string{"gtin": "04006381333931"}},
	{name: "ean-13 with AIM", in: "]E04006381333931", kind: barcode.KindProduct, sym: "ean-13", want: map[string]string{"gtin": "04006381333931"}},
	{name: "[ref] ean-8", in: "96385074", kind: barcode.KindProduct, sym: "ean-8", want: map[string]string{"gtin": "00000096385074"}},
	{name: "ean-8 with AIM", in: "]E496385074", kind: barcode.KindProduct, sym: "ean-8"},
	{name: "[gse] upc-a", in: "416000336108", kind: barcode.KindProduct, sym: "upc-a", want: map[string]string{"gtin": "00416000336108"}},
	{name: "upc-e expands to upc-a", in: "]E001234565", kind: barcode.KindProduct, sym: "upc-e", want: map[string]string{"gtin": "00012345000065"}},
	{name: "upc-e d6=1", in: "]E004252614", kind: barcode.KindProduct, sym: "upc-e", want: map[string]string{"gtin": "00042100005264"}},
	{name: "upc-e d6=3", in: "]E001234531", kind: barcode.KindProduct, sym: "upc-e", want: map[string]string{"gtin": "00012300000451"}},
	{name: "upc-e d6=4", in: "]E001234543", kind: barcode.KindProduct, sym: "upc-e", want: map[string]string{"gtin": "00012340000053"}},
	{name: "upc-e d6=9", in: "]E001234596", kind: barcode.KindProduct, sym: "upc-e", want: map[string]string{"gtin": "00012345000096"}},
	{name: "[ref] itf-14", in: "]I112345678901231", kind: barcode.KindProduct, sym: "itf-14", want: map[string]string{"gtin": "12345678901231"}},
	{name: "gtin-14 without AIM", in: "12345678901231", kind: barcode.KindProduct, sym: "itf-14"},
	{name: "ean-13 add-on", in: "]E3400638133393112", kind: barcode.KindProduct, sym: "ean-13", want: map[string]string{"add_on": "12"}},
	{name: "ean composite", in: "]E04006381333931|]e01012345", kind: barcode.KindGS1, sym: "ean-13-composite",
		want: map[string]string{"gtin": "04006381333931", "lot": "12345"}},
	{name: "[ref] itf-14 wrong check", in: "]I124012345678909", err: barcode.ErrCheckDigit, pos: 16},
	{name: "[gse] ean-13 wrong check", in: "2112233789658", err: barcode.ErrCheckDigit, pos: 12},
	{name: "ean-13 AIM with letters", in: "]E0400638133393X", err: barcode.ErrSymbology, pos: 15},
	{name: "ean-13 AIM wrong length", in: "]E012345", err: barcode.ErrSymbology, pos: 3},
	{name: "upc-e number system 2", in: "]E021234565", err: barcode.ErrSymbology, pos: 3},

	// Weight- and price-embedded EAN-13 (Odoo default nomenclature).
	{name: "[odoo] weight 1.5 kg", in: "2112345015002", kind: barcode.KindWeight, sym: "ean-13",
		want: map[string]string{"weight_kg": "1.500", "base_code": "2112345000008", "gtin": "02112345000008"}},
	{name: "[odoo] weight 8 kg", in: "2100005080002", kind: barcode.KindWeight, sym: "ean-13", want: map[string]string{"weight_kg": "8.000"}},
	{name: "[odoo] price 123.45", in: "2305000123451", kind: barcode.KindPrice, sym: "ean-13",
		want: map[string]string{"price": "123.45", "base_code": "2305000000004"}},
	{name: "restricted prefix without rule is a product", in: "2012345678903", kind: barcode.KindProduct, sym: "ean-13"},
	{name: "weight prefix with bad check digit", in: "2112345015003", err: barcode.ErrCheckDigit, pos: 12},

	// Digital Link.
	{name: "digital link", in: "https://id.gs1.org/01/09506000134352/10/ABC?17=201225", kind: barcode.KindGS1, sym: "unknown",
		want: map[string]string{"gtin": "09506000134352", "lot": "ABC", "expiry": "2020-12-25", "digital_link_stem": "https://id.gs1.org"}},
	{name: "digital link in QR", in: "]Q1https://example.com/shop/01/09506000134352/21/S%2F1", kind: barcode.KindGS1, sym: "qr",
		want: map[string]string{"serial": "S/1", "digital_link_stem": "https://example.com/shop"}},
	{name: "plain URL is refused", in: "]Q1https://example.com/menu", err: barcode.ErrDigitalLink, pos: 22},
	{name: "digital link bad order", in: "https://id.gs1.org/01/09506000134352/21/X/10/Y", err: barcode.ErrDigitalLink, pos: 19},
	{name: "digital link bad GTIN", in: "https://id.gs1.org/01/09506000134353", err: barcode.ErrCheckDigit, pos: 35},

	// Depot-internal prefixes.
	{name: "operator badge", in: "OP:alice", kind: barcode.KindOperator, sym: "unknown", want: map[string]string{"value": "alice", "prefix": "OP:"}},
	{name: "command", in: "]C0CMD:VALIDATE", kind: barcode.KindCommand, sym: "code128", want: map[string]string{"value": "VALIDATE"}},
	{name: "odoo command", in: "O-CMD.MAIN-MENU", kind: barcode.KindCommand, want: map[string]string{"prefix": "O-CMD.", "value": "MAIN-MENU"}},
	{name: "odoo button", in: "O-BTN.validate", kind: barcode.KindCommand, want: map[string]string{"prefix": "O-BTN.", "value": "validate"}},
	{name: "quantity", in: "QTY:12.5", kind: barcode.KindQuantity, want: map[string]string{"value": "12.5"}},
	{name: "reference", in: "REF:PO0042", kind: barcode.KindReference, want: map[string]string{"value": "PO0042"}},
	{name: "location", in: "]A0LOC:WH/A-01-02", kind: barcode.KindLocation, sym: "code39", want: map[string]string{"value": "WH/A-01-02"}},
	{name: "quantity not a number", in: "QTY:1x", err: barcode.ErrContent, pos: 5},
	{name: "quantity zero", in: "QTY:0", err: barcode.ErrContent, pos: 4},
	{name: "empty command", in: "CMD:", err: barcode.ErrContent, pos: 4},
	{name: "control byte in badge", in: "OP:a\x07", err: barcode.ErrCharset, pos: 4},

	// Anything else.
	{name: "code 128 text", in: "]C0PALLET-17", kind: barcode.KindInternal, sym: "code128"},
	{name: "plain text", in: "hello", kind: barcode.KindInternal, sym: "unknown"},
	{name: "digits of other length", in: "12345", kind: barcode.KindInternal, sym: "unknown"},
	{name: "empty after AIM", in: "]C1", err: barcode.ErrEmpty, pos: 3},
	{name: "empty", in: "", err: barcode.ErrEmpty, pos: 0},

	// Mandatory associations (req=), issue #13.
	{name: "(02) needs (37)", in: "]C10209506000134352", err: barcode.ErrPairing, pos: 3},
	{name: "(21) needs a trade item", in: "]C121S1", err: barcode.ErrPairing, pos: 3},
	{name: "(250) needs (01) with (21)", in: "]C10109506000134352250X", err: barcode.ErrPairing, pos: 19},
	{name: "(3925) needs its trade item", in: "]C13925012599", err: barcode.ErrPairing, pos: 3},
	{name: "(8030) needs one of its keys", in: "]C18030MEUCIQ", err: barcode.ErrPairing, pos: 3},
	{name: "(8030) with (253)", in: "]C12539506000134369\x1d8030MEUCIQ", kind: barcode.KindGS1, sym: "gs1-128",
		want: map[string]string{"ais": "253=9506000134369|8030=MEUCIQ"}},
	{name: "(250) with (01) and (21)", in: "]C1010950600013435221S1\x1d250X", kind: barcode.KindGS1, sym: "gs1-128",
		want: map[string]string{"serial": "S1", "ais": "01=09506000134352|21=S1|250=X"}},
	{name: "bracketed (17) alone", in: "(17)201225", err: barcode.ErrPairing, pos: 0},

	// Symbology identifiers keep their promise.
	{name: "lone ]", in: "]", err: barcode.ErrSymbology, pos: 1},
	{name: "]C without modifier", in: "]C", err: barcode.ErrSymbology, pos: 2},
	{name: "] then a digit", in: "]1C0109506000134352", err: barcode.ErrSymbology, pos: 1},
	{name: "]E0 with a badge", in: "]E0OP:alice", err: barcode.ErrSymbology, pos: 3},
	{name: "]I1 with a location", in: "]I1LOC:A-01", err: barcode.ErrSymbology, pos: 3},
	{name: "]Q3 with a URI", in: "]Q3https://id.gs1.org/01/09506000134352", err: barcode.ErrSymbology, pos: 3},
	{name: "]d2 with plain text", in: "]d2HELLO", err: barcode.ErrSyntax, pos: 3},

	// An http(s) scan is a GS1 Digital Link or refused.
	{name: "digital link with stem, qualifier, attributes", in: "https://example.com/shop/2024/01/09506000134352/10/L?17=201225&linkType=all",
		kind: barcode.KindGS1, want: map[string]string{"digital_link_stem": "https://example.com/shop/2024", "ais": "01=09506000134352|10=L|17=201225"}},
	{name: "web address without a key", in: "https://example.com/menu", err: barcode.ErrDigitalLink, pos: 19},
	{name: "mixed-case scheme", in: "HtTp://a/01/09506000134352", err: barcode.ErrDigitalLink, pos: 0},
	{name: "empty path segment", in: "https://a//01/09506000134352", err: barcode.ErrDigitalLink, pos: 10},
	{name: "unknown AI in the path", in: "https://a/01/09506000134352/23/X", err: barcode.ErrUnknownAI, pos: 28},
	{name: "key in the query", in: "https://a/01/09506000134352?00=106141412345678908", err: barcode.ErrDigitalLink, pos: 28},
	{name: "qualifier in the query", in: "https://a/01/09506000134352/235/T?10=L", err: barcode.ErrDigitalLink, pos: 34},
}
