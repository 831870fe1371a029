package odoo_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/internal/brokertest"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

func e2eLog(t testing.TB, component string) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("component", component)
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// e2eRig is a real depot (journal + uplink) and a real mosquitto, and the connector
// service (odoo.Service) that can be started and stopped against the real Odoo.
type e2eRig struct {
	t        *testing.T
	env      odootest.Env
	c        *odoo.Client
	depot    odoo.Depot
	sku      string
	prod     int
	broker   *brokertest.Mosquitto
	j        *edge.Journal
	clientID string
	tls      uplink.TLSConfig // of both the depot and the connector
	batch    int              // erp.yaml's odoo.batch (0: its default)
}

func newE2ERig(t *testing.T) *e2eRig {
	t.Helper()
	env := odootest.Need(t)
	return newE2ERigOn(t, env, brokertest.StartMosquitto(t), uplink.TLSConfig{})
}

func newE2ERigOn(t *testing.T, env odootest.Env, broker *brokertest.Mosquitto, tls uplink.TLSConfig) *e2eRig {
	t.Helper()
	c := env.Client(t)
	wh := odootest.NewWarehouse(t, c)
	r := &e2eRig{t: t, env: env, c: c, depot: odoo.Depot{ID: odootest.Unique("D"), Warehouse: wh}, broker: broker,
		clientID: odootest.Unique("depotd-erp"), tls: tls}
	if _, err := odoo.Setup(t.Context(), c, []odoo.Depot{r.depot}); err != nil {
		t.Fatal(err)
	}
	r.sku = odootest.Unique("SKU")
	var ids []int
	if err := c.Call(t.Context(), "product.product", "create", map[string]any{"vals_list": []any{map[string]any{
		"name": "depotd e2e " + r.sku, "default_code": r.sku, "type": "consu", "is_storable": true}}}, &ids); err != nil {
		t.Fatal(err)
	}
	r.prod = ids[0]
	cat, err := edge.NewCatalog([]edge.Location{{Name: wh + "/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.j, err = edge.Open(filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Depot: r.depot.ID, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if probs := r.j.Check(); len(probs) > 0 {
			t.Errorf("journal check: %v", probs)
		}
		r.j.Close()
	})
	return r
}

// receipts commits n more receipts of qty each into the depot's journal.
func (r *e2eRig) receipts(n int, qty string) {
	r.t.Helper()
	last, _ := r.j.Positions()
	for i := int(last); i < int(last)+n; i++ {
		tx := edge.Transaction{ID: fmt.Sprintf("rcv-%d", i), Type: edge.Receipt, Ref: fmt.Sprintf("PO-%d", i), Station: "RCV-1", Operator: "op7",
			Lines: []edge.Line{{Item: r.sku, Qty: edge.MustQty(qty), UoM: "Units", To: r.depot.Warehouse + "/Stock"}}}
		if _, _, err := r.j.Commit(context.Background(), tx); err != nil {
			r.t.Fatal(err)
		}
	}
}

type stopper struct {
	cancel context.CancelFunc
	done   chan error
}

func (s *stopper) stop(t testing.TB, what string) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not return within 30s of cancel", what)
	}
	s.cancel = nil
}

func goRun(t testing.TB, what string, run func(context.Context) error) *stopper {
	ctx, cancel := context.WithCancel(context.Background())
	s := &stopper{cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx) }()
	t.Cleanup(func() { s.stop(t, what) })
	return s
}

func (r *e2eRig) startUplink() *stopper {
	r.t.Helper()
	u, err := uplink.New(uplink.Config{Brokers: []string{r.broker.URL()}, KeepAlive: 2 * time.Second, ResendAfter: 5 * time.Second, TLS: r.tls},
		r.depot.ID, r.j, nil, e2eLog(r.t, "uplink"))
	if err != nil {
		r.t.Fatal(err)
	}
	return goRun(r.t, "uplink", u.Run)
}

// startService runs the connector as `depotd erp` does; core is set once it started.
func (r *e2eRig) startService() (*stopper, func() *erpcore.Core) {
	r.t.Helper()
	mc := uplink.ClientConfig{Brokers: []string{r.broker.URL()}, ClientID: r.clientID, KeepAlive: 2 * time.Second, TLS: r.tls}
	mc.ApplyDefaults()
	oc := odoo.Config{URL: r.env.URL, Database: r.env.DB, PostTimeout: 2 * time.Minute, RetryMax: 2 * time.Second, Batch: r.batch}
	oc.ApplyDefaults()
	var mu sync.Mutex
	var core *erpcore.Core
	svc := &odoo.Service{MQTT: mc, Odoo: oc, Depots: []odoo.Depot{r.depot}, Client: r.c, Log: e2eLog(r.t, "erp"),
		Started: func(c *erpcore.Core) { mu.Lock(); core = c; mu.Unlock() }}
	return goRun(r.t, "erp service", svc.Run), func() *erpcore.Core { mu.Lock(); defer mu.Unlock(); return core }
}

func (r *e2eRig) applied() uint64 {
	var rows []struct {
		Value string `json:"value"`
	}
	if err := r.c.Call(context.Background(), "ir.config_parameter", "search_read", map[string]any{
		"domain": []any{[]any{"key", "=", odoo.AppliedSeqParam(r.depot.ID)}}, "fields": []string{"value"}}, &rows); err != nil || len(rows) != 1 {
		r.t.Fatalf("applied seq: %v %v", rows, err)
	}
	var n uint64
	fmt.Sscan(rows[0].Value, &n)
	return n
}

// odooCounts is what Odoo holds for the rig: keys of the depot, stock moves and pickings of
// the product, and its quantity on hand in <WH>/Stock.
func (r *e2eRig) odooCounts() (keys, moves, pickings int, onHand decimal.Decimal) {
	r.t.Helper()
	ctx := context.Background()
	var names []struct {
		Name string `json:"name"`
	}
	if err := r.c.Call(ctx, "ir.model.data", "search_read", map[string]any{"domain": []any{
		[]any{"module", "=", odoo.Module}, []any{"name", "=like", "tx_" + odoo.Slug(r.depot.ID) + "_%"}}, "fields": []string{"name"}}, &names); err != nil {
		r.t.Fatal(err)
	}
	var moveRows []struct {
		PickingID json.RawMessage `json:"picking_id"`
	}
	if err := r.c.Call(ctx, "stock.move", "search_read", map[string]any{"domain": []any{[]any{"product_id", "=", r.prod}}, "fields": []string{"picking_id"}}, &moveRows); err != nil {
		r.t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range moveRows {
		seen[string(m.PickingID)] = true
	}
	var quants []struct {
		Quantity decimal.Decimal `json:"quantity"`
	}
	if err := r.c.Call(ctx, "stock.quant", "search_read", map[string]any{"domain": []any{
		[]any{"product_id", "=", r.prod}, []any{"location_id.complete_name", "=", r.depot.Warehouse + "/Stock"}}, "fields": []string{"quantity"}}, &quants); err != nil {
		r.t.Fatal(err)
	}
	for _, q := range quants {
		onHand = onHand.Add(q.Quantity)
	}
	return len(names), len(moveRows), len(seen), onHand
}

func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A depot's receipts go through the real uplink, real mosquitto and the connector into the
// real Odoo: each lands once, the depot's watermark reaches its last seq. The connector is
// then stopped in the middle of a second drain (an Odoo call may be in flight) and
// started again: still once each, since the key lives in Odoo.
func TestEveryReceiptLandsInOdooOnceThroughTheBrokerEvenWhenTheConnectorRestartsMidDrain(t *testing.T) {
	const first, second = 10, 30
	r := newE2ERig(t)
	r.batch = 2 // batched, and still slow enough to stop in the middle
	r.receipts(first, "2")
	r.startUplink()
	start := time.Now()
	svc, core := r.startService()
	waitUntil(t, 3*time.Minute, "the first receipts acked at the depot", func() bool { _, a := r.j.Positions(); return a == first })
	took := time.Since(start)
	t.Logf("%d receipts depot→Odoo→ack in %v (%.0f ms each, service start included)", first, took.Round(time.Millisecond), float64(took.Milliseconds())/first)

	r.receipts(second, "2")
	waitUntil(t, 3*time.Minute, "the second drain under way", func() bool { return core().Stats(r.depot.ID).Applied >= first+8 })
	svc.stop(t, "erp service")
	stoppedAt := r.applied()
	_, acked := r.j.Positions()
	t.Logf("connector stopped mid-drain: Odoo applied %d, depot acked %d of %d", stoppedAt, acked, first+second)
	if stoppedAt >= first+second {
		t.Fatalf("the drain was over before the stop (applied %d): the restart proves nothing", stoppedAt)
	}
	if acked > stoppedAt {
		t.Fatalf("depot acked %d, beyond what Odoo applied (%d)", acked, stoppedAt)
	}

	restart := time.Now()
	_, core2 := r.startService()
	t.Cleanup(func() {
		if t.Failed() {
			last, a := r.j.Positions()
			t.Logf("at the failure: depot last %d acked %d; restarted connector: %+v", last, a, core2().Stats(r.depot.ID))
		}
	})
	waitUntil(t, 3*time.Minute, "every receipt acked after the restart", func() bool {
		last, a := r.j.Positions()
		return last == first+second && a == last
	})
	t.Logf("restarted connector drained the rest (%d) in %v; its stats: %+v", first+second-int(stoppedAt),
		time.Since(restart).Round(time.Millisecond), core2().Stats(r.depot.ID))

	keys, moves, pickings, onHand := r.odooCounts()
	want := decimal.RequireFromString("2").Mul(decimal.NewFromInt(first + second))
	if keys != first+second || moves != first+second || pickings != first+second || !onHand.Equal(want) || r.applied() != first+second {
		t.Fatalf("Odoo holds %d keys, %d moves in %d pickings, %s on hand, applied seq %d; want %d each, %s, %d",
			keys, moves, pickings, onHand, r.applied(), first+second, want, first+second)
	}
}

// A receipt Odoo refuses (an item it does not know) among good ones: the depot's
// watermark passes it, it becomes an erp_rejected exception at the depot with Odoo's code
// and message, and every other receipt lands once.
func TestARefusedReceiptBecomesAnExceptionAtTheDepotAndTheOthersLandOnce(t *testing.T) {
	r := newE2ERig(t)
	r.receipts(2, "3")
	bad := edge.Transaction{ID: "rcv-bad", Type: edge.Receipt, Lines: []edge.Line{{Item: "NO-SUCH-SKU-depotd", Qty: edge.MustQty("1"), UoM: "Units", To: r.depot.Warehouse + "/Stock"}}}
	if _, _, err := r.j.Commit(context.Background(), bad); err != nil {
		t.Fatal(err)
	}
	r.receipts(2, "3")
	r.startUplink()
	start := time.Now()
	r.startService()
	waitUntil(t, 3*time.Minute, "all 5 acked at the depot", func() bool { _, a := r.j.Positions(); return a == 5 })
	t.Logf("5 transactions (one refused) depot→Odoo→ack in %v", time.Since(start).Round(time.Millisecond))
	exc, ok, err := r.j.Rejection(3)
	if err != nil || !ok || exc.Kind != edge.ExcERPRejected || exc.Code != "UNKNOWN_ITEM" || exc.Message == "" {
		t.Fatalf("depot exception for seq 3: %+v ok=%v err=%v; want erp_rejected UNKNOWN_ITEM with a message", exc, ok, err)
	}
	t.Logf("the supervisor reads: %s: %s", exc.Code, exc.Message)
	for _, seq := range []uint64{1, 2, 4, 5} {
		if _, ok, _ := r.j.Rejection(seq); ok {
			t.Errorf("seq %d recorded as rejected", seq)
		}
	}
	keys, moves, _, onHand := r.odooCounts()
	if keys != 5 || moves != 4 || !onHand.Equal(decimal.RequireFromString("12")) {
		t.Fatalf("Odoo holds %d keys, %d moves, %s on hand; want 5 keys (one a rejection), 4 moves, 12", keys, moves, onHand)
	}
}

// The connector speaks mutual TLS as configured (mqtt.tls in erp.yaml): against a
// mosquitto that requires client certificates (both the depot and the connector present
// one signed by the CA that also signed the broker's), the depot's receipts land in Odoo
// and are acknowledged. (Refusals of a missing or foreign certificate are the uplink's
// TestMutualTLS: the connector builds its TLS with the same uplink.ClientTLS.)
func TestOverMutualTLSTheReceiptsLandInOdooAndAreAcked(t *testing.T) {
	env := odootest.Need(t)
	dir := t.TempDir()
	ca, caKey := brokertest.WriteCert(t, dir, "ca", &x509.Certificate{Subject: pkix.Name{CommonName: "depotd test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, nil)
	brokertest.WriteCert(t, dir, "server", &x509.Certificate{Subject: pkix.Name{CommonName: "broker"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca, caKey)
	brokertest.WriteCert(t, dir, "client", &x509.Certificate{Subject: pkix.Name{CommonName: "depotd-erp"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca, caKey)
	file := func(n string) string { return filepath.Join(dir, n) }
	b := brokertest.StartMosquittoTLS(t, file("ca.pem"), file("server.pem"), file("server.key"))
	good := uplink.TLSConfig{CAFile: file("ca.pem"), CertFile: file("client.pem"), KeyFile: file("client.key")}
	r := newE2ERigOn(t, env, b, good)
	r.receipts(3, "1")
	r.startUplink()

	start := time.Now()
	r.startService()
	waitUntil(t, 2*time.Minute, "3 receipts acked over mutual TLS", func() bool { _, a := r.j.Positions(); return a == 3 })
	t.Logf("3 receipts over mutual TLS in %v", time.Since(start).Round(time.Millisecond))
	if keys, moves, _, _ := r.odooCounts(); keys != 3 || moves != 3 {
		t.Fatalf("Odoo holds %d keys and %d moves, want 3 and 3", keys, moves)
	}
}

// Odoo becomes unreachable in the middle of a drain, then every answer is lost after Odoo
// committed (a TCP proxy in front of the real Odoo; the shared server itself is not
// stopped), then the link heals: the connector retries with backoff, never acks what Odoo
// did not commit, and every receipt lands exactly once.
func TestOdooUnreachableAndLostAnswersMidDrainStillLandEachReceiptOnce(t *testing.T) {
	const n = 20
	r := newE2ERig(t)
	r.batch = 2 // batched, and still slow enough to cut in the middle
	proxy := odootest.NewProxy(t, r.env)
	r.c = proxy.Env(r.env).Client(t) // the connector's calls go through the proxy
	direct := r.env.Client(t)
	r.receipts(n, "1")
	r.startUplink()
	_, core := r.startService()
	waitUntil(t, 2*time.Minute, "the drain under way", func() bool { _, a := r.j.Positions(); return a >= 4 })

	proxy.SetMode(odootest.Refuse)
	_, ackedAtCut := r.j.Positions()
	waitUntil(t, time.Minute, "retries while Odoo is unreachable", func() bool { return core().Stats(r.depot.ID).Errors >= 3 })
	if _, a := r.j.Positions(); a > ackedAtCut+1 {
		t.Fatalf("acked %d while Odoo was unreachable (at the cut %d)", a, ackedAtCut)
	}

	proxy.SetMode(odootest.DropAnswers)
	errs := core().Stats(r.depot.ID).Errors
	waitUntil(t, time.Minute, "retries while answers are lost", func() bool { return core().Stats(r.depot.ID).Errors >= errs+3 })
	r.c = direct
	lostAt := r.applied()

	proxy.SetMode(odootest.Pass)
	start := time.Now()
	waitUntil(t, 3*time.Minute, "every receipt acked after the link healed", func() bool { _, a := r.j.Positions(); return a == n })
	st := core().Stats(r.depot.ID)
	t.Logf("healed: the rest drained in %v; Odoo had applied %d while answers were lost; stats %+v",
		time.Since(start).Round(time.Millisecond), lostAt, st)
	keys, moves, pickings, onHand := r.odooCounts()
	if keys != n || moves != n || pickings != n || !onHand.Equal(decimal.NewFromInt(n)) {
		t.Fatalf("Odoo holds %d keys, %d moves in %d pickings, %s on hand; want %d each and %d", keys, moves, pickings, onHand, n, n)
	}
}

// Two depots on one connector and one real Odoo: depot A's applied-seq record vanishes from
// Odoo while the connector runs (a database restored from an old backup, a record deleted
// by hand), so Odoo cannot take its next transaction (a setup error: never rejected, never
// skipped, retried). That holds up depot A only: depot B's receipts land and are
// acknowledged meanwhile.
func TestADepotStuckOnATransactionOdooCannotTakeYetHoldsUpNoOtherDepot(t *testing.T) {
	const n = 4
	b := newE2ERig(t) // depot B, and the broker, warehouse and product both use
	a := odoo.Depot{ID: odootest.Unique("A"), Warehouse: b.depot.Warehouse}
	if _, err := odoo.Setup(t.Context(), b.c, []odoo.Depot{a}); err != nil {
		t.Fatal(err)
	}
	cat, err := edge.NewCatalog([]edge.Location{{Name: a.Warehouse + "/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ja, err := edge.Open(filepath.Join(t.TempDir(), "a.db"), edge.Options{Depot: a.ID, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	defer ja.Close()
	for _, tx := range []edge.Transaction{
		{ID: "adj-1", Type: edge.Adjustment, Reason: "FOUND", Lines: []edge.Line{{Item: b.sku, Qty: edge.MustQty("1"), UoM: "Units", To: a.Warehouse + "/Stock"}}},
		{ID: "rcv-1", Type: edge.Receipt, Lines: []edge.Line{{Item: b.sku, Qty: edge.MustQty("1"), UoM: "Units", To: a.Warehouse + "/Stock"}}},
	} {
		if _, _, err := ja.Commit(t.Context(), tx); err != nil {
			t.Fatal(err)
		}
	}
	b.receipts(n, "1")
	b.startUplink()

	mc := uplink.ClientConfig{Brokers: []string{b.broker.URL()}, ClientID: b.clientID, KeepAlive: 2 * time.Second}
	mc.ApplyDefaults()
	oc := odoo.Config{URL: b.env.URL, Database: b.env.DB, PostTimeout: 2 * time.Minute, RetryMax: time.Second}
	oc.ApplyDefaults()
	var mu sync.Mutex
	var core *erpcore.Core
	svc := &odoo.Service{MQTT: mc, Odoo: oc, Depots: []odoo.Depot{a, b.depot}, Client: b.c, Log: e2eLog(t, "erp"),
		Started: func(c *erpcore.Core) { mu.Lock(); core = c; mu.Unlock() }}
	goRun(t, "erp service", svc.Run)
	// Both depots' workers read their applied seq when the service starts; depot B
	// draining says it runs.
	waitUntil(t, 3*time.Minute, "depot B drained", func() bool { _, acked := b.j.Positions(); return acked == n })
	var params []int
	if err := b.c.Call(t.Context(), "ir.config_parameter", "search", map[string]any{
		"domain": []any{[]any{"key", "=", odoo.AppliedSeqParam(a.ID)}}}, &params); err != nil || len(params) != 1 {
		t.Fatalf("depot A's applied seq record: %v %v", params, err)
	}
	if err := b.c.Call(t.Context(), "ir.config_parameter", "unlink", map[string]any{"ids": params}, nil); err != nil {
		t.Fatal(err)
	}
	ua, err := uplink.New(uplink.Config{Brokers: []string{b.broker.URL()}, KeepAlive: 2 * time.Second}, a.ID, ja, nil, e2eLog(t, "uplink-a"))
	if err != nil {
		t.Fatal(err)
	}
	stopA := goRun(t, "uplink A", ua.Run)
	defer stopA.stop(t, "uplink A")
	mu.Lock()
	c := core
	mu.Unlock()
	waitUntil(t, time.Minute, "depot A retrying its adjustment", func() bool { return c.Stats(a.ID).Errors >= 2 })
	start := time.Now()
	b.receipts(n, "1")
	waitUntil(t, 3*time.Minute, "depot B drained again", func() bool { _, acked := b.j.Positions(); return acked == 2*n })
	t.Logf("depot B's %d receipts acked in %v while depot A is stuck", n, time.Since(start).Round(time.Millisecond))
	if _, acked := ja.Positions(); acked != 0 {
		t.Fatalf("depot A acked %d: a transaction Odoo cannot take was acknowledged or skipped", acked)
	}
	if exc, ok, _ := ja.Rejection(1); ok {
		t.Fatalf("the adjustment was rejected: %+v", exc)
	}
	if st := c.Stats(a.ID); st.Applied != 0 || st.Processed != 0 {
		t.Fatalf("depot A: %+v; want nothing processed", st)
	}
}
