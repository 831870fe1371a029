package uplink_test

import (
	"errors"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// Acks applied in sequence to a real journal with 100 transactions: duplicate, late,
// out-of-order and malformed acks, and acks beyond last_seq.
func TestAckSequence(t *testing.T) {
	j := mustJournal(t, "")
	post(t, j, 0, 100)
	u, err := uplink.New(uplink.Config{Brokers: []string{"tcp://127.0.0.1:1"}}, depotID, j, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		topic   string
		payload string
		err     error // nil: accepted
		acked   uint64
	}{
		{"first", "ack", `{"v":1,"upto_seq":10}`, nil, 10},
		{"duplicate", "ack", `{"v":1,"upto_seq":10}`, nil, 10},
		{"out of order: newer first", "ack", `{"v":1,"upto_seq":30}`, nil, 30},
		{"late older ack", "ack", `{"v":1,"upto_seq":20}`, nil, 30},
		{"beyond last refused whole", "ack", `{"v":1,"upto_seq":101,"rejected":[{"seq":31,"code":"X","message":""}]}`, edge.ErrAckBeyondLast, 30},
		{"rejection above upto", "ack", `{"v":1,"upto_seq":40,"rejected":[{"seq":41,"code":"X","message":""}]}`, uplink.ErrInvalid, 30},
		{"malformed", "ack", `{"v":1,"upto_seq":`, uplink.ErrBadPayload, 30},
		{"wrong version", "ack", `{"v":2,"upto_seq":50}`, uplink.ErrBadVersion, 30},
		{"no version", "ack", `{"upto_seq":50}`, uplink.ErrBadVersion, 30},
		{"with rejection", "ack", `{"v":1,"upto_seq":50,"rejected":[{"seq":45,"code":"UNKNOWN_ITEM","message":"SKU-1 archived"}]}`, nil, 50},
		{"rejection repeated by a late ack", "ack", `{"v":1,"upto_seq":50,"rejected":[{"seq":45,"code":"UNKNOWN_ITEM","message":"SKU-1 archived"}]}`, nil, 50},
		{"last", "ack", `{"v":1,"upto_seq":100}`, nil, 100},
		{"unknown topic", "bogus", `{"v":1}`, uplink.ErrInvalid, 100},
	}
	for _, s := range steps {
		err := u.HandleDownlink(u.Topic(s.topic), []byte(s.payload))
		if !errors.Is(err, s.err) || (s.err == nil && err != nil) {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.err)
		}
		if _, acked := j.Positions(); acked != s.acked {
			t.Fatalf("%s: acked = %d, want %d", s.name, acked, s.acked)
		}
	}
	exc, err := j.Exceptions(true, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range exc {
		if e.Kind == edge.ExcERPRejected {
			n++
			if e.Seq != 45 {
				t.Errorf("rejection exception for seq %d, want 45", e.Seq)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d ERP-rejection exceptions, want exactly 1 (deduplicated by seq): %+v", n, exc)
	}
}

// Master data and stock snapshots from the downlink land in the journal; invalid ones are
// refused and change nothing.
func TestMasterAndStockDownlink(t *testing.T) {
	j := mustJournal(t, "")
	post(t, j, 0, 3)
	u, err := uplink.New(uplink.Config{Brokers: []string{"tcp://127.0.0.1:1"}}, depotID, j, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	items := `{"v":1,"version":"2026-11-26T10:00:00Z#17","items":[{"sku":"SKU-1","name":"Bolt","uom":"Units","barcodes":["4006381333931"],"tracking":"none"}]}`
	if err := u.HandleDownlink(u.Topic("master/items"), []byte(items)); err != nil {
		t.Fatal(err)
	}
	got, err := j.Master("items")
	if err != nil || string(got) != items {
		t.Fatalf("stored items %q, %v", got, err)
	}
	for _, bad := range []string{``, `{"v":2,"version":"x","items":[]}`, `{"v":1,"version":"x","items":[{"sku":"S","tracking":"weird"}]}`} {
		if err := u.HandleDownlink(u.Topic("master/items"), []byte(bad)); err == nil {
			t.Fatalf("master %q accepted", bad)
		}
	}
	if got, _ := j.Master("items"); string(got) != items {
		t.Fatalf("refused master data replaced the stored one: %s", got)
	}
	stock := `{"v":1,"applied_seq":2,"rows":[{"item":"SKU-1","location":"WH/Stock","qty":"5"}]}`
	if err := u.HandleDownlink(u.Topic("stock"), []byte(stock)); err != nil {
		t.Fatal(err)
	}
	rows, err := j.Stock(edge.StockFilter{Item: "SKU-1"})
	if err != nil || len(rows) != 1 || rows[0].Qty.String() != "6" {
		// ERP says 5 after seq 2; local seq 3 (one more unit) replays on top.
		t.Fatalf("stock rows %+v, %v; want qty 6", rows, err)
	}
	if err := u.HandleDownlink(u.Topic("stock"), []byte(`{"v":1,"applied_seq":99,"rows":[]}`)); err == nil {
		t.Fatal("snapshot claiming seqs never committed accepted")
	}
}

// Malformed downlink messages sent through a real broker are dropped without harm, and the
// uplink keeps working: a valid ack after them is applied.
func TestMalformedDownlinkOverMQTT(t *testing.T) {
	b := brokertest.StartMochi(t)
	j := mustJournal(t, "")
	post(t, j, 0, 50)
	r := startUplink(t, uplink.Config{Brokers: []string{b.URL()}, ResendAfter: time.Hour}, j)
	waitFor(t, 10*time.Second, "online", func() bool { return r.u.State().Online })
	c := mustClient(t, b.URL(), "erp-bad")
	for _, p := range []struct{ topic, payload string }{
		{"ack", "\x00\x01\x02"}, {"ack", `{"v":1,"upto_seq":51}`}, {"ack", `{"v":1,"upto_seq":-3}`},
		{"cmd", `{"v":1,"cmd":"format-disk"}`}, {"stock", `[]`}, {"master/items", `{"v":1}`},
		{"master/operators", ``}, {"ack", `{"v":1,"upto_seq":25}`},
	} {
		mustPublish(t, c, "depots/D1/"+p.topic, p.payload)
	}
	waitFor(t, 10*time.Second, "the valid ack after the garbage", func() bool { _, a := j.Positions(); return a == 25 })
	if !r.u.State().Online {
		t.Fatal("uplink went offline on malformed downlink")
	}
}
