package barcode

import (
	"strings"
)

// GS is the ASCII group separator that scanners transmit for FNC1 separators.
const GS = 0x1D

// AI is one application identifier and its value, in the order read.
type AI struct {
	AI    string `json:"ai"`
	Value string `json:"value"`
	// Pos is the byte offset of the AI (its first digit, or its "(" / path segment) in the
	// data given to Decode.
	Pos int `json:"-"`
}

// Title returns the GS1 data title of the AI ("GTIN", "BATCH/LOT", ...), or "" when the AI
// is not in the table.
func (a AI) Title() string {
	if e := lookupAI(a.AI); e != nil {
		return e.title
	}
	return ""
}

// Decimal returns the value of a measure or amount AI with its implied decimal point placed
// by the AI's last digit (GenSpecs 3.6): 31nn-36nn measures, 390n/392n amounts, 391n/393n
// amounts after their ISO 4217 currency code, 394n percentages, 395n prices per unit.
// ok is false for other AIs. ("3103", "001250") gives "1.250".
func (a AI) Decimal() (value string, ok bool) {
	e := lookupAI(a.AI)
	if e == nil || e.decimals < 0 || len(a.Value) < 1 {
		return "", false
	}
	v := a.Value
	if strings.HasPrefix(a.AI, "391") || strings.HasPrefix(a.AI, "393") {
		if len(v) < 4 {
			return "", false
		}
		v = v[3:]
	}
	if !allDigits(v) {
		return "", false
	}
	if len(v) < e.decimals+1 {
		v = strings.Repeat("0", e.decimals+1-len(v)) + v
	}
	return decimalString(v, e.decimals), true
}

// Currency returns the ISO 4217 numeric currency code of a 391n or 393n AI, or "".
func (a AI) Currency() string {
	if (strings.HasPrefix(a.AI, "391") || strings.HasPrefix(a.AI, "393")) && len(a.AI) == 4 && len(a.Value) > 3 {
		return a.Value[:3]
	}
	return ""
}

// parseElementString parses unbracketed GS1 data as scanners send it: the leading FNC1 is
// implied by the symbology identifier, every later FNC1 arrives as GS. base is the offset of
// s in the scanned data, for error positions.
func parseElementString(s string, base int) ([]AI, error) {
	if s == "" {
		return nil, errAt(ErrEmpty, base, "no GS1 data")
	}
	var ais []AI
	p := 0
	// Some scanners transmit the leading FNC1 itself as GS when no AIM identifier is sent.
	if s[0] == GS {
		p = 1
	}
	if p == len(s) {
		return nil, errAt(ErrEmpty, base, "no GS1 data after FNC1")
	}
	for p < len(s) {
		if s[p] == GS {
			return nil, errAt(ErrSyntax, base+p, "two FNC1 separators in a row")
		}
		e := lookupAIPrefix(s[p:])
		if e == nil {
			return nil, unknownAIError(s[p:], base+p)
		}
		vs := p + len(e.ai)
		r := strings.IndexByte(s[vs:], GS)
		if r < 0 {
			r = len(s)
		} else {
			r += vs
		}
		if vs == r {
			return nil, errAt(ErrLength, base+vs, "AI (%s) has no value", e.ai)
		}
		n, err := validateValue(e, s[vs:r], base+vs)
		if err != nil {
			return nil, err
		}
		ais = append(ais, AI{AI: e.ai, Value: s[vs : vs+n], Pos: base + p})
		p = vs + n
		if !e.predefined && p != r {
			return nil, errAt(ErrLength, base+p,
				"AI (%s) is longer than %d characters, or the FNC1 after it is missing", e.ai, e.maxLen)
		}
		// A GS after a predefined-length AI is redundant but harmless (GenSpecs 7.8.5.1
		// tolerates it when decoding); a trailing GS is tolerated too.
		if p < len(s) && s[p] == GS {
			p++
		}
	}
	return ais, nil
}

func unknownAIError(rest string, pos int) error {
	n := 0
	for n < len(rest) && n < 4 && isDigit(rest[n]) {
		n++
	}
	if n < 2 {
		return errAt(ErrSyntax, pos, "expected an application identifier (digits), found %q", clip(rest, 4))
	}
	return errAt(ErrUnknownAI, pos, "no GS1 application identifier starts %q", rest[:n])
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// validateValue checks v against the AI's components and linters, consuming at most the
// AI's maximum length, and returns how many bytes it consumed. pos is v's offset.
func validateValue(e *aiEntry, v string, pos int) (int, error) {
	off := 0
	for _, part := range e.parts {
		n := min(len(v)-off, part.max)
		if part.opt && n == 0 {
			continue
		}
		if n < part.min {
			if e.minLen == e.maxLen {
				return 0, errAt(ErrLength, pos+off+n, "AI (%s) needs %d characters, got %d", e.ai, e.maxLen, off+n)
			}
			return 0, errAt(ErrLength, pos+off+n, "AI (%s) value is too short", e.ai)
		}
		comp := v[off : off+n]
		if i := checkCSet(part.cset, comp); i >= 0 {
			return 0, errAt(ErrCharset, pos+off+i, "AI (%s): %s not allowed (%s)", e.ai, quoteByte(comp[i]), csetName(part.cset))
		}
		for _, name := range part.linters {
			if i, msg := linterFuncs[name](comp); i >= 0 {
				kind := ErrContent
				if name == "csum" || name == "csumalpha" {
					kind = ErrCheckDigit
				}
				return 0, errAt(kind, pos+off+i, "AI (%s): %s", e.ai, msg)
			}
		}
		off += n
	}
	return off, nil
}

func quoteByte(c byte) string {
	if c == GS {
		return "FNC1"
	}
	if c < 0x20 || c >= 0x7F {
		return "byte 0x" + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15])
	}
	return "'" + string(c) + "'"
}

func csetName(c byte) string {
	switch c {
	case 'N':
		return "digits only"
	case 'X':
		return "GS1 character set 82"
	case 'Y':
		return "GS1 character set 39"
	}
	return "base64url"
}

// parseBracketed parses human-readable element strings: (01)09506000134352(10)ABC.
// A literal "(" inside a value is written "\(".
func parseBracketed(s string, base int) ([]AI, error) {
	var ais []AI
	p := 0
	for p < len(s) {
		if s[p] != '(' {
			return nil, errAt(ErrSyntax, base+p, "expected \"(\" to start an AI")
		}
		end := strings.IndexByte(s[p:], ')')
		if end < 0 {
			return nil, errAt(ErrSyntax, base+p, "AI not closed with \")\"")
		}
		code := s[p+1 : p+end]
		if len(code) < 2 || len(code) > 4 || !allDigits(code) {
			return nil, errAt(ErrSyntax, base+p+1, "AI must be 2 to 4 digits, got %q", code)
		}
		e := lookupAI(code)
		if e == nil {
			return nil, errAt(ErrUnknownAI, base+p+1, "unknown application identifier (%s)", code)
		}
		vs := p + end + 1
		var b strings.Builder
		q := vs
		for q < len(s) && s[q] != '(' {
			if s[q] == '\\' && q+1 < len(s) && s[q+1] == '(' {
				b.WriteByte('(')
				q += 2
				continue
			}
			b.WriteByte(s[q])
			q++
		}
		val := b.String()
		if val == "" {
			return nil, errAt(ErrLength, base+vs, "AI (%s) has no value", code)
		}
		if i := strings.IndexByte(val, GS); i >= 0 {
			return nil, errAt(ErrSyntax, base+vs+i, "FNC1 inside bracketed data")
		}
		if err := validateWhole(e, val, base+vs); err != nil {
			return nil, err
		}
		ais = append(ais, AI{AI: code, Value: val, Pos: base + p})
		p = q
	}
	if len(ais) == 0 {
		return nil, errAt(ErrEmpty, base, "no GS1 data")
	}
	return ais, nil
}

// validateWhole validates a value whose extent is known (bracketed or Digital Link data):
// it must be consumed entirely.
func validateWhole(e *aiEntry, v string, pos int) error {
	if len(v) > e.maxLen {
		return errAt(ErrLength, pos+e.maxLen, "AI (%s) is longer than %d characters", e.ai, e.maxLen)
	}
	n, err := validateValue(e, v, pos)
	if err != nil {
		return err
	}
	if n != len(v) {
		return errAt(ErrLength, pos+n, "AI (%s) is longer than %d characters", e.ai, n)
	}
	return nil
}

// checkAssociations applies GS1's pairing rules to the AIs of one scan: repeated AIs must
// carry the same value, no ex= exclusion may be broken, and every req= mandatory
// association must be met. The Syntax Dictionary notes that pairings may be evaluated over
// all carriers on an item; a station sees one scan at a time and cannot wait for a label's
// other barcodes, so an unmet req= refuses the scan (issue #13), naming what is missing.
// item holds AIs of the same physical item read from its other carriers (DecodeForItem):
// they may meet a req= rule, nothing else.
func checkAssociations(ais, item []AI) error {
	// Work on distinct AIs so that a long scan repeating one AI stays cheap; a map only
	// pays off for long scans.
	distinct := make([]AI, 0, min(len(ais), 16))
	var first map[string]int
	if len(ais) > 16 {
		first = make(map[string]int, len(ais))
	}
	for _, a := range ais {
		j := -1
		if first != nil {
			if k, ok := first[a.AI]; ok {
				j = k
			}
		} else {
			for k := range distinct {
				if distinct[k].AI == a.AI {
					j = k
					break
				}
			}
		}
		if j < 0 {
			if first != nil {
				first[a.AI] = len(distinct)
			}
			distinct = append(distinct, a)
			continue
		}
		if distinct[j].Value != a.Value {
			return errAt(ErrPairing, a.Pos, "AI (%s) appears twice with different values", a.AI)
		}
	}
	// Look each AI up once for both passes; a short scan keeps the list on the stack.
	var small [16]*aiEntry
	entries := small[:0]
	for _, a := range distinct {
		entries = append(entries, lookupAI(a.AI))
	}
	// Exclusions first: a pair GS1 forbids is the clearer reason when both rules fail.
	for i, a := range distinct {
		e := entries[i]
		if e == nil {
			continue
		}
		for _, pat := range e.ex {
			for j, b := range distinct {
				if b.AI != a.AI && matchesAIPattern(b.AI, pat) {
					pos := a.Pos
					if j > i {
						pos = b.Pos
					}
					return errAt(ErrPairing, pos, "AI (%s) must not be used with AI (%s)", a.AI, b.AI)
				}
			}
		}
	}
	for i, a := range distinct {
		e := entries[i]
		if e == nil {
			continue
		}
		for _, alts := range e.req {
			if !groupPresent(distinct, item, a.AI, alts) {
				return errAt(ErrPairing, a.Pos, "(%s) needs %s in the same element string", a.AI, describeReq(alts))
			}
		}
	}
	return nil
}

// anyGroupPresent reports whether ais hold every AI of at least one group of alts (self,
// the AI whose rule it is, does not count).
func anyGroupPresent(ais []AI, self string, alts [][]string) bool {
	return groupPresent(ais, nil, self, alts)
}

// groupPresent is anyGroupPresent over the AIs of a scan and those of the item's other
// carriers together.
func groupPresent(ais, item []AI, self string, alts [][]string) bool {
	for _, group := range alts {
		all := true
		for _, pat := range group {
			if !hasAI(ais, self, pat) && !hasAI(item, self, pat) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func hasAI(ais []AI, self, pat string) bool {
	for _, b := range ais {
		if b.AI != self && matchesAIPattern(b.AI, pat) {
			return true
		}
	}
	return false
}

// describeReq words one req= attribute for the operator: "(01), (03) or (8006)"; a "+"
// group reads "(01) with (21)", or "(01) with (21) and (8040)".
func describeReq(alts [][]string) string {
	var b strings.Builder
	for i, g := range alts {
		switch {
		case i == 0:
		case i == len(alts)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		for k, pat := range g {
			switch {
			case k == 1:
				b.WriteString(" with ")
			case k > 1:
				b.WriteString(" and ")
			}
			b.WriteString("(" + pat + ")")
		}
	}
	return b.String()
}
