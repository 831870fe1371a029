package station_test

import (
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/station"
)

const openDocs = `{"v":1,"version":"d1","documents":[
 {"ref":"WH/IN/00012","kind":"receipt","origin":"PO0042","partner":"Acme","scheduled":"2026-03-02T10:00:00Z",
  "lines":[{"item":"WATER","qty":"12","done":"0","uom":"Units"},{"item":"BOLT-BOX","qty":"3","done":"1","uom":"Units"}]},
 {"ref":"WH/OUT/00007","kind":"issue","lines":[{"item":"WATER","qty":"2"}]}]}`

func putDocs(t *testing.T, j *edge.Journal) {
	t.Helper()
	if _, err := j.PutMaster(edge.MasterKindDocuments, []byte(openDocs)); err != nil {
		t.Fatal(err)
	}
}

func expectedLines(t *testing.T, ev station.Event) map[string]station.ExpectedLineView {
	t.Helper()
	d := ev.Status.Document
	if d == nil || d.Expected == nil {
		t.Fatalf("no expected document on the station: %+v", ev.Status)
	}
	out := map[string]station.ExpectedLineView{}
	for _, l := range d.Expected.Lines {
		out[l.Item] = l
	}
	return out
}

func progress(l station.ExpectedLineView) string {
	if l.Expected == nil {
		return l.Scanned.String() + "/-" + " " + l.Status
	}
	return l.Scanned.String() + "/" + l.Expected.String() + " " + l.Status
}

// A receipt whose REF: names a known ERP document shows each expected item as scanned
// against expected (what the ERP has already done is not expected again), flags an item
// the document does not name, and flags an over-receipt without refusing it.
func TestAReceiptAgainstAKnownDocumentShowsScannedAgainstExpectedPerLine(t *testing.T) {
	d := mustDepot(t, mustFixture(t), newClock())
	putDocs(t, d.J)
	mustApply(t, d.M, "sc-dock", "OP:alice")
	ev := mustApply(t, d.M, "sc-dock", "REF:WH/IN/00012")
	if ev.Result != station.Accepted || !strings.Contains(ev.Message, "Acme") || !strings.Contains(ev.Message, "2 items expected") {
		t.Fatalf("ref of a known receipt: %+v", ev)
	}
	lines := expectedLines(t, ev)
	if got := progress(lines["WATER"]) + ", " + progress(lines["BOLT-BOX"]); got != "0/12 short, 0/2 short" {
		t.Fatalf("before any scan: %s", got)
	}
	mustApply(t, d.M, "sc-dock", "QTY:1") // the dock's scale would count screws by weight
	ev = mustApply(t, d.M, "sc-dock", "SKU-SCREW-M4")
	if ev.Result != station.Accepted || !strings.Contains(ev.Message, "SCREW-M4 is not on WH/IN/00012") {
		t.Fatalf("an item not on the document: %+v", ev)
	}
	if got := progress(expectedLines(t, ev)["SCREW-M4"]); got != "1/- unexpected" {
		t.Fatalf("item not on the document: %s", got)
	}
	for range 5 {
		ev = mustApply(t, d.M, "sc-dock", "4006381333931")
	}
	if ev.Result != station.Accepted || !strings.Contains(ev.Message, "5/12 of WH/IN/00012") {
		t.Fatalf("5 of 12: %+v", ev)
	}
	if got := progress(expectedLines(t, ev)["WATER"]); got != "5/12 short" {
		t.Fatalf("after 5: %s", got)
	}
	for range 2 {
		ev = mustApply(t, d.M, "sc-dock", "4012345000016")
	}
	if got := progress(expectedLines(t, ev)["BOLT-BOX"]); got != "2/2 complete" {
		t.Fatalf("bolts: %s", got)
	}
	ev = mustApply(t, d.M, "sc-dock", "14006381333938") // a case of 12: 17 of 12
	if ev.Result != station.Accepted || !strings.Contains(ev.Message, "17/12: 5 more than WH/IN/00012 expects") {
		t.Fatalf("over-receipt: %+v", ev)
	}
	if got := progress(expectedLines(t, ev)["WATER"]); got != "17/12 over" {
		t.Fatalf("over: %s", got)
	}
	// The comparison survives a restart with the open document.
	d.restart()
	st, err := d.M.Station("dock")
	if err != nil {
		t.Fatal(err)
	}
	if st.Document == nil || st.Document.Expected == nil || len(st.Document.Expected.Lines) != 3 {
		t.Fatalf("after a restart: %+v", st.Document)
	}
	ev = mustApply(t, d.M, "sc-dock", "CMD:VALIDATE")
	if ev.Result != station.Accepted || ev.Seq == 0 {
		t.Fatalf("validate: %+v", ev)
	}
}

// With station_settings.refuse_over_expected an over-receipt is refused and changes
// nothing; a QTY: that would take the last line over is refused too.
func TestOverReceiptIsRefusedOnlyWhenConfigSaysSo(t *testing.T) {
	f := mustFixture(t)
	f.Settings.RefuseOverExpected = true
	d := mustDepot(t, f, newClock())
	putDocs(t, d.J)
	mustApply(t, d.M, "sc-dock", "OP:alice")
	mustApply(t, d.M, "sc-dock", "REF:WH/IN/00012")
	mustApply(t, d.M, "sc-dock", "14006381333938") // 12 of 12
	ev := mustApply(t, d.M, "sc-dock", "4006381333931")
	if ev.Result != station.Refused || !strings.Contains(ev.Message, "13/12") {
		t.Fatalf("13 of 12 with refuse_over_expected: %+v", ev)
	}
	if got := progress(expectedLines(t, ev)["WATER"]); got != "12/12 complete" {
		t.Fatalf("after the refused scan: %s", got)
	}
	mustApply(t, d.M, "sc-dock", "4012345000016")
	if ev := mustApply(t, d.M, "sc-dock", "QTY:3"); ev.Result != station.Refused {
		t.Fatalf("QTY:3 on 2 expected bolts: %+v", ev)
	}
}

// A ref the depot does not know, or one that names another kind of document than the
// station's mode works on, is accepted as before, with no comparison and a note saying why.
func TestARefOfAnUnknownOrOtherKindDocumentComparesNothing(t *testing.T) {
	d := mustDepot(t, mustFixture(t), newClock())
	putDocs(t, d.J)
	mustApply(t, d.M, "sc-dock", "OP:alice")
	ev := mustApply(t, d.M, "sc-dock", "REF:WH/OUT/00007")
	if ev.Result != station.Accepted || !strings.Contains(ev.Message, "is a delivery, this station is in receive mode") || ev.Status.Document.Expected != nil {
		t.Fatalf("issue document at a receiving station: %+v", ev)
	}
	mustApply(t, d.M, "sc-pick", "OP:bob")
	ev = mustApply(t, d.M, "sc-pick", "REF:WH/OUT/99999")
	if ev.Result != station.Accepted || ev.Message != "reference WH/OUT/99999" || ev.Status.Document.Expected != nil {
		t.Fatalf("unknown ref: %+v", ev)
	}
	ev = mustApply(t, d.M, "sc-pick", "REF:WH/OUT/00007")
	if got := progress(expectedLines(t, ev)["WATER"]); got != "0/2 short" {
		t.Fatalf("a pick against its delivery: %s", got)
	}
}
