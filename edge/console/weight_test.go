package console_test

import (
	"net/http"
	"testing"

	"github.com/depotd/depotd/edge"
)

// TestALinePostedWithAWeightThatDisagreesWithItsCountRaisesWeightMismatch: a line
// posted through POST /api/v1/transactions with both a counted quantity and a weight
// that disagree beyond the item's tolerance is committed as posted and raises a
// weight_mismatch exception with both figures, in the transaction's commit.
func TestALinePostedWithAWeightThatDisagreesWithItsCountRaisesWeightMismatch(t *testing.T) {
	e := startWeb(t, nil)
	if _, err := e.j.PutMaster(edge.MasterKindItems, []byte(`{"v":1,"version":"m1","items":[{"sku":"NUT","unit_weight_kg":"0.01","weight_tolerance":"0.2"}]}`)); err != nil {
		t.Fatal(err)
	}
	code, out := do(t, &server{url: e.url}, "POST", "/api/v1/transactions", opToken,
		`{"id":"w1","type":"receipt","lines":[{"item":"NUT","qty":"50","weight_kg":"0.47","to":"WH/Stock"}]}`)
	if code != http.StatusCreated {
		t.Fatalf("post: %d %v", code, out)
	}
	exc, err := e.j.Exceptions(true, 10)
	if err != nil || len(exc) != 1 {
		t.Fatalf("exceptions %+v (%v), want one weight_mismatch", exc, err)
	}
	x := exc[0]
	if x.Kind != edge.ExcWeightMismatch || x.Item != "NUT" || x.Seq != 1 ||
		x.Evidence["counted_qty"] != "50" || x.Evidence["weighed_kg"] != "0.47" || x.Evidence["weighed_qty"] != "47" || x.Evidence["tolerance_kg"] != "0.002" {
		t.Fatalf("exception %+v", x)
	}
}
