package uplink_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// bothBrokers runs fn against mosquitto and against a one-node NATS JetStream server (its
// MQTT semantics are those of the cluster: sessions, QoS 1 and retained messages live in
// JetStream either way).
func bothBrokers(t *testing.T, fn func(t *testing.T, broker string, nats bool)) {
	t.Run("mosquitto", func(t *testing.T) { fn(t, brokertest.StartMosquitto(t).URL(), false) })
	t.Run("nats", func(t *testing.T) { fn(t, brokertest.StartNATSCluster(t, 1).URLs()[0], true) })
}

// A '.' is a topic level separator in NATS: NATS maps it to "//" internally, so a depot
// whose id holds a dot forwards and is acknowledged on both brokers alike.
func TestADepotIDWithADotWorksOnMosquittoAndNATS(t *testing.T) {
	bothBrokers(t, func(t *testing.T, broker string, _ bool) {
		const id = "depot.lyon-1"
		cat, _ := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
		j, err := edge.Open(filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Depot: id, Catalog: cat})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Close() })
		for i := range 20 {
			if _, _, err := j.Commit(context.Background(), receipt(i)); err != nil {
				t.Fatal(err)
			}
		}
		sim := startSim(t, broker, nil)
		u, err := uplink.New(uplink.Config{Brokers: []string{broker}, KeepAlive: 2 * time.Second}, id, j, nil, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- u.Run(ctx) }()
		defer func() { cancel(); <-done }()
		waitFor(t, 30*time.Second, "20 transactions acked", drained(j))
		if st := sim.Stats(id); st.Applied != 20 {
			t.Fatalf("ERP applied %d of 20: %+v", st.Applied, st)
		}
	})
}

// NATS refuses whitespace in a topic (it would split its own protocol line): a publish to
// such a topic ends the connection, where mosquitto takes it. So the uplink refuses such a
// depot id or topic prefix up front, whatever the broker, with a clear error.
func TestWhitespaceInTopicsIsRefusedByNATSSoTheUplinkRefusesItEverywhere(t *testing.T) {
	bothBrokers(t, func(t *testing.T, broker string, nats bool) {
		// No reconnect: NATS is expected to close the connection.
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("ws-probe").SetAutoReconnect(false))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		defer c.Disconnect(50)
		tok := c.Publish("depots/D 1/tx", 1, false, `{"v":1}`)
		tok.WaitTimeout(5 * time.Second)
		waitFor(t, 5*time.Second, "the publish to settle", func() bool { return !nats || !c.IsConnectionOpen() })
		if accepted := c.IsConnectionOpen() && tok.Error() == nil; accepted == nats {
			t.Fatalf("publish to a topic with a space: accepted=%v on nats=%v", accepted, nats)
		}
	})
	j := mustJournal(t, "")
	for _, id := range []string{"D 1", "D\t1", "D\n1"} {
		if _, err := uplink.New(uplink.Config{Brokers: []string{"tcp://127.0.0.1:1"}}, id, j, nil, nil); err == nil || !strings.Contains(err.Error(), "whitespace") {
			t.Errorf("uplink.New with depot id %q: err = %v, want a whitespace refusal", id, err)
		}
	}
	var problems []string
	cfg := uplink.Config{Brokers: []string{"tcp://127.0.0.1:1"}, TopicPrefix: "site a/{depot_id}/", ClientID: "gw 1"}
	cfg.Check("uplink", func(key, msg string) { problems = append(problems, key+": "+msg) })
	if got := strings.Join(problems, "; "); !strings.Contains(got, "uplink.topic_prefix: must not contain whitespace") {
		t.Errorf("Check(topic_prefix with a space) = %q", got)
	}
}

// A NATS session may hold at most 65535 unacknowledged QoS 1 deliveries over all its
// subscriptions, and each subscription reserves max_ack_pending (default 1024) of them: a
// connector serving 64 depots, one subscription each, has its 64th refused (SUBACK 0x80)
// where mosquitto takes them all. The connector must say so rather than go deaf.
func TestNATSRefusesSubscriptionsBeyondTheSessionsAckBudget(t *testing.T) {
	bothBrokers(t, func(t *testing.T, broker string, nats bool) {
		c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("budget-probe").SetCleanSession(false))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		defer c.Disconnect(50)
		filters := map[string]byte{}
		for i := range 70 {
			filters[fmt.Sprintf("depots/D%02d/tx", i)] = 1
		}
		tok := c.SubscribeMultiple(filters, nil)
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		refused := 0
		for _, code := range tok.(*mqtt.SubscribeToken).Result() {
			if code >= 0x80 {
				refused++
			}
		}
		want := 0
		if nats {
			want = 70 - 65535/1024 // 63 fit
		}
		if refused != want {
			t.Fatalf("%d of 70 QoS 1 subscriptions refused, want %d", refused, want)
		}
	})
}

// On NATS each QoS 1 subscription of a persistent session is a replicated JetStream
// consumer, the cluster's main cost per depot: a depot makes four (ack, master/+, stock,
// cmd), and the one master filter still brings it every master data kind.
func TestADepotCostsNATSFourConsumersAndTheMasterFilterBringsEveryKind(t *testing.T) {
	cl := brokertest.StartNATSCluster(t, 1)
	broker := cl.URLs()[0]
	// The first MQTT connection makes the server's own consumers (of retained messages):
	// count from after it.
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("erp-side"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(50)
	before := cl.Nodes[0].Consumers()
	j := mustJournal(t, "")
	u, err := uplink.New(uplink.Config{Brokers: []string{broker}, KeepAlive: 2 * time.Second}, depotID, j, nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 30*time.Second, "the depot online", func() bool { return u.State().Online })
	if got := cl.Nodes[0].Consumers() - before; got != 4 {
		t.Fatalf("the depot's session made %d JetStream consumers, want 4", got)
	}
	items := `{"v":1,"version":"2026-12-03T10:00:00Z#1","items":[{"sku":"SKU-1","name":"Bolt","uom":"Units","barcodes":["4006381333931"],"tracking":"none"}]}`
	ops := `{"v":1,"version":"2026-12-03T10:00:00Z#2","operators":[{"badge":"B1","name":"Ana","role":"supervisor"}]}`
	for topic, body := range map[string]string{"master/items": items, "master/operators": ops} {
		if tok := pub.Publish(u.Topic(topic), 1, true, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	for kind, want := range map[string]string{"items": items, "operators": ops} {
		waitFor(t, 30*time.Second, "master "+kind+" stored", func() bool {
			got, err := j.Master(kind)
			return err == nil && string(got) == want
		})
	}
}
