package erpcore_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// inflight wraps a ledger and says whether one of a depot's Apply calls is running.
type inflight struct {
	*ledger
	n atomic.Int32
}

func (f *inflight) Apply(ctx context.Context, tx erpcore.Tx) (erpcore.Result, error) {
	f.n.Add(1)
	defer f.n.Add(-1)
	runtime.Gosched() // let a concurrent Between (a bug) run inside the window
	return f.ledger.Apply(ctx, tx)
}

// Between runs on the depot's worker between two of its postings, never during one, with
// the watermark as it is then: after each processed seq, and when Wake or a depot's request
// asks for it. Publish sends on the core's connection.
func TestBetweenRunsOnlyBetweenTwoPostingsWithTheWatermarkAndOnWakeOrRequest(t *testing.T) {
	b := brokertest.StartMochi(t)
	a := &inflight{ledger: newLedger()}
	d := newFakeDepot(t, b.URL(), "D1")
	var mu sync.Mutex
	var seen []uint64
	var during int
	requests := make(chan uplink.Request, 4)
	core, _ := startCore(t, b.URL(), a, func(c *erpcore.Config) {
		c.Depots = []string{"D1"}
		c.Between = func(_ context.Context, depot string, applied uint64) {
			mu.Lock()
			defer mu.Unlock()
			if a.n.Load() != 0 {
				during++
			}
			if depot == "D1" {
				seen = append(seen, applied)
			}
		}
		c.Request = func(depot string, r uplink.Request) { requests <- r }
	})
	waitFor(t, 10*time.Second, "core subscribed", func() bool { return len(d.resendsFrom()) > 0 })
	d.send(t, 1, 2, 3, 4, 5)
	waitFor(t, 10*time.Second, "ack of 5", func() bool { return d.watermark() == 5 })
	waitFor(t, 10*time.Second, "Between after seq 5", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) > 0 && seen[len(seen)-1] == 5
	})
	mu.Lock()
	got, bad := append([]uint64(nil), seen...), during
	mu.Unlock()
	if bad != 0 {
		t.Fatalf("Between ran %d times while an Apply of the depot was in flight", bad)
	}
	for _, s := range []uint64{1, 2, 3, 4, 5} {
		if !contains(got, s) {
			t.Fatalf("Between saw %v: not after seq %d", got, s)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Fatalf("Between saw the watermark go back: %v", got)
		}
	}

	n := len(got)
	core.Wake("D1")
	waitFor(t, 10*time.Second, "Between on Wake", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) > n })

	if tok := d.c.Publish("depots/D1/request", 1, false, `{"v":1,"request":"snapshot"}`); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	// Refused: logged and dropped, never handed on.
	d.c.Publish("depots/D1/request", 1, false, `{"v":1,"request":"reboot"}`).WaitTimeout(10 * time.Second)
	select {
	case r := <-requests:
		if r.Request != uplink.RequestSnapshot {
			t.Fatalf("request %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the depot's request did not reach Config.Request")
	}

	got2 := make(chan string, 1)
	if tok := d.c.Subscribe("depots/D1/stock", 1, func(_ mqtt.Client, m mqtt.Message) { got2 <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if err := core.Publish(t.Context(), "D1", uplink.TopicStock, false, []byte(`{"v":1,"applied_seq":5,"rows":[]}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got2:
		if p != `{"v":1,"applied_seq":5,"rows":[]}` {
			t.Fatalf("published %s", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Publish did not reach the depot")
	}
	select {
	case r := <-requests:
		t.Fatalf("a refused request was handed on: %+v", r)
	default:
	}
}

func contains(s []uint64, v uint64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
