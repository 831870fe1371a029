package console

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/boombuler/barcode/code128"
)

// Code128SVG draws data as an inline Code 128 SVG (boombuler/barcode picks the code sets
// and the check symbol): one rect per bar, module width 2 units, a 10-module quiet zone on
// each side as ISO/IEC 15417 requires, so a printed sheet scans. class, when set, is the
// svg element's class. Data Code 128 cannot carry (outside ASCII) is an error.
func Code128SVG(data string, height int, class string) (template.HTML, error) {
	bc, err := code128.Encode(data)
	if err != nil {
		return "", err
	}
	const module, quiet = 2, 10
	n := bc.Bounds().Dx()
	w := (n + 2*quiet) * module
	var b strings.Builder
	b.WriteString(`<svg`)
	if class != "" {
		fmt.Fprintf(&b, ` class="%s"`, template.HTMLEscapeString(class))
	}
	fmt.Fprintf(&b, ` xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		w, height, w, height, template.HTMLEscapeString(data))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, w, height)
	isBar := func(x int) bool {
		r, g, bl, _ := bc.At(x, 0).RGBA()
		return r+g+bl < 3*0x8000
	}
	for x := 0; x < n; {
		if !isBar(x) {
			x++
			continue
		}
		start := x
		for x < n && isBar(x) {
			x++
		}
		fmt.Fprintf(&b, `<rect x="%d" y="0" width="%d" height="%d" fill="#000"/>`, (quiet+start)*module, (x-start)*module, height)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()), nil // built from numbers and escaped text only
}

// countBarcode is the command barcode that starts a count at loc from a station
// (CMD:COUNT:<loc>, edge/station). A name Code 128 cannot carry gets no barcode: the sheet
// still names it.
func countBarcode(loc string) template.HTML {
	svg, err := Code128SVG("CMD:COUNT:"+loc, 40, "count-barcode")
	if err != nil {
		return ""
	}
	return svg
}
