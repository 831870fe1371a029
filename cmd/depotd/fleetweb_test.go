package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/depotd/depotd/edge/console"
	firmwareconfig "github.com/depotd/depotd/firmware-config"
	"github.com/depotd/depotd/uplink/fleetweb"
)

// The shipped fleet.yaml is valid once its placeholder hash is replaced, and refused
// with the key at fault until then: no default password ships.
func TestShippedFleetConfigIsValidOnceItsUserHasAHash(t *testing.T) {
	_, err := parseFleetConfig(strings.NewReader(string(firmwareconfig.FleetConfig)))
	if err == nil || !strings.Contains(err.Error(), "users[0].password_hash") {
		t.Fatalf("shipped fleet.yaml as is: %v, want the placeholder hash refused", err)
	}
	hash, err := console.HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseFleetConfig(strings.NewReader(strings.Replace(string(firmwareconfig.FleetConfig), "REPLACE-ME", hash, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != fleetweb.DefaultListen || cfg.StatusInterval != time.Minute || cfg.SessionTTL != 12*time.Hour || len(cfg.Users) != 1 || cfg.Users[0].Role != "viewer" {
		t.Fatalf("config %+v", cfg)
	}
}

func TestFleetConfigReportsEveryProblemWithItsKey(t *testing.T) {
	_, err := parseFleetConfig(strings.NewReader(`
listen: "nowhere"
session_ttl: -1s
users:
  - name: ops
    password_hash: "plain text"
    role: boss
  - name: ops
    password_hash: "$2a$10$abcdefghijklmnopqrstuv"
    role: viewer
`))
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"listen:", "session_ttl:", "users[0].password_hash:", "users[0].role:", "users[1].name: duplicate"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %s", err, w)
		}
	}
	if _, err := parseFleetConfig(strings.NewReader("listen: x:1\nport: 9\n")); err == nil || !strings.Contains(err.Error(), "port") {
		t.Errorf("unknown key: %v", err)
	}
}

func FuzzParseFleetConfig(f *testing.F) {
	f.Add(string(firmwareconfig.FleetConfig))
	f.Add("listen: 127.0.0.1:1\nusers: [{name: a, password_hash: $2a$x, role: viewer}]\n")
	f.Add("users: 7\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		cfg, err := parseFleetConfig(strings.NewReader(in))
		if err == nil && (len(cfg.Users) == 0 || cfg.Listen == "") {
			t.Fatalf("accepted a config without users or listen: %+v", cfg)
		}
	})
}

// `depotd fleet --config --listen` serves the page: a login with a `depotd user
// hash-password` hash, then the fleet with a depot's retained status.
func TestFleetListenServesThePageBehindALogin(t *testing.T) {
	// fasthttp (under fiber) keeps a process-wide date updater, and its worker pool's
	// cleaner notices Stop only after its sleep: neither belongs to a running server.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		goleak.VerifyNone(t, ignore, goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"))
	})
	broker := startBroker(t)
	pub := erpSide(t, broker)
	pub.Publish("depots/D7/status", 1, true, `{"v":1,"depot":"D7","online":true,"session":3,"backlog":9,"open_rejections":2,"at":"`+
		time.Now().UTC().Format(time.RFC3339)+`"}`).WaitTimeout(5 * time.Second)
	hash, err := console.HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(path, []byte("users:\n  - name: ops\n    password_hash: \""+hash+"\"\n    role: viewer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- fleetCmd(ctx, []string{"--broker", broker, "--config", path, "--listen", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	addr := regexp.MustCompile(`web page on (http://[0-9.:]+)/`)
	waitUntil(t, 10*time.Second, "the page's address on stderr", func() bool { return addr.MatchString(stderr.String()) })
	base := addr.FindStringSubmatch(stderr.String())[1]

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	tok := fleetLoginToken(t, c, base+"/")
	for _, tc := range []struct {
		pass string
		path string
	}{{"wrong", "/login"}, {"s3cret", "/"}} {
		if tc.pass == "s3cret" {
			tok = fleetLoginToken(t, c, base+"/login") // a fresh token: a failed login spends it
		}
		resp, err := c.PostForm(base+"/login", url.Values{"_csrf": {tok}, "who": {"ops"}, "secret": {tc.pass}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Request.URL.Path != tc.path {
			t.Fatalf("login with %q ended at %s (%d), want %s", tc.pass, resp.Request.URL.Path, resp.StatusCode, tc.path)
		}
	}
	var v fleetweb.View
	waitUntil(t, 10*time.Second, "D7 on the page", func() bool {
		resp, err := c.Get(base + "/fleet.json")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&v) == nil && len(v.Rows) == 1
	})
	if r := v.Rows[0]; r.Depot != "D7" || !r.Online || *r.Backlog != 9 || *r.OpenRejections != 2 || r.Tier != "attention" {
		t.Fatalf("row %+v", r)
	}
	if strings.Contains(stdout.String(), "D7") {
		t.Errorf("the page's service printed table lines: %q", stdout.String())
	}
	cancel()
	if c := <-code; c != 0 {
		t.Fatalf("exit %d, stderr %s", c, stderr.String())
	}
}

// A depot that stops without a Will (it died with its NATS node) is shown stale in the
// line output once 3× its status interval passed, though no message said so.
func TestFleetLinesSayWhenADepotGoesStale(t *testing.T) {
	leakCheck(t)
	broker := startBroker(t)
	pub := erpSide(t, broker)
	pub.Publish("depots/D8/status", 1, false, `{"v":1,"depot":"D8","online":true,"session":1,"backlog":0,"status_interval_s":0.5,"at":"2026-12-03T10:00:00Z"}`)
	var stdout, stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- fleetCmd(ctx, []string{"--broker", broker}, &stdout, &stderr) }()
	waitUntil(t, 10*time.Second, "subscribed", func() bool { return strings.Contains(stderr.String(), "connected to") })
	// Not retained: it counts from its delivery.
	pub.Publish("depots/D8/status", 1, false, `{"v":1,"depot":"D8","online":true,"session":1,"backlog":0,"status_interval_s":0.5,"at":"2026-12-03T10:00:00Z"}`).WaitTimeout(5 * time.Second)
	waitUntil(t, 10*time.Second, "D8 online line", func() bool { return regexp.MustCompile(`D8 +yes`).MatchString(stdout.String()) })
	waitUntil(t, 10*time.Second, "D8 stale line", func() bool { return regexp.MustCompile(`D8 +stale`).MatchString(stdout.String()) })
	cancel()
	<-code
}
