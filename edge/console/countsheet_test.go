package console_test

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console/code128test"
)

var (
	countSVG = regexp.MustCompile(`<svg class="count-barcode" [^>]*aria-label="([^"]*)">(.*?)</svg>`)
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
		bars, err := code128test.ReadSVG(m[2], module)
		if err != nil {
			t.Fatalf("%s: %v", m[1], err)
		}
		if bars.Start < 10*module {
			t.Errorf("%s: quiet zone of %d modules", m[1], bars.Start/module)
		}
		got, err := code128test.Decode(bars.Widths)
		if err != nil || got != m[1] || got != "CMD:COUNT:WH/Stock" {
			t.Errorf("barcode labelled %q reads %q, %v; want CMD:COUNT:WH/Stock", m[1], got, err)
		}
	}
}
