package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// erpRunConfig writes an erp.yaml for odooURL serving depot on broker.
func erpRunConfig(t *testing.T, broker, odooURL, db, key, depot, warehouse string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "erp.yaml")
	cfg := fmt.Sprintf(`mqtt: {brokers: [%q], client_id: %q}
odoo: {url: %q, database: %q, api_key_file: %q, retry_max: 1s}
depots: [{id: %q, warehouse: %q}]
`, broker, odootest.Unique("erp"), odooURL, db, writeKey(t, key), depot, warehouse)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
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

// The real binary: a receipt published on the depot's tx topic lands in Odoo and is
// acknowledged; SIGTERM stops the service with exit 0.
func TestERPRunPostsAReceiptAcksItAndStopsCleanlyOnSIGTERM(t *testing.T) {
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
	p := startERPProc(t, depotdBinary(t), "erp", "--config", path)

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
