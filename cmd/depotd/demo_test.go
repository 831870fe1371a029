package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoRunsTheWholeLoop runs `depotd demo` as a newcomer would and waits until a
// simulated operator's scans have become transactions that the simulated ERP acknowledged
// over the embedded broker.
func TestDemoRunsTheWholeLoop(t *testing.T) {
	bin := depotdBinary(t)
	p := startProc(t, bin, "demo", "--listen", "127.0.0.1:0", "--broker-listen", "127.0.0.1:0", "--scan-every", "1s")
	deadline := time.Now().Add(60 * time.Second)
	var st struct {
		LastSeq  uint64 `json:"last_seq"`
		AckedSeq uint64 `json:"acked_seq"`
		Uplink   struct {
			Online bool `json:"online"`
		} `json:"uplink"`
	}
	for {
		req, _ := http.NewRequest("GET", "http://"+p.addr+"/api/v1/status", nil)
		req.Header.Set("Authorization", "Bearer demo-operator-token-0001")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		if err == nil && st.Uplink.Online && st.AckedSeq >= 1 && st.LastSeq >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no acknowledged station transaction after 60s: status %+v (err %v)\n%s", st, err, p.logText())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The simulated ERP's open documents reach the depot: the receipt due yesterday is on
	// the Today page.
	for {
		var today struct {
			Rows []struct {
				Kind string `json:"kind"`
				Ref  string `json:"ref"`
			} `json:"rows"`
		}
		req, _ := http.NewRequest("GET", "http://"+p.addr+"/api/v1/today", nil)
		req.Header.Set("Authorization", "Bearer demo-operator-token-0001")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&today)
			resp.Body.Close()
		}
		found := false
		for _, r := range today.Rows {
			found = found || r.Kind == "overdue_receipt" && r.Ref == "WH/IN/00012"
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo's overdue receipt WH/IN/00012 is not on the Today page: %+v (err %v)\n%s", today, err, p.logText())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// #19: depotd demo --outage starts with the depot's link cut: the stations go on
// committing while nothing is acknowledged; the dashboard's restore button brings the
// link back and the backlog drains to zero. The product's main promise, on demand.
func TestDemoOutageBuildsABacklogThatDrainsWhenRestored(t *testing.T) {
	bin := depotdBinary(t)
	p := startProc(t, bin, "demo", "--listen", "127.0.0.1:0", "--broker-listen", "127.0.0.1:0", "--scan-every", "1s", "--outage")
	base := "http://" + p.addr
	type status struct {
		LastSeq  uint64 `json:"last_seq"`
		AckedSeq uint64 `json:"acked_seq"`
		Uplink   struct {
			Online bool `json:"online"`
		} `json:"uplink"`
	}
	get := func() status {
		var st status
		req, _ := http.NewRequest("GET", base+"/api/v1/status", nil)
		req.Header.Set("Authorization", "Bearer demo-operator-token-0001")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		return st
	}
	waitFor := func(what string, d time.Duration, ok func(status) bool) status {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			st := get()
			if ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: status %+v\n%s", what, st, p.logText())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	st := waitFor("a backlog while the link is cut", 60*time.Second, func(s status) bool { return s.LastSeq >= 2 })
	if st.AckedSeq != 0 || st.Uplink.Online {
		t.Fatalf("link cut, yet %+v", st)
	}

	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := func(path string) string {
		resp, err := web.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(raw)
		if m == nil {
			t.Fatalf("no CSRF token on %s:\n%s", path, raw)
		}
		return string(m[1])
	}
	post := func(path string, form url.Values) int {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Referer", base+path)
		resp, err := web.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/login", url.Values{"_csrf": {csrf("/login")}, "mode": {"password"}, "who": {"demo"}, "secret": {"demo"}}); code != http.StatusSeeOther {
		t.Fatalf("login: %d", code)
	}
	if code := post("/demo/uplink", url.Values{"_csrf": {csrf("/")}, "down": {"0"}}); code != http.StatusSeeOther {
		t.Fatalf("restore the link: %d", code)
	}
	// The uplink reconnects after its backoff (at most 30 s) and drains what was kept.
	waitFor("the backlog drained after the link came back", 90*time.Second, func(s status) bool {
		return s.Uplink.Online && s.AckedSeq >= st.LastSeq
	})
}
