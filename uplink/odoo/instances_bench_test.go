package odoo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/internal/brokertest"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// BenchmarkConnectorInstancesShareTwentyDepots measures the connector's posting rate into
// the real Odoo with 1, 2 and 4 instances (erpcore and the Odoo Applier, each with its own
// Odoo client and MQTT client id, batching at its default of odoo.DefaultBatch) sharing 20
// depots through a real mosquitto: the depots are partitioned round robin between the
// instances (erpcore.Config.Depots, as erp.yaml lists them). Each round gives every depot
// a backlog of instancesBacklog receipts per instance count and times its drain, from the
// first publish to the ack of every depot's last seq; the instances stop cleanly (releasing
// their claims) before the next count takes over the same depots. The counts run in turns
// within one run, in alternating order, because the machine's load drifts. b.N is rounds.
// Reports tx/s for each count, their ratios to 1 instance and the Apply errors the
// instances retried per transaction; at the end, every seq of
// every depot has exactly one idempotency key in Odoo and one stock move.
//
//	go test ./uplink/odoo -run '^$' -bench ConnectorInstancesShare -benchtime 2x -timeout 20m
func BenchmarkConnectorInstancesShareTwentyDepots(b *testing.B) {
	const depots = 20
	counts := []int{1, 2, 4}
	env := odootest.Need(b)
	c := env.Client(b)
	broker := brokertest.StartMosquitto(b)
	// Each depot its own warehouse and product, as depots are: depots sharing a stock
	// quant would measure Postgres's row locks on it, not the connector.
	ds := make([]odoo.Depot, depots)
	skus := make([]string, depots)
	prods := make([]int, depots)
	wire := make([]*wireDepot, depots)
	for i := range ds {
		ds[i] = odoo.Depot{ID: odootest.Unique(fmt.Sprintf("I%d", i)), Warehouse: odootest.NewWarehouse(b, c)}
		skus[i] = odootest.Unique("ISKU")
		var ids []int
		if err := c.Call(context.Background(), "product.product", "create", map[string]any{"vals_list": []any{map[string]any{
			"name": "depotd instances " + skus[i], "default_code": skus[i], "type": "consu", "is_storable": true}}}, &ids); err != nil {
			b.Fatal(err)
		}
		prods[i] = ids[0]
	}
	if _, err := odoo.Setup(context.Background(), c, ds); err != nil {
		b.Fatal(err)
	}
	for i, d := range ds {
		wire[i] = newWireDepot(b, broker.URL(), d.ID)
	}
	// One Odoo client per instance, as separate `depotd erp` processes have.
	clients := make([]*odoo.Client, counts[len(counts)-1])
	for i := range clients {
		clients[i] = env.Client(b)
	}
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	receipt := func(i int, seq uint64) edge.Transaction {
		return edge.Transaction{ID: fmt.Sprintf("rcv-%d", seq), Seq: seq, At: &at, Type: edge.Receipt, Ref: fmt.Sprintf("PO-%d", seq),
			Lines: []edge.Line{{Item: skus[i], Qty: edge.MustQty("1"), UoM: "Units", To: ds[i].Warehouse + "/Stock"}}}
	}

	var seq uint64 // every depot's last published seq: the depots move in step
	spent := make(map[int]time.Duration, len(counts))
	retried := make(map[int]uint64, len(counts)) // Apply errors, each retried
	drain := func(n int) {
		for _, d := range wire { // a previous owner's resend is not this one's
			select {
			case <-d.cmd:
			default:
			}
		}
		stop := make([]func(), n)
		owner := make([]*erpcore.Core, depots)
		for i := range n {
			var share []odoo.Depot
			for j := i; j < depots; j += n {
				share = append(share, ds[j])
			}
			var core *erpcore.Core
			core, stop[i] = startInstance(b, broker.URL(), clients[i], share)
			for j := i; j < depots; j += n {
				owner[j] = core
			}
		}
		// Each worker reads its depot's applied seq from Odoo, then asks for a resend: the
		// depot is served once its owner's command arrives.
		for _, d := range wire {
			select {
			case <-d.cmd:
			case <-time.After(2 * time.Minute):
				b.Fatalf("%d instances: depot %s not served within 2 minutes", n, d.id)
			}
		}
		start := time.Now()
		for k := range uint64(instancesBacklog) {
			for i, d := range wire {
				d.publish(b, receipt(i, seq+k+1))
			}
		}
		seq += instancesBacklog
		for _, d := range wire {
			d.waitAck(b, seq)
		}
		spent[n] += time.Since(start)
		for j, d := range ds {
			retried[n] += owner[j].Stats(d.ID).Errors
		}
		for _, s := range stop {
			s()
		}
	}
	b.ResetTimer()
	for r := range b.N {
		for i := range counts {
			if r%2 == 1 {
				i = len(counts) - 1 - i
			}
			drain(counts[i])
		}
	}
	b.StopTimer()
	perCount := float64(b.N * depots * instancesBacklog)
	rate := func(n int) float64 { return perCount / spent[n].Seconds() }
	for _, n := range counts {
		b.ReportMetric(rate(n), fmt.Sprintf("%dinst_tx/s", n))
		b.ReportMetric(float64(retried[n])/perCount, fmt.Sprintf("%dinst_retries/tx", n))
		if n != 1 {
			b.ReportMetric(rate(n)/rate(1), fmt.Sprintf("%dinst/1inst", n))
		}
	}
	checkExactlyOnce(b, c, ds, prods, seq)
}

// instancesBacklog is each depot's backlog per drain: 20 depots make 200 transactions, a
// few seconds of Odoo at its single-depot rate.
const instancesBacklog = 10

// startInstance runs one connector instance serving depots and returns its clean stop.
func startInstance(b *testing.B, broker string, c *odoo.Client, depots []odoo.Depot) (_ *erpcore.Core, stop func()) {
	b.Helper()
	ids := make([]string, len(depots))
	for i, d := range depots {
		ids[i] = d.ID
	}
	core, err := erpcore.New(erpcore.Config{Brokers: []string{broker}, ClientID: odootest.Unique("bench-erp"), Depots: ids, CleanSession: true,
		Applier: odoo.NewApplier(c, 5*time.Minute, depots), MaxBatch: odoo.DefaultBatch, Retryable: odoo.Retryable,
		RetryMin: 50 * time.Millisecond, RetryMax: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- core.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			b.Errorf("connector: %v", err)
		}
	}
	b.Cleanup(stop)
	return core, stop
}

// checkExactlyOnce fails b unless Odoo holds exactly one idempotency key for each seq 1 to
// last of every depot, and one done stock move of the depot's product per seq.
func checkExactlyOnce(b *testing.B, c *odoo.Client, ds []odoo.Depot, prods []int, last uint64) {
	b.Helper()
	ctx := context.Background()
	want := make(map[string]int, len(ds)*int(last))
	names := make([]any, 0, len(ds)*int(last))
	for _, d := range ds {
		for s := uint64(1); s <= last; s++ {
			k := odoo.TxKey(d.ID, s)
			want[k] = 0
			names = append(names, k)
		}
	}
	var keys []struct {
		Name string `json:"name"`
	}
	if err := c.Call(ctx, "ir.model.data", "search_read", map[string]any{"domain": []any{
		[]any{"module", "=", "depotd"}, []any{"name", "in", names}}, "fields": []string{"name"}}, &keys); err != nil {
		b.Fatal(err)
	}
	for _, k := range keys {
		want[k.Name]++
	}
	for k, n := range want {
		if n != 1 {
			b.Errorf("key %s: %d records, want 1", k, n)
		}
	}
	for i, d := range ds {
		var moves int
		if err := c.Call(ctx, "stock.move", "search_count", map[string]any{"domain": []any{
			[]any{"product_id", "=", prods[i]}, []any{"state", "=", "done"}}}, &moves); err != nil {
			b.Fatal(err)
		}
		if moves != int(last) {
			b.Errorf("depot %s: %d done stock moves, want %d (one per seq)", d.ID, moves, last)
		}
	}
}
