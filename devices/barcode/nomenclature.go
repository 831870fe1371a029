package barcode

import (
	"fmt"
	"strings"
)

// Pattern is one embedded-value rule in the style of Odoo's barcode nomenclature
// (odoo/odoo addons/barcodes/models/barcode_nomenclature.py): the pattern is matched
// against the start of the barcode, "." matches any character, a backslash makes the next
// character literal, and one "{N…D…}" group marks the digits that carry the value, N for
// integer digits and D for decimals. "21.....{NNDDD}" reads 2112345015002 as 01.500.
// A trailing ".*" (Odoo's catch-all) is accepted and means nothing more.
type Pattern struct {
	// Type is what the value is: "weight" or "price".
	Type string `yaml:"type"`
	// Pattern is the Odoo-style pattern, e.g. "21.....{NNDDD}".
	Pattern string `yaml:"pattern"`
	// Unit of a weight value: "kg" (default), "g" or "lb". Results always carry kg.
	Unit string `yaml:"unit,omitempty"`
	// Encoding the barcode must have for the rule to apply: "ean13" (default: 13 digits with
	// a valid check digit; UPC-A is read as EAN-13 with a leading 0) or "any".
	Encoding string `yaml:"encoding,omitempty"`
}

type compiledPattern struct {
	Pattern
	elems     []patElem
	group     bool
	valStart  int
	intDigits int
	decDigits int
}

type patElem struct {
	any bool
	c   byte
}

// compile parses the pattern; errors name the problem for Config.Check.
func (p Pattern) compile() (*compiledPattern, error) {
	cp := &compiledPattern{Pattern: p}
	s := p.Pattern
	if s == "" {
		return nil, fmt.Errorf("empty pattern")
	}
	s = strings.TrimSuffix(s, ".*")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("pattern ends with a backslash")
			}
			i++
			cp.elems = append(cp.elems, patElem{c: s[i]})
		case '.':
			cp.elems = append(cp.elems, patElem{any: true})
		case '{':
			if cp.group {
				return nil, fmt.Errorf("only one {N…D…} group is allowed")
			}
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("group not closed with }")
			}
			g := s[i+1 : i+end]
			n := len(g) - len(strings.TrimLeft(g, "N"))
			d := len(g[n:]) - len(strings.TrimLeft(g[n:], "D"))
			if n+d != len(g) {
				return nil, fmt.Errorf("group %q must be N… then D… (integer digits before decimals)", "{"+g+"}")
			}
			if len(g) == 0 {
				return nil, fmt.Errorf("empty group {}")
			}
			cp.group = true
			cp.valStart = len(cp.elems)
			cp.intDigits, cp.decDigits = n, d
			for k := 0; k < len(g); k++ {
				cp.elems = append(cp.elems, patElem{any: true})
			}
			i += end
		case '*', '+', '?', '|', '(', ')', '[', ']', '^', '$', '}':
			return nil, fmt.Errorf("regular expression feature %q is not supported", string(c))
		default:
			cp.elems = append(cp.elems, patElem{c: c})
		}
	}
	if !cp.group {
		return nil, fmt.Errorf("pattern has no {N…D…} value group")
	}
	if p.encoding() == "ean13" && len(cp.elems) > 13 {
		return nil, fmt.Errorf("pattern is longer than an EAN-13")
	}
	if p.encoding() == "ean13" && cp.valStart+cp.intDigits+cp.decDigits > 12 {
		return nil, fmt.Errorf("value group covers the EAN-13 check digit")
	}
	return cp, nil
}

func (p Pattern) encoding() string {
	if p.Encoding == "" {
		return "ean13"
	}
	return p.Encoding
}

// match returns the value as an exact decimal string and the base code (value digits
// zeroed, EAN-13 check digit recomputed), or ok=false.
func (cp *compiledPattern) match(code string) (value, base string, ok bool) {
	ean := cp.encoding() == "ean13"
	if ean && (len(code) != 13 || !ValidCheckDigit(code)) {
		return "", "", false
	}
	if len(code) < len(cp.elems) {
		return "", "", false
	}
	for i, el := range cp.elems {
		if !el.any && code[i] != el.c {
			return "", "", false
		}
	}
	n := cp.intDigits + cp.decDigits
	digits := code[cp.valStart : cp.valStart+n]
	if !allDigits(digits) {
		return "", "", false
	}
	value = decimalString(digits, cp.decDigits)
	b := []byte(code)
	for i := cp.valStart; i < cp.valStart+n; i++ {
		b[i] = '0'
	}
	if ean {
		b[12] = CheckDigit(string(b[:12]))
	}
	return value, string(b), true
}

// decimalString places an implied decimal point decimals digits from the right of digits
// and drops leading zeros of the integer part: ("001250", 2) is "12.50". The scale is kept
// exactly as encoded.
func decimalString(digits string, decimals int) string {
	intPart := digits[:len(digits)-decimals]
	frac := digits[len(digits)-decimals:]
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	if decimals == 0 {
		return intPart
	}
	return intPart + "." + frac
}
