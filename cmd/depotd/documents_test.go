package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/barcode"
	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
	"github.com/depotd/depotd/edge/station"
)

// The station screen gets the station package's comparison through the wiring the daemon
// uses (console.StationsFrom over Manager.Snapshot): each expected item as scanned/expected,
// then the item the document does not name, flagged.
func TestTheStationScreenShowsTheStationsScannedAgainstExpected(t *testing.T) {
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Input", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Depot: "D1", Catalog: cat,
		Master: edge.MasterData{Operators: []edge.Operator{{Badge: "B1", Name: "Olivia", Role: "operator"}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	master := `{"v":1,"version":"1","items":[{"sku":"SKU-1","barcodes":["4006381333931"]},{"sku":"SKU-2","barcodes":["4012345000016"]}]}`
	docs := `{"v":1,"version":"1","documents":[{"ref":"WH/IN/00012","kind":"receipt","partner":"Acme","origin":"PO0042","lines":[{"item":"SKU-1","qty":"12","uom":"Units"}]}]}`
	for kind, p := range map[string]string{edge.MasterKindItems: master, edge.MasterKindDocuments: docs} {
		if _, err := j.PutMaster(kind, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	dec, err := barcode.NewDecoder(barcode.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	m, err := station.New(station.Options{
		Stations: []station.Config{{Name: "dock", Scanner: "sc", Mode: station.ModeReceive, To: "WH/Input"}},
		Decoder:  dec, Catalog: cat, Journal: j, Documents: j,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"OP:B1", "REF:WH/IN/00012", "QTY:5", "4006381333931", "4012345000016"} {
		ev, err := m.Apply(context.Background(), devices.Scan{Device: "sc", Raw: []byte(s), Data: []byte(s)})
		if err != nil || ev.Result == station.Refused {
			t.Fatalf("%s: %+v %v", s, ev, err)
		}
	}
	src := console.StationsFrom(func() []station.Status { return m.Snapshot().Stations }, m.Subscribe)
	d := src.Stations()[0].Document
	if d == nil {
		t.Fatal("no document on the screen")
	}
	var got []string
	for _, l := range d.Lines {
		got = append(got, fmt.Sprintf("%s %s/%s %s %s", l.Item, l.Qty, l.Expected, l.Progress(), l.Flag))
	}
	want := []string{"SKU-1 5/12 short ", "SKU-2 1/ unexpected not on WH/IN/00012"}
	if fmt.Sprint(got) != fmt.Sprint(want) || d.Partner != "Acme" || d.Origin != "PO0042" {
		t.Fatalf("screen lines %q (partner %q, origin %q), want %q", got, d.Partner, d.Origin, want)
	}
}
