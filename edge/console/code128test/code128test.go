// Package code128test reads the Code 128 symbols that the console draws as SVG back into
// their text, for tests that must not trust the encoder they check: the symbol table is
// typed from ISO/IEC 15417, not taken from the encoder.
package code128test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// widths is the Code 128 symbol table of ISO/IEC 15417 (bar, space, bar, space, bar,
// space widths in modules; 106 is the stop pattern with its final bar).
var widths = strings.Fields(`212222 222122 222221 121223 121322 131222 122213 122312 132212 221213
221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 221231 213212 223112 312131
311222 321122 321221 312212 322112 322211 212123 212321 232121 111323 131123 131321 112313 132113
132311 211313 231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 231131 213113
213311 213131 311123 311321 331121 312113 312311 332111 314111 221411 431111 111224 111422 121124
121421 141122 141221 112214 112412 122114 122411 142112 142211 241211 221114 413111 241112 134111
111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 214121 412121 111143 111341
131141 114113 114311 411113 411311 113141 114131 311141 411131 211412 211214 211232 2331112`)

var byPattern = func() map[string]int {
	m := make(map[string]int, len(widths))
	for v, w := range widths {
		m[w] = v
	}
	return m
}()

// Decode reads the bar and space widths (in modules) of one symbol back into its text,
// checking start, check symbol and stop. Code sets A, B and C are handled; FNC characters
// are refused, as the console prints none.
func Decode(w []int) (string, error) {
	var vals []int
	for len(w) > 0 {
		n := 6
		if len(w) == 7 {
			n = 7
		}
		if len(w) < n {
			return "", fmt.Errorf("%d widths left over", len(w))
		}
		var sb strings.Builder
		for _, x := range w[:n] {
			sb.WriteString(strconv.Itoa(x))
		}
		v, ok := byPattern[sb.String()]
		if !ok {
			return "", fmt.Errorf("no symbol has widths %s", sb.String())
		}
		vals = append(vals, v)
		w = w[n:]
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

var rect = regexp.MustCompile(`<rect x="(\d+)" y="0" width="(\d+)" height="\d+" fill="#000"/>`)

// Bars is one symbol read from the black rectangles of an SVG: its bar and space widths in
// modules, where its first bar starts and where its last bar ends (in SVG units).
type Bars struct {
	Widths     []int
	Start, End int
}

// ReadSVG reads the black bars of one symbol's SVG body, drawn at module SVG units per
// module, refusing a bar off the module grid.
func ReadSVG(body string, module int) (Bars, error) {
	var b Bars
	for i, r := range rect.FindAllStringSubmatch(body, -1) {
		x, _ := strconv.Atoi(r[1])
		w, _ := strconv.Atoi(r[2])
		if x%module != 0 || w%module != 0 {
			return Bars{}, fmt.Errorf("bar off the module grid: x=%d w=%d", x, w)
		}
		if i == 0 {
			b.Start = x
		} else {
			b.Widths = append(b.Widths, (x-b.End)/module)
		}
		b.Widths = append(b.Widths, w/module)
		b.End = x + w
	}
	if len(b.Widths) == 0 {
		return Bars{}, fmt.Errorf("no bars")
	}
	return b, nil
}
