package barcode

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// goodComponent returns a valid value for one component of an AI.
func goodComponent(c component) string {
	has := func(l string) bool {
		for _, x := range c.linters {
			if x == l {
				return true
			}
		}
		return false
	}
	n := c.max
	if c.min != c.max {
		n = min(c.max, 6)
	}
	switch {
	case has("csumalpha"):
		return "1987654Ad4X4bL5ttr2310c2K" // [gse] lint_csumalpha.c
	case has("csum"):
		body := strings.Repeat("1234567890", 3)[:n-1]
		return body + string(CheckDigit(body))
	case has("yymmd0"), has("yymmdd"):
		return "201225"
	case has("yyyymmdd"):
		return "20201225"
	case has("hhmi"):
		return "1230"
	case has("hh"):
		return "12"
	case has("mi"):
		return "30"
	case has("ss"):
		return "45"
	case has("iso3166"):
		return "276"
	case has("iso3166999"):
		return "999"
	case has("iso3166alpha2"):
		return "DE"
	case has("iso4217"):
		return "978"
	case has("iso5218"), has("yesno"), has("winding"):
		return "1"
	case has("iban"):
		return "DE89370400440532013000" // ECBS example IBAN
	case has("pcenc"):
		return "A%20B"
	case has("latitude"):
		return "0900000000"
	case has("longitude"):
		return "3600000000"
	case has("nonzero"):
		return strings.Repeat("1", n)
	case has("zero"):
		return "0"
	case has("pieceoftotal"):
		return "0102"
	case has("hyphen"):
		return "-"
	case has("importeridx"):
		return "_"
	case has("mediatype"):
		return "01"
	case has("posinseqslash"):
		return "1/2"
	}
	switch c.cset {
	case 'N':
		return strings.Repeat("1234567890", 10)[:n]
	case 'Y':
		return strings.Repeat("1234-#/ABC", 10)[:n]
	case 'Z':
		return strings.Repeat("1234Ab-_cD", 10)[:n]
	}
	return strings.Repeat("1234Ab/-.z", 10)[:n]
}

// badContent returns, for a linted component, a value of valid shape that breaks the linter
// and the error kind expected, or "" when the linter has no content rule to break.
func badContent(c component) (string, error) {
	for _, l := range c.linters {
		switch l {
		case "csum":
			g := goodComponent(c)
			last := g[len(g)-1]
			return g[:len(g)-1] + string('0'+(last-'0'+1)%10), ErrCheckDigit
		case "csumalpha":
			return "1987654Ad4X4bL5ttr2310cXK", ErrCheckDigit
		case "yymmd0", "yymmdd":
			return "201325", ErrContent
		case "yyyymmdd":
			return "20210229", ErrContent
		case "hhmi":
			return "2400", ErrContent
		case "hh":
			return "24", ErrContent
		case "mi", "ss":
			return "60", ErrContent
		case "iso3166", "iso3166999":
			return "000", ErrContent
		case "iso3166alpha2":
			return "XX", ErrContent
		case "iso4217":
			return "000", ErrContent
		case "iso5218":
			return "3", ErrContent
		case "iban":
			return "DE89370400440532013001", ErrContent
		case "pcenc":
			return "A%2G", ErrContent
		case "latitude":
			return "1800000001", ErrContent
		case "longitude":
			return "3600000001", ErrContent
		case "yesno", "winding":
			return "2", ErrContent
		case "nonzero":
			return strings.Repeat("0", c.max), ErrContent
		case "zero":
			return "1", ErrContent
		case "pieceoftotal":
			return "0201", ErrContent
		case "hyphen":
			return "+", ErrContent
		case "importeridx":
			return "!", ErrContent
		case "mediatype":
			return "11", ErrContent
		case "posinseqslash":
			return "2/1", ErrContent
		case "nozeroprefix":
			return "0123", ErrContent
		}
	}
	return "", nil
}

func badCharFor(cset byte) byte {
	switch cset {
	case 'N':
		return 'A'
	case 'Y':
		return 'a'
	case 'Z':
		return '!'
	}
	return ' '
}

func goodValue(e *aiEntry) string {
	var b strings.Builder
	for _, p := range e.parts {
		b.WriteString(goodComponent(p))
	}
	return b.String()
}

func wantKind(t *testing.T, what string, err error, kind error) {
	t.Helper()
	var be *Error
	if !errors.As(err, &be) || !errors.Is(err, kind) {
		t.Errorf("%s: error %v, want %v", what, err, kind)
	}
}

// TestEveryAI checks every AI of the table with valid values (unbracketed and bracketed)
// and with values that break its length, character set and content rules.
func TestEveryAI(t *testing.T) {
	if len(aiTable) < 500 {
		t.Fatalf("AI table has %d entries; the GS1 table has over 500", len(aiTable))
	}
	for _, e := range aiTable {
		t.Run(e.ai, func(t *testing.T) {
			good := goodValue(e)
			ais, err := parseElementString(e.ai+good, 0)
			if err != nil || len(ais) != 1 || ais[0].AI != e.ai || ais[0].Value != good {
				t.Fatalf("%s%s: %+v, %v", e.ai, good, ais, err)
			}
			ais, err = parseBracketed("("+e.ai+")"+good, 0)
			if err != nil || len(ais) != 1 || ais[0].Value != good {
				t.Fatalf("(%s)%s: %+v, %v", e.ai, good, ais, err)
			}
			// Followed by another AI: after a predefined-length AI directly, otherwise
			// only after FNC1.
			next := "90X"
			sep := "\x1d"
			if e.predefined {
				sep = ""
			}
			if ais, err := parseElementString(e.ai+good+sep+next, 0); err != nil || len(ais) != 2 {
				t.Errorf("%q: %+v, %v", e.ai+good+sep+next, ais, err)
			}
			if !e.predefined {
				// Without the FNC1 the next AI runs into this value: refused, or (for
				// alphanumeric AIs with room left) swallowed into the value.
				ais, err := parseElementString(e.ai+good+next, 0)
				if err == nil && (len(ais) != 1 || ais[0].Value != good+next) {
					t.Errorf("%q without FNC1: %+v", e.ai+good+next, ais)
				}
			}

			// Too long.
			last := e.parts[len(e.parts)-1]
			long := good + strings.Repeat(goodComponent(last)[:1], e.maxLen-len(good)+1)
			_, err = parseBracketed("("+e.ai+")"+long, 0)
			wantKind(t, "too long", err, ErrLength)

			// Too short (or empty).
			short := good[:e.minLen-1]
			if short == "" {
				_, err = parseBracketed("("+e.ai+")", 0)
			} else {
				_, err = parseBracketed("("+e.ai+")"+short, 0)
			}
			wantKind(t, "too short", err, ErrLength)

			// Character set: break the first character of each component.
			off := 0
			for _, p := range e.parts {
				g := goodComponent(p)
				bad := good[:off] + string(badCharFor(p.cset)) + good[off+1:]
				_, err = parseBracketed("("+e.ai+")"+bad, 0)
				wantKind(t, "charset "+string(p.cset), err, ErrCharset)
				var be *Error
				if errors.As(err, &be) && be.Pos != len(e.ai)+2+off {
					t.Errorf("charset error at %d, want %d", be.Pos, len(e.ai)+2+off)
				}

				// Content rules (check digits, dates, codes).
				if bc, kind := badContent(p); kind != nil {
					v := good[:off] + bc + good[off+len(g):]
					_, err = parseBracketed("("+e.ai+")"+v, 0)
					wantKind(t, "content "+strings.Join(p.linters, ","), err, kind)
				}
				off += len(g)
			}
		})
	}
}

// TestPredefinedLengths checks the "*" flags against the GS1 table of AI prefixes that need
// no FNC1 (GenSpecs figure 7.8.5-1; gs1-syntax-engine ai.c fixedAIprefixLengths).
func TestPredefinedLengths(t *testing.T) {
	fixed := map[string]int{"00": 18, "01": 14, "02": 14, "03": 14, "04": 16, "11": 6, "12": 6, "13": 6,
		"14": 6, "15": 6, "16": 6, "17": 6, "18": 6, "19": 6, "20": 2, "31": 6, "32": 6, "33": 6, "34": 6,
		"35": 6, "36": 6, "41": 13}
	for _, e := range aiTable {
		n, ok := fixed[e.ai[:2]]
		if ok != e.predefined {
			t.Errorf("AI (%s): predefined=%v, GS1 prefix table says %v", e.ai, e.predefined, ok)
		}
		if ok && e.maxLen != n {
			t.Errorf("AI (%s): length %d, GS1 prefix table says %d", e.ai, e.maxLen, n)
		}
	}
}

// TestTableFacts spot-checks entries against the GS1 General Specifications.
func TestTableFacts(t *testing.T) {
	facts := []struct {
		ai          string
		title       string
		min, max    int
		dlAttr, key bool
		decimals    int
	}{
		{"00", "SSCC", 18, 18, true, true, -1},
		{"01", "GTIN", 14, 14, true, true, -1},
		{"10", "BATCH/LOT", 1, 20, true, false, -1},
		{"21", "SERIAL", 1, 20, false, false, -1},
		{"3103", "NET WEIGHT (kg)", 6, 6, true, false, 3},
		{"3925", "PRICE", 1, 15, true, false, 5},
		{"3932", "PRICE", 4, 18, true, false, 2},
		{"414", "LOC No.", 13, 13, true, true, -1},
		{"7035", "PROCESSOR # 5", 4, 30, true, false, -1},
		{"7239", "CERT # 10", 3, 30, true, false, -1},
		{"8200", "PRODUCT URL", 1, 70, false, false, -1},
		{"99", "INTERNAL", 1, 90, true, false, -1},
	}
	for _, f := range facts {
		e := lookupAI(f.ai)
		if e == nil {
			t.Errorf("AI (%s) missing", f.ai)
			continue
		}
		if e.title != f.title || e.minLen != f.min || e.maxLen != f.max || e.dlAttr != f.dlAttr || e.dlKey != f.key || e.decimals != f.decimals {
			t.Errorf("AI (%s) = %q %d..%d attr=%v key=%v dec=%d; want %+v", f.ai, e.title, e.minLen, e.maxLen, e.dlAttr, e.dlKey, e.decimals, f)
		}
	}
	for _, missing := range []string{"04", "23", "14", "3106", "391", "8000"} {
		if lookupAI(missing) != nil {
			t.Errorf("AI (%s) should not exist", missing)
		}
	}
}

func TestParseAITableRejects(t *testing.T) {
	for _, bad := range []string{
		"01 * N14,nosuchlinter # X",
		"01 * N..14 # predefined but variable",
		"1 - X..20 # AI too short",
		"10 - X..20\n1012 - X..3 # prefix of another",
		"10 - [X1] N2 # mandatory after optional",
		"10 % X1 # bad flag",
		"10 - Q5 # bad type",
		"31 * N6\n3100 * N6 # lengths differ",
	} {
		if _, err := parseAITable(bad); err == nil {
			t.Errorf("parseAITable(%q) accepted", bad)
		}
	}
}

func TestCheckDigits(t *testing.T) {
	for _, good := range []string{"4006381333931", "96385074", "12345678901231", "106141412345678908",
		"24012345678905", "2112233789657", "416000336108", "02345680"} { // [ref] and [gse] scandata.c
		if !ValidCheckDigit(good) {
			t.Errorf("%s rejected", good)
		}
	}
	for _, bad := range []string{"24012345678909", "2112233789658", "416000336107", "02345689", "", "1", "12a4"} {
		if ValidCheckDigit(bad) {
			t.Errorf("%s accepted", bad)
		}
	}
	if got := CheckDigit("2401234567890"); got != '5' {
		t.Errorf("CheckDigit = %c, want 5", got)
	}
}

func TestCsumAlphaVectors(t *testing.T) {
	// [gse] lint_csumalpha.c
	for _, good := range []string{"22", "!22", "1987654Ad4X4bL5ttr2310c2K", "12345678901234567890123NT",
		"12345_ABCDEFGHIJKLMCP", "7907665Bm8v2AB", "00000!HV", "99999zzzzzzzzzzzzzzzzzzT2"} {
		if i, msg := lintCsumAlpha(good); i >= 0 {
			t.Errorf("%s: %s", good, msg)
		}
	}
	for _, bad := range []string{"", "2", "33", "1987654Ad4X4bL5ttr2310cXK", "12345678901234567890123N "} {
		if i, _ := lintCsumAlpha(bad); i < 0 {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCodeLists(t *testing.T) {
	for code, want := range map[string]bool{"276": true, "840": true, "004": true, "894": true, "000": false, "999": false, "895": false} {
		if got := inBits(&iso3166Bits, code); got != want {
			t.Errorf("iso3166 %s = %v", code, got)
		}
	}
	for code, want := range map[string]bool{"978": true, "840": true, "826": true, "924": true, "008": true, "000": false, "001": false} {
		if got := inBits(&iso4217Bits, code); got != want {
			t.Errorf("iso4217 %s = %v", code, got)
		}
	}
	if n := len(strings.Fields(iso3166Alpha2)); n != 249 {
		t.Errorf("alpha-2 list has %d codes, ISO 3166-1 assigns 249", n)
	}
	for _, ok := range []string{"DE", "FR", "US", "GB", "ZW", "AD"} {
		if i, _ := lintISO3166Alpha2(ok); i >= 0 {
			t.Errorf("%s rejected", ok)
		}
	}
	for _, bad := range []string{"XX", "UK", "EU", "de", "D"} {
		if i, _ := lintISO3166Alpha2(bad); i < 0 {
			t.Errorf("%s accepted", bad)
		}
	}
}

// concreteAI returns the first AI of the table that pat ("31nn", "01") names.
func concreteAI(t *testing.T, pat string) string {
	t.Helper()
	for _, e := range aiTable {
		if matchesAIPattern(e.ai, pat) {
			return e.ai
		}
	}
	t.Fatalf("no AI matches pattern %q", pat)
	return ""
}

// excludes reports whether a and b may not appear together (ex= of either).
func excludes(a, b string) bool {
	for _, p := range [2][2]string{{a, b}, {b, a}} {
		if e := lookupAI(p[0]); e != nil {
			for _, pat := range e.ex {
				if p[0] != p[1] && matchesAIPattern(p[1], pat) {
					return true
				}
			}
		}
	}
	return false
}

// withPartners adds, for every AI of set whose own req= is unmet, the first alternative
// group that breaks no exclusion, until every AI is satisfied: the smallest valid scan
// around set. checkAssociations looks at AI codes only, so every value is "1".
func withPartners(t *testing.T, set []AI) []AI {
	t.Helper()
	for round := 0; round < 8; round++ {
		added := false
		for i := 0; i < len(set); i++ {
			for _, alts := range lookupAI(set[i].AI).req {
				if anyGroupPresent(set, set[i].AI, alts) {
					continue
				}
				for _, g := range alts {
					var add []AI
					ok := true
					for _, pat := range g {
						c := concreteAI(t, pat)
						for _, b := range append(append([]AI{}, set...), add...) {
							if excludes(b.AI, c) {
								ok = false
							}
						}
						add = append(add, AI{AI: c, Value: "1", Pos: 100 * (len(set) + len(add))})
					}
					if ok {
						set = append(set, add...)
						added = true
						break
					}
				}
			}
		}
		if !added {
			return set
		}
	}
	return set
}

func aiCodes(set []AI) string {
	var s []string
	for _, a := range set {
		s = append(s, a.AI)
	}
	return strings.Join(s, "+")
}

// TestEveryReqRuleIsEnforced proves each req= attribute of the dictionary, for every AI of
// its range: each alternative, completed with its own partners, is accepted; each
// alternative with one member left out (or the AI alone) is refused with ErrPairing at the
// AI, naming it. The number of rules proven must equal the number of req= attributes in
// the carried dictionary text.
func TestEveryReqRuleIsEnforced(t *testing.T) {
	const dictionaryReqRules = 175 // req= attributes in aiTableText (2026 data set)
	lines, perAI := 0, 0
	for _, line := range strings.Split(aiTableText, "\n") {
		n := strings.Count(line, "req=")
		if n == 0 {
			continue
		}
		parsed, err := parseAITable(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		ok := true
		for _, pe := range parsed {
			e := lookupAI(pe.ai)
			if e == nil || len(e.req) != n || fmt.Sprint(e.req) != fmt.Sprint(pe.req) {
				t.Errorf("AI (%s): loaded req %v, dictionary line says %v", pe.ai, e.req, pe.req)
				ok = false
				continue
			}
			self := AI{AI: e.ai, Value: "1", Pos: 7}
			for _, alts := range e.req {
				for _, g := range alts {
					set := []AI{self}
					for _, pat := range g {
						set = append(set, AI{AI: concreteAI(t, pat), Value: "1", Pos: 100 * len(set)})
					}
					full := withPartners(t, set)
					if err := checkAssociations(full, nil); err != nil {
						t.Errorf("AI (%s) with %s: %v", e.ai, aiCodes(full), err)
						ok = false
					}
					for drop := range g {
						short := []AI{self}
						for k, pat := range g {
							if k != drop {
								short = append(short, AI{AI: concreteAI(t, pat), Value: "1", Pos: 100 * len(short)})
							}
						}
						if anyGroupPresent(short, e.ai, alts) {
							continue // what is left is another alternative
						}
						err := checkAssociations(short, nil)
						var be *Error
						if !errors.As(err, &be) || !errors.Is(err, ErrPairing) || be.Pos != self.Pos ||
							!strings.HasPrefix(be.Msg, "("+e.ai+") needs ") || !strings.HasSuffix(be.Msg, " in the same element string") {
							t.Errorf("AI (%s) with only %s: %v; want a refusal naming (%s)", e.ai, aiCodes(short), err, e.ai)
							ok = false
						}
					}
				}
			}
			if ok {
				perAI += n
			}
		}
		if ok {
			lines += n
		}
	}
	inTable := 0
	for _, e := range aiTable {
		inTable += len(e.req)
	}
	if lines != strings.Count(aiTableText, "req=") || lines != dictionaryReqRules {
		t.Errorf("%d req= rules enforced; the dictionary has %d (pinned %d)", lines, strings.Count(aiTableText, "req="), dictionaryReqRules)
	}
	if perAI != inTable {
		t.Errorf("%d per-AI req= rules enforced; the table has %d", perAI, inTable)
	}
	t.Logf("all %d req= rules enforced (%d AIs × rule, ranges expanded)", lines, perAI)
}

// TestDigitalLinkKeysAreTheStandards: the table's Digital Link primary keys (dlpkey) are
// exactly those of GS1 Digital Link URI Syntax 1.3+ (1.3 added (415) with (8020)), with
// the standard's qualifier sequences.
func TestDigitalLinkKeysAreTheStandards(t *testing.T) {
	want := map[string]string{
		"00": "", "01": "22,10,21|235", "253": "", "255": "", "401": "", "402": "",
		"414": "254|7040", "415": "8020", "417": "7040", "8003": "", "8004": "7040",
		"8006": "22,10,21", "8010": "8011", "8013": "", "8017": "8019", "8018": "8019",
	}
	got := map[string]string{}
	for _, e := range aiTable {
		if e.dlKey {
			var alts []string
			for _, q := range e.dlQuals {
				alts = append(alts, strings.Join(q, ","))
			}
			got[e.ai] = strings.Join(alts, "|")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Digital Link keys %v, want %v", got, want)
	}
}
