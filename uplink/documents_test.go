package uplink_test

import (
	"testing"
	"time"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// A retained documents snapshot published before the depot connects reaches its journal:
// the uplink subscribes to master/documents on connect, and a refused payload after it
// leaves the stored one in place.
func TestTheDepotStoresTheRetainedOpenDocumentsSnapshot(t *testing.T) {
	b := brokertest.StartMochi(t)
	j := mustJournal(t, "")
	post(t, j, 0, 1)
	docs := `{"v":1,"version":"d1","documents":[{"ref":"WH/IN/00012","kind":"receipt","lines":[{"item":"SKU-1","qty":"12"}]}]}`
	c := mustClient(t, b.URL(), "erp-docs")
	if tok := c.Publish("depots/D1/master/documents", 1, true, docs); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	r := startUplink(t, uplink.Config{Brokers: []string{b.URL()}, ResendAfter: time.Hour}, j)
	waitFor(t, 10*time.Second, "the documents snapshot stored", func() bool {
		d, ok, err := j.Document("WH/IN/00012")
		return err == nil && ok && d.Lines[0].Qty.String() == "12"
	})
	mustPublish(t, c, "depots/D1/master/documents", `{"v":1,"version":"d2","documents":[{"ref":"X","kind":"sale","lines":[{"item":"A","qty":"1"}]}]}`)
	// Same publisher, QoS 1: the ack is handled after the refused snapshot.
	mustPublish(t, c, "depots/D1/ack", `{"v":1,"upto_seq":1}`)
	waitFor(t, 10*time.Second, "the ack after the refused snapshot", func() bool { _, a := j.Positions(); return a == 1 })
	if err := r.u.HandleDownlink(r.u.Topic("master/documents"), []byte(`{"v":1,"version":"d3","documents":[],"x":1}`)); err == nil {
		t.Fatal("a documents payload with an unknown member was accepted")
	}
	if m, err := j.Documents(); err != nil || m.Version != "d1" {
		t.Fatalf("after refused payloads the stored version is %q (%v), want d1", m.Version, err)
	}
}
