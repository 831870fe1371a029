package erpsim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/depotd/depotd/uplink/erpsim"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type ack struct {
	V        int    `json:"v"`
	UptoSeq  uint64 `json:"upto_seq"`
	Rejected []struct {
		Seq  uint64 `json:"seq"`
		Code string `json:"code"`
	} `json:"rejected"`
}

// The simulator applies in seq order, drops what follows a gap, repeats its ack on
// duplicates, reports rejections once they are due, and says nothing while silent.
func TestSimulator(t *testing.T) {
	b := brokertest.StartMochi(t)
	sim := &erpsim.Sim{Broker: b.URL(), AckEvery: 1, AckInterval: 5 * time.Millisecond,
		Reject: func(depot string, seq uint64, _ []byte) (string, string, bool) {
			return "ODD", "seq 3 refused", seq == 3
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var mu sync.Mutex
	var acks []ack
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("depot"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(50)
	c.Subscribe("depots/D1/ack", 1, func(_ mqtt.Client, m mqtt.Message) {
		var a ack
		json.Unmarshal(m.Payload(), &a)
		mu.Lock()
		acks = append(acks, a)
		mu.Unlock()
	}).WaitTimeout(5 * time.Second)
	waitSubscribed := time.Now().Add(10 * time.Second)
	for sim.Stats("D1").Received == 0 {
		// The simulator subscribes asynchronously: publish seq 1 until it is seen.
		c.Publish("depots/D1/tx", 1, false, tx(1, false)).WaitTimeout(5 * time.Second)
		if time.Now().After(waitSubscribed) {
			t.Fatal("simulator never received a transaction")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range []string{tx(2, false), tx(4, false), tx(3, false), tx(3, true), `{"v":1,"depot":"D9","seq":5}`, `nope`} {
		c.Publish("depots/D1/tx", 1, false, p).WaitTimeout(5 * time.Second)
	}
	last := func() ack {
		mu.Lock()
		defer mu.Unlock()
		if len(acks) == 0 {
			return ack{}
		}
		return acks[len(acks)-1]
	}
	deadline := time.Now().Add(10 * time.Second)
	for sim.Stats("D1").Malformed < 2 || last().UptoSeq != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, last ack %+v", sim.Stats("D1"), last())
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := sim.Stats("D1")
	if st.Applied != 3 || st.Gaps != 1 || st.Duplicates < 1 || st.Rejected != 1 || st.Replays != 1 {
		t.Fatalf("stats %+v", st)
	}
	mu.Lock()
	var rejected bool
	for _, a := range acks {
		if a.V != 1 {
			t.Errorf("ack without v:1: %+v", a)
		}
		for _, r := range a.Rejected {
			rejected = rejected || (r.Seq == 3 && r.Code == "ODD")
		}
	}
	n := len(acks)
	mu.Unlock()
	if !rejected {
		t.Fatal("rejection of seq 3 never reported")
	}

	sim.SetSilent(true)
	ignored := sim.Stats("D1").Ignored
	c.Publish("depots/D1/tx", 1, false, tx(4, false)).WaitTimeout(5 * time.Second)
	c.Publish("depots/D1/tx", 1, false, tx(5, false)).WaitTimeout(5 * time.Second)
	// A PUBACK says the broker has them, not that the simulator does: wait until it has
	// ignored both while silent.
	deadline = time.Now().Add(10 * time.Second)
	for sim.Stats("D1").Ignored < ignored+2 {
		if time.Now().After(deadline) {
			t.Fatalf("simulator did not receive seqs 4 and 5: %+v", sim.Stats("D1"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	sim.SetSilent(false)
	c.Publish("depots/D1/tx", 1, false, tx(4, true)).WaitTimeout(5 * time.Second)
	deadline = time.Now().Add(10 * time.Second)
	for last().UptoSeq != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("after silence: stats %+v, last ack %+v", sim.Stats("D1"), last())
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	for _, a := range acks[n:] {
		if a.UptoSeq > 4 {
			t.Errorf("seq 5 applied while silent: %+v", a)
		}
	}
	mu.Unlock()
}

func tx(seq uint64, replay bool) string {
	r := ""
	if replay {
		r = `,"replay":true`
	}
	return fmt.Sprintf(`{"v":1,"depot":"D1"%s,"id":"t-%d","seq":%d,"type":"receipt","lines":[]}`, r, seq, seq)
}

// TestSimulatorAppliesVoidsAsNothing: a void advances the applied seq like any
// transaction, is counted as a void, and is never offered for rejection.
func TestSimulatorAppliesVoidsAsNothing(t *testing.T) {
	b := brokertest.StartMochi(t)
	var mu sync.Mutex
	var asked []uint64
	sim := &erpsim.Sim{Broker: b.URL(), AckEvery: 1, AckInterval: 5 * time.Millisecond,
		Reject: func(depot string, seq uint64, _ []byte) (string, string, bool) {
			mu.Lock()
			asked = append(asked, seq)
			mu.Unlock()
			return "", "", false
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	defer func() { cancel(); <-done }()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("depot"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(50)
	void := func(seq uint64) string {
		return fmt.Sprintf(`{"v":1,"depot":"D1","id":"","seq":%d,"type":"void","ref":"restore-x","reason":"restore_skipped","lines":[]}`, seq)
	}
	deadline := time.Now().Add(10 * time.Second)
	for sim.Stats("D1").Received == 0 {
		c.Publish("depots/D1/tx", 1, false, tx(1, false)).WaitTimeout(5 * time.Second)
		if time.Now().After(deadline) {
			t.Fatal("simulator never received a transaction")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range []string{void(2), void(3), tx(4, false)} {
		c.Publish("depots/D1/tx", 1, false, p).WaitTimeout(5 * time.Second)
	}
	for st := sim.Stats("D1"); st.Applied != 4; st = sim.Stats("D1") {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want seq 4 applied", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := sim.Stats("D1"); st.Voids != 2 || st.Gaps != 0 {
		t.Fatalf("stats %+v, want 2 voids and no gap", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(asked) != "[1 4]" {
		t.Fatalf("asked to reject %v, want [1 4] (never a void)", asked)
	}
}

// The documents given to the simulator are published retained on connect: a depot that
// subscribes afterwards still gets them.
func TestSimulatorPublishesItsDocumentsRetained(t *testing.T) {
	b := brokertest.StartMochi(t)
	docs := `{"v":1,"version":"sim","documents":[{"ref":"WH/IN/00012","kind":"receipt","lines":[{"item":"A","qty":"12"}]}]}`
	sim := &erpsim.Sim{Broker: b.URL(), Documents: map[string][]byte{"D1": []byte(docs)}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	defer func() { cancel(); <-done }()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("depot"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(50)
	got := make(chan string, 10)
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Subscribing again re-delivers the retained message once the simulator published it.
		c.Subscribe("depots/D1/master/documents", 1, func(_ mqtt.Client, m mqtt.Message) {
			if m.Retained() {
				got <- string(m.Payload())
			}
		}).WaitTimeout(5 * time.Second)
		select {
		case p := <-got:
			if p != docs {
				t.Fatalf("retained documents %q, want %q", p, docs)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no retained documents from the simulator")
		}
	}
}
