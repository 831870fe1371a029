package fleetweb_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink/internal/brokertest"
)

var csrfField = regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`)

func loginForm(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	m := csrfField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the login page:\n%s", page)
	}
	return string(m[1])
}

// A login needs the form's CSRF token, the right password, and stops being tried after 5
// failures a minute; the session cookie is HttpOnly and SameSite=Strict; logout ends it.
func TestLoginNeedsTheFormTokenAndThePasswordAndIsRateLimited(t *testing.T) {
	p := startPage(t, brokertest.StartMochi(t).URL())
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: noRedirect.CheckRedirect}
	post := func(tok, pass string) *http.Response {
		t.Helper()
		resp, err := c.PostForm(p.url+"/login", url.Values{"_csrf": {tok}, "who": {viewerName}, "secret": {pass}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	tok := loginForm(t, c, p.url)
	if r := post("", viewerPass); r.StatusCode != http.StatusForbidden {
		t.Fatalf("login without the form's token: %d, want 403", r.StatusCode)
	}
	for i := range 5 {
		tok = loginForm(t, c, p.url)
		if r := post(tok, "wrong"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d, want 401", i+1, r.StatusCode)
		}
	}
	tok = loginForm(t, c, p.url)
	if r := post(tok, viewerPass); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("6th try within a minute: %d, want 429 even with the right password", r.StatusCode)
	}

	// A fresh client (another address would do the same; the limiter is per address).
	p2 := startPage(t, brokertest.StartMochi(t).URL())
	jar2, _ := cookiejar.New(nil)
	c2 := &http.Client{Jar: jar2, Timeout: 10 * time.Second, CheckRedirect: noRedirect.CheckRedirect}
	tok = loginForm(t, c2, p2.url)
	resp, err := c2.PostForm(p2.url+"/login", url.Values{"_csrf": {tok}, "who": {viewerName}, "secret": {viewerPass}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie string
	for _, v := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "depotd_fleet_session=") {
			cookie = strings.ToLower(v)
		}
	}
	if !strings.Contains(cookie, "httponly") || !strings.Contains(cookie, "samesite=strict") {
		t.Fatalf("session cookie %q: want HttpOnly and SameSite=Strict", cookie)
	}
	get := func(path string) int {
		resp, err := c2.Get(p2.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/fleet.json"); code != http.StatusOK {
		t.Fatalf("fleet.json logged in: %d", code)
	}
	u, _ := url.Parse(p2.url)
	old := jar2.Cookies(u)
	resp, err = c2.Post(p2.url+"/logout", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The old cookie, kept by a client that ignores the clearing: the server forgot it.
	req, _ := http.NewRequest(http.MethodGet, p2.url+"/fleet.json", nil)
	for _, c := range old {
		req.AddCookie(c)
	}
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("fleet.json with the session cookie after logout: %d, want 401", resp.StatusCode)
	}
}
