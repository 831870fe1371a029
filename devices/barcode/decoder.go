package barcode

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Kind classifies a scan for the stations.
type Kind string

const (
	KindProduct   Kind = "product"   // a retail GTIN: EAN-13, EAN-8, UPC-A, UPC-E, ITF-14
	KindGS1       Kind = "gs1"       // GS1 element string or Digital Link (AIs in Result.AIs)
	KindWeight    Kind = "weight"    // weight-embedded EAN-13 matched by a pattern
	KindPrice     Kind = "price"     // price-embedded EAN-13 matched by a pattern
	KindLocation  Kind = "location"  // LOC: prefix
	KindOperator  Kind = "operator"  // OP: badge
	KindCommand   Kind = "command"   // CMD:, O-CMD., O-BTN.
	KindQuantity  Kind = "quantity"  // QTY:
	KindReference Kind = "reference" // REF:
	KindInternal  Kind = "internal"  // anything else: plain Code 128/39 text, ... (never an http(s) URI)
)

// Result is a decoded scan. Strings are exact: decimals keep the scale they were encoded
// with, dates are ISO 8601 (YYYY-MM-DD).
type Result struct {
	Kind Kind `json:"kind"`
	// Symbology: ean-13, ean-8, upc-a, upc-e, itf-14, gs1-128, code128, gs1-datamatrix,
	// datamatrix, gs1-qr, qr, gs1-databar, gs1-dotcode, code39, gs1-hri (bracketed text),
	// or unknown when no AIM identifier was sent and the data does not tell.
	Symbology string `json:"symbology"`
	// AIM is the symbology identifier as received ("]C1"), or "".
	AIM string `json:"aim,omitempty"`
	// Data is the scanned data without the AIM identifier (GS kept as FNC1).
	Data string `json:"data"`

	GTIN        string `json:"gtin,omitempty"`         // GTIN-14: AI (01), a retail code, or a base code
	ContentGTIN string `json:"content_gtin,omitempty"` // AI (02): GTIN of the contained items
	SSCC        string `json:"sscc,omitempty"`         // AI (00)
	Lot         string `json:"lot,omitempty"`          // AI (10)
	Serial      string `json:"serial,omitempty"`       // AI (21)
	Expiry      string `json:"expiry,omitempty"`       // AI (17), YYYY-MM-DD
	BestBefore  string `json:"best_before,omitempty"`  // AI (15)
	ProducedOn  string `json:"produced_on,omitempty"`  // AI (11)
	PackedOn    string `json:"packed_on,omitempty"`    // AI (13)
	Count       string `json:"count,omitempty"`        // AI (37) or (30)
	// WeightKg is the net weight in kg: AI (310n), AI (320n) converted exactly
	// (1 lb = 0.45359237 kg), or a weight pattern.
	WeightKg string `json:"weight_kg,omitempty"`
	// GrossWeightKg is the logistic (gross) weight: AI (330n) or (340n) converted.
	GrossWeightKg string `json:"gross_weight_kg,omitempty"`
	// Price is an amount payable: a price pattern or AI (392n)/(393n); Currency is the
	// ISO 4217 numeric code of (393n).
	Price    string `json:"price,omitempty"`
	Currency string `json:"currency,omitempty"`
	// BaseCode is an embedded-value EAN-13 with the value digits zeroed and the check
	// digit recomputed: what the item master stores.
	BaseCode string `json:"base_code,omitempty"`
	// AddOn is an EAN/UPC 2- or 5-digit add-on.
	AddOn string `json:"add_on,omitempty"`
	// Prefix and Value are the matched prefix and the payload after it (operator, command,
	// quantity, reference and location scans).
	Prefix string `json:"prefix,omitempty"`
	Value  string `json:"value,omitempty"`
	// DigitalLinkStem is the URI part before the GS1 key of a Digital Link.
	DigitalLinkStem string `json:"digital_link_stem,omitempty"`
	AIs             []AI   `json:"ais,omitempty"`
}

// AIValue returns the value of the first occurrence of ai, or "".
func (r *Result) AIValue(ai string) string {
	for _, a := range r.AIs {
		if a.AI == ai {
			return a.Value
		}
	}
	return ""
}

// Decoder turns scans into Results. It is immutable after NewDecoder and safe for
// concurrent use.
type Decoder struct {
	cfg      Config
	patterns []*compiledPattern
	prefixes []prefixEntry
	now      func() time.Time
	maxLen   int
}

type prefixEntry struct {
	prefix string
	kind   Kind
}

// Option configures a Decoder.
type Option func(*Decoder)

// WithNow sets the clock used to choose the century of two-digit years (GenSpecs 7.12).
func WithNow(now func() time.Time) Option { return func(d *Decoder) { d.now = now } }

// NewDecoder checks cfg and builds a Decoder. The error lists every problem Check finds.
func NewDecoder(cfg Config, opts ...Option) (*Decoder, error) {
	var problems []string
	cfg.Check("barcodes", func(key, msg string) { problems = append(problems, key+": "+msg) })
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid barcode config: %s", strings.Join(problems, "; "))
	}
	d := &Decoder{cfg: cfg, now: time.Now, maxLen: cfg.MaxLength}
	if d.maxLen == 0 {
		d.maxLen = DefaultMaxLength
	}
	for _, p := range cfg.Patterns {
		cp, _ := p.compile() // Check compiled it already
		d.patterns = append(d.patterns, cp)
	}
	for _, k := range cfg.Prefixes.kinds() {
		for _, p := range k.list {
			d.prefixes = append(d.prefixes, prefixEntry{p, k.kind})
		}
	}
	// Longest prefix first, so "O-CMD." wins over a configured "O-".
	for i := 1; i < len(d.prefixes); i++ {
		for j := i; j > 0 && len(d.prefixes[j].prefix) > len(d.prefixes[j-1].prefix); j-- {
			d.prefixes[j], d.prefixes[j-1] = d.prefixes[j-1], d.prefixes[j]
		}
	}
	for _, o := range opts {
		o(d)
	}
	return d, nil
}

// aimSymbology maps an AIM identifier's symbology character (and modifier) to our name and
// whether its data is a GS1 element string (ISO/IEC 15424; GS1 GenSpecs figure 5.1.2-2).
func aimSymbology(aim string) (name string, gs1 bool) {
	if len(aim) != 3 {
		return "unknown", false
	}
	switch aim[1:] {
	case "C1":
		return "gs1-128", true
	case "e0":
		return "gs1-databar", true
	case "d2":
		return "gs1-datamatrix", true
	case "Q3":
		return "gs1-qr", true
	case "J1":
		return "gs1-dotcode", true
	case "E0":
		return "ean-13", false
	case "E4":
		return "ean-8", false
	case "E1", "E2", "E3":
		return "ean-13", false
	case "I0", "I1":
		return "itf", false
	}
	switch aim[1] {
	case 'C':
		return "code128", false
	case 'd':
		return "datamatrix", false
	case 'Q':
		return "qr", false
	case 'A':
		return "code39", false
	case 'J':
		return "dotcode", false
	case 'I':
		return "itf", false
	}
	return "unknown", false
}

// digitsOnly reports whether the AIM identifier names a symbology that encodes digits only
// (EAN/UPC and its add-ons, ITF).
func digitsOnly(aim string) bool {
	return len(aim) == 3 && (aim[1] == 'E' || aim[1] == 'I')
}

// badAIMIdentifier checks a leading "]": ISO/IEC 15424 identifiers are "]", a code
// character (a letter naming the symbology) and a modifier character. It returns the
// position of the problem and a message, or -1.
func badAIMIdentifier(b []byte) (int, string) {
	switch {
	case len(b) < 2:
		return 1, "incomplete symbology identifier: \"]\" must be followed by a code character and a modifier"
	case !(b[1] >= 'A' && b[1] <= 'Z' || b[1] >= 'a' && b[1] <= 'z'):
		return 1, fmt.Sprintf("symbology identifier: %s is not a code character (a letter)", quoteByte(b[1]))
	case len(b) < 3:
		return 2, fmt.Sprintf("incomplete symbology identifier \"]%c\": the modifier character is missing", b[1])
	case !(isDigit(b[2]) || b[2] >= 'A' && b[2] <= 'Z' || b[2] >= 'a' && b[2] <= 'z'):
		return 2, fmt.Sprintf("symbology identifier \"]%c\": %s is not a modifier character", b[1], quoteByte(b[2]))
	}
	return -1, ""
}

func isAIMIdentifier(b []byte) bool {
	if len(b) == 0 || b[0] != ']' {
		return false
	}
	pos, _ := badAIMIdentifier(b)
	return pos < 0
}

// Decode classifies and decodes one scan. aim is the AIM identifier the driver split off
// ("" if none); when aim is "" and data starts with one, it is honoured and error positions
// count it. Errors are *Error.
func (d *Decoder) Decode(data []byte, aim string) (Result, error) {
	return d.decode(data, aim, nil)
}

// DecodeForItem decodes a scan that belongs to a physical item whose other barcodes were
// read already: item holds their AIs (a station passes the GTIN of the product it awaits a
// lot label for). The GS1 Barcode Syntax Dictionary evaluates mandatory associations over
// all carriers of an item, so item's AIs count toward this scan's req= rules: a lone
// "(10) lot" label is accepted for a product whose (01) was scanned. They take no part in
// exclusions (ex=) and are not added to the Result.
func (d *Decoder) DecodeForItem(data []byte, aim string, item []AI) (Result, error) {
	return d.decode(data, aim, item)
}

func (d *Decoder) decode(data []byte, aim string, item []AI) (Result, error) {
	base := 0
	if len(data) > d.maxLen {
		return Result{}, errAt(ErrTooLong, d.maxLen, "scan is longer than %d bytes", d.maxLen)
	}
	if aim == "" && len(data) > 0 && data[0] == ']' {
		// A leading "]" is a symbology identifier or a misread: never data.
		if pos, msg := badAIMIdentifier(data); pos >= 0 {
			return Result{}, errAt(ErrSymbology, pos, "%s", msg)
		}
		aim = string(data[:3])
		data = data[3:]
		base = 3
	}
	if aim != "" && !isAIMIdentifier([]byte(aim)) {
		return Result{}, errAt(ErrSymbology, 0, "malformed AIM identifier %q", aim)
	}
	s := string(data)
	res := Result{AIM: aim, Data: s}
	if s == "" {
		return Result{}, errAt(ErrEmpty, base, "no data")
	}
	sym, gs1 := aimSymbology(aim)
	if aim == "" {
		sym = "unknown"
	}
	res.Symbology = sym

	// Depot-internal prefixes are checked first: they are printed as Code 128 or Code 39
	// and must never be read as GS1 or EAN data. A symbology that can only carry a GS1
	// element string or digits (EAN/UPC, ITF) never carries a depot code, nor a URI.
	if gs1 && isDigitalLinkSchemeFold(s) {
		return Result{}, errAt(ErrSymbology, base,
			"%s (%s) carries GS1 element strings, not a URI; a GS1 Digital Link is sent as plain data (]Q1, ]d1)", aim, sym)
	}
	if !gs1 && !digitsOnly(aim) {
		for _, p := range d.prefixes {
			if strings.HasPrefix(s, p.prefix) {
				return d.prefixed(res, s, p, base)
			}
		}
	}

	switch {
	case gs1:
		// ]e0 also carries GS1-128 composites and the CC part of EAN/UPC composites;
		// the data is an element string either way.
		return d.gs1(res, s, base, item)
	case aim == "" || sym == "ean-13" || sym == "ean-8" || sym == "itf":
		if r, ok, err := d.retail(res, s, base, aim, item); ok || err != nil {
			return r, err
		}
	}
	return d.plain(res, s, base, aim, item)
}

// prefixed decodes an operator, command, quantity, reference or location code.
func (d *Decoder) prefixed(res Result, s string, p prefixEntry, base int) (Result, error) {
	v := s[len(p.prefix):]
	vpos := base + len(p.prefix)
	if v == "" {
		return Result{}, errAt(ErrContent, vpos, "%s code %q has no value", p.kind, p.prefix)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7F {
			return Result{}, errAt(ErrCharset, vpos+i, "%s value holds %s", p.kind, quoteByte(v[i]))
		}
	}
	if p.kind == KindQuantity {
		if i := badQuantity(v); i >= 0 {
			return Result{}, errAt(ErrContent, vpos+i, "quantity %q is not a positive decimal number", v)
		}
	}
	res.Kind, res.Prefix, res.Value = p.kind, p.prefix, v
	return res, nil
}

// badQuantity returns the offset of the first problem in a quantity (digits with at most
// one decimal point, greater than zero), or -1.
func badQuantity(v string) int {
	dot := false
	nonzero := false
	for i := 0; i < len(v); i++ {
		switch {
		case isDigit(v[i]):
			nonzero = nonzero || v[i] != '0'
		case v[i] == '.' && !dot && i > 0 && i < len(v)-1:
			dot = true
		default:
			return i
		}
	}
	if !nonzero {
		return 0
	}
	return -1
}

// gs1 decodes a GS1 element string (GS1-128, GS1 DataMatrix, GS1 QR, DataBar, DotCode).
func (d *Decoder) gs1(res Result, s string, base int, item []AI) (Result, error) {
	if d.cfg.FNC1Substitute != "" {
		s = strings.ReplaceAll(s, d.cfg.FNC1Substitute, "\x1d")
		// Positions after a multi-byte substitute shift; the substitute is a
		// keyboard-wedge workaround and the shift is accepted.
	}
	ais, err := parseElementString(s, base)
	if err != nil {
		return Result{}, err
	}
	return d.finishGS1(res, ais, item)
}

// finishGS1 checks the AIs' pairings (item: AIs of the same physical item read from other
// carriers, see DecodeForItem) and fills the Result.
func (d *Decoder) finishGS1(res Result, ais, item []AI) (Result, error) {
	if err := checkAssociations(ais, item); err != nil {
		return Result{}, err
	}
	res.Kind = KindGS1
	res.AIs = ais
	if err := d.interpret(&res); err != nil {
		return Result{}, err
	}
	return res, nil
}

var (
	lbToKg = decimal.RequireFromString("0.45359237")
)

// interpret fills the named fields from the AIs.
func (d *Decoder) interpret(res *Result) error {
	for _, a := range res.AIs {
		switch {
		case a.AI == "00":
			res.SSCC = a.Value
		case a.AI == "01" || a.AI == "03":
			if res.GTIN == "" {
				res.GTIN = a.Value
			}
		case a.AI == "02":
			res.ContentGTIN = a.Value
		case a.AI == "10":
			res.Lot = a.Value
		case a.AI == "21":
			res.Serial = a.Value
		case a.AI == "11", a.AI == "13", a.AI == "15", a.AI == "17":
			date, err := d.gs1Date(a.Value)
			if err != nil {
				return errAt(ErrContent, a.Pos+2, "AI (%s): %v", a.AI, err)
			}
			switch a.AI {
			case "11":
				res.ProducedOn = date
			case "13":
				res.PackedOn = date
			case "15":
				res.BestBefore = date
			case "17":
				res.Expiry = date
			}
		case a.AI == "37" || a.AI == "30":
			if res.Count == "" || a.AI == "37" {
				res.Count = strings.TrimLeft(a.Value, "0")
				if res.Count == "" {
					res.Count = "0"
				}
			}
		case strings.HasPrefix(a.AI, "310"):
			res.WeightKg, _ = a.Decimal()
		case strings.HasPrefix(a.AI, "320"):
			if res.WeightKg == "" {
				v, _ := a.Decimal()
				res.WeightKg = toKg(v, lbToKg)
			}
		case strings.HasPrefix(a.AI, "330"):
			res.GrossWeightKg, _ = a.Decimal()
		case strings.HasPrefix(a.AI, "340"):
			if res.GrossWeightKg == "" {
				v, _ := a.Decimal()
				res.GrossWeightKg = toKg(v, lbToKg)
			}
		case strings.HasPrefix(a.AI, "392"), strings.HasPrefix(a.AI, "393"):
			res.Price, _ = a.Decimal()
			res.Currency = a.Currency()
		}
	}
	return nil
}

// toKg multiplies an exact decimal by factor and prints it exactly.
func toKg(v string, factor decimal.Decimal) string {
	return decimal.RequireFromString(v).Mul(factor).String()
}

// gs1Date turns YYMMDD into YYYY-MM-DD: the century puts the year within 49 years back
// and 50 years ahead of now (GenSpecs 7.12), and DD=00 means the last day of the month.
func (d *Decoder) gs1Date(v string) (string, error) {
	yy, mm, dd := atoi2(v), atoi2(v[2:]), atoi2(v[4:])
	now := d.now().Year()
	year := now - now%100 + yy
	switch diff := yy - now%100; {
	case diff >= 51:
		year -= 100
	case diff <= -50:
		year += 100
	}
	if dd == 0 {
		dd = daysIn(year, mm)
	} else if dd > daysIn(year, mm) {
		// Only 29 February in a year outside the leap cycle the linter assumes (2100).
		return "", fmt.Errorf("%04d-%02d-%02d does not exist", year, mm, dd)
	}
	b := []byte("0000-00-00")
	for i, v := 3, year; i >= 0; i, v = i-1, v/10 {
		b[i] = byte('0' + v%10)
	}
	b[5], b[6] = byte('0'+mm/10), byte('0'+mm%10)
	b[8], b[9] = byte('0'+dd/10), byte('0'+dd%10)
	return string(b), nil
}

// retail decodes EAN-13, EAN-8, UPC-A, UPC-E and ITF-14. ok=false means the data is not
// retail-shaped and the caller should go on.
func (d *Decoder) retail(res Result, s string, base int, aim string, item []AI) (Result, bool, error) {
	main := s
	switch aim {
	case "]E3":
		// EAN-13 or UPC-A followed by a 2- or 5-digit add-on.
		if len(s) != 15 && len(s) != 18 || !allDigits(s) {
			return Result{}, false, errAt(ErrSymbology, base, "EAN with add-on must be 13 digits plus 2 or 5")
		}
		main, res.AddOn = s[:13], s[13:]
	case "]E1", "]E2":
		if !allDigits(s) || len(s) != 2 && len(s) != 5 {
			return Result{}, false, errAt(ErrSymbology, base, "EAN add-on must be 2 or 5 digits")
		}
		res.Kind, res.Symbology, res.AddOn = KindInternal, "ean-addon", s
		return res, true, nil
	case "]E0":
		// EAN-13 (and UPC-A as 13 digits), or a UPC-E as 8 digits. A CC composite follows "|]e0".
		if i := strings.Index(s, "|]e0"); i >= 0 {
			return d.composite(res, s, i, base, item)
		}
	}
	if !allDigits(main) {
		if aim != "" {
			i := strings.IndexFunc(main, func(r rune) bool { return r < '0' || r > '9' })
			return Result{}, false, errAt(ErrSymbology, base+i, "%s data must be digits", res.Symbology)
		}
		return Result{}, false, nil
	}
	var gtin string
	switch {
	case aim == "]E0" && len(main) == 8:
		a, err := upcEToA(main, base)
		if err != nil {
			return Result{}, false, err
		}
		res.Symbology = "upc-e"
		gtin = a
	case len(main) == 13 && (aim == "" || aim[1] == 'E'):
		res.Symbology = "ean-13"
		gtin = main
	case len(main) == 12 && (aim == "" || aim == "]E0"):
		res.Symbology = "upc-a"
		gtin = main
	case len(main) == 8 && (aim == "" || aim == "]E4"):
		// Without an AIM identifier an 8-digit code is taken as EAN-8; UPC-E scanners
		// should send ]E0 (or be configured to expand UPC-E to UPC-A).
		res.Symbology = "ean-8"
		gtin = main
	case len(main) == 14 && (aim == "" || aim[1] == 'I'):
		res.Symbology = "itf-14"
		gtin = main
	default:
		if aim == "" || aim[1] == 'I' {
			return Result{}, false, nil // other lengths: GS1 data without AIM, or plain ITF
		}
		want := "13 digits (12 for UPC-A, 8 for UPC-E)"
		if aim == "]E4" {
			want = "8 digits"
		}
		return Result{}, false, errAt(ErrSymbology, base, "%s data must be %s, got %d", aim, want, len(main))
	}
	if !ValidCheckDigit(gtin) {
		return Result{}, false, errAt(ErrCheckDigit, base+len(main)-1, "%s check digit should be %c", res.Symbology, CheckDigit(gtin[:len(gtin)-1]))
	}
	res.Kind = KindProduct
	res.GTIN = strings.Repeat("0", 14-len(gtin)) + gtin
	if len(gtin) == 12 || len(gtin) == 13 {
		ean13 := strings.Repeat("0", 13-len(gtin)) + gtin
		if r, ok := d.embedded(res, ean13); ok {
			return r, true, nil
		}
	}
	return res, true, nil
}

// embedded applies the nomenclature patterns, in order, to an EAN-13 (a UPC-A with its
// leading zero). Rules with encoding "any" see the same 13 digits.
func (d *Decoder) embedded(res Result, ean13 string) (Result, bool) {
	for _, p := range d.patterns {
		if v, baseCode, ok := p.match(ean13); ok {
			if p.encoding() == "ean13" {
				res.GTIN = "0" + baseCode
			}
			applyPattern(&res, p, v, baseCode)
			return res, true
		}
	}
	return res, false
}

// applyPattern stores a matched embedded value.
func applyPattern(res *Result, p *compiledPattern, v, baseCode string) {
	res.BaseCode = baseCode
	switch p.Type {
	case "weight":
		res.Kind = KindWeight
		switch p.Unit {
		case "g":
			res.WeightKg = decimal.RequireFromString(v).Shift(-3).String()
		case "lb":
			res.WeightKg = toKg(v, lbToKg)
		default:
			res.WeightKg = v
		}
	default:
		res.Kind = KindPrice
		res.Price = v
	}
}

// composite decodes an EAN/UPC with a GS1 Composite component: "<13 digits>|]e0<CC data>".
func (d *Decoder) composite(res Result, s string, bar, base int, item []AI) (Result, bool, error) {
	primary := s[:bar]
	if len(primary) != 13 || !allDigits(primary) {
		return Result{}, false, errAt(ErrSymbology, base, "composite primary must be 13 digits")
	}
	if !ValidCheckDigit(primary) {
		return Result{}, false, errAt(ErrCheckDigit, base+12, "ean-13 check digit should be %c", CheckDigit(primary[:12]))
	}
	ais, err := parseElementString(s[bar+4:], base+bar+4)
	if err != nil {
		return Result{}, false, err
	}
	all := append([]AI{{AI: "01", Value: "0" + primary, Pos: base}}, ais...)
	r, err := d.finishGS1(res, all, item)
	if err == nil {
		r.Symbology = "ean-13-composite"
	}
	return r, true, err
}

// upcEToA expands a UPC-E (number system, 6 digits, check digit) to UPC-A (GS1 GenSpecs
// 5.2.2.4.2). The check digit is the UPC-A's.
func upcEToA(e string, base int) (string, error) {
	if e[0] != '0' && e[0] != '1' {
		return "", errAt(ErrSymbology, base, "UPC-E number system must be 0 or 1")
	}
	d := e[1:7]
	var mid string
	switch d[5] {
	case '0', '1', '2':
		mid = d[0:2] + d[5:6] + "0000" + d[2:5]
	case '3':
		mid = d[0:3] + "00000" + d[3:5]
	case '4':
		mid = d[0:4] + "00000" + d[4:5]
	default:
		mid = d[0:5] + "0000" + d[5:6]
	}
	return e[:1] + mid + e[7:], nil
}

// plain decodes data that is not retail: Digital Link URIs, bracketed GS1 text, GS1 data
// without an AIM identifier, nomenclature rules with encoding "any", and internal codes.
func (d *Decoder) plain(res Result, s string, base int, aim string, item []AI) (Result, error) {
	if isDigitalLinkSchemeFold(s) {
		// An http(s) scan is a GS1 Digital Link or refused, never passed on as opaque data.
		ais, stem, err := parseDigitalLink(s, base)
		if err != nil {
			return Result{}, err
		}
		res.DigitalLinkStem = stem
		return d.finishGS1(res, ais, item)
	}
	if aim == "" && strings.HasPrefix(s, "(") {
		ais, err := parseBracketed(s, base)
		if err != nil {
			return Result{}, err
		}
		res.Symbology = "gs1-hri"
		return d.finishGS1(res, ais, item)
	}
	if aim == "" || aim == "]C0" || aim[1] == 'd' || aim[1] == 'Q' {
		sub := d.cfg.FNC1Substitute
		if strings.IndexByte(s, GS) >= 0 || sub != "" && strings.Contains(s, sub) {
			return d.gs1(res, s, base, item)
		}
		if aim == "" && allDigits(s) && len(s) > 14 {
			// A GS1-128 read without AIM identifier and made of predefined-length AIs only
			// has no separators; accept it only when it parses cleanly.
			if ais, err := parseElementString(s, base); err == nil {
				if r, err := d.finishGS1(res, ais, item); err == nil {
					return r, nil
				}
			}
		}
	}
	for _, p := range d.patterns {
		if p.encoding() != "any" {
			continue
		}
		if v, baseCode, ok := p.match(s); ok {
			applyPattern(&res, p, v, baseCode)
			return res, nil
		}
	}
	res.Kind = KindInternal
	return res, nil
}
