package console

import (
	"unicode/utf8"

	"github.com/depotd/depotd/edge"
)

// decodeFast is DecodeTransaction's first pass, for the body a client posts nearly every
// time: an object of known fields (exact names, each once) whose values are plain strings
// (no escapes, valid UTF-8), lines with their quantity as a decimal string. It says ok
// only when encoding/json with DisallowUnknownFields would take the body and give the same
// transaction (FuzzDecodeFastAgreesWithJSON); anything else (an error, an escape, a
// number, null, a field it does not know) is not ok, and the careful path decides. So it
// never produces an error, and every error keeps its message and its field.
func decodeFast(body []byte) (tx edge.Transaction, ok bool) {
	// One copy of the body for all the strings, which are slices of it: the body is
	// fasthttp's buffer, reused after the handler.
	p := fastParser{b: body, s: string(body)}
	if !p.object(func(key string) bool {
		var s *string
		switch key {
		case "id":
			s = &tx.ID
		case "type":
			s = (*string)(&tx.Type)
		case "ref":
			s = &tx.Ref
		case "reason":
			s = &tx.Reason
		case "note":
			s = &tx.Note
		case "station":
			s = &tx.Station
		case "operator":
			s = &tx.Operator
		case "source":
			s = &tx.Source
		case "lines":
			return p.lines(&tx.Lines)
		default:
			return false // seq, at, scans, unknown or differently spelt: the careful path
		}
		return p.str(s)
	}) {
		return edge.Transaction{}, false
	}
	p.space()
	if p.i != len(p.b) {
		return edge.Transaction{}, false
	}
	return tx, true
}

// fastParser reads the subset of JSON decodeFast takes; each method says false at the
// first thing outside it.
type fastParser struct {
	b []byte
	s string // b's copy, which strings are cut from
	i int
}

func (p *fastParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) byte(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// raw returns the content of a string with no escapes and no control characters.
func (p *fastParser) raw() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start, ascii := p.i, true
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.s[start:p.i]
			p.i++
			// encoding/json replaces invalid UTF-8 with U+FFFD: that is the careful path's.
			return s, ascii || utf8.ValidString(s)
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

func (p *fastParser) str(s *string) bool {
	v, ok := p.raw()
	if ok {
		*s = v
	}
	return ok
}

// object reads an object whose every key is passed to field, which reads its value. A key
// seen twice is not ok: encoding/json merges repeated fields in ways not worth copying.
func (p *fastParser) object(field func(key string) bool) bool {
	if !p.byte('{') {
		return false
	}
	if p.byte('}') {
		return true
	}
	var seen [8]string // room for the keys of most objects without allocating
	keys := seen[:0]
	for {
		key, ok := p.raw()
		if !ok || !p.byte(':') {
			return false
		}
		for _, k := range keys {
			if k == key {
				return false
			}
		}
		keys = append(keys, key)
		if !field(key) {
			return false
		}
		if p.byte('}') {
			return true
		}
		if !p.byte(',') {
			return false
		}
	}
}

func (p *fastParser) lines(lines *[]edge.Line) bool {
	if !p.byte('[') {
		return false
	}
	*lines = make([]edge.Line, 0, 1) // encoding/json: [] is an empty slice, not nil
	if p.byte(']') {
		return true
	}
	for {
		var l edge.Line
		if !p.object(func(key string) bool { return p.lineField(&l, key) }) {
			return false
		}
		*lines = append(*lines, l)
		if p.byte(']') {
			return true
		}
		if !p.byte(',') {
			return false
		}
	}
}

func (p *fastParser) lineField(l *edge.Line, key string) bool {
	var s *string
	switch key {
	case "item":
		s = &l.Item
	case "qty":
		v, ok := p.raw()
		if !ok {
			return false
		}
		// What Qty.UnmarshalJSON does with a quoted string that has no escapes; its
		// refusal is the careful path's to word.
		q, err := edge.ParseQty(v)
		l.Qty = q
		return err == nil
	case "uom":
		s = &l.UoM
	case "lot":
		s = &l.Lot
	case "serial":
		s = &l.Serial
	case "expiry":
		s = &l.Expiry
	case "from":
		s = &l.From
	case "to":
		s = &l.To
	case "state":
		s = (*string)(&l.State)
	case "to_state":
		s = (*string)(&l.ToState)
	case "packaging":
		s = &l.Packaging
	case "weight_kg":
		s = &l.WeightKg
	case "base_uom":
		s = &l.BaseUoM
	default:
		return false // base_qty, expected, delta, unknown or differently spelt
	}
	return p.str(s)
}
