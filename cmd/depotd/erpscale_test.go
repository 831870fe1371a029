package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// Two `depotd erp` instances list the same depot (a hot standby, or a partition that
// overlaps): only the one whose client id sorts first serves it; SIGKILLed mid-drain, its
// claim lapses and the other takes over; restarted, it takes the depot back. Every receipt
// lands in Odoo once.
func TestTwoERPInstancesOnOneDepotHandOverOnSIGKILLAndPostEveryReceiptOnce(t *testing.T) {
	const n = 40
	env := odootest.Need(t)
	c := env.Client(t)
	wh := odootest.NewWarehouse(t, c)
	depot := odootest.Unique("D")
	if _, err := odoo.Setup(t.Context(), c, []odoo.Depot{{ID: depot, Warehouse: wh}}); err != nil {
		t.Fatal(err)
	}
	sku := odootest.Unique("SKU")
	var ids []int
	if err := c.Call(t.Context(), "product.product", "create", map[string]any{"vals_list": []any{map[string]any{
		"name": "depotd test " + sku, "default_code": sku, "type": "consu", "is_storable": true}}}, &ids); err != nil {
		t.Fatal(err)
	}
	cat, err := edge.NewCatalog([]edge.Location{{Name: wh + "/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Depot: depot, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for i := 0; i < n; i++ {
		if _, _, err := j.Commit(t.Context(), edge.Transaction{ID: fmt.Sprintf("r%d", i), Type: edge.Receipt,
			Lines: []edge.Line{{Item: sku, Qty: edge.MustQty("1"), UoM: "Units", To: wh + "/Stock"}}}); err != nil {
			t.Fatal(err)
		}
	}
	broker := startBroker(t)
	u, err := uplink.New(uplink.Config{Brokers: []string{broker}, KeepAlive: 2 * time.Second, ResendAfter: 3 * time.Second}, depot, j, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	uctx, ucancel := context.WithCancel(context.Background())
	udone := make(chan error, 1)
	go func() { udone <- u.Run(uctx) }()
	defer func() { ucancel(); <-udone }()

	base := odootest.Unique("erp")
	conf := func(suffix string) string {
		path := filepath.Join(t.TempDir(), "erp.yaml")
		// Each instance on a port of its own: the default 127.0.0.1:9465 takes one only.
		cfg := fmt.Sprintf("mqtt: {brokers: [%q], client_id: %q}\nodoo: {url: %q, database: %q, api_key_file: %q, retry_max: 1s}\ndepots: [{id: %q, warehouse: %q}]\nhttp: {listen: \"127.0.0.1:0\"}\n",
			broker, base+suffix, env.URL, env.DB, writeKey(t, env.APIKey), depot, wh)
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	bin := depotdBinary(t)
	confA, confB := conf("-a"), conf("-b")
	a := startERPProc(t, bin, "erp", "--config", confA)
	waitUntil(t, 2*time.Minute, "erp-a posting", func() bool { return odooApplied(t, c, depot) >= 3 })
	b := startERPProc(t, bin, "erp", "--config", confB)
	waitUntil(t, 2*time.Minute, "more progress with both running", func() bool { return odooApplied(t, c, depot) >= 10 })
	a.kill(t)
	killedAt := time.Now()
	before := odooApplied(t, c, depot)
	waitUntil(t, 2*time.Minute, "erp-b taking the depot over", func() bool { return odooApplied(t, c, depot) >= before+5 })
	t.Logf("erp-a SIGKILLed at applied %d; erp-b posting again %v later (lease 30s)", before, time.Since(killedAt).Round(time.Millisecond))
	a = startERPProc(t, bin, "erp", "--config", confA)
	waitUntil(t, 3*time.Minute, "the depot's backlog back to 0", func() bool { last, ack := j.Positions(); return last == n && ack == n })
	for _, p := range []*daemonProc{a, b} {
		p.cmd.Process.Signal(syscall.SIGTERM)
		<-p.done
	}
	var keys, moves json.Number
	if err := c.Call(t.Context(), "ir.model.data", "search_count", map[string]any{"domain": []any{
		[]any{"module", "=", odoo.Module}, []any{"name", "=like", "tx_" + odoo.Slug(depot) + "_%"}}}, &keys); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(t.Context(), "stock.move", "search_count", map[string]any{"domain": []any{[]any{"product_id", "=", ids[0]}}}, &moves); err != nil {
		t.Fatal(err)
	}
	if keys.String() != fmt.Sprint(n) || moves.String() != fmt.Sprint(n) || odooApplied(t, c, depot) != n {
		t.Fatalf("Odoo holds %s keys, %s moves, applied %d; want %d each", keys, moves, odooApplied(t, c, depot), n)
	}
}
