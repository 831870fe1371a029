package station_test

import (
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/station"
)

// TestACountSheetsBarcodeStartsACountAtItsLocation: CMD:COUNT:<location>, printed on the
// count list beside an item's location, switches a receiving station to count mode at
// that location, and what is then counted lands there; an unknown location, or an open
// document of another kind, is refused and changes nothing.
func TestACountSheetsBarcodeStartsACountAtItsLocation(t *testing.T) {
	d := mustDepot(t, mustFixture(t), newClock())
	mustApply(t, d.M, "sc-dock", "OP:alice")
	if ev := mustApply(t, d.M, "sc-dock", "CMD:COUNT:WH/Nowhere"); ev.Result != station.Refused {
		t.Fatalf("unknown location: %+v", ev)
	}
	if ev := mustApply(t, d.M, "sc-dock", "4006381333931"); ev.Result != station.Accepted {
		t.Fatalf("receipt line: %+v", ev)
	}
	if ev := mustApply(t, d.M, "sc-dock", "CMD:COUNT:WH/Bin-A"); ev.Result != station.Refused || !strings.Contains(ev.Message, "validate or cancel") {
		t.Fatalf("count sheet barcode over an open receipt: %+v", ev)
	}
	mustApply(t, d.M, "sc-dock", "CMD:CANCEL")
	ev := mustApply(t, d.M, "sc-dock", "CMD:COUNT:WH/Bin-A")
	if ev.Result != station.Accepted || !strings.Contains(ev.Message, "count at WH/Bin-A") {
		t.Fatalf("count sheet barcode: %+v", ev)
	}
	st, err := d.M.Station("dock")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != station.ModeCount {
		t.Fatalf("mode %s after the count sheet barcode, want count", st.Mode)
	}
	for _, code := range []string{"QTY:7", "4006381333931", "CMD:VALIDATE"} {
		if ev := mustApply(t, d.M, "sc-dock", code); ev.Result == station.Refused {
			t.Fatalf("%s: %+v", code, ev)
		}
	}
	rows, err := d.J.Stock(edge.StockFilter{Location: "WH/Bin-A"})
	if err != nil || len(rows) != 1 || rows[0].Qty.String() != "7" {
		t.Fatalf("stock at WH/Bin-A after the count: %+v, %v; want 7", rows, err)
	}
}
