package odoo_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// Every transaction type as the depot's journal commits it (a count's expected quantity
// and delta filled in by the journal) goes through the real uplink, mosquitto and the
// connector into the real Odoo, and Odoo's stock ends where the depot's is, per state's
// location, plus what Odoo moved itself after the depot counted: the count did not
// overwrite it.
func TestEveryTransactionTypeFromTheDepotsJournalLandsInOdooAndTheCountKeepsOdoosOwnMove(t *testing.T) {
	r := newE2ERig(t)
	d := odoo.Depot{ID: odootest.Unique("T"), Warehouse: r.depot.Warehouse}
	if _, err := odoo.Setup(t.Context(), r.c, []odoo.Depot{d}); err != nil {
		t.Fatal(err)
	}
	wh := d.Warehouse
	stock := wh + "/Stock"
	cat, err := edge.NewCatalog([]edge.Location{{Name: stock, Type: edge.LocInternal}, {Name: wh + "/Returns", Type: edge.LocReturns}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(filepath.Join(t.TempDir(), "t.db"), edge.Options{Depot: d.ID, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	line := func(q string) edge.Line { return edge.Line{Item: r.sku, Qty: edge.MustQty(q), UoM: "Units"} }
	with := func(l edge.Line, f func(*edge.Line)) []edge.Line { f(&l); return []edge.Line{l} }
	txs := []edge.Transaction{
		{ID: "rcv", Type: edge.Receipt, Ref: "PO-1", Lines: with(line("10"), func(l *edge.Line) { l.To = stock })},
		{ID: "iss", Type: edge.Issue, Ref: "SO-1", Lines: with(line("2"), func(l *edge.Line) { l.From = stock })},
		{ID: "adj", Type: edge.Adjustment, Reason: "FOUND", Lines: with(line("1"), func(l *edge.Line) { l.To = stock })},
		{ID: "sts", Type: edge.StatusMove, Lines: with(line("3"), func(l *edge.Line) { l.From, l.ToState = stock, edge.Damaged })},
		{ID: "scr", Type: edge.Scrap, Reason: "BROKEN", Lines: with(line("1"), func(l *edge.Line) { l.From, l.State = stock, edge.Damaged })},
		{ID: "ret", Type: edge.Return, Ref: "RMA-1", Lines: with(line("1"), func(l *edge.Line) { l.To = wh + "/Returns" })},
		{ID: "cnt", Type: edge.Count, Reason: "CYCLE", Lines: with(line("4"), func(l *edge.Line) { l.To = stock })},
	}
	for _, tx := range txs {
		if _, _, err := j.Commit(t.Context(), tx); err != nil {
			t.Fatalf("commit %s: %v", tx.ID, err)
		}
	}
	// After the depot counted, and before its count reaches Odoo, Odoo takes in 5 more
	// itself (an inventory adjustment made in Odoo).
	var locs []int
	if err := r.c.Call(t.Context(), "stock.location", "search", map[string]any{"domain": []any{[]any{"complete_name", "=", stock}}}, &locs); err != nil || len(locs) != 1 {
		t.Fatalf("location %s: %v %v", stock, locs, err)
	}
	var quants []int
	inv := map[string]any{"inventory_mode": true}
	if err := r.c.Call(t.Context(), "stock.quant", "create", map[string]any{"vals_list": []any{map[string]any{
		"product_id": r.prod, "location_id": locs[0], "inventory_quantity": 5}}, "context": inv}, &quants); err != nil {
		t.Fatal(err)
	}
	if err := r.c.Call(t.Context(), "stock.quant", "action_apply_inventory", map[string]any{"ids": quants, "context": inv}, nil); err != nil {
		t.Fatal(err)
	}

	u, err := uplink.New(uplink.Config{Brokers: []string{r.broker.URL()}, KeepAlive: 2 * time.Second}, d.ID, j, nil, e2eLog(t, "uplink"))
	if err != nil {
		t.Fatal(err)
	}
	stopU := goRun(t, "uplink", u.Run)
	defer stopU.stop(t, "uplink")
	mc := uplink.ClientConfig{Brokers: []string{r.broker.URL()}, ClientID: r.clientID, KeepAlive: 2 * time.Second}
	mc.ApplyDefaults()
	oc := odoo.Config{URL: r.env.URL, Database: r.env.DB, PostTimeout: 2 * time.Minute, RetryMax: time.Second}
	oc.ApplyDefaults()
	var mu sync.Mutex
	var core *erpcore.Core
	svc := &odoo.Service{MQTT: mc, Odoo: oc, Depots: []odoo.Depot{d}, Client: r.c, Log: e2eLog(t, "erp"),
		Started: func(c *erpcore.Core) { mu.Lock(); core = c; mu.Unlock() }}
	goRun(t, "erp service", svc.Run)
	n := uint64(len(txs))
	waitUntil(t, 3*time.Minute, "every transaction acked", func() bool { _, a := j.Positions(); return a == n })
	mu.Lock()
	st := core.Stats(d.ID)
	mu.Unlock()
	if st.Rejected != 0 {
		t.Fatalf("connector stats %+v: nothing should be rejected", st)
	}
	for seq := uint64(1); seq <= n; seq++ {
		if exc, ok, _ := j.Rejection(seq); ok {
			t.Fatalf("seq %d rejected: %+v", seq, exc)
		}
	}
	// The depot: 10 - 2 + 1 - 3 (to damaged) = 6 available, counted 4; damaged 3 - 1 = 2;
	// 1 returned into quarantine. Odoo: the same by location, plus its own 5 in stock.
	rows, err := j.Stock(edge.StockFilter{Item: r.sku})
	if err != nil {
		t.Fatal(err)
	}
	depot := map[edge.StockState]decimal.Decimal{}
	for _, row := range rows {
		depot[row.State] = depot[row.State].Add(row.Qty.Decimal())
	}
	f := postFixture{c: r.c, depot: d, sku: r.sku, prod: r.prod}
	for _, c := range []struct {
		loc   string
		state edge.StockState
		extra int64
	}{{stock, edge.Available, 5}, {wh + "/Damaged", edge.Damaged, 0}, {wh + "/Quarantine", edge.Quarantine, 0}} {
		want := depot[c.state].Add(decimal.NewFromInt(c.extra))
		if got := f.onHand(t, c.loc); !got.Equal(want) {
			t.Errorf("Odoo holds %s in %s; the depot %s %s (+%d Odoo's own): want %s", got, c.loc, depot[c.state], c.state, c.extra, want)
		}
	}
	if !depot[edge.Available].Equal(decimal.NewFromInt(4)) || !depot[edge.Damaged].Equal(decimal.NewFromInt(2)) || !depot[edge.Quarantine].Equal(decimal.NewFromInt(1)) {
		t.Fatalf("the depot's ledger: %v, want 4 available, 2 damaged, 1 quarantine", depot)
	}
}
