package console

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/boombuler/barcode/code128"
)

// countBarcode draws the command barcode that starts a count at loc from a station
// (CMD:COUNT:<loc>, edge/station) as an inline Code 128 SVG (boombuler/barcode picks the
// code sets and the check symbol): one rect per bar, module width 2 units, a 10-module
// quiet zone on each side (ISO/IEC 15417), so the printed count sheet can be scanned. A
// name Code 128 cannot carry (outside ASCII) gets no barcode: the sheet still names it.
func countBarcode(loc string) template.HTML {
	data := "CMD:COUNT:" + loc
	bc, err := code128.Encode(data)
	if err != nil {
		return ""
	}
	const module, quiet, height = 2, 10, 40
	n := bc.Bounds().Dx()
	w := (n + 2*quiet) * module
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="count-barcode" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		w, height, w, height, template.HTMLEscapeString(data))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, w, height)
	for x := 0; x < n; {
		if r, g, bl, _ := bc.At(x, 0).RGBA(); r+g+bl >= 3*0x8000 {
			x++
			continue
		}
		start := x
		for x < n {
			if r, g, bl, _ := bc.At(x, 0).RGBA(); r+g+bl >= 3*0x8000 {
				break
			}
			x++
		}
		fmt.Fprintf(&b, `<rect x="%d" y="0" width="%d" height="%d" fill="#000"/>`, (quiet+start)*module, (x-start)*module, height)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and an escaped label only
}
