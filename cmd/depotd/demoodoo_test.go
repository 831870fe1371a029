package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// `depotd demo --odoo DIR/odoo.env`: the demo prepares the real Odoo by itself (the
// warehouse it is told, its locations and the demo's items as products, then erp setup),
// the simulated operator's receipts drain through the embedded broker and the real
// connector into that warehouse, the console's dashboard shows them acknowledged, and a
// supervisor's "ask the ERP for a stock snapshot" brings Odoo's stock as of them.
func TestDemoWithOdooDrainsIntoTheRealOdooShowsTheAcksAndGetsASnapshotWhenASupervisorAsks(t *testing.T) {
	env := odootest.Need(t)
	c := env.Client(t)
	wh := odootest.NewWarehouse(t, c)
	bin := depotdBinary(t)
	dir := t.TempDir()
	p := startProc(t, bin, "demo", "--listen", "127.0.0.1:0", "--broker-listen", "127.0.0.1:0", "--scan-every", "1s",
		"--data-dir", dir, "--odoo", env.Path, "--odoo-warehouse", wh)
	base := "http://" + p.addr
	var st struct {
		LastSeq  uint64 `json:"last_seq"`
		AckedSeq uint64 `json:"acked_seq"`
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		req, _ := http.NewRequest("GET", base+"/api/v1/status", nil)
		req.Header.Set("Authorization", "Bearer demo-operator-token-0001")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		if st.AckedSeq >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no two receipts acknowledged by Odoo within 3m: status %+v\n%s", st, p.logText())
		}
		time.Sleep(200 * time.Millisecond)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "odoo-depot-id"))
	if err != nil {
		t.Fatal(err)
	}
	depot := strings.TrimSpace(string(raw))
	ctx := context.Background()
	var keys []int
	if err := c.Call(ctx, "ir.model.data", "search", map[string]any{"domain": []any{
		[]any{"module", "=", odoo.Module}, []any{"name", "=like", "tx_" + odoo.Slug(depot) + "_%"}}}, &keys); err != nil {
		t.Fatal(err)
	}
	if uint64(len(keys)) < st.AckedSeq {
		t.Fatalf("depot %s acked %d, Odoo holds %d keys", depot, st.AckedSeq, len(keys))
	}
	// Each session receives 14 WATER-6 (two units and a case of 12) into WH/Input, which
	// the demo maps to <warehouse>/Input: posted, not rejected.
	var quants []struct {
		Qty decimal.Decimal `json:"quantity"`
	}
	if err := c.Call(ctx, "stock.quant", "search_read", map[string]any{"domain": []any{
		[]any{"product_id.default_code", "=", "WATER-6"}, []any{"location_id.complete_name", "=", wh + "/Input"}}, "fields": []string{"quantity"}}, &quants); err != nil {
		t.Fatal(err)
	}
	var water decimal.Decimal
	for _, q := range quants {
		water = water.Add(q.Qty)
	}
	if water.LessThan(decimal.NewFromInt(14)) || !water.Mod(decimal.NewFromInt(14)).IsZero() {
		t.Fatalf("Odoo holds %s WATER-6 in %s/Input; want a multiple of 14 (14 a session)\n%s", water, wh, p.logText())
	}
	// The dashboard, as a supervisor sees it, says what the ERP acknowledged.
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := func(path string) string {
		resp, err := web.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(page("/login"))
	if m == nil {
		t.Fatal("no CSRF token on /login")
	}
	form := url.Values{"_csrf": {m[1]}, "mode": {"password"}, "who": {"demo"}, "secret": {"demo"}}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", base+"/login")
	if resp, err := web.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %v %v", resp, err)
	}
	acked := regexp.MustCompile(`ERP acked up to (\d+)`).FindStringSubmatch(page("/"))
	if acked == nil || acked[1] == "0" {
		t.Fatalf("the dashboard shows no acks from Odoo: %v", acked)
	}
	t.Logf("depot %s into Odoo warehouse %s: status %+v, %d keys, %s WATER-6, dashboard: ERP acked up to %s", depot, wh, st, len(keys), water, acked[1])

	// The supervisor asks Odoo for a stock snapshot: without the button none would come
	// before 100 more seqs or 15 minutes (the connector's defaults); with it, one as of
	// the transactions Odoo has applied by then.
	snapRE := regexp.MustCompile(`includes transactions up to #(\d+)`)
	stock := page("/stock")
	if m := snapRE.FindStringSubmatch(stock); m != nil && m[1] != "0" {
		t.Fatalf("a snapshot beyond seq 0 before the supervisor asked: %s", m[0])
	}
	m = regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(stock)
	if m == nil || !strings.Contains(stock, `id="ask-snapshot"`) {
		t.Fatalf("no ask button on the stock page:\n%s", stock)
	}
	req, _ = http.NewRequest("POST", base+"/stock/snapshot", strings.NewReader(url.Values{"_csrf": {m[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", base+"/stock")
	if resp, err := web.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ask for a snapshot: %v %v", resp, err)
	}
	deadline = time.Now().Add(time.Minute)
	for {
		m := snapRE.FindStringSubmatch(page("/stock"))
		if m != nil && m[1] != "0" {
			t.Logf("after the supervisor asked, the stock page says: %s", m[0])
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot from Odoo within 1m of asking: %v\n%s", m, p.logText())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readOdooEnv takes any file without panicking; what it accepts has all three values, and
// writing them back as KEY=value lines reads the same.
func FuzzReadOdooEnv(f *testing.F) {
	f.Add("ODOO_URL=http://127.0.0.1:8069\nODOO_DB=depot\nODOO_API_KEY=abc\nODOO_PID=42\n")
	f.Add("ODOO_URL='http://h:1'\nODOO_DB=\"d\"\n  ODOO_API_KEY = k\n# comment\n")
	f.Add("ODOO_URL=\nODOO_DB=d\nODOO_API_KEY=k\n")
	f.Add("no equals sign\n\x00\xff")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(dir, "odoo.env")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		e, err := readOdooEnv(path)
		if err != nil {
			return
		}
		if e.url == "" || e.db == "" || e.apiKey == "" {
			t.Fatalf("accepted %q with a value missing: %+v", text, e)
		}
		again := "ODOO_URL=" + e.url + "\nODOO_DB=" + e.db + "\nODOO_API_KEY=" + e.apiKey + "\n"
		if err := os.WriteFile(path, []byte(again), 0o600); err != nil {
			t.Fatal(err)
		}
		if e2, err := readOdooEnv(path); err != nil || e2 != e {
			t.Fatalf("%q read %+v, written back and read again %+v (%v)", text, e, e2, err)
		}
	})
}
