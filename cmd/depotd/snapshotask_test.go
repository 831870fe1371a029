package main

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// A supervisor's "Ask the ERP for a stock snapshot now" on the console's stock page
// publishes the depot's snapshot request (P request, as at start) on the real broker, once
// per click; without a login, or as an operator (who is not shown the button), the form
// is refused and publishes nothing.
func TestTheStockPagesAskButtonPublishesASnapshotRequestOnTheBroker(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	brokerAddr := l.Addr().String()
	l.Close()
	bin := depotdBinary(t)
	p := startProc(t, bin, "demo", "--listen", "127.0.0.1:0", "--broker-listen", brokerAddr, "--scan-every", "0")
	base := "http://" + p.addr

	var requests atomic.Int32
	mc := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + brokerAddr).SetClientID("snapshot-ask-test"))
	if tok := mc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect to the demo's broker: %v", tok.Error())
	}
	defer mc.Disconnect(100)
	if tok := mc.Subscribe("depots/DEMO/request", 1, func(_ mqtt.Client, m mqtt.Message) {
		if strings.Contains(string(m.Payload()), `"request":"snapshot"`) {
			requests.Add(1)
		}
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}

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
	csrfRE := regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	post := func(path, csrf string, form url.Values) *http.Response {
		form.Set("_csrf", csrf)
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Referer", base+path)
		resp, err := web.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	m := csrfRE.FindStringSubmatch(page("/login"))
	if m == nil {
		t.Fatal("no CSRF token on /login")
	}
	if resp := post("/stock/snapshot", m[1], url.Values{}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the form without a login: %d to %q, want 401", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := post("/login", m[1], url.Values{"mode": {"badge"}, "who": {"alice"}, "secret": {"1234"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("operator login: %d", resp.StatusCode)
	}
	stock := page("/stock")
	if strings.Contains(stock, `id="ask-snapshot"`) {
		t.Fatal("an operator is shown the ask button")
	}
	opCSRF := csrfRE.FindStringSubmatch(stock)
	if opCSRF == nil {
		t.Fatal("no CSRF token on the operator's stock page")
	}
	startupRequests := requests.Load()
	if resp := post("/stock/snapshot", opCSRF[1], url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("the form as an operator: %d, want 403", resp.StatusCode)
	}
	jar, _ = cookiejar.New(nil)
	web.Jar = jar
	if m = csrfRE.FindStringSubmatch(page("/login")); m == nil {
		t.Fatal("no CSRF token on /login")
	}
	if resp := post("/login", m[1], url.Values{"mode": {"password"}, "who": {"demo"}, "secret": {"demo"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	// The depot online (its own request at start is sent on connect; wait for the
	// uplink, then count from there).
	deadline := time.Now().Add(time.Minute)
	for {
		stock = page("/stock")
		if strings.Contains(page("/"), "online") && strings.Contains(stock, `id="ask-snapshot"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ask button on the stock page of an online depot:\n%s", stock)
		}
		time.Sleep(200 * time.Millisecond)
	}
	before := requests.Load()
	m = csrfRE.FindStringSubmatch(stock)
	for click := int32(1); click <= 2; click++ {
		resp := post("/stock/snapshot", m[1], url.Values{})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/stock?snapshot=asked" {
			t.Fatalf("ask: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), p.logText())
		}
		deadline := time.Now().Add(30 * time.Second)
		for requests.Load() < before+click {
			if time.Now().After(deadline) {
				t.Fatalf("after %d clicks the broker carried %d requests, want %d", click, requests.Load()-before, click)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !strings.Contains(page("/stock?snapshot=asked"), "Asked the ERP for a stock snapshot") {
		t.Fatal("the stock page does not say the ERP was asked")
	}
	// The depot's own request at start may have come before or after the operator's
	// refused attempt; none other than it and the two clicks reached the broker.
	if n := requests.Load(); n > startupRequests+2+1 || n < before+2 {
		t.Fatalf("%d requests on the broker: the refused forms published too", n)
	}
}
