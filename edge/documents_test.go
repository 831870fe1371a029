package edge_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

const docsPayload = `{"v":1,"version":"2026-12-03T10:00:00Z#ab","documents":[
 {"ref":"WH/IN/00012","kind":"receipt","origin":"PO0042","partner":"Acme","scheduled":"2026-12-03T10:00:00Z",
  "lines":[{"item":"SKU-1","qty":"12","done":"0","uom":"Units"},{"item":"SKU-2","qty":"2.5","done":"1","uom":"kg"}]},
 {"ref":"WH/OUT/00003","kind":"issue","lines":[{"item":"SKU-1","qty":"4"}]}]}`

func TestMasterDocumentsAreStoredAndFoundByRefWithExactQuantities(t *testing.T) {
	j := openWithMaster(t, edge.MasterData{})
	if m, err := j.Documents(); err != nil || len(m.Documents) != 0 {
		t.Fatalf("before any snapshot: %+v %v", m, err)
	}
	v, err := j.PutMaster(edge.MasterKindDocuments, []byte(docsPayload))
	if err != nil || v != "2026-12-03T10:00:00Z#ab" {
		t.Fatalf("put: %q %v", v, err)
	}
	d, ok, err := j.Document("WH/IN/00012")
	if err != nil || !ok {
		t.Fatalf("document: %v %v", ok, err)
	}
	if d.Kind != edge.DocReceipt || d.Partner != "Acme" || d.Scheduled.IsZero() || len(d.Lines) != 2 {
		t.Fatalf("document: %+v", d)
	}
	if got := d.Lines[1].Open().String(); got != "1.5" {
		t.Fatalf("open quantity of 2.5 with 1 done = %s, want 1.5", got)
	}
	if _, ok, _ := j.Document("WH/IN/99999"); ok {
		t.Fatal("an unknown ref was found")
	}
}

func TestMasterDocumentsRefuseBadInputNamingTheField(t *testing.T) {
	for _, c := range []struct{ name, payload, want string }{
		{"unknown member", `{"v":1,"version":"1","documents":[],"extra":1}`, "unknown field"},
		{"no version", `{"v":1,"documents":[]}`, "version"},
		{"v2", `{"v":2,"version":"1","documents":[]}`, "unsupported payload version"},
		{"no ref", `{"v":1,"version":"1","documents":[{"kind":"receipt","lines":[{"item":"A","qty":"1"}]}]}`, "documents[0].ref"},
		{"duplicate ref", `{"v":1,"version":"1","documents":[{"ref":"R","kind":"receipt","lines":[{"item":"A","qty":"1"}]},{"ref":"R","kind":"issue","lines":[{"item":"A","qty":"1"}]}]}`, "duplicate ref"},
		{"bad kind", `{"v":1,"version":"1","documents":[{"ref":"R","kind":"sale","lines":[{"item":"A","qty":"1"}]}]}`, "documents[0].kind"},
		{"no lines", `{"v":1,"version":"1","documents":[{"ref":"R","kind":"receipt","lines":[]}]}`, "documents[0].lines"},
		{"zero qty", `{"v":1,"version":"1","documents":[{"ref":"R","kind":"receipt","lines":[{"item":"A","qty":"0"}]}]}`, "lines[0].qty"},
		{"negative done", `{"v":1,"version":"1","documents":[{"ref":"R","kind":"receipt","lines":[{"item":"A","qty":"1","done":"-1"}]}]}`, "lines[0].done"},
		{"float-looking bad qty", `{"v":1,"version":"1","documents":[{"ref":"R","kind":"receipt","lines":[{"item":"A","qty":"1e400x"}]}]}`, "master documents"},
		{"bad time", `{"v":1,"version":"1","documents":[{"ref":"R","kind":"receipt","scheduled":"tomorrow","lines":[{"item":"A","qty":"1"}]}]}`, "master documents"},
		{"no item", `{"v":1,"version":"1","documents":[{"ref":"R","kind":"transfer","lines":[{"qty":"1"}]}]}`, "lines[0].item"},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := openWithMaster(t, edge.MasterData{})
			_, err := j.PutMaster(edge.MasterKindDocuments, []byte(c.payload))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to name %q", err, c.want)
			}
			var fe *edge.FieldError
			if strings.HasPrefix(c.want, "documents[") && !errors.As(err, &fe) {
				t.Fatalf("err %v is not a *FieldError", err)
			}
			if m, _ := j.Documents(); len(m.Documents) != 0 {
				t.Fatalf("a refused payload was stored: %+v", m)
			}
		})
	}
}

// FuzzValidateMasterDocuments: any payload is either refused or stored so that it reads
// back with every line's quantity positive and nothing done below zero.
func FuzzValidateMasterDocuments(f *testing.F) {
	f.Add([]byte(docsPayload))
	f.Add([]byte(`{"v":1,"version":"1","documents":[{"ref":"R","kind":"receipt","lines":[{"item":"A","qty":1}]}]}`))
	f.Add([]byte(`{"v":1,"version":"1","documents":null}`))
	j := openWithMaster(f, edge.MasterData{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		if _, err := edge.ValidateMaster(edge.MasterKindDocuments, payload); err != nil {
			return
		}
		if _, err := j.PutMaster(edge.MasterKindDocuments, payload); err != nil {
			t.Fatalf("validated payload not stored: %v", err)
		}
		m, err := j.Documents()
		if err != nil {
			t.Fatalf("stored payload unreadable: %v", err)
		}
		for _, d := range m.Documents {
			for _, l := range d.Lines {
				if l.Qty.Sign() <= 0 || l.Done.Sign() < 0 || l.Open().Sign() < 0 {
					t.Fatalf("line %+v passed validation", l)
				}
			}
		}
	})
}
