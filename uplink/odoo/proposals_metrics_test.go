package odoo_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// The connector's /metrics counts each depot's proposals: received (checked and spooled;
// an unreadable payload is not), and what Odoo made of them: a transfer created, covered by
// an open transfer, a duplicate of a key, refused for its data.
func TestMetricsCountTheProposalsReceivedCreatedCoveredDuplicateAndRefused(t *testing.T) {
	r := newE2ERig(t)
	r.withCentral()
	svc := r.startDownService(odoo.DownlinkConfig{Poll: time.Hour, SnapshotEvery: 1000, SnapshotInterval: time.Hour}, t.TempDir())
	r.waitClaim()
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(r.broker.URL()).SetClientID(odootest.Unique("proposer")))
	if tok := cl.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer cl.Disconnect(100)
	publish := func(raw []byte) {
		t.Helper()
		if tok := cl.Publish("depots/"+r.depot.ID+"/proposal", 1, false, raw); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	// One approved proposal at the depot (no second one is raised while it is open); the
	// others are it under other ids, as later ones would be.
	approved, err := uplink.ProposalPayload(r.depot.ID, r.approved(r.depot.Warehouse+"/Stock", "central", 24))
	if err != nil {
		t.Fatal(err)
	}
	payload := func(id int, loc string) []byte {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(approved, &m); err != nil {
			t.Fatal(err)
		}
		m["id"], m["location"] = id, loc
		raw, _ := json.Marshal(m)
		return raw
	}
	metric := func(name, labels string) string {
		return fmt.Sprintf("%s{depot=%q%s} ", name, r.depot.ID, labels)
	}
	waitFor := func(what string, want ...string) {
		t.Helper()
		waitUntil(t, 2*time.Minute, what, func() bool {
			svc.mu.Lock()
			addr := svc.addr
			svc.mu.Unlock()
			if addr == "" {
				return false
			}
			m := get(t, "http://"+addr+"/metrics", 200)
			for _, w := range want {
				if !strings.Contains(m, w+"\n") {
					return false
				}
			}
			return true
		})
	}
	out := func(result string, n int) string {
		return metric("depotd_erp_proposals_total", fmt.Sprintf(",result=%q", result)) + fmt.Sprint(n)
	}
	in := func(n int) string { return metric("depotd_erp_proposals_received_total", "") + fmt.Sprint(n) }

	waitFor("the proposal counters at 0", in(0), out("created", 0), out("covered", 0), out("duplicate", 0), out("refused", 0))
	first := payload(1, r.depot.Warehouse+"/Stock")
	publish([]byte(`{"v":1,"depot":"` + r.depot.ID + `","id":"not a number"}`))
	publish(first)
	waitFor("one created", in(1), out("created", 1))
	publish(first) // a redelivery
	waitFor("one duplicate", in(2), out("created", 1), out("duplicate", 1))
	publish(payload(2, r.depot.Warehouse+"/Stock")) // the first one's transfer brings it
	waitFor("one covered", in(3), out("covered", 1))
	publish(payload(3, r.depot.Warehouse+"/Nowhere"))
	waitFor("one refused", in(4), out("created", 1), out("covered", 1), out("duplicate", 1), out("refused", 1))
}
