package barcode

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// aiEntry is one application identifier of the table.
type aiEntry struct {
	ai         string
	title      string
	predefined bool // value length fixed by GS1: no FNC1 needed after it
	dlAttr     bool // permitted as a Digital Link query attribute
	parts      []component
	req        [][][]string // each req= attribute: alternatives, each an all-of group
	ex         []string     // patterns that must not appear alongside
	dlKey      bool
	dlQuals    [][]string // qualifier sequences when dlKey; an empty list means none allowed
	minLen     int
	maxLen     int
	decimals   int // for 31nn-36nn, 390n-395n: digits after the implied decimal point; -1 otherwise
}

type component struct {
	cset     byte // 'N', 'X', 'Y', 'Z'
	min, max int
	opt      bool
	linters  []string
}

var (
	aiTable    []*aiEntry          // sorted by AI
	aiByCode   map[string]*aiEntry // exact lookup
	aiLenByTwo [100]uint8          // AI length for each two-digit prefix (0 = none defined)
)

func init() {
	entries, err := parseAITable(aiTableText)
	if err != nil {
		panic("barcode: AI table: " + err.Error())
	}
	aiTable = entries
	aiByCode = make(map[string]*aiEntry, len(entries))
	for _, e := range entries {
		aiByCode[e.ai] = e
		p := int(e.ai[0]-'0')*10 + int(e.ai[1]-'0')
		aiLenByTwo[p] = uint8(len(e.ai))
	}
}

// parseAITable reads aiTableText. It is strict so that a typo in the table fails every
// test instead of silently accepting bad data.
func parseAITable(text string) ([]*aiEntry, error) {
	var out []*aiEntry
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		body, title, ok := strings.Cut(line, " # ")
		if !ok {
			title = ""
			body = line
		}
		f := strings.Fields(body)
		if len(f) < 3 {
			return nil, fmt.Errorf("line %d: too few fields", n)
		}
		first, last := f[0], f[0]
		if a, b, ok := strings.Cut(f[0], "-"); ok {
			first, last = a, b
		}
		if len(first) != len(last) || len(first) < 2 || len(first) > 4 {
			return nil, fmt.Errorf("line %d: bad AI %q", n, f[0])
		}
		lo, err1 := strconv.Atoi(first)
		hi, err2 := strconv.Atoi(last)
		if err1 != nil || err2 != nil || hi < lo {
			return nil, fmt.Errorf("line %d: bad AI range %q", n, f[0])
		}
		proto := aiEntry{decimals: -1}
		switch f[1] {
		case "-":
		case "*":
			proto.predefined = true
		case "?":
			proto.dlAttr = true
		case "*?":
			proto.predefined, proto.dlAttr = true, true
		default:
			return nil, fmt.Errorf("line %d: bad flags %q", n, f[1])
		}
		for _, tok := range f[2:] {
			switch {
			case strings.HasPrefix(tok, "req="):
				var alts [][]string
				for _, alt := range strings.Split(tok[4:], ",") {
					alts = append(alts, strings.Split(alt, "+"))
				}
				proto.req = append(proto.req, alts)
			case strings.HasPrefix(tok, "ex="):
				proto.ex = append(proto.ex, strings.Split(tok[3:], ",")...)
			case tok == "dlpkey":
				proto.dlKey = true
			case strings.HasPrefix(tok, "dlpkey="):
				proto.dlKey = true
				for _, seq := range strings.Split(tok[7:], "|") {
					proto.dlQuals = append(proto.dlQuals, strings.Split(seq, ","))
				}
			default:
				c, err := parseComponent(tok)
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", n, err)
				}
				if len(proto.parts) > 0 && proto.parts[len(proto.parts)-1].opt && !c.opt {
					return nil, fmt.Errorf("line %d: mandatory component after optional", n)
				}
				proto.parts = append(proto.parts, c)
			}
		}
		if len(proto.parts) == 0 {
			return nil, fmt.Errorf("line %d: no components", n)
		}
		for i, p := range proto.parts {
			if p.min != p.max && i != len(proto.parts)-1 && !p.opt {
				return nil, fmt.Errorf("line %d: variable-length component not last", n)
			}
			if !p.opt {
				proto.minLen += p.min
			}
			proto.maxLen += p.max
		}
		if proto.predefined && proto.minLen != proto.maxLen {
			return nil, fmt.Errorf("line %d: predefined-length AI with variable length", n)
		}
		for v := lo; v <= hi; v++ {
			e := proto
			e.ai = fmt.Sprintf("%0*d", len(first), v)
			e.title = title
			if i := strings.Index(title, "{"); i >= 0 && strings.HasSuffix(title, "}") {
				base, _ := strconv.Atoi(title[i+1 : len(title)-1])
				e.title = title[:i] + strconv.Itoa(v-lo+base)
			}
			if len(e.ai) == 4 && (e.ai[:2] >= "31" && e.ai[:2] <= "36" || e.ai[:2] == "39") {
				e.decimals = int(e.ai[3] - '0')
			}
			out = append(out, &e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ai < out[j].ai })
	for i := 1; i < len(out); i++ {
		if strings.HasPrefix(out[i].ai, out[i-1].ai) {
			return nil, fmt.Errorf("AI %s is a prefix of AI %s", out[i-1].ai, out[i].ai)
		}
	}
	// GS1 fixes the AI length by its first two digits; the prefix-free lookup relies on it.
	var byTwo [100]int
	for _, e := range out {
		p, _ := strconv.Atoi(e.ai[:2])
		if byTwo[p] != 0 && byTwo[p] != len(e.ai) {
			return nil, fmt.Errorf("AIs starting %s have different lengths", e.ai[:2])
		}
		byTwo[p] = len(e.ai)
	}
	return out, nil
}

func parseComponent(tok string) (component, error) {
	var c component
	if strings.HasPrefix(tok, "[") {
		end := strings.Index(tok, "]")
		if end < 0 {
			return c, fmt.Errorf("bad optional component %q", tok)
		}
		c.opt = true
		tok = tok[1:end] + tok[end+1:]
	}
	spec, linters, _ := strings.Cut(tok, ",")
	if linters != "" {
		c.linters = strings.Split(linters, ",")
		for _, l := range c.linters {
			if _, ok := linterFuncs[l]; !ok {
				return c, fmt.Errorf("unknown linter %q", l)
			}
		}
	}
	if len(spec) < 2 || !strings.ContainsRune("NXYZ", rune(spec[0])) {
		return c, fmt.Errorf("bad component %q", tok)
	}
	c.cset = spec[0]
	num := spec[1:]
	variable := strings.HasPrefix(num, "..")
	num = strings.TrimPrefix(num, "..")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 99 {
		return c, fmt.Errorf("bad component length %q", tok)
	}
	c.max = n
	c.min = n
	if variable {
		c.min = 1
	}
	return c, nil
}

// lookupAIPrefix finds the AI that starts data. GS1 AIs are prefix-free and their length is
// fixed by the first two digits, so at most one entry can match.
func lookupAIPrefix(data string) *aiEntry {
	if len(data) < 2 || !isDigit(data[0]) || !isDigit(data[1]) {
		return nil
	}
	l := int(aiLenByTwo[int(data[0]-'0')*10+int(data[1]-'0')])
	if l == 0 || len(data) < l {
		return nil
	}
	for i := 2; i < l; i++ {
		if !isDigit(data[i]) {
			return nil
		}
	}
	return aiByCode[data[:l]]
}

// lookupAI finds an AI by its exact code.
func lookupAI(code string) *aiEntry { return aiByCode[code] }

// matchesAIPattern reports whether ai matches pat, where 'n' in pat matches any digit.
// Patterns in req= and ex= always name whole AIs ("31nn" for 3100-3199), so lengths must
// be equal.
func matchesAIPattern(ai, pat string) bool {
	if len(pat) != len(ai) {
		return false
	}
	for i := 0; i < len(pat); i++ {
		if pat[i] != 'n' && pat[i] != ai[i] {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
