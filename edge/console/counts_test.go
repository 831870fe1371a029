package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

// TestTheCountsPageAndAPIListItemsToCountWithTheirReasons: an adjusted item is on the
// day's count list, with the adjustment among its reasons, on the page and in the API.
func TestTheCountsPageAndAPIListItemsToCountWithTheirReasons(t *testing.T) {
	e := startWeb(t, nil)
	commitTx(t, e.j, edge.Transaction{ID: "in", Type: edge.Receipt, Lines: []edge.Line{{Item: "BOLT", Qty: edge.QtyFromInt(50), To: "WH/Stock"}}})
	commitTx(t, e.j, edge.Transaction{ID: "adj", Type: edge.Adjustment, Reason: "damage",
		Lines: []edge.Line{{Item: "BOLT", Qty: edge.QtyFromInt(-3), From: "WH/Stock"}}})
	b := logIn(t, e, 0)
	if r := b.get("/counts"); r.StatusCode != http.StatusOK || !strings.Contains(b.last, `id="count-BOLT"`) ||
		!strings.Contains(b.last, "adjusted on ") {
		t.Fatalf("counts page: %d\n%s", r.StatusCode, b.last)
	}
	// The printed sheet carries, under each location, the command barcode a station
	// scans to start a count there.
	if !strings.Contains(b.last, `aria-label="CMD:COUNT:WH/Stock"`) {
		t.Fatalf("counts page without the count barcode of WH/Stock:\n%s", b.last)
	}
	code, body := do(t, &server{e.url}, "GET", "/api/v1/counts", opToken, "")
	entries, _ := body["entries"].([]any)
	if code != http.StatusOK || len(entries) != 1 {
		t.Fatalf("API: %d %v", code, body)
	}
	first, _ := entries[0].(map[string]any)
	if first["item"] != "BOLT" || !strings.Contains(strings.Join(toStrings(first["reasons"]), ";"), "adjusted on") {
		t.Fatalf("API entry %v", first)
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
