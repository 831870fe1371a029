package uplink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// orderLedger is the ERP behind the connector core in the cluster tests: it applies each
// depot's seqs idempotently and records every seq it was handed out of order, which the
// core must never do whatever the brokers do.
type orderLedger struct {
	mu         sync.Mutex
	applied    map[string]uint64
	outOfOrder map[string][]uint64
	duplicates map[string]int
}

func newOrderLedger() *orderLedger {
	return &orderLedger{applied: map[string]uint64{}, outOfOrder: map[string][]uint64{}, duplicates: map[string]int{}}
}

func (l *orderLedger) AppliedSeq(_ context.Context, depot string) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.applied[depot], nil
}

func (l *orderLedger) Apply(_ context.Context, tx erpcore.Tx) (erpcore.Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch a := l.applied[tx.Depot]; {
	case tx.Seq <= a:
		l.duplicates[tx.Depot]++
		return erpcore.Result{Status: erpcore.Duplicate, AppliedSeq: a}, nil
	case tx.Seq != a+1:
		l.outOfOrder[tx.Depot] = append(l.outOfOrder[tx.Depot], tx.Seq)
		return erpcore.Result{Status: erpcore.Gap, AppliedSeq: a}, nil
	}
	l.applied[tx.Depot] = tx.Seq
	return erpcore.Result{Status: erpcore.Applied, AppliedSeq: tx.Seq}, nil
}

func (l *orderLedger) get(depot string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.applied[depot]
}

// clusterDepot is one depot with its own journal and uplink.
type clusterDepot struct {
	id string
	j  *edge.Journal
	r  *running
}

func startClusterDepot(t *testing.T, id string, brokers []string, keepalive time.Duration) *clusterDepot {
	t.Helper()
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Depot: id, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if probs := j.Check(); len(probs) > 0 {
			t.Errorf("%s journal check: %v", id, probs)
		}
		j.Close()
	})
	u, err := uplink.New(uplink.Config{Brokers: brokers, KeepAlive: keepalive, ResendAfter: 2 * time.Second,
		StatusInterval: time.Second}, id, j, nil, testLogger(t).With("depot", id), uplink.WithVersion("test"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{u: u, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- u.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return &clusterDepot{id: id, j: j, r: r}
}

// rotate returns urls starting at the i-th, so that depots spread over the nodes and each
// fails over to the next one.
func rotate(urls []string, i int) []string {
	i %= len(urls)
	return append(append([]string(nil), urls[i:]...), urls[:i]...)
}

// retainedOn connects a fresh client to broker, subscribes to filter (QoS 1, as a depot
// does) and returns the retained messages it is sent, by topic; nothing when the broker
// does not answer (a cluster still electing leaders).
func retainedOn(t *testing.T, broker, filter string, want int) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	var mu sync.Mutex
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("retained-check-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Logf("retained check: connect %s: %v", broker, tok.Error())
		return nil
	}
	defer c.Disconnect(50)
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		if !m.Retained() {
			return
		}
		mu.Lock()
		got[m.Topic()] = append([]byte(nil), m.Payload()...)
		mu.Unlock()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Logf("retained check: subscribe %s on %s: %v", filter, broker, errOr(tok.Error(), "timed out"))
		return nil
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}

// Depots and the connector, spread over a three-node NATS JetStream cluster, keep posting
// while each node in turn is SIGKILLed and restarted: nothing is lost, the connector hands
// every depot's seqs to the ERP exactly once and in order, the retained status and master
// data survive the loss of the node they were published to, and the depots of a killed
// node are online on another within 1.5× the keepalive.
func TestNATSClusterNodeKillsLoseNothingAndKeepDepotOrder(t *testing.T) {
	const depots = 6
	// JetStream's raft takes 4 to 9 s to replace a dead node's stream leaders, and a
	// reconnecting depot waits for its session stream: failover within 1.5× keepalive
	// needs a keepalive of 10 s or more on NATS (the default is 30 s); 15 s leaves this
	// loaded test machine room (failovers measured here: 0.4 to 11.3 s).
	keepalive := 15 * time.Second
	cl := brokertest.StartNATSCluster(t, 3)
	urls := cl.URLs()

	// Master data published retained to node 1, before anything else.
	pub := mustClient(t, urls[0], "ops-publisher")
	ids := make([]string, depots)
	for i := range ids {
		ids[i] = fmt.Sprintf("N%d", i+1)
		item := fmt.Sprintf(`{"v":1,"version":"m-%d","items":[{"sku":"SKU-1","name":"Bolt","uom":"Units","barcodes":["400638133393%d"]}]}`, i, i)
		if tok := pub.Publish("depots/"+ids[i]+"/master/items", 1, true, item); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish master data: %v", tok.Error())
		}
	}
	pub.Disconnect(50)

	ledger := newOrderLedger()
	core, err := erpcore.New(erpcore.Config{Brokers: rotate(urls, 2), ClientID: "erp-cluster", KeepAlive: keepalive,
		Depots: ids, Applier: ledger, GapWait: time.Second, Log: testLogger(t).With("component", "erp")})
	if err != nil {
		t.Fatal(err)
	}
	coreCtx, stopCore := context.WithCancel(context.Background())
	coreDone := make(chan error, 1)
	go func() { coreDone <- core.Run(coreCtx) }()
	t.Cleanup(func() { stopCore(); <-coreDone })

	ds := make([]*clusterDepot, depots)
	for i := range ds {
		ds[i] = startClusterDepot(t, ids[i], rotate(urls, i), keepalive)
	}
	for _, d := range ds {
		waitFor(t, 30*time.Second, d.id+" master data from the retained message", func() bool {
			b, err := d.j.Master("items")
			return err == nil && len(b) > 0
		})
	}

	// Load: every depot posts about 40 transactions a second until told to stop.
	loadCtx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var posted atomic.Int64
	for _, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(25 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-loadCtx.Done():
					return
				case <-tick.C:
				}
				if _, _, err := d.j.Commit(context.Background(), receipt(i)); err != nil {
					t.Errorf("%s commit: %v", d.id, err)
					return
				}
				posted.Add(1)
			}
		}()
	}
	defer func() { stopLoad(); wg.Wait() }()

	progress := func(min uint64) {
		t.Helper()
		for _, d := range ds {
			waitFor(t, 60*time.Second, d.id+" acked progress", func() bool { _, a := d.j.Positions(); return a >= min })
		}
	}
	progress(40)

	var worst, worstCatchUp time.Duration
	for k, node := range cl.Nodes {
		before := map[string]uplink.State{}
		lastAtKill := map[string]uint64{}
		for _, d := range ds {
			before[d.id] = d.r.u.State()
			lastAtKill[d.id], _ = d.j.Positions()
		}
		killedAt := time.Now()
		node.Kill()
		// Every depot that was on the killed node must be online on another one within
		// 1.5× keepalive (it sees the connection reset at once; the rest is backoff,
		// CONNECT and the session being restored from the replicated stream).
		for _, d := range ds {
			if before[d.id].Broker != node.URL() {
				continue
			}
			waitFor(t, 3*keepalive, d.id+" online on another node", func() bool {
				s := d.r.u.State()
				return s.Online && s.Broker != node.URL()
			})
			took := time.Since(killedAt)
			worst = max(worst, took)
			t.Logf("node %s killed: %s online on %s after %v", node.Name, d.id, d.r.u.State().Broker, took.Round(time.Millisecond))
			if took > keepalive*3/2 {
				t.Errorf("%s failover took %v, more than 1.5× keepalive (%v)", d.id, took, keepalive)
			}
		}
		// Caught up: every depot, wherever it was connected, has the ERP's ack for all it
		// had posted when the node died.
		for _, d := range ds {
			waitFor(t, 60*time.Second, d.id+" acked past the kill", func() bool { _, a := d.j.Positions(); return a >= lastAtKill[d.id] })
		}
		caughtUp := time.Since(killedAt)
		worstCatchUp = max(worstCatchUp, caughtUp)
		t.Logf("node %s killed: every depot acked up to its last seq at the kill %v later", node.Name, caughtUp.Round(time.Millisecond))
		// The retained status and master data are still there, asked of a surviving node.
		other := cl.Nodes[(k+1)%len(cl.Nodes)].URL()
		// The surviving nodes serve retained messages they no longer hold in memory from the
		// stream, which answers again once its leader is re-elected.
		var got, st map[string][]byte
		waitFor(t, 30*time.Second, "retained master data and status on "+other, func() bool {
			got = retainedOn(t, other, "depots/+/master/items", depots)
			st = retainedOn(t, other, "depots/+/status", depots)
			return len(got) == depots && len(st) == depots
		})
		t.Logf("node %s killed: retained master data and status of every depot served by %s %v later", node.Name, other, time.Since(killedAt).Round(time.Millisecond))
		for _, id := range ids {
			if len(got["depots/"+id+"/master/items"]) == 0 {
				t.Errorf("after %s was killed: retained master/items of %s missing on %s", node.Name, id, other)
			}
			var s uplink.Status
			if err := json.Unmarshal(st["depots/"+id+"/status"], &s); err != nil || s.Depot != id {
				t.Errorf("after %s was killed: retained status of %s on %s = %q (%v)", node.Name, id, other, st["depots/"+id+"/status"], err)
			}
		}
		_, a0 := ds[0].j.Positions()
		progress(a0 + 40)
		node.Start()
		t.Logf("node %s restarted %v after its kill", node.Name, time.Since(killedAt).Round(time.Millisecond))
		_, a0 = ds[0].j.Positions()
		progress(a0 + 40)
	}
	stopLoad()
	wg.Wait()
	for _, d := range ds {
		waitFor(t, 90*time.Second, d.id+" outbox empty", drained(d.j))
	}
	for _, d := range ds {
		last, acked := d.j.Positions()
		if got := ledger.get(d.id); got != last || acked != last {
			t.Errorf("%s: ERP applied %d, depot acked %d, of %d posted", d.id, got, acked, last)
		}
	}
	ledger.mu.Lock()
	for id, seqs := range ledger.outOfOrder {
		t.Errorf("%s: the connector handed the ERP seqs out of order: %v", id, seqs)
	}
	for id, n := range ledger.duplicates {
		t.Errorf("%s: the connector handed the ERP %d seqs it had applied already", id, n)
	}
	ledger.mu.Unlock()
	t.Logf("posted %d transactions over %d depots; 3 node kills; worst failover %v, worst catch-up %v (keepalive %v)",
		posted.Load(), depots, worst.Round(time.Millisecond), worstCatchUp.Round(time.Millisecond), keepalive)
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}
