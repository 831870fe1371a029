package odoo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/internal/brokertest"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// benchRound is how many transactions each variant posts before the other takes its
// turn: the machine's load drifts, so the variants are interleaved in one run and the
// ratio is of their sums.
const benchRound = 20

// BenchmarkBatchedVsOneCallPerTransaction posts the same one-line lot receipts two ways,
// in turns of benchRound: one post-action call per transaction (Poster.Post) on one depot,
// and one call per benchRound transactions (Poster.Batch, each still in its own savepoint
// and with its own key) on another. b.N is transactions per variant (a multiple of
// benchRound). Reports both rates and batched/single (goal ≥ 3).
//
//	go test ./uplink/odoo -run '^$' -bench BatchedVsOne -benchtime 200x
func BenchmarkBatchedVsOneCallPerTransaction(b *testing.B) {
	single, batched := newBenchFixture(b), newBenchFixture(b)
	p := odoo.NewPoster(single.c, 5*time.Minute)
	ctx := context.Background()
	var tSingle, tBatched time.Duration
	var seq uint64
	n := (b.N + benchRound - 1) / benchRound * benchRound
	b.ResetTimer()
	for seq < uint64(n) {
		start := time.Now()
		for i := range uint64(benchRound) {
			s := seq + i + 1
			if r, err := p.Post(ctx, single.depot, single.receipt(s, "2", fmt.Sprintf("S%d", s))); err != nil || r.Status != odoo.StatusApplied {
				b.Fatalf("single seq %d: %+v, %v", s, r, err)
			}
		}
		tSingle += time.Since(start)
		items := make([]odoo.BatchItem, benchRound)
		for i := range items {
			s := seq + uint64(i) + 1
			tx := batched.receipt(s, "2", fmt.Sprintf("B%d", s))
			items[i] = odoo.BatchItem{Seq: s, Tx: &tx}
		}
		start = time.Now()
		rs, err := p.Batch(ctx, batched.depot, items)
		tBatched += time.Since(start)
		if err != nil || len(rs) != benchRound {
			b.Fatalf("batch from seq %d: %d results, %v", seq+1, len(rs), err)
		}
		for i, r := range rs {
			if r.Status != odoo.StatusApplied {
				b.Fatalf("batched seq %d: %+v", items[i].Seq, r)
			}
		}
		seq += benchRound
	}
	b.StopTimer()
	rs, rb := float64(n)/tSingle.Seconds(), float64(n)/tBatched.Seconds()
	b.ReportMetric(rs, "single_tx/s")
	b.ReportMetric(rb, "batched_tx/s")
	b.ReportMetric(rb/rs, "batched/single")
	for _, f := range []postFixture{single, batched} {
		if s := f.state(b, uint64(n)); s.moves != n || s.onHand.IntPart() != int64(2*n) || s.keys != 1 {
			b.Fatalf("depot %s: %d moves, %s on hand, %d keys of seq %d; want %d, %d, 1", f.depot.ID, s.moves, s.onHand, s.keys, n, n, 2*n)
		}
	}
}

// wireDepot plays a depot on the broker for the connector benchmark: it publishes tx
// messages and follows the connector's acks.
type wireDepot struct {
	id  string
	c   mqtt.Client
	mu  sync.Mutex
	ack uint64
	got chan struct{}
	// cmd gets the connector's first command: its resend on connect says it subscribed
	// and knows the depot's applied seq.
	cmd chan struct{}
}

func newWireDepot(b *testing.B, broker, id string) *wireDepot {
	b.Helper()
	d := &wireDepot{id: id, got: make(chan struct{}, 1), cmd: make(chan struct{}, 1)}
	d.c = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("bench-" + id).SetCleanSession(true).SetOrderMatters(true))
	if tok := d.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("depot connect: %v", tok.Error())
	}
	b.Cleanup(func() { d.c.Disconnect(50) })
	tok := d.c.Subscribe("depots/"+id+"/ack", 1, func(_ mqtt.Client, m mqtt.Message) {
		var a edge.Ack
		if json.Unmarshal(m.Payload(), &a) != nil {
			return
		}
		d.mu.Lock()
		d.ack = max(d.ack, a.UptoSeq)
		d.mu.Unlock()
		select {
		case d.got <- struct{}{}:
		default:
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("subscribe: %v", tok.Error())
	}
	tok = d.c.Subscribe("depots/"+id+"/cmd", 1, func(mqtt.Client, mqtt.Message) {
		select {
		case d.cmd <- struct{}{}:
		default:
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("subscribe: %v", tok.Error())
	}
	return d
}

func (d *wireDepot) publish(b *testing.B, tx edge.Transaction) {
	raw, err := json.Marshal(tx)
	if err != nil {
		b.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		b.Fatal(err)
	}
	m["v"], m["depot"], m["seq"] = uplink.ProtocolVersion, d.id, tx.Seq
	raw, _ = json.Marshal(m)
	if tok := d.c.Publish("depots/"+d.id+"/tx", 1, false, raw); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatalf("publish: %v", tok.Error())
	}
}

func (d *wireDepot) waitAck(b *testing.B, seq uint64) {
	deadline := time.After(5 * time.Minute)
	for {
		d.mu.Lock()
		a := d.ack
		d.mu.Unlock()
		if a >= seq {
			return
		}
		select {
		case <-d.got:
		case <-deadline:
			b.Fatalf("depot %s: no ack of seq %d within 5 minutes (acked %d)", d.id, seq, a)
		}
	}
}

// runConnector runs the consumer core with the Odoo Applier for depots until b ends.
func runConnector(b *testing.B, broker string, c *odoo.Client, maxBatch int, depots ...odoo.Depot) {
	b.Helper()
	var ids []string
	for _, d := range depots {
		ids = append(ids, d.ID)
	}
	core, err := erpcore.New(erpcore.Config{Brokers: []string{broker}, ClientID: odootest.Unique("bench-erp"), Depots: ids,
		Applier: odoo.NewApplier(c, 5*time.Minute, depots), MaxBatch: maxBatch, Retryable: odoo.Retryable,
		RetryMin: 50 * time.Millisecond, RetryMax: time.Second, AckInterval: 5 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- core.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("connector: %v", err)
		}
	})
}

// BenchmarkConnectorVsDirectPostAction measures what the connector (erpcore and the Odoo
// Applier, through an embedded MQTT broker, one post-action call per transaction)
// costs over posting the same receipts directly with the post action, in turns of
// benchRound: the connector's time runs from the first publish to the ack of the last.
// Reports both rates and connector/direct (goal ≥ 0.9).
//
//	go test ./uplink/odoo -run '^$' -bench ConnectorVsDirect -benchtime 200x
func BenchmarkConnectorVsDirectPostAction(b *testing.B) {
	viaCore, direct := newBenchFixture(b), newBenchFixture(b)
	broker := brokertest.StartMochi(b)
	dep := newWireDepot(b, broker.URL(), viaCore.depot.ID)
	runConnector(b, broker.URL(), viaCore.c, 1, viaCore.depot)
	p := odoo.NewPoster(direct.c, 5*time.Minute)
	ctx := context.Background()
	// The connector's worker reads the applied seq on start, then asks for a resend; a
	// first receipt proves it runs.
	select {
	case <-dep.cmd:
	case <-time.After(2 * time.Minute):
		b.Fatal("the connector did not come online within 2 minutes")
	}
	dep.publish(b, viaCore.receipt(1, "2", "W1"))
	dep.waitAck(b, 1)
	if r, err := p.Post(ctx, direct.depot, direct.receipt(1, "2", "W1")); err != nil || r.Status != odoo.StatusApplied {
		b.Fatalf("direct seq 1: %+v, %v", r, err)
	}
	var tCore, tDirect time.Duration
	n := (b.N + benchRound - 1) / benchRound * benchRound
	seq := uint64(1)
	b.ResetTimer()
	for seq < uint64(n)+1 {
		start := time.Now()
		for i := range uint64(benchRound) {
			s := seq + i + 1
			dep.publish(b, viaCore.receipt(s, "2", fmt.Sprintf("C%d", s)))
		}
		dep.waitAck(b, seq+benchRound)
		tCore += time.Since(start)
		start = time.Now()
		for i := range uint64(benchRound) {
			s := seq + i + 1
			if r, err := p.Post(ctx, direct.depot, direct.receipt(s, "2", fmt.Sprintf("D%d", s))); err != nil || r.Status != odoo.StatusApplied {
				b.Fatalf("direct seq %d: %+v, %v", s, r, err)
			}
		}
		tDirect += time.Since(start)
		seq += benchRound
	}
	b.StopTimer()
	rc, rd := float64(n)/tCore.Seconds(), float64(n)/tDirect.Seconds()
	b.ReportMetric(rc, "connector_tx/s")
	b.ReportMetric(rd, "direct_tx/s")
	b.ReportMetric(rc/rd, "connector/direct")
	for _, f := range []postFixture{viaCore, direct} {
		if s := f.state(b, seq); s.moves != n+1 || s.onHand.IntPart() != int64(2*(n+1)) || s.keys != 1 {
			b.Fatalf("depot %s: %d moves, %s on hand, %d keys of seq %d; want %d, %d, 1", f.depot.ID, s.moves, s.onHand, s.keys, seq, n+1, 2*(n+1))
		}
	}
}

// BenchmarkEndToEndLatencyTenDepotsAtFiveTxPerSecond commits receipts at a steady 5
// transactions per second in all, round robin over 10 depots, each a real journal and a
// real uplink, through a real mosquitto and the connector service (odoo.Service, as
// `depotd erp` runs it, erp.yaml's defaults) into the real Odoo, and measures each
// transaction from its commit at the depot to its ack back there. b.N is the number of
// transactions. Reports p50 and p99 in ms, and the rate actually offered.
//
//	go test ./uplink/odoo -run '^$' -bench EndToEndLatency -benchtime 150x
func BenchmarkEndToEndLatencyTenDepotsAtFiveTxPerSecond(b *testing.B) {
	const depots, rate = 10, 5.0
	env := odootest.Need(b)
	c := env.Client(b)
	wh := odootest.NewWarehouse(b, c)
	broker := brokertest.StartMosquitto(b)
	sku := odootest.Unique("LSKU")
	var ids []int
	if err := c.Call(context.Background(), "product.product", "create", map[string]any{"vals_list": []any{map[string]any{
		"name": "depotd latency " + sku, "default_code": sku, "type": "consu", "is_storable": true}}}, &ids); err != nil {
		b.Fatal(err)
	}
	cat, err := edge.NewCatalog([]edge.Location{{Name: wh + "/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ds := make([]odoo.Depot, depots)
	js := make([]*edge.Journal, depots)
	for i := range ds {
		ds[i] = odoo.Depot{ID: odootest.Unique(fmt.Sprintf("L%d", i)), Warehouse: wh}
		js[i], err = edge.Open(filepath.Join(b.TempDir(), "depotd.db"), edge.Options{Depot: ds[i].ID, Catalog: cat})
		if err != nil {
			b.Fatal(err)
		}
		j := js[i]
		b.Cleanup(func() { j.Close() })
	}
	if _, err := odoo.Setup(context.Background(), c, ds); err != nil {
		b.Fatal(err)
	}
	for i := range ds {
		u, err := uplink.New(uplink.Config{Brokers: []string{broker.URL()}, KeepAlive: 2 * time.Second, ResendAfter: 5 * time.Second},
			ds[i].ID, js[i], nil, e2eLog(b, "uplink"))
		if err != nil {
			b.Fatal(err)
		}
		goRun(b, "uplink", u.Run)
	}
	mc := uplink.ClientConfig{Brokers: []string{broker.URL()}, ClientID: odootest.Unique("depotd-erp"), KeepAlive: 2 * time.Second}
	mc.ApplyDefaults()
	oc := odoo.Config{URL: env.URL, Database: env.DB}
	oc.ApplyDefaults()
	started := make(chan struct{})
	var once sync.Once
	svc := &odoo.Service{MQTT: mc, Odoo: oc, Depots: ds, Client: c, Log: e2eLog(b, "erp"),
		Started: func(*erpcore.Core) { once.Do(func() { close(started) }) }}
	goRun(b, "erp service", svc.Run)
	<-started

	commit := func(j *edge.Journal, n int) uint64 {
		tx, _, err := j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("rcv-%d", n), Type: edge.Receipt,
			Lines: []edge.Line{{Item: sku, Qty: edge.MustQty("1"), UoM: "Units", To: wh + "/Stock"}}})
		if err != nil {
			b.Fatal(err)
		}
		return tx.Seq
	}
	// One receipt per depot first: every worker has read its applied seq and runs.
	for i, j := range js {
		commit(j, -i-1)
	}
	waitAcked := func(what string, d time.Duration) {
		waitUntil(b, d, what, func() bool {
			for _, j := range js {
				if last, acked := j.Positions(); acked != last {
					return false
				}
			}
			return true
		})
	}
	waitAcked("the warm-up receipts acked", 3*time.Minute)

	type pending struct {
		j   *edge.Journal
		seq uint64
		at  time.Time
	}
	var mu sync.Mutex
	var open []pending
	var lat []time.Duration
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		// Polls the journals' ack positions: the ack is durable at the depot when its
		// watermark moves, which is what the depot's operator sees.
		defer close(watched)
		for {
			now := time.Now()
			mu.Lock()
			rest := open[:0]
			for _, p := range open {
				if _, acked := p.j.Positions(); acked >= p.seq {
					lat = append(lat, now.Sub(p.at))
				} else {
					rest = append(rest, p)
				}
			}
			open = rest
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	every := time.Duration(float64(time.Second) / rate)
	b.ResetTimer()
	begin := time.Now()
	for i := range b.N {
		if wait := time.Until(begin.Add(time.Duration(i) * every)); wait > 0 {
			time.Sleep(wait) // the offered load's clock, not a wait for a condition
		}
		j := js[i%depots]
		at := time.Now()
		seq := commit(j, i)
		mu.Lock()
		open = append(open, pending{j: j, seq: seq, at: at})
		mu.Unlock()
	}
	offered := float64(b.N) / time.Since(begin).Seconds()
	waitUntil(b, 5*time.Minute, "every receipt acked", func() bool { mu.Lock(); defer mu.Unlock(); return len(open) == 0 })
	b.StopTimer()
	close(stop)
	<-watched
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50_ms")
	b.ReportMetric(q(0.99), "p99_ms")
	b.ReportMetric(offered, "offered_tx/s")
}
