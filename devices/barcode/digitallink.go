package barcode

import (
	"strings"
)

// isDigitalLinkScheme reports whether s starts with an http(s) scheme GS1 Digital Link
// accepts: all lower case or all upper case (a mixed-case scheme is not a Digital Link,
// per the GS1 Barcode Syntax Engine).
func isDigitalLinkScheme(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "HTTPS://") ||
		strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "HTTP://")
}

// isDigitalLinkSchemeFold reports whether s starts with "http://" or "https://" in any
// letter case: an http(s) input, whether or not its scheme's case is one GS1 accepts.
func isDigitalLinkSchemeFold(s string) bool {
	return len(s) >= 7 && strings.EqualFold(s[:7], "http://") || len(s) >= 8 && strings.EqualFold(s[:8], "https://")
}

func isURIChar(c byte) bool {
	return isDigit(c) || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' ||
		strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0
}

// parseDigitalLink extracts the AIs of a GS1 Digital Link URI (GS1 Digital Link Standard:
// URI Syntax 1.4): http(s)://<domain>[/stem]/<key>/<value>[/<qualifier>/<value>...]
// [?<AI>=<value>&...][#fragment]. Every http(s) input is a Digital Link or refused: the
// path must hold a primary key (the rightmost one; what precedes it is the stem), its key
// qualifiers in an order the standard allows, no empty segments and no other AIs; numeric
// query parameters must be known AIs that are data attributes, never a key or a qualifier;
// other query parameters (linkType, ...) are the resolver's and are ignored. It returns
// the stem (scheme, domain and any path before the key) too.
func parseDigitalLink(s string, base int) (ais []AI, stem string, err error) {
	p := strings.Index(s, "://") + 3
	if !isDigitalLinkScheme(s) {
		return nil, "", errAt(ErrDigitalLink, base, "URI scheme %q must be http or https in lower or upper case", s[:p-3])
	}
	for i := 0; i < len(s); i++ {
		if !isURIChar(s[i]) {
			return nil, "", errAt(ErrDigitalLink, base+i, "%s not allowed in a URI", quoteByte(s[i]))
		}
	}
	slash := strings.IndexByte(s[p:], '/')
	if slash <= 0 {
		return nil, "", errAt(ErrDigitalLink, base+p, "URI has no domain or no path")
	}
	if i := strings.IndexAny(s[p:p+slash], "_~?#@!$&'()*+,;=%"); i >= 0 {
		return nil, "", errAt(ErrDigitalLink, base+p+i, "%s not allowed in a domain name", quoteByte(s[p+i]))
	}
	pathStart := p + slash
	end := len(s)
	if i := strings.IndexByte(s[pathStart:], '#'); i >= 0 {
		end = pathStart + i
	}
	query := ""
	queryStart := end
	if i := strings.IndexByte(s[pathStart:end], '?'); i >= 0 {
		queryStart = pathStart + i
		query = s[queryStart+1 : end]
		end = queryStart
	}
	path := s[pathStart:end]
	if path == "/" {
		return nil, "", errAt(ErrDigitalLink, base+pathStart, "no GS1 primary key in the URI path")
	}

	type seg struct {
		text string
		pos  int
	}
	var segs []seg
	for i := 0; i < len(path); {
		j := strings.IndexByte(path[i+1:], '/')
		if j < 0 {
			j = len(path) - i - 1
		}
		if j == 0 {
			return nil, "", errAt(ErrDigitalLink, base+pathStart+i+1, "empty path segment")
		}
		segs = append(segs, seg{path[i+1 : i+1+j], base + pathStart + i + 1})
		i += j + 1
	}
	isKey := func(code string) bool {
		if len(code) < 2 || len(code) > 4 || !allDigits(code) {
			return false
		}
		e := lookupAI(code)
		return e != nil && e.dlKey
	}
	// The GS1 part is "/AI/value" pairs up to the end of the path: the rightmost key at a
	// pair boundary starts it, and anything left of it is the stem.
	keyIdx := -1
	for k := len(segs) - 2; k >= 0; k -= 2 {
		if isKey(segs[k].text) {
			keyIdx = k
			break
		}
	}
	if keyIdx < 0 {
		for k := len(segs) - 1; k >= 0; k -= 2 {
			if isKey(segs[k].text) {
				last := segs[len(segs)-1]
				return nil, "", errAt(ErrDigitalLink, last.pos,
					"the URI path after the key (%s) must be AI/value pairs: %q has no value", segs[k].text, last.text)
			}
		}
		return nil, "", errAt(ErrDigitalLink, base+pathStart, "no GS1 primary key in the URI path")
	}
	// The stem is everything before the "/" that precedes the key.
	stem = s[:segs[keyIdx].pos-base-1]

	key := lookupAI(segs[keyIdx].text)
	var pathAIs []string
	for k := keyIdx; k+1 < len(segs); k += 2 {
		code, raw := segs[k].text, segs[k+1]
		if len(code) < 2 || len(code) > 4 || !allDigits(code) {
			return nil, "", errAt(ErrDigitalLink, segs[k].pos,
				"path segment %q after the key (%s) is not an application identifier", clip(code, 8), key.ai)
		}
		e := lookupAI(code)
		if e == nil {
			return nil, "", errAt(ErrUnknownAI, segs[k].pos, "unknown application identifier (%s) in the URI path", code)
		}
		if k > keyIdx && !isQualifierOf(key, code) {
			return nil, "", errAt(ErrDigitalLink, segs[k].pos,
				"AI (%s) is not a key qualifier of (%s): data attributes belong in the query string", code, key.ai)
		}
		val, uerr := unescapeURI(raw.text, false, raw.pos)
		if uerr != nil {
			return nil, "", uerr
		}
		if err := validateWhole(e, val, raw.pos); err != nil {
			return nil, "", err
		}
		ais = append(ais, AI{AI: code, Value: val, Pos: segs[k].pos})
		pathAIs = append(pathAIs, code)
	}
	if !validKeyQualifiers(pathAIs) {
		return nil, "", errAt(ErrDigitalLink, segs[keyIdx].pos,
			"key qualifiers out of order or not allowed for AI (%s): %s", pathAIs[0], strings.Join(pathAIs, "/"))
	}

	qpos := base + queryStart + 1
	for _, param := range strings.Split(query, "&") {
		ppos := qpos
		qpos += len(param) + 1
		if param == "" {
			continue
		}
		name, raw, hasEq := strings.Cut(param, "=")
		if !allDigits(name) {
			continue // not an AI: other query parameters (linkType, ...) are the resolver's
		}
		e := lookupAI(name)
		if e == nil {
			return nil, "", errAt(ErrUnknownAI, ppos, "unknown application identifier (%s) in the query", name)
		}
		if !hasEq {
			return nil, "", errAt(ErrDigitalLink, ppos+len(name), "AI (%s) in the query has no value", name)
		}
		if raw == "" {
			return nil, "", errAt(ErrDigitalLink, ppos+len(name)+1, "AI (%s) query value is empty", name)
		}
		for _, prev := range ais {
			if prev.AI == name {
				return nil, "", errAt(ErrDigitalLink, ppos, "AI (%s) given twice", name)
			}
		}
		switch {
		case e.dlKey:
			return nil, "", errAt(ErrDigitalLink, ppos,
				"AI (%s) is a GS1 primary key: a Digital Link has one, in the URI path", name)
		case isQualifierOf(key, name):
			return nil, "", errAt(ErrDigitalLink, ppos,
				"AI (%s) is a key qualifier of (%s) and belongs in the URI path", name, key.ai)
		case !e.dlAttr:
			return nil, "", errAt(ErrDigitalLink, ppos, "AI (%s) is not a valid Digital Link data attribute", name)
		}
		val, uerr := unescapeURI(raw, true, ppos+len(name)+1)
		if uerr != nil {
			return nil, "", uerr
		}
		if err := validateWhole(e, val, ppos+len(name)+1); err != nil {
			return nil, "", err
		}
		ais = append(ais, AI{AI: name, Value: val, Pos: ppos})
	}
	return ais, stem, nil
}

// isQualifierOf reports whether code is one of key's Digital Link key qualifiers.
func isQualifierOf(key *aiEntry, code string) bool {
	for _, alt := range key.dlQuals {
		for _, q := range alt {
			if q == code {
				return true
			}
		}
	}
	return false
}

// validKeyQualifiers reports whether seq (primary key, then qualifiers in path order) is an
// ordered subsequence of one of the key's qualifier lists.
func validKeyQualifiers(seq []string) bool {
	e := lookupAI(seq[0])
	if e == nil || !e.dlKey {
		return false
	}
	if len(seq) == 1 {
		return true
	}
	for _, alt := range e.dlQuals {
		k := 0
		for _, q := range alt {
			if k+1 < len(seq) && seq[k+1] == q {
				k++
			}
		}
		if k == len(seq)-1 {
			return true
		}
	}
	return false
}

// unescapeURI reverses percent-encoding (and "+" for space in query values). A %00 or a
// broken escape is refused.
func unescapeURI(s string, query bool, pos int) (string, error) {
	if strings.IndexByte(s, '%') < 0 && (!query || strings.IndexByte(s, '+') < 0) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", errAt(ErrDigitalLink, pos+i, "invalid percent-encoding")
			}
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if v == 0 {
				return "", errAt(ErrDigitalLink, pos+i, "%%00 not allowed")
			}
			b.WriteByte(v)
			i += 2
		case c == '+' && query:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
