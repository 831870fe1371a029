package console_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

// code128Widths is the Code 128 symbol table of ISO/IEC 15417 (bar, space, bar, space,
// bar, space widths in modules; 106 is the stop pattern with its final bar), typed from the
// standard so that the sheet test does not trust the encoder it checks (the same table as
// cmd/depotd's command sheet test).
var code128Widths = strings.Fields(`212222 222122 222221 121223 121322 131222 122213 122312 132212 221213
221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 221231 213212 223112 312131
311222 321122 321221 312212 322112 322211 212123 212321 232121 111323 131123 131321 112313 132113
132311 211313 231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 231131 213113
213311 213131 311123 311321 331121 312113 312311 332111 314111 221411 431111 111224 111422 121124
121421 141122 141221 112214 112412 122114 122411 142112 142211 241211 221114 413111 241112 134111
111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 214121 412121 111143 111341
131141 114113 114311 411113 411311 113141 114131 311141 411131 211412 211214 211232 2331112`)

// decodeCode128 reads the bar and space widths of one symbol back into its text, checking
// start, check symbol and stop. Code sets A, B and C are handled (no FNC characters: the
// sheet prints none).
func decodeCode128(widths []int) (string, error) {
	byPattern := map[string]int{}
	for v, w := range code128Widths {
		byPattern[w] = v
	}
	var vals []int
	for len(widths) > 0 {
		n := 6
		if len(widths) == 7 {
			n = 7
		}
		if len(widths) < n {
			return "", fmt.Errorf("%d widths left over", len(widths))
		}
		var sb strings.Builder
		for _, w := range widths[:n] {
			sb.WriteString(strconv.Itoa(w))
		}
		v, ok := byPattern[sb.String()]
		if !ok {
			return "", fmt.Errorf("no symbol has widths %s", sb.String())
		}
		vals = append(vals, v)
		widths = widths[n:]
	}
	if len(vals) < 3 || vals[len(vals)-1] != 106 {
		return "", fmt.Errorf("no stop pattern")
	}
	sum := vals[0]
	for i := 1; i < len(vals)-2; i++ {
		sum += i * vals[i]
	}
	if sum%103 != vals[len(vals)-2] {
		return "", fmt.Errorf("check symbol %d, computed %d", vals[len(vals)-2], sum%103)
	}
	set := map[int]byte{103: 'A', 104: 'B', 105: 'C'}[vals[0]]
	if set == 0 {
		return "", fmt.Errorf("bad start symbol %d", vals[0])
	}
	var out strings.Builder
	for _, v := range vals[1 : len(vals)-2] {
		switch {
		case set == 'C' && v < 100:
			out.WriteString(strconv.Itoa(v/10) + strconv.Itoa(v%10))
		case v == 99:
			set = 'C'
		case v == 100 && set != 'B':
			set = 'B'
		case v == 101 && set != 'A':
			set = 'A'
		case set == 'B' && v < 96:
			out.WriteByte(byte(v + 32))
		case set == 'A' && v < 64:
			out.WriteByte(byte(v + 32))
		case set == 'A' && v < 96:
			out.WriteByte(byte(v - 64))
		default:
			return "", fmt.Errorf("unsupported symbol %d in set %c", v, set)
		}
	}
	return out.String(), nil
}

var (
	countSVG  = regexp.MustCompile(`<svg class="count-barcode" [^>]*aria-label="([^"]*)">(.*?)</svg>`)
	countRect = regexp.MustCompile(`<rect x="(\d+)" y="0" width="(\d+)" height="\d+" fill="#000"/>`)
)

// TestTheCountSheetsBarcodesDecodeToTheCommandThatStartsACountThere: every barcode on
// the printed count list reads, from its SVG bars alone, as CMD:COUNT:<location> for a
// location the list names, with a 10-module quiet zone.
func TestTheCountSheetsBarcodesDecodeToTheCommandThatStartsACountThere(t *testing.T) {
	e := startWeb(t, nil)
	commitTx(t, e.j, edge.Transaction{ID: "in", Type: edge.Receipt, Lines: []edge.Line{{Item: "BOLT", Qty: edge.QtyFromInt(50), To: "WH/Stock"}}})
	commitTx(t, e.j, edge.Transaction{ID: "adj", Type: edge.Adjustment, Reason: "damage",
		Lines: []edge.Line{{Item: "BOLT", Qty: edge.QtyFromInt(-3), From: "WH/Stock"}}})
	b := logIn(t, e, 0)
	if r := b.get("/counts"); r.StatusCode != http.StatusOK {
		t.Fatalf("counts page: %d", r.StatusCode)
	}
	svgs := countSVG.FindAllStringSubmatch(b.last, -1)
	if len(svgs) == 0 {
		t.Fatalf("no count barcode on the page:\n%s", b.last)
	}
	for _, m := range svgs {
		const module = 2
		var widths []int
		end := 0
		for i, r := range countRect.FindAllStringSubmatch(m[2], -1) {
			x, _ := strconv.Atoi(r[1])
			w, _ := strconv.Atoi(r[2])
			if i == 0 && x < 10*module {
				t.Errorf("%s: quiet zone of %d modules", m[1], x/module)
			}
			if i > 0 {
				widths = append(widths, (x-end)/module)
			}
			widths = append(widths, w/module)
			end = x + w
		}
		got, err := decodeCode128(widths)
		if err != nil || got != m[1] || got != "CMD:COUNT:WH/Stock" {
			t.Errorf("barcode labelled %q reads %q, %v; want CMD:COUNT:WH/Stock", m[1], got, err)
		}
	}
}
