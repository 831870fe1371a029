package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// MaxQtyDecimals is the finest scale a quantity may carry anywhere in depotd. A unit of
// measure may allow fewer (Units allow none); see UoM.Decimals.
const MaxQtyDecimals = 6

// maxQtyDigits bounds the integer part so that a hostile input cannot make arithmetic or
// storage grow without bound.
const maxQtyDigits = 15

// Qty is an exact decimal quantity. It is never a float: parsing and printing round-trip
// exactly, and arithmetic is exact. The zero value is 0.
type Qty struct{ d decimal.Decimal }

var errQtySyntax = errors.New("not a decimal number")

// ParseQty parses a decimal string such as "12", "-3", "0.125" or "1e2". It refuses more
// than MaxQtyDecimals decimals, more than 15 integer digits, and anything that is not a
// plain decimal number (no NaN, no infinity, no thousands separators, no spaces).
func ParseQty(s string) (Qty, error) {
	if s == "" || len(s) > 64 {
		return Qty{}, fmt.Errorf("%q: %w", truncate(s, 64), errQtySyntax)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return Qty{}, fmt.Errorf("%q: %w", truncate(s, 64), errQtySyntax)
		}
	}
	// Exponents are accepted because JSON numbers may carry them; bound them first so that
	// "1e999999999" cannot allocate a huge coefficient.
	if i := bytes.IndexAny([]byte(s), "eE"); i >= 0 {
		exp := s[i+1:]
		if len(exp) > 4 {
			return Qty{}, fmt.Errorf("%q: exponent out of range", s)
		}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Qty{}, fmt.Errorf("%q: %w", s, errQtySyntax)
	}
	q := Qty{d}
	if q.Decimals() > MaxQtyDecimals {
		return Qty{}, fmt.Errorf("%q: more than %d decimals", s, MaxQtyDecimals)
	}
	if len(d.Abs().Truncate(0).String()) > maxQtyDigits {
		return Qty{}, fmt.Errorf("%q: more than %d integer digits", s, maxQtyDigits)
	}
	return q, nil
}

// MustQty parses s or panics; for tests and constants.
func MustQty(s string) Qty {
	q, err := ParseQty(s)
	if err != nil {
		panic(err)
	}
	return q
}

// QtyFromInt returns n as a quantity.
func QtyFromInt(n int64) Qty { return Qty{decimal.NewFromInt(n)} }

// QtyFromDecimal wraps an exact decimal (weights from devices arrive this way).
func QtyFromDecimal(d decimal.Decimal) Qty { return Qty{d} }

// Decimal returns the exact decimal value.
func (q Qty) Decimal() decimal.Decimal { return q.d }

// String prints the canonical form: no exponent, no trailing zeros ("12", "0.125", "-3.5").
func (q Qty) String() string { return q.d.String() }

// Decimals is the number of digits after the point in the canonical form.
func (q Qty) Decimals() int {
	s := q.d.String()
	if i := bytes.IndexByte([]byte(s), '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

func (q Qty) Add(o Qty) Qty       { return Qty{q.d.Add(o.d)} }
func (q Qty) Sub(o Qty) Qty       { return Qty{q.d.Sub(o.d)} }
func (q Qty) Mul(o Qty) Qty       { return Qty{q.d.Mul(o.d)} }
func (q Qty) Neg() Qty            { return Qty{q.d.Neg()} }
func (q Qty) Sign() int           { return q.d.Sign() }
func (q Qty) IsZero() bool        { return q.d.IsZero() }
func (q Qty) Cmp(o Qty) int       { return q.d.Cmp(o.d) }
func (q Qty) Equal(o Qty) bool    { return q.d.Equal(o.d) }
func (q Qty) IsInteger() bool     { return q.d.IsInteger() }
func (q Qty) LessThan(o Qty) bool { return q.d.LessThan(o.d) }

// MarshalJSON writes the quantity as a decimal string, so that no JSON reader turns it
// into a float.
func (q Qty) MarshalJSON() ([]byte, error) {
	return []byte(`"` + q.d.String() + `"`), nil
}

// plainQtyString returns the content of a JSON string made only of the characters
// ParseQty accepts (no escapes, nothing json.Unmarshal would change), and false otherwise.
func plainQtyString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return "", false
		}
	}
	return string(in), true
}

// UnmarshalJSON accepts a decimal string or a JSON number; both are parsed exactly.
func (q *Qty) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if s, ok := plainQtyString(b); ok {
		// What json.Unmarshal would give, without it: the common case, on every line
		// posted and every ledger row read.
		v, err := ParseQty(s)
		if err != nil {
			return err
		}
		*q = v
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := ParseQty(s)
		if err != nil {
			return err
		}
		*q = v
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		return fmt.Errorf("quantity is null")
	}
	v, err := ParseQty(string(b))
	if err != nil {
		return err
	}
	*q = v
	return nil
}

// MarshalText/UnmarshalText let YAML config carry quantities as plain scalars.
func (q Qty) MarshalText() ([]byte, error) { return []byte(q.d.String()), nil }
func (q *Qty) UnmarshalText(b []byte) error {
	v, err := ParseQty(string(b))
	if err != nil {
		return err
	}
	*q = v
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func parseLoose(s string) (Qty, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Qty{}, fmt.Errorf("%q: %w", s, errQtySyntax)
	}
	return Qty{d}, nil
}
