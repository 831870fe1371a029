package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// erpRunConfig writes an erp.yaml for odooURL serving depot on broker.
func erpRunConfig(t *testing.T, broker, odooURL, db, key, depot, warehouse string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "erp.yaml")
	cfg := fmt.Sprintf(`mqtt: {brokers: [%q], client_id: %q}
odoo: {url: %q, database: %q, api_key_file: %q, retry_max: 1s}
http: {listen: "127.0.0.1:0"}
state_dir: %q
depots: [{id: %q, warehouse: %q}]
`, broker, odootest.Unique("erp"), odooURL, db, writeKey(t, key), t.TempDir(), depot, warehouse)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// withBatch sets odoo.batch in an erpRunConfig file.
func withBatch(t *testing.T, path string, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Replace(string(b), "retry_max: 1s}", fmt.Sprintf("retry_max: 1s, batch: %d}", n), 1)
	if out == string(b) {
		t.Fatal("erpRunConfig's odoo line changed: cannot set the batch")
	}
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestERPRunRefusesToStartOnABadConfigOrAnUnreachableOdoo(t *testing.T) {
	// A port nothing listens on: Odoo is down.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	bad := filepath.Join(t.TempDir(), "erp.yaml")
	os.WriteFile(bad, []byte("mqtt: {brokers: []}\nodoo: {url: ftp://x}\nbogus: 1\n"), 0o600)
	for _, tc := range []struct {
		what string
		args []string
		want string
	}{
		{"bad config", []string{"erp", "--config", bad}, "bogus"},
		{"bad config through run", []string{"erp", "run", "--config", bad}, "bogus"},
		{"unreachable Odoo", []string{"erp", "--config", erpRunConfig(t, "tcp://127.0.0.1:1", down, "db", "k", "D1", "WH")},
			"depotd erp run: cannot start: odoo at " + down + " is not reachable"},
	} {
		var out, errOut bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		code := run(ctx, tc.args, nil, &out, &errOut)
		cancel()
		if code != 1 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", tc.what, code, errOut.String(), tc.want)
		}
	}
}

func TestERPRunRefusesADepotOdooWasNotSetUpFor(t *testing.T) {
	env := odootest.Need(t)
	path := erpRunConfig(t, "tcp://127.0.0.1:1", env.URL, env.DB, env.APIKey, odootest.Unique("D"), "WH")
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"erp", "--config", path}, nil, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "is not set up in this Odoo database") || !strings.Contains(errOut.String(), "run depotd erp setup") {
		t.Errorf("stderr: %s", errOut.String())
	}
}

// The real binary: it tells systemd READY=1 once Odoo answered, a receipt published on
// the depot's tx topic lands in Odoo and is acknowledged, SIGTERM stops it with exit 0.
func TestERPRunIsReadyPostsAReceiptAcksItAndStopsCleanlyOnSIGTERM(t *testing.T) {
	env := odootest.Need(t)
	c := env.Client(t)
	wh := odootest.NewWarehouse(t, c)
	depot := odootest.Unique("D")
	if _, err := odoo.Setup(t.Context(), c, []odoo.Depot{{ID: depot, Warehouse: wh}}); err != nil {
		t.Fatal(err)
	}
	sku := odootest.Unique("SKU")
	if err := c.Call(t.Context(), "product.product", "create", map[string]any{"vals_list": []any{map[string]any{
		"name": "depotd test " + sku, "default_code": sku, "type": "consu", "is_storable": true}}}, nil); err != nil {
		t.Fatal(err)
	}
	broker := startBroker(t)
	path := erpRunConfig(t, broker, env.URL, env.DB, env.APIKey, depot, wh)
	sock, msgs := notifySocket(t)
	p := startProcRE(t, depotdBinary(t), []string{"NOTIFY_SOCKET=" + sock}, regexp.MustCompile(`(msg="erp mqtt online: subscribed")`), "erp", "--config", path)
	waitMsg(t, msgs, "READY=1", 10*time.Second)

	acks := make(chan uint64, 16)
	mc := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(odootest.Unique("depot")))
	if tok := mc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer mc.Disconnect(50)
	mc.Subscribe("depots/"+depot+"/ack", 1, func(_ mqtt.Client, m mqtt.Message) {
		var a struct {
			Upto uint64 `json:"upto_seq"`
		}
		json.Unmarshal(m.Payload(), &a)
		acks <- a.Upto
	}).WaitTimeout(10 * time.Second)
	tx := fmt.Sprintf(`{"v":1,"depot":%q,"id":"r1","seq":1,"type":"receipt","ref":"PO-1","lines":[{"item":%q,"qty":"2.5","uom":"Units","to":%q}]}`, depot, sku, wh+"/Stock")
	mc.Publish("depots/"+depot+"/tx", 1, false, tx).WaitTimeout(10 * time.Second)
	select {
	case n := <-acks:
		if n != 1 {
			t.Fatalf("ack upto_seq %d, want 1", n)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("no ack within 90s:\n%s", p.logText())
	}
	var n json.Number
	if err := c.Call(t.Context(), "ir.model.data", "search_count", map[string]any{"domain": []any{
		[]any{"module", "=", "depotd"}, []any{"name", "=", odoo.TxKey(depot, 1)}}}, &n); err != nil || n.String() != "1" {
		t.Fatalf("keys of seq 1 in Odoo: %v %v", n, err)
	}
	// The real binary serves /metrics and /healthz where erp.yaml says (port 0 here: its
	// log names the address).
	m := regexp.MustCompile(`msg="erp http listening" component=erp addr=(\S+)`).FindStringSubmatch(p.logText())
	if m == nil {
		t.Fatalf("no http address in the log:\n%s", p.logText())
	}
	for path, want := range map[string]string{
		"/metrics": fmt.Sprintf(`depotd_erp_applied_seq{depot=%q} 1`, depot),
		"/healthz": `"ok":true`,
	} {
		resp, err := http.Get("http://" + m[1] + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, want 200 with %s:\n%s", path, resp.StatusCode, want, body)
		}
	}
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("depotd erp did not stop within 20s of SIGTERM:\n%s", p.logText())
	}
	if p.err != nil {
		t.Fatalf("depotd erp after SIGTERM: %v\n%s", p.err, p.logText())
	}
	log := p.logText()
	for _, want := range []string{`msg="erp odoo reachable"`, `msg="erp mqtt online: subscribed"`, `msg="erp applied" component=erp depot=` + depot + ` seq=1`, `msg="erp consumer stopped"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
}

// startERPProc runs depotd with args and waits until its log says it subscribed.
func startERPProc(t *testing.T, bin string, args ...string) *daemonProc {
	t.Helper()
	return startProcRE(t, bin, nil, regexp.MustCompile(`(msg="erp mqtt online: subscribed")`), args...)
}

// odooApplied reads a depot's applied seq in Odoo.
func odooApplied(t *testing.T, c *odoo.Client, depot string) uint64 {
	t.Helper()
	var rows []struct {
		Value string `json:"value"`
	}
	if err := c.Call(context.Background(), "ir.config_parameter", "search_read", map[string]any{
		"domain": []any{[]any{"key", "=", odoo.AppliedSeqParam(depot)}}, "fields": []string{"value"}}, &rows); err != nil || len(rows) != 1 {
		t.Fatalf("applied seq of %s: %v %v", depot, rows, err)
	}
	var n uint64
	fmt.Sscan(rows[0].Value, &n)
	return n
}

// The connector process is SIGKILLed in the middle of a drain, three times: a real depot
// (journal and uplink) behind a real broker, the real binary, the real Odoo. After the
// last restart every receipt is in Odoo exactly once and the depot's backlog is 0.
func TestERPKilledMidDrainSeveralTimesPostsEveryReceiptOnce(t *testing.T) {
	const n = 30
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
			Lines: []edge.Line{{Item: sku, Qty: edge.MustQty("2"), UoM: "Units", To: wh + "/Stock"}}}); err != nil {
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

	bin := depotdBinary(t)
	path := erpRunConfig(t, broker, env.URL, env.DB, env.APIKey, depot, wh)
	// Batches of 2: batched, and still slow enough to be killed three times mid-drain.
	withBatch(t, path, 2)
	for kill := 1; kill <= 3; kill++ {
		before := odooApplied(t, c, depot)
		p := startERPProc(t, bin, "erp", "--config", path)
		waitUntil(t, 2*time.Minute, "progress before the kill", func() bool { return odooApplied(t, c, depot) >= before+3 })
		p.kill(t)
		_, acked := j.Positions()
		t.Logf("SIGKILL %d: Odoo applied %d, depot acked %d", kill, odooApplied(t, c, depot), acked)
	}
	p := startERPProc(t, bin, "erp", "--config", path)
	start := time.Now()
	waitUntil(t, 3*time.Minute, "the depot's backlog back to 0", func() bool { last, a := j.Positions(); return last == n && a == n })
	t.Logf("after 3 SIGKILLs the last run drained the rest in %v", time.Since(start).Round(time.Millisecond))
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done

	var keys, moves json.Number
	if err := c.Call(t.Context(), "ir.model.data", "search_count", map[string]any{"domain": []any{
		[]any{"module", "=", odoo.Module}, []any{"name", "=like", "tx_" + odoo.Slug(depot) + "_%"}}}, &keys); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(t.Context(), "stock.move", "search_count", map[string]any{"domain": []any{[]any{"product_id", "=", ids[0]}}}, &moves); err != nil {
		t.Fatal(err)
	}
	var quants []struct {
		Quantity decimal.Decimal `json:"quantity"`
	}
	if err := c.Call(t.Context(), "stock.quant", "search_read", map[string]any{"domain": []any{
		[]any{"product_id", "=", ids[0]}, []any{"location_id.complete_name", "=", wh + "/Stock"}}, "fields": []string{"quantity"}}, &quants); err != nil {
		t.Fatal(err)
	}
	var onHand decimal.Decimal
	for _, q := range quants {
		onHand = onHand.Add(q.Quantity)
	}
	if keys.String() != fmt.Sprint(n) || moves.String() != fmt.Sprint(n) || !onHand.Equal(decimal.NewFromInt(2*n)) || odooApplied(t, c, depot) != n {
		t.Fatalf("Odoo holds %s keys, %s moves, %s on hand, applied %d; want %d, %d, %d, %d", keys, moves, onHand, odooApplied(t, c, depot), n, n, 2*n, n)
	}
}
