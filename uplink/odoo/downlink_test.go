package odoo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/barcode"
	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/station"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// svcRun is a running connector with its downlink and HTTP address.
type svcRun struct {
	stop *stopper
	mu   sync.Mutex
	core *erpcore.Core
	down *odoo.Downlink
	addr string
}

func (s *svcRun) downlink() *odoo.Downlink { s.mu.Lock(); defer s.mu.Unlock(); return s.down }
func (s *svcRun) stats(depot string) odoo.DownlinkStats {
	if d := s.downlink(); d != nil {
		return d.Stats(depot)
	}
	return odoo.DownlinkStats{}
}

// startDownService runs the connector with a downlink config, a state dir and HTTP on a
// free loopback port.
func (r *e2eRig) startDownService(dl odoo.DownlinkConfig, stateDir string) *svcRun {
	r.t.Helper()
	mc := uplink.ClientConfig{Brokers: []string{r.broker.URL()}, ClientID: r.clientID, KeepAlive: 2 * time.Second, TLS: r.tls}
	mc.ApplyDefaults()
	oc := odoo.Config{URL: r.env.URL, Database: r.env.DB, PostTimeout: 2 * time.Minute, RetryMax: 2 * time.Second, Batch: r.batch}
	oc.ApplyDefaults()
	run := &svcRun{}
	svc := &odoo.Service{MQTT: mc, Odoo: oc, Depots: []odoo.Depot{r.depot}, Client: r.c, Log: e2eLog(r.t, "erp"),
		Downlink: dl, StateDir: stateDir, HTTP: odoo.HTTPConfig{Listen: "127.0.0.1:0"},
		Started:         func(c *erpcore.Core) { run.mu.Lock(); run.core = c; run.mu.Unlock() },
		DownlinkStarted: func(d *odoo.Downlink) { run.mu.Lock(); run.down = d; run.mu.Unlock() },
		Listening:       func(a string) { run.mu.Lock(); run.addr = a; run.mu.Unlock() }}
	run.stop = goRun(r.t, "erp service", svc.Run)
	return run
}

func (r *e2eRig) masterItems() map[string]edge.Item {
	r.t.Helper()
	raw, err := r.j.Master(edge.MasterKindItems)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]edge.Item{}
	if raw == nil {
		return out
	}
	var m edge.MasterItems
	if err := json.Unmarshal(raw, &m); err != nil {
		r.t.Fatal(err)
	}
	for _, it := range m.Items {
		out[it.SKU] = it
	}
	return out
}

func (r *e2eRig) masterVersion(kind string) string {
	raw, err := r.j.Master(kind)
	if err != nil || raw == nil {
		return ""
	}
	var v struct {
		Version string `json:"version"`
	}
	json.Unmarshal(raw, &v)
	return v.Version
}

func (r *e2eRig) create(model string, vals map[string]any) int {
	r.t.Helper()
	var ids []int
	if err := r.c.Call(context.Background(), model, "create", map[string]any{"vals_list": []any{vals}}, &ids); err != nil {
		r.t.Fatalf("create %s: %v", model, err)
	}
	return ids[0]
}

// digits makes a unique numeric barcode (Odoo refuses a barcode used twice).
func digits() string { return strings.NewReplacer("-", "", ".", "", "X", "").Replace(odooUnique("X")) }

func odooUnique(p string) string { return fmt.Sprintf("%s%d", p, time.Now().UnixNano()) }

// A product created in Odoo (internal reference, barcode, a case of 12 with its own
// barcode, lot tracking, expiry, weight) reaches a depot as retained master data, even a
// depot that connects only after it was published; the depot's station, an operator
// from erp.yaml logged in, reads a scan of the case barcode as 12 units waiting for a lot. Renaming the
// product in Odoo publishes a new version, which the depot stores.
func TestAProductMadeInOdooReachesTheDepotRetainedAndItsStationReceivesByItsCaseBarcode(t *testing.T) {
	r := newE2ERig(t)
	r.depot.Operators = []edge.Operator{{Badge: "B-" + digits(), Name: "Ana", Role: "operator"}}
	sku := "SKU-" + digits()
	unitBC, caseBC := "2"+digits(), "3"+digits()
	caseUoM := r.create("uom.uom", map[string]any{"name": "Case12 " + sku, "relative_factor": 12, "relative_uom_id": 1})
	prod := r.create("product.product", map[string]any{"name": "Bolt " + sku, "default_code": sku, "type": "consu", "is_storable": true,
		"barcode": unitBC, "tracking": "lot", "use_expiration_date": true, "weight": 0.25, "uom_ids": []any{[]any{6, 0, []int{caseUoM}}}})
	r.create("product.uom", map[string]any{"product_id": prod, "uom_id": caseUoM, "barcode": caseBC})

	cfg, state := odoo.DownlinkConfig{Poll: time.Second, SnapshotEvery: 1000, SnapshotInterval: time.Hour}, t.TempDir()
	svc := r.startDownService(cfg, state)
	waitUntil(t, 2*time.Minute, "master data published", func() bool {
		p := svc.stats(r.depot.ID).Published
		return p[edge.MasterKindItems] >= 1 && p[edge.MasterKindLocations] >= 1 && p[edge.MasterKindOperators] >= 1
	})
	// The connector is gone before the depot connects: only the broker's retained copies
	// can reach it.
	svc.stop.stop(t, "erp service")
	r.startUplink()
	waitUntil(t, time.Minute, "the product in the depot's master data", func() bool { _, ok := r.masterItems()[sku]; return ok })
	it := r.masterItems()[sku]
	want := edge.Item{SKU: sku, Name: "Bolt " + sku, UoM: "Units", Barcodes: []string{unitBC}, UnitWeightKg: "0.25", Tracking: "lot", Expiry: true,
		Packagings: []edge.Packaging{{Name: "Case12 " + sku, Barcode: caseBC, Qty: edge.MustQty("12")}}}
	if g, w := fmt.Sprintf("%+v", it), fmt.Sprintf("%+v", want); g != w {
		t.Fatalf("depot item:\n got %s\nwant %s", g, w)
	}
	waitUntil(t, time.Minute, "the operators from erp.yaml at the depot", func() bool { return r.masterVersion(edge.MasterKindOperators) != "" })
	if v := r.masterVersion(edge.MasterKindLocations); v == "" {
		t.Errorf("no locations master data at the depot")
	}

	// The depot's station uses the item: a case scan adds 12 units, asking for the lot.
	dec, err := barcode.NewDecoder(barcode.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	cat, _ := edge.NewCatalog([]edge.Location{{Name: r.depot.Warehouse + "/Stock", Type: edge.LocInternal}}, nil, nil)
	m, err := station.New(station.Options{Stations: []station.Config{{Name: "RCV-1", Scanner: "sc1", Mode: "receive", To: r.depot.Warehouse + "/Stock"}},
		Decoder: dec, Catalog: cat, Journal: r.j})
	if err != nil {
		t.Fatal(err)
	}
	scan := func(code string) station.Event {
		ev, err := m.Apply(t.Context(), devices.Scan{Device: "sc1", At: time.Now(), Raw: []byte(code), Data: []byte(code)})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("scan %s: %s %s", code, ev.Result, ev.Message)
		return ev
	}
	if ev := scan("OP:" + r.depot.Operators[0].Badge); ev.Result == station.Refused {
		t.Fatalf("the operator's badge from erp.yaml was refused: %s", ev.Message)
	}
	// Lot-tracked in Odoo: the station holds the 12 units and asks for the lot.
	if ev := scan(caseBC); ev.Result != station.Prompt || !strings.Contains(ev.Message, "lot") {
		t.Fatalf("a case of the new product: %s %q; want a prompt for its lot", ev.Result, ev.Message)
	}
	st, err := m.Station("RCV-1")
	if err != nil {
		t.Fatal(err)
	}
	if p := st.Document.Pending; p == nil || p.Item != sku || !p.Qty.Equal(edge.MustQty("12")) {
		t.Fatalf("after the case scan the station holds %+v; want 12 of %s waiting for a lot", st.Document.Pending, sku)
	}

	r.startDownService(cfg, state)
	v1 := r.masterVersion(edge.MasterKindItems)
	if err := r.c.Call(t.Context(), "product.product", "write", map[string]any{"ids": []int{prod}, "vals": map[string]any{"name": "Bolt M6 " + sku}}, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "the new name at the depot", func() bool { return r.masterItems()[sku].Name == "Bolt M6 "+sku })
	if v2 := r.masterVersion(edge.MasterKindItems); v2 == v1 {
		t.Fatalf("a changed product came with the same version %q", v1)
	}
}

// An Odoo whose warehouse did not change publishes no new locations or operators, poll
// after poll, and a restarted connector (same state_dir) publishes none of them again.
func TestAnUnchangedOdooPublishesNothingNewNotEvenAfterARestart(t *testing.T) {
	r := newE2ERig(t)
	r.depot.Operators = []edge.Operator{{Badge: "B1", Name: "Ana", Role: "supervisor"}}
	state := t.TempDir()
	r.startUplink()
	cfg := odoo.DownlinkConfig{Poll: time.Second, SnapshotEvery: 1000, SnapshotInterval: time.Hour}
	svc := r.startDownService(cfg, state)
	waitUntil(t, 2*time.Minute, "locations and operators at the depot", func() bool {
		return r.masterVersion(edge.MasterKindLocations) != "" && r.masterVersion(edge.MasterKindOperators) != ""
	})
	v := r.masterVersion(edge.MasterKindLocations)
	// Another warehouse moves the stamps of stock.location and stock.warehouse (as other
	// tests do in the shared Odoo); this depot's payloads stay the same.
	odootest.NewWarehouse(t, r.c)
	p0 := svc.downlink().Polls()
	waitUntil(t, time.Minute, "three more polls", func() bool { return svc.downlink().Polls() >= p0+3 })
	st := svc.stats(r.depot.ID)
	if st.Published[edge.MasterKindLocations] != 1 || st.Published[edge.MasterKindOperators] != 1 || r.masterVersion(edge.MasterKindLocations) != v {
		t.Fatalf("after several polls: published %v, version %q (was %q); want each once", st.Published, r.masterVersion(edge.MasterKindLocations), v)
	}
	svc.stop.stop(t, "erp service")
	svc2 := r.startDownService(cfg, state)
	waitUntil(t, time.Minute, "the restarted connector's downlink", func() bool { return svc2.downlink() != nil })
	waitUntil(t, time.Minute, "three polls of the restarted connector", func() bool { return svc2.downlink().Polls() >= 3 })
	if st := svc2.stats(r.depot.ID); st.Published[edge.MasterKindLocations] != 0 || st.Published[edge.MasterKindOperators] != 0 {
		t.Fatalf("the restarted connector published %v again", st.Published)
	}
}

// stockKey names a ledger row.
func stockKey(item, loc, lot string, st edge.StockState) string {
	return fmt.Sprintf("%s|%s|%s|%s", item, loc, lot, st)
}

// odooQuants reads Odoo's quants of the rig's warehouse for the products as depot keys.
func (r *e2eRig) odooQuants(skus ...string) map[string]decimal.Decimal {
	r.t.Helper()
	var ans struct {
		Records []struct {
			Product struct {
				Code string `json:"default_code"`
			} `json:"product_id"`
			Location struct {
				Name string `json:"complete_name"`
			} `json:"location_id"`
			Lot json.RawMessage `json:"lot_id"`
			Qty decimal.Decimal `json:"quantity"`
		} `json:"records"`
	}
	if err := r.c.Call(context.Background(), "stock.quant", "web_search_read", map[string]any{
		"domain": []any{[]any{"product_id.default_code", "in", skus}, []any{"location_id.usage", "=", "internal"}},
		"specification": map[string]any{"product_id": map[string]any{"fields": map[string]any{"default_code": map[string]any{}}},
			"location_id": map[string]any{"fields": map[string]any{"complete_name": map[string]any{}}}, "quantity": map[string]any{},
			"lot_id": map[string]any{"fields": map[string]any{"name": map[string]any{}}}}}, &ans); err != nil {
		r.t.Fatal(err)
	}
	out := map[string]decimal.Decimal{}
	for _, q := range ans.Records {
		loc, st := q.Location.Name, edge.Available
		if loc == r.depot.Warehouse+"/Quarantine" {
			loc, st = r.depot.Warehouse+"/Stock", edge.Quarantine
		}
		var lot struct {
			Name string `json:"name"`
		}
		json.Unmarshal(q.Lot, &lot) // false: no lot
		if !q.Qty.IsZero() {
			k := stockKey(q.Product.Code, loc, lot.Name, st)
			out[k] = out[k].Add(q.Qty)
		}
	}
	return out
}

func (r *e2eRig) depotStock(erpSide bool, skus ...string) map[string]decimal.Decimal {
	r.t.Helper()
	out := map[string]decimal.Decimal{}
	for _, sku := range skus {
		rows, err := r.j.Stock(edge.StockFilter{Item: sku})
		if err != nil {
			r.t.Fatal(err)
		}
		for _, row := range rows {
			q := row.Qty
			if erpSide {
				q = row.ERPQty
			}
			if !q.IsZero() {
				out[stockKey(row.Item, row.Location, row.Lot, row.State)] = q.Decimal()
			}
		}
	}
	return out
}

func fmtStock(m map[string]decimal.Decimal) string {
	var b strings.Builder
	for k, v := range m {
		fmt.Fprintf(&b, "%s=%s ", k, v)
	}
	return b.String()
}

func sameStock(a, b map[string]decimal.Decimal) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !w.Equal(v) {
			return false
		}
	}
	return true
}

// The promise of the downlink: after the depot's receipts (one of a lot-tracked product)
// and a move into quarantine are posted, the next stock snapshot (taken between two postings, every K seqs) makes the
// depot's ledger, its ERP side included, equal Odoo's stock.quant; its applied_seq is the
// depot's last seq. /metrics and /healthz report the depot.
func TestAfterPostingsTheDepotsLedgerEqualsOdoosQuantsWithTheNextSnapshot(t *testing.T) {
	r := newE2ERig(t)
	r.receipts(4, "2")
	q := edge.Transaction{ID: "q-1", Type: edge.Transfer, Lines: []edge.Line{{Item: r.sku, Qty: edge.MustQty("3"), UoM: "Units",
		From: r.depot.Warehouse + "/Stock", To: r.depot.Warehouse + "/Stock", State: edge.Available, ToState: edge.Quarantine}}}
	if _, _, err := r.j.Commit(t.Context(), q); err != nil {
		t.Fatal(err)
	}
	lotSKU := "LOT-" + digits()
	r.create("product.product", map[string]any{"name": "Lotted " + lotSKU, "default_code": lotSKU, "type": "consu", "is_storable": true, "tracking": "lot"})
	lotted := edge.Transaction{ID: "rcv-lot", Type: edge.Receipt, Lines: []edge.Line{{Item: lotSKU, Qty: edge.MustQty("4"), UoM: "Units",
		To: r.depot.Warehouse + "/Stock", Lot: "L-7"}}}
	if _, _, err := r.j.Commit(t.Context(), lotted); err != nil {
		t.Fatal(err)
	}
	r.startUplink()
	svc := r.startDownService(odoo.DownlinkConfig{Poll: time.Second, SnapshotEvery: 3, SnapshotInterval: time.Hour}, t.TempDir())
	waitUntil(t, 3*time.Minute, "all 6 acked", func() bool { _, a := r.j.Positions(); return a == 6 })
	waitUntil(t, time.Minute, "the snapshot at seq 6", func() bool { return svc.stats(r.depot.ID).SnapshotSeq == 6 })
	want := r.odooQuants(r.sku, lotSKU)
	waitUntil(t, time.Minute, "the depot's ERP side equal to Odoo's quants", func() bool { return sameStock(r.depotStock(true, r.sku, lotSKU), want) })
	if got := r.depotStock(false, r.sku, lotSKU); !sameStock(got, want) {
		t.Fatalf("depot ledger %s\nOdoo quants  %s", fmtStock(got), fmtStock(want))
	}
	if len(want) != 3 || !want[stockKey(lotSKU, r.depot.Warehouse+"/Stock", "L-7", edge.Available)].Equal(decimal.NewFromInt(4)) {
		t.Fatalf("Odoo holds %s; want stock in %s/Stock, in quarantine and 4 of lot L-7", fmtStock(want), r.depot.Warehouse)
	}
	t.Logf("depot = Odoo: %s (snapshots %d)", fmtStock(want), svc.stats(r.depot.ID).Snapshots)

	svc.mu.Lock()
	addr := svc.addr
	svc.mu.Unlock()
	body := get(t, "http://"+addr+"/metrics", 200)
	for _, w := range []string{
		fmt.Sprintf(`depotd_erp_applied_seq{depot=%q} 6`, r.depot.ID),
		fmt.Sprintf(`depotd_erp_lag_seqs{depot=%q} 0`, r.depot.ID),
		fmt.Sprintf(`depotd_erp_snapshot_applied_seq{depot=%q} 6`, r.depot.ID),
		fmt.Sprintf(`depotd_erp_rejected_total{depot=%q} 0`, r.depot.ID),
		`depotd_erp_odoo_call_seconds_bucket{op="ir.actions.server/run",le="+Inf"}`,
		`depotd_erp_odoo_call_seconds_count{op="stock.quant/web_search_read"}`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	if h := get(t, "http://"+addr+"/healthz", 200); !strings.Contains(h, `"ok":true`) || !strings.Contains(h, `"applied_seq":6`) {
		t.Errorf("/healthz: %s", h)
	}
}

// A depot that restarts asks for a snapshot ({prefix}request): the connector takes one at
// the depot's next pause, without waiting for K seqs or T.
func TestADepotThatRestartsAsksForASnapshotAndGetsOne(t *testing.T) {
	r := newE2ERig(t)
	r.receipts(1, "1")
	svc := r.startDownService(odoo.DownlinkConfig{Poll: time.Second, SnapshotEvery: 1000, SnapshotInterval: time.Hour}, t.TempDir())
	waitUntil(t, 2*time.Minute, "the snapshot at start", func() bool { return svc.stats(r.depot.ID).Snapshots >= 1 })
	u := r.startUplink()
	waitUntil(t, 2*time.Minute, "the first request served", func() bool {
		st := svc.stats(r.depot.ID)
		return st.SnapshotRequests >= 1 && st.Snapshots >= 2
	})
	before := svc.stats(r.depot.ID)
	u.stop(t, "uplink")
	r.startUplink()
	waitUntil(t, time.Minute, "the restarted depot's request served", func() bool {
		st := svc.stats(r.depot.ID)
		return st.SnapshotRequests == before.SnapshotRequests+1 && st.Snapshots == before.Snapshots+1
	})
}

func get(t *testing.T, url string, code int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != code {
		t.Fatalf("GET %s: %d, want %d: %s", url, resp.StatusCode, code, raw)
	}
	return string(raw)
}

func status(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// While Odoo is unreachable (a proxy in front of the real one refuses connections)
// /healthz answers 503 naming the kind, /metrics counts the failed calls as unavailable
// and shows the depot's waiting receipts as lag in seqs and seconds; once Odoo is back
// /healthz is 200 again and the lag 0.
func TestHealthzIs503AndMetricsShowTheLagWhileOdooIsUnreachable(t *testing.T) {
	r := newE2ERig(t)
	proxy := odootest.NewProxy(t, r.env)
	direct := r.c
	r.c = proxy.Env(r.env).Client(t)
	r.startUplink()
	svc := r.startDownService(odoo.DownlinkConfig{Poll: time.Second, SnapshotEvery: 1000, SnapshotInterval: time.Hour}, t.TempDir())
	var base string
	waitUntil(t, time.Minute, "/healthz 200", func() bool {
		svc.mu.Lock()
		base = "http://" + svc.addr
		svc.mu.Unlock()
		code, _ := status(base + "/healthz")
		return code == 200
	})
	proxy.SetMode(odootest.Refuse)
	var body string
	waitUntil(t, time.Minute, "/healthz 503 while Odoo is unreachable", func() bool {
		var code int
		code, body = status(base + "/healthz")
		return code == 503
	})
	if !strings.Contains(body, `"odoo_ok":false`) || !strings.Contains(body, `"odoo_error":"unavailable"`) || !strings.Contains(body, `"mqtt_online":true`) {
		t.Errorf("/healthz while Odoo is unreachable: %s", body)
	}
	if m := get(t, base+"/metrics", 200); !strings.Contains(m, `depotd_erp_odoo_errors_total{kind="unavailable"}`) {
		t.Errorf("/metrics does not count unavailable calls:\n%s", m)
	}
	r.c = direct
	r.receipts(2, "1")
	lagSeqs := fmt.Sprintf(`depotd_erp_lag_seqs{depot=%q} `, r.depot.ID)
	lagSecs := regexp.MustCompile(`depotd_erp_lag_seconds\{depot="` + regexp.QuoteMeta(r.depot.ID) + `"\} (\S+)`)
	waitUntil(t, time.Minute, "a lag of 2 seqs, waiting for more than 0s", func() bool {
		m := get(t, base+"/metrics", 200)
		sec := lagSecs.FindStringSubmatch(m)
		return strings.Contains(m, lagSeqs+"2\n") && sec != nil && sec[1] != "0"
	})
	proxy.SetMode(odootest.Pass)
	waitUntil(t, time.Minute, "/healthz 200 once Odoo is back", func() bool { code, _ := status(base + "/healthz"); return code == 200 })
	waitUntil(t, 2*time.Minute, "both acked", func() bool { _, a := r.j.Positions(); return a == 2 })
	if m := get(t, base+"/metrics", 200); !strings.Contains(m, lagSeqs+"0\n") || !strings.Contains(m, fmt.Sprintf(`depotd_erp_lag_seconds{depot=%q} 0`+"\n", r.depot.ID)) {
		t.Errorf("lag after the drain:\n%s", m)
	}
}

// Stock Odoo changes by itself (an inventory adjustment made in Odoo, not by the depot)
// reaches the depot with the next timed snapshot, though the depot posts nothing.
func TestStockOdooChangesByItselfReachesTheDepotWithTheNextTimedSnapshot(t *testing.T) {
	r := newE2ERig(t)
	r.startUplink()
	svc := r.startDownService(odoo.DownlinkConfig{Poll: time.Second, SnapshotEvery: 1000, SnapshotInterval: 2 * time.Second}, t.TempDir())
	waitUntil(t, time.Minute, "a first snapshot", func() bool { return svc.stats(r.depot.ID).Snapshots >= 1 })
	var wh struct {
		Records []struct {
			Stock struct {
				ID int `json:"id"`
			} `json:"lot_stock_id"`
		} `json:"records"`
	}
	if err := r.c.Call(t.Context(), "stock.warehouse", "web_search_read", map[string]any{"domain": []any{[]any{"code", "=", r.depot.Warehouse}},
		"specification": map[string]any{"lot_stock_id": map[string]any{"fields": map[string]any{"id": map[string]any{}}}}}, &wh); err != nil || len(wh.Records) != 1 {
		t.Fatalf("warehouse: %v %v", wh, err)
	}
	inv := map[string]any{"inventory_mode": true}
	var ids []int
	if err := r.c.Call(t.Context(), "stock.quant", "create", map[string]any{"vals_list": []any{map[string]any{
		"product_id": r.prod, "location_id": wh.Records[0].Stock.ID, "inventory_quantity": 7}}, "context": inv}, &ids); err != nil {
		t.Fatal(err)
	}
	if err := r.c.Call(t.Context(), "stock.quant", "action_apply_inventory", map[string]any{"ids": ids, "context": inv}, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]decimal.Decimal{stockKey(r.sku, r.depot.Warehouse+"/Stock", "", edge.Available): decimal.NewFromInt(7)}
	if got := r.odooQuants(r.sku); !sameStock(got, want) {
		t.Fatalf("Odoo after the adjustment: %s", fmtStock(got))
	}
	waitUntil(t, time.Minute, "Odoo's adjustment in the depot's ledger", func() bool {
		return sameStock(r.depotStock(true, r.sku), want) && sameStock(r.depotStock(false, r.sku), want)
	})
	if _, a := r.j.Positions(); a != 0 {
		t.Fatalf("the depot posted %d transactions; the test needs none", a)
	}
}

// A product's cost price in Odoo (standard_price) reaches the depot as its item's exact
// unit_value, and a new cost price publishes a new version with the new value; a product
// nobody costed (0) has none.
func TestAProductsCostPriceInOdooReachesTheDepotAsItsUnitValue(t *testing.T) {
	r := newE2ERig(t)
	sku, free := "SKU-"+digits(), "SKU-"+digits()
	prod := r.create("product.product", map[string]any{"name": "Valve " + sku, "default_code": sku, "type": "consu", "is_storable": true, "standard_price": 12.5})
	r.create("product.product", map[string]any{"name": "Sample " + free, "default_code": free, "type": "consu", "is_storable": true})
	r.startUplink()
	r.startDownService(odoo.DownlinkConfig{Poll: time.Second, SnapshotEvery: 1000, SnapshotInterval: time.Hour}, t.TempDir())
	waitUntil(t, 2*time.Minute, "the products in the depot's master data", func() bool {
		m := r.masterItems()
		_, a := m[sku]
		_, b := m[free]
		return a && b
	})
	if it := r.masterItems()[sku]; it.UnitValue != "12.5" {
		t.Fatalf("unit_value %q, want Odoo's cost price 12.5", it.UnitValue)
	}
	if it := r.masterItems()[free]; it.UnitValue != "" {
		t.Errorf("a product with no cost price has unit_value %q", it.UnitValue)
	}
	v1 := r.masterVersion(edge.MasterKindItems)
	if err := r.c.Call(t.Context(), "product.product", "write", map[string]any{"ids": []int{prod}, "vals": map[string]any{"standard_price": 7.13}}, nil); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "the new cost price at the depot", func() bool { return r.masterItems()[sku].UnitValue == "7.13" })
	if r.masterVersion(edge.MasterKindItems) == v1 {
		t.Error("a new cost price came with the same version")
	}
	v, err := r.j.MasterView()
	if err != nil {
		t.Fatal(err)
	}
	if it, _ := v.Item(sku); it.UnitValue != "7.13" {
		t.Errorf("the depot's master view has unit value %q", it.UnitValue)
	}
}
