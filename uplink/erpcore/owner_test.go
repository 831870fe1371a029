package erpcore_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// instanceLedger is one connector instance's view of the shared ERP: it records which
// instance applied which seq.
type instanceLedger struct {
	*ledger
	name string
	by   *sync.Map // "depot/seq" -> instance
}

func (l instanceLedger) Apply(ctx context.Context, tx erpcore.Tx) (erpcore.Result, error) {
	res, err := l.ledger.Apply(ctx, tx)
	if err == nil && res.Status == erpcore.Applied {
		l.by.Store(tx.Depot+"/"+itoa(tx.Seq), l.name)
	}
	return res, err
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }

// claims records the retained ownership claims as a third party sees them.
func watchClaims(t *testing.T, broker string) func(depot string) string {
	t.Helper()
	var mu sync.Mutex
	owner := map[string]string{}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("claims-watch"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	tok := c.Subscribe("depots/+/owner", 1, func(_ mqtt.Client, m mqtt.Message) {
		id := strings.Split(m.Topic(), "/")[1]
		var cl erpcore.Claim
		json.Unmarshal(m.Payload(), &cl)
		mu.Lock()
		owner[id] = cl.Owner
		mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	return func(depot string) string {
		mu.Lock()
		defer mu.Unlock()
		return owner[depot]
	}
}

// Two connector instances whose depot lists overlap (a configuration mistake) never serve
// the shared depot together: the one whose client id sorts later sees the other's claim
// and stands back, saying so; once the owner stops it takes the depot over from the ERP's
// applied seq, and the depot's seqs are applied once, in order, across the handover.
func TestOverlappingConnectorInstancesServeASharedDepotOneAtATime(t *testing.T) {
	b := brokertest.StartMochi(t)
	owner := watchClaims(t, b.URL())
	shared := newLedger()
	by := &sync.Map{}
	o2 := newFakeDepot(t, b.URL(), "O2")
	o3 := newFakeDepot(t, b.URL(), "O3")
	_, stopA := startCore(t, b.URL(), instanceLedger{shared, "erp-a", by}, func(c *erpcore.Config) {
		c.ClientID, c.Depots, c.ClaimEvery = "erp-a", []string{"O1", "O2"}, 200*time.Millisecond
	})
	waitFor(t, 10*time.Second, "erp-a's claim of O2", func() bool { return owner("O2") == "erp-a" })
	logs := &lockedBuf{}
	coreB, _ := startCore(t, b.URL(), instanceLedger{shared, "erp-b", by}, func(c *erpcore.Config) {
		c.ClientID, c.Depots, c.ClaimEvery = "erp-b", []string{"O2", "O3"}, 200*time.Millisecond
		c.Log = newTextLog(logs)
	})
	waitFor(t, 10*time.Second, "erp-b's claim of O3", func() bool { return owner("O3") == "erp-b" })
	waitFor(t, 10*time.Second, "erp-b standing back from O2", func() bool {
		return strings.Contains(logs.String(), `msg="erp depot also claimed by another connector instance: overlapping depot lists; this instance stops serving it while that claim holds" depot=O2 other=erp-a`)
	})
	o2.send(t, seqs(1, 20)...)
	o3.send(t, seqs(1, 5)...)
	waitFor(t, 10*time.Second, "O2 acked up to 20", func() bool { return o2.watermark() == 20 })
	waitFor(t, 10*time.Second, "O3 acked up to 5", func() bool { return o3.watermark() == 5 })
	// Plenty of claim rounds: erp-a must still hold O2.
	time.Sleep(600 * time.Millisecond)
	if got := owner("O2"); got != "erp-a" {
		t.Fatalf("O2 claimed by %q while erp-a runs", got)
	}
	stopA()
	waitFor(t, 10*time.Second, "erp-b taking O2 over", func() bool { return owner("O2") == "erp-b" })
	o2.send(t, seqs(21, 30)...)
	waitFor(t, 10*time.Second, "O2 acked up to 30", func() bool { return o2.watermark() == 30 })

	calls, moves := shared.snapshot("O2")
	if !equal(moves, seqs(1, 30)) || !equal(calls, seqs(1, 30)) {
		t.Fatalf("O2 across the handover: calls %v, moves %v; want 1..30 once each, in order", calls, moves)
	}
	for s := uint64(1); s <= 30; s++ {
		want := "erp-a"
		if s > 20 {
			want = "erp-b"
		}
		if got, _ := by.Load("O2/" + itoa(s)); got != want {
			t.Errorf("O2 seq %d applied by %v, want %s", s, got, want)
		}
	}
	if st := coreB.Stats("O3"); st.Applied != 5 {
		t.Fatalf("erp-b's own depot O3: %+v", st)
	}
}

// The owning instance is cut off (its link black-holed: no clean stop, no release): its
// claim lapses and the other instance takes the depot over; when the first comes back it
// reclaims the depot (its client id sorts first), reads the ERP's applied seq again and
// carries on from there. No seq is handed to the ERP twice.
func TestALapsedClaimIsTakenOverAndReclaimedWithoutApplyingAnythingTwice(t *testing.T) {
	b := brokertest.StartMochi(t)
	owner := watchClaims(t, b.URL())
	p := brokertest.StartProxy(t, strings.TrimPrefix(b.URL(), "tcp://"))
	shared := newLedger()
	by := &sync.Map{}
	o2 := newFakeDepot(t, b.URL(), "O2")
	startCore(t, p.URL(), instanceLedger{shared, "erp-a", by}, func(c *erpcore.Config) {
		c.ClientID, c.Depots, c.ClaimEvery, c.KeepAlive = "erp-a", []string{"O2"}, 200*time.Millisecond, time.Second
	})
	waitFor(t, 10*time.Second, "erp-a's claim of O2", func() bool { return owner("O2") == "erp-a" })
	startCore(t, b.URL(), instanceLedger{shared, "erp-b", by}, func(c *erpcore.Config) {
		c.ClientID, c.Depots, c.ClaimEvery = "erp-b", []string{"O2"}, 200*time.Millisecond
	})
	o2.send(t, seqs(1, 10)...)
	waitFor(t, 10*time.Second, "O2 acked up to 10", func() bool { return o2.watermark() == 10 })
	p.Freeze()
	waitFor(t, 10*time.Second, "erp-b taking O2 over", func() bool { return owner("O2") == "erp-b" })
	o2.send(t, seqs(11, 20)...)
	waitFor(t, 10*time.Second, "O2 acked up to 20", func() bool { return o2.watermark() == 20 })
	// erp-a notices its dead link (keepalive 1s), reconnects through the proxy and reclaims.
	waitFor(t, 20*time.Second, "erp-a reclaiming O2", func() bool { return owner("O2") == "erp-a" })
	time.Sleep(300 * time.Millisecond) // a claim round: erp-b has seen it and stood back
	o2.send(t, seqs(21, 30)...)
	waitFor(t, 10*time.Second, "O2 acked up to 30", func() bool { return o2.watermark() == 30 })
	calls, moves := shared.snapshot("O2")
	if !equal(moves, seqs(1, 30)) || !equal(calls, seqs(1, 30)) {
		t.Fatalf("O2: calls %v, moves %v; want 1..30 handed to the ERP once each, in order", calls, moves)
	}
	for s, want := range map[uint64]string{1: "erp-a", 10: "erp-a", 11: "erp-b", 20: "erp-b", 21: "erp-a", 30: "erp-a"} {
		if got, _ := by.Load("O2/" + itoa(s)); got != want {
			t.Errorf("O2 seq %d applied by %v, want %s", s, got, want)
		}
	}
}

// The lease is the owner's to set and the others follow it: with both owners cut off
// together (no release), each depot is taken over only once the lease of its owner's last
// claim (counted from the claim's own time) has run out, so the depot whose owner claims a
// short lease is taken over sooner after that claim. Each claim carries its owner's lease.
// Times are counted from the last claim, not from the cut: on a loaded machine an owner's
// last renewal may come well before it.
func TestAShorterLeaseHandsADeadOwnersDepotOverSooner(t *testing.T) {
	const renew, short, long = 200 * time.Millisecond, 600 * time.Millisecond, 3 * time.Second
	b := brokertest.StartMochi(t)
	owner := watchClaims(t, b.URL())
	type seen struct {
		lease float64
		last  time.Time // the At of the newest claim
	}
	var mu sync.Mutex
	claims := map[string]seen{}
	claimOf := func(owner string) seen {
		mu.Lock()
		defer mu.Unlock()
		return claims[owner]
	}
	w := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(b.URL()).SetClientID("lease-watch"))
	if tok := w.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { w.Disconnect(50) })
	w.Subscribe("depots/+/owner", 1, func(_ mqtt.Client, m mqtt.Message) {
		var cl erpcore.Claim
		if json.Unmarshal(m.Payload(), &cl) != nil {
			return
		}
		at, err := time.Parse(time.RFC3339Nano, cl.At)
		if err != nil {
			return
		}
		mu.Lock()
		if at.After(claims[cl.Owner].last) {
			claims[cl.Owner] = seen{cl.LeaseS, at}
		}
		mu.Unlock()
	}).WaitTimeout(10 * time.Second)
	p := brokertest.StartProxy(t, strings.TrimPrefix(b.URL(), "tcp://"))
	shared := newLedger()
	by := &sync.Map{}
	for _, tc := range []struct {
		depot, a, b string
		lease       time.Duration
	}{{"S1", "erp-a1", "erp-b1", short}, {"L1", "erp-a2", "erp-b2", long}} {
		startCore(t, p.URL(), instanceLedger{shared, tc.a, by}, func(c *erpcore.Config) {
			c.ClientID, c.Depots, c.ClaimEvery, c.Lease, c.KeepAlive = tc.a, []string{tc.depot}, renew, tc.lease, time.Second
		})
		waitFor(t, 10*time.Second, tc.a+"'s claim of "+tc.depot, func() bool { return owner(tc.depot) == tc.a })
		startCore(t, b.URL(), instanceLedger{shared, tc.b, by}, func(c *erpcore.Config) {
			c.ClientID, c.Depots, c.ClaimEvery = tc.b, []string{tc.depot}, renew
		})
	}
	waitFor(t, 10*time.Second, "both owners' leases seen", func() bool {
		return claimOf("erp-a1").lease == short.Seconds() && claimOf("erp-a2").lease == long.Seconds()
	})
	p.Freeze()
	var shortAt, longAt time.Duration // from the owner's last claim to the takeover
	waitFor(t, 20*time.Second, "both depots taken over", func() bool {
		if shortAt == 0 && owner("S1") == "erp-b1" {
			shortAt = time.Since(claimOf("erp-a1").last)
		}
		if longAt == 0 && owner("L1") == "erp-b2" {
			longAt = time.Since(claimOf("erp-a2").last)
		}
		return shortAt > 0 && longAt > 0
	})
	t.Logf("taken over %v (lease %v) and %v (lease %v) after the owners' last claims", shortAt, short, longAt, long)
	if shortAt < short || longAt < long {
		t.Errorf("a depot was taken over before its owner's lease ran out: %v (lease %v), %v (lease %v)", shortAt, short, longAt, long)
	}
	if shortAt >= longAt {
		t.Errorf("the short lease's depot was taken over after the long one's (%v, %v)", shortAt, longAt)
	}
}
