package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/depotd/depotd/edge/console"
	firmwareconfig "github.com/depotd/depotd/firmware-config"
	"github.com/depotd/depotd/uplink/fleetweb"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// fleetLoginToken GETs url, which must end at the fleet page's login form, and returns the
// form's CSRF token.
func fleetLoginToken(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.Path != "/login" {
		t.Fatalf("GET %s without a login ended at %s", url, resp.Request.URL.Path)
	}
	tok := regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`).FindSubmatch(page)
	if tok == nil {
		t.Fatalf("no CSRF token in the login page:\n%s", page)
	}
	return string(tok[1])
}

// fleetLogin logs user in to the fleet page at base with the login form's CSRF token and
// returns a client holding the session.
func fleetLogin(t *testing.T, base, user, pass string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.PostForm(base+"/login", url.Values{"_csrf": {fleetLoginToken(t, c, base+"/")}, "who": {user}, "secret": {pass}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/" {
		t.Fatalf("login ended at %s (%d)", resp.Request.URL.Path, resp.StatusCode)
	}
	return c
}

// `depotd erp` with a fleet section serves the fleet page: a login, then every depot on
// its broker (the one it serves and one it does not) in the table and in the live stream.
func TestERPServesTheFleetPageOfEveryDepotOnItsBroker(t *testing.T) {
	env := odootest.Need(t)
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		goleak.VerifyNone(t, ignore, goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"))
	})
	c := env.Client(t)
	wh := odootest.NewWarehouse(t, c)
	served, other := odootest.Unique("D"), odootest.Unique("D")
	if _, err := odoo.Setup(t.Context(), c, []odoo.Depot{{ID: served, Warehouse: wh}}); err != nil {
		t.Fatal(err)
	}
	broker := startBroker(t)
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(odootest.Unique("depots")))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(50)
	now := time.Now().UTC().Format(time.RFC3339)
	pub.Publish("depots/"+served+"/status", 1, true, `{"v":1,"depot":"`+served+`","online":true,"session":2,"backlog":0,"at":"`+now+`"}`).WaitTimeout(5 * time.Second)
	pub.Publish("depots/"+other+"/status", 1, true, `{"v":1,"depot":"`+other+`","online":true,"session":3,"backlog":9,"open_rejections":2,"at":"`+now+`"}`).WaitTimeout(5 * time.Second)

	hash, err := console.HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	path := erpRunConfig(t, broker, env.URL, env.DB, env.APIKey, served, wh)
	b, _ := os.ReadFile(path)
	b = append(b, fmt.Sprintf("fleet:\n  listen: \"127.0.0.1:0\"\n  users: [{name: ops, password_hash: %q, role: viewer}]\n", hash)...)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- run(ctx, []string{"erp", "--config", path}, nil, &stdout, &stderr) }()
	defer func() {
		cancel()
		if c := <-code; c != 0 {
			t.Errorf("exit %d, stderr %s", c, stderr.String())
		}
	}()
	addr := regexp.MustCompile(`msg="erp fleet page listening" component=fleetweb addr=(\S+)`)
	waitUntil(t, 60*time.Second, "the page's address in the log", func() bool { return addr.MatchString(stderr.String()) })
	base := "http://" + addr.FindStringSubmatch(stderr.String())[1]
	hc := fleetLogin(t, base, "ops", "s3cret")

	var v fleetweb.View
	waitUntil(t, 30*time.Second, "both depots on the page", func() bool {
		resp, err := hc.Get(base + "/fleet.json")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&v) == nil && len(v.Rows) == 2
	})
	if r := v.Rows[0]; r.Depot != other || !r.Online || *r.Backlog != 9 || r.Tier != "attention" {
		t.Fatalf("worst row %+v, want %s first", r, other)
	}
	// The live table: the first server-sent event carries both depots.
	resp, err := hc.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var live fleetweb.View
		if err := json.Unmarshal([]byte(data), &live); err != nil {
			t.Fatal(err)
		}
		if len(live.Rows) != 2 || live.Rows[1].Depot != served || live.Totals.Online != 2 {
			t.Fatalf("live view %+v", live)
		}
		return
	}
	t.Fatalf("no event from /events: %v", sc.Err())
}

// A fleet section is checked like fleet.yaml, its keys under fleet., and the page needs a
// topic prefix it can put a wildcard into.
func TestERPConfigChecksTheFleetSection(t *testing.T) {
	_, err := parseERPConfig(strings.NewReader(`
mqtt: {brokers: ["tcp://127.0.0.1:1883"], topic_prefix: "x/{depot_id}/y/"}
odoo: {url: "http://127.0.0.1:8069", database: depot, api_key_file: "` + writeKey(t, "k") + `"}
depots: [{id: D1, warehouse: WH}]
fleet:
  listen: nowhere
  users: [{name: ops, password_hash: plain, role: boss}]
`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"fleet.listen:", "fleet.users[0].password_hash:", "fleet.users[0].role:", "fleet: needs mqtt.topic_prefix"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %s", err, w)
		}
	}
	_, err = parseERPConfig(strings.NewReader(`
mqtt: {brokers: ["tcp://127.0.0.1:1883"]}
odoo: {url: "http://127.0.0.1:8069", database: depot, api_key_file: "` + writeKey(t, "k") + `"}
depots: [{id: D1, warehouse: WH}]
fleet: {listen: "127.0.0.1:1", port: 9, users: [{name: ops, password_hash: "$2a$10$x", role: viewer}]}
`))
	if err == nil || !strings.Contains(err.Error(), "port") {
		t.Errorf("unknown key in fleet: %v", err)
	}
	cfg, err := parseERPConfig(strings.NewReader(`
mqtt: {brokers: ["tcp://127.0.0.1:1883"]}
odoo: {url: "http://127.0.0.1:8069", database: depot, api_key_file: "` + writeKey(t, "k") + `"}
depots: [{id: D1, warehouse: WH}]
fleet: {users: [{name: ops, password_hash: "$2a$10$x", role: viewer}]}
`))
	if err != nil || cfg.Fleet.Listen != fleetweb.DefaultListen || cfg.Fleet.SessionTTL != 12*time.Hour {
		t.Fatalf("defaults: %+v %v", cfg.Fleet, err)
	}
}

// ownership.lease must outlast two renewals; the defaults are 10s and 3× renew, as the
// shipped file says.
func TestERPConfigOwnershipLeaseMustOutlastTwoRenewals(t *testing.T) {
	base := `
mqtt: {brokers: ["tcp://127.0.0.1:1883"]}
odoo: {url: "http://127.0.0.1:8069", database: depot, api_key_file: "` + writeKey(t, "k") + `"}
depots: [{id: D1, warehouse: WH}]
`
	for in, want := range map[string]string{
		"ownership: {renew: 10s, lease: 20s}": "ownership.lease: lease 20s must be more than twice the renewal interval 10s",
		"ownership: {renew: 10ms}":            "ownership.renew: 10ms: must be between 100ms and 10m",
		"ownership: {renew: 1s, lease: 2h}":   "ownership.lease: lease 2h0m0s is more than 1h0m0s",
		"ownership: {renew: 1s, leases: 5s}":  "leases",
	} {
		if _, err := parseERPConfig(strings.NewReader(base + in + "\n")); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
	for in, want := range map[string][2]time.Duration{
		"":                        {10 * time.Second, 30 * time.Second},
		"ownership: {renew: 2s}":  {2 * time.Second, 6 * time.Second},
		"ownership: {lease: 21s}": {10 * time.Second, 21 * time.Second},
	} {
		cfg, err := parseERPConfig(strings.NewReader(base + in + "\n"))
		if err != nil || cfg.Ownership.Renew != want[0] || cfg.Ownership.Lease != want[1] {
			t.Errorf("%q: %+v %v, want %v", in, cfg.Ownership, err, want)
		}
	}
	for _, line := range []string{"  renew: 10s", "  lease: 30s"} {
		if !strings.Contains(string(firmwareconfig.ERPConfig), "\n"+line+"\n") {
			t.Errorf("firmware-config/erp.yaml does not show the default %q", line)
		}
	}
}
