package fleetsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpsim"
	"github.com/depotd/depotd/uplink/fleetsim"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startERP(t *testing.T, broker string) *erpsim.Sim {
	t.Helper()
	s := &erpsim.Sim{Broker: broker}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func erpOf(s *erpsim.Sim) func(string) (uint64, uint64) {
	return func(id string) (uint64, uint64) {
		st := s.Stats(id)
		return st.Applied, st.Duplicates
	}
}

// Ten depots, each with its own journal and uplink, post through mosquitto to the ERP
// simulator while every depot's link goes down for half a second every two seconds: every
// transaction is acknowledged and applied once, and every one has a latency.
func TestAFleetWithOutagesLosesNothing(t *testing.T) {
	b := brokertest.StartMosquitto(t)
	sim := startERP(t, b.URL())
	rep, err := fleetsim.Run(context.Background(), fleetsim.Config{
		Depots: 10, Rate: 20, Duration: 4 * time.Second, Drain: 30 * time.Second,
		Uplink: uplink.Config{Brokers: []string{b.URL()}, KeepAlive: 2 * time.Second, ResendAfter: time.Second},
		Dir:    t.TempDir(), OutageEvery: 2 * time.Second, OutageFor: 500 * time.Millisecond,
		ERP: erpOf(sim),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", rep)
	if err := rep.Check(); err != nil {
		t.Fatal(err)
	}
	if rep.Posted < 10*20*3 || rep.Acked != rep.Posted || rep.ERPApplied != rep.Posted {
		t.Fatalf("posted %d, acked %d, ERP applied %d: want about 800, all acked and applied", rep.Posted, rep.Acked, rep.ERPApplied)
	}
	if rep.Outages < 10 {
		t.Fatalf("%d outages, want at least one per depot", rep.Outages)
	}
	if rep.Samples != int(rep.Posted) || rep.P50 <= 0 || rep.P99 < rep.P50 || rep.Max < rep.P99 {
		t.Fatalf("latencies: %d samples of %d, p50 %v p99 %v max %v", rep.Samples, rep.Posted, rep.P50, rep.P99, rep.Max)
	}
}

// With the ERP silent nothing is acknowledged: the report counts every transaction as
// lost and Check fails, so a run that loses something cannot pass for a good one.
func TestAFleetWhoseERPIsSilentReportsEverythingLost(t *testing.T) {
	b := brokertest.StartMosquitto(t)
	sim := startERP(t, b.URL())
	sim.SetSilent(true)
	rep, err := fleetsim.Run(context.Background(), fleetsim.Config{
		Depots: 3, Rate: 10, Duration: time.Second, Drain: time.Second,
		Uplink: uplink.Config{Brokers: []string{b.URL()}, KeepAlive: 2 * time.Second},
		Dir:    t.TempDir(), ERP: erpOf(sim),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Posted == 0 || rep.Lost != rep.Posted || !errors.Is(rep.Check(), fleetsim.ErrLost) {
		t.Fatalf("posted %d, lost %d, Check %v: want everything lost and ErrLost", rep.Posted, rep.Lost, rep.Check())
	}
}

func TestBadConfigIsRefusedWithEveryProblem(t *testing.T) {
	_, err := fleetsim.Run(context.Background(), fleetsim.Config{Depots: 0, Rate: 0, Uplink: uplink.Config{ClientID: "x"}})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"depots must be at least 1", "rate must be", "duration must be positive", "data directory", "client id", "uplink.brokers"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// With Ramp the uplinks start spread over it, as a fleet back after a broker restart does
// not reconnect in one millisecond: no depot says online before its share of the ramp has
// passed, and the report says when the whole fleet was online.
func TestARampedFleetComesOnlineOverTheRamp(t *testing.T) {
	const depots, ramp = 6, 3 * time.Second
	b := brokertest.StartMosquitto(t)
	sim := startERP(t, b.URL())
	var mu sync.Mutex
	firstOnline := map[string]time.Time{}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("ramp-watch"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher connect: %v", tok.Error())
	}
	defer c.Disconnect(50)
	if tok := c.Subscribe("depots/+/status", 1, func(_ mqtt.Client, m mqtt.Message) {
		var st uplink.Status
		if json.Unmarshal(m.Payload(), &st) != nil || !st.Online {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if _, ok := firstOnline[st.Depot]; !ok {
			firstOnline[st.Depot] = time.Now()
		}
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("watcher subscribe: %v", tok.Error())
	}
	before := time.Now()
	rep, err := fleetsim.Run(context.Background(), fleetsim.Config{
		Depots: depots, Rate: 5, Duration: time.Second, Drain: 30 * time.Second, Ramp: ramp,
		Uplink: uplink.Config{Brokers: []string{b.URL()}, KeepAlive: 2 * time.Second},
		Dir:    t.TempDir(), ERP: erpOf(sim),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", rep)
	if err := rep.Check(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range depots {
		id := fleetsim.ID("SIM", i)
		at, ok := firstOnline[id]
		share := time.Duration(i) * ramp / depots
		if !ok {
			t.Fatalf("%s never said online", id)
		}
		if got := at.Sub(before); got < share {
			t.Fatalf("%s online %v after the start, before its share of the ramp (%v): the uplinks did not start spread", id, got, share)
		}
	}
	last := time.Duration(depots-1) * ramp / depots
	if !rep.AllOnlineKnown || rep.AllOnline < last || !strings.Contains(rep.String(), "all online:         after") {
		t.Fatalf("report: all online known %v after %v, want after at least %v and said", rep.AllOnlineKnown, rep.AllOnline, last)
	}
}
