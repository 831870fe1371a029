package console_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/devices/barcode"
	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
	"golang.org/x/crypto/bcrypt"
)

// Test users; bcrypt at its minimum cost keeps the suite fast (the cost is in the hash, so
// the server verifies exactly as it would a production hash).
var testUsers = []struct{ name, password, badge, pin string }{
	{"olivia", "op-pass-1", "B-100", "1234"},
	{"sam", "sup-pass-1", "", ""},
	{"ada", "admin-pass-1", "", ""},
}

func hash(t testing.TB, s string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(s), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

type webEnv struct {
	url  string
	j    *edge.Journal
	srv  *console.Server
	tls  bool
	cfg  console.Config
	opts console.Options
}

func testConfig(t testing.TB) console.Config {
	roles := []console.Role{console.RoleOperator, console.RoleSupervisor, console.RoleAdmin}
	var users []console.User
	for i, u := range testUsers {
		cu := console.User{Name: u.name, PasswordHash: hash(t, u.password), Role: roles[i]}
		if u.badge != "" {
			cu.Badge, cu.PINHash = u.badge, hash(t, u.pin)
		}
		users = append(users, cu)
	}
	return console.Config{APITokens: []console.APIToken{
		{Name: "op", Token: opToken, Role: console.RoleOperator},
		{Name: "sup", Token: supToken, Role: console.RoleSupervisor},
	}, Users: users}
}

func openJournal(t testing.TB) *edge.Journal {
	t.Helper()
	return openJournalAt(t, filepath.Join(t.TempDir(), "depotd.db"))
}

func openJournalAt(t testing.TB, path string) *edge.Journal {
	t.Helper()
	return openJournalWith(t, path, edge.MasterData{})
}

// openJournalWith opens a journal whose config carries master data m.
func openJournalWith(t testing.TB, path string, m edge.MasterData) *edge.Journal {
	t.Helper()
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}, {Name: "Van-1", Type: edge.LocMobile}}, nil,
		map[edge.LocationType]edge.NegativePolicy{edge.LocInternal: edge.NegativeRefuse})
	if err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: cat, Master: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p := j.Check(); len(p) > 0 {
			t.Errorf("check: %v", p)
		}
		j.Close()
	})
	return j
}

// startWeb serves a console on a fresh journal; mod adjusts config and options first.
func startWeb(t testing.TB, mod func(*console.Config, *console.Options)) *webEnv {
	t.Helper()
	return startWebOn(t, openJournal(t), mod)
}

// startWebOn serves a console on j.
func startWebOn(t testing.TB, j *edge.Journal, mod func(*console.Config, *console.Options)) *webEnv {
	t.Helper()
	cfg := testConfig(t)
	opts := console.Options{Version: "test"}
	if mod != nil {
		mod(&cfg, &opts)
	}
	s := console.New(cfg, j, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	scheme := "http"
	if cfg.TLS.Enabled() {
		scheme = "https"
	}
	return &webEnv{url: scheme + "://" + ln.Addr().String(), j: j, srv: s, tls: cfg.TLS.Enabled(), cfg: cfg, opts: opts}
}

// browser is an HTTP client with a cookie jar that does not follow redirects, so that
// tests see them.
type browser struct {
	t    testing.TB
	env  *webEnv
	c    *http.Client
	last string // body of the last page
}

func (e *webEnv) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // the test's own self-signed cert
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{t: t, env: e, c: &http.Client{Jar: jar, Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) *http.Response {
	b.t.Helper()
	resp, err := b.c.Get(b.env.url + path)
	if err != nil {
		b.t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b.last = string(raw)
	return resp
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (b *browser) csrf() string {
	m := csrfRE.FindStringSubmatch(b.last)
	if m == nil {
		b.t.Fatalf("no CSRF token on the page:\n%s", b.last)
	}
	return m[1]
}

// post submits a form with the CSRF token of the page last seen.
func (b *browser) post(path string, form url.Values) *http.Response {
	b.t.Helper()
	form = cloneValues(form)
	if form.Get("_csrf") == "" {
		form.Set("_csrf", b.csrf())
	}
	req, _ := http.NewRequest("POST", b.env.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", b.env.url+path)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b.last = string(raw)
	return resp
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func (b *browser) login(user, pass string) {
	b.t.Helper()
	b.get("/login")
	resp := b.post("/login", url.Values{"mode": {"password"}, "who": {user}, "secret": {pass}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		b.t.Fatalf("login %s: %d %s", user, resp.StatusCode, b.last)
	}
}

func logIn(t testing.TB, e *webEnv, i int) *browser {
	b := e.browser(t)
	b.login(testUsers[i].name, testUsers[i].password)
	return b
}

func TestLoginSessionAndHeaders(t *testing.T) {
	e := startWeb(t, func(c *console.Config, _ *console.Options) { c.LoginAttempts = 100 })
	b := e.browser(t)
	if r := b.get("/"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Fatalf("anonymous dashboard: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r := b.get("/login")
	cspH := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(cspH, want) {
			t.Errorf("CSP %q lacks %q", cspH, want)
		}
	}
	if strings.Contains(cspH, "unsafe-inline") || strings.Contains(cspH, "unsafe-eval") {
		t.Errorf("CSP allows unsafe code: %q", cspH)
	}
	if r.Header.Get("X-Frame-Options") != "DENY" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v", r.Header)
	}
	if strings.Contains(b.last, "<script>") || strings.Contains(b.last, " style=") || strings.Contains(b.last, "onclick") {
		t.Errorf("inline script or style on the login page")
	}
	cases := []struct {
		name, mode, who, secret string
		code                    int
	}{
		{"wrong password", "password", "olivia", "nope", http.StatusUnauthorized},
		{"unknown user", "password", "mallory", "op-pass-1", http.StatusUnauthorized},
		{"empty", "password", "", "", http.StatusUnauthorized},
		{"wrong pin", "badge", "B-100", "0000", http.StatusUnauthorized},
		{"badge as user name", "password", "B-100", "1234", http.StatusUnauthorized},
		{"badge and pin", "badge", "B-100", "1234", http.StatusSeeOther},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := e.browser(t)
			b.get("/login")
			r := b.post("/login", url.Values{"mode": {c.mode}, "who": {c.who}, "secret": {c.secret}})
			if r.StatusCode != c.code {
				t.Fatalf("status %d, want %d", r.StatusCode, c.code)
			}
			if c.code == http.StatusSeeOther {
				var sess *http.Cookie
				for _, ck := range r.Cookies() {
					if ck.Name == "depotd_session" {
						sess = ck
					}
				}
				if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure {
					t.Fatalf("session cookie %+v", sess)
				}
				if r := b.get("/"); r.StatusCode != 200 || !strings.Contains(b.last, "olivia (operator)") {
					t.Fatalf("dashboard after badge login: %d", r.StatusCode)
				}
			} else if !strings.Contains(b.last, "Wrong user name or password") {
				t.Fatalf("no message: %s", b.last)
			}
		})
	}
	// Logging out ends the session on the server, not only in this browser.
	b = logIn(t, e, 0)
	jarCookies := b.c.Jar.Cookies(mustURL(t, e.url))
	b.get("/")
	b.post("/logout", url.Values{})
	b2 := e.browser(t)
	b2.c.Jar.SetCookies(mustURL(t, e.url), jarCookies)
	if r := b2.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("old session cookie still works after logout: %d", r.StatusCode)
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCSRFRequired(t *testing.T) {
	e := startWeb(t, nil)
	b := logIn(t, e, 1)
	b.get("/post")
	form := url.Values{"type": {"receipt"}, "lines[0].item": {"A"}, "lines[0].qty": {"1"}, "lines[0].to": {"WH/Stock"}, "id": {"x1"}}
	for _, tok := range []string{"", "forged-token"} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		if tok != "" {
			f.Set("_csrf", tok)
		} else {
			f.Set("_csrf", "\x00") // present but empty after trimming: treated as missing
		}
		r := b.post("/post", f)
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("csrf %q: status %d", tok, r.StatusCode)
		}
	}
	if last, _ := e.j.Positions(); last != 0 {
		t.Fatalf("a forged form committed %d transactions", last)
	}
	b.get("/post")
	if r := b.post("/post", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("genuine form: %d %s", r.StatusCode, b.last)
	}
}

func TestLoginRateLimited(t *testing.T) {
	e := startWeb(t, func(c *console.Config, _ *console.Options) { c.LoginAttempts = 3 })
	b := e.browser(t)
	b.get("/login")
	tok := b.csrf()
	for i := 0; i < 3; i++ {
		if r := b.post("/login", url.Values{"_csrf": {tok}, "who": {"olivia"}, "secret": {"bad"}}); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, r.StatusCode)
		}
	}
	// Even the right password is refused now: the limit is per client, not per user.
	if r := b.post("/login", url.Values{"_csrf": {tok}, "who": {"olivia"}, "secret": {"op-pass-1"}}); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 3 failures: %d", r.StatusCode)
	}
}

func TestPostFormJournalAndStock(t *testing.T) {
	e := startWeb(t, nil)
	b := logIn(t, e, 0)
	b.get("/post")
	r := b.post("/post", url.Values{"id": {"form-1"}, "type": {"receipt"}, "ref": {"PO0042"},
		"lines[0].item": {"SKU-9"}, "lines[0].qty": {"12"}, "lines[0].lot": {"L7"}, "lines[0].to": {"WH/Stock"},
		"lines[1].item": {"SKU-8"}, "lines[1].qty": {"2"}, "lines[1].to": {"Van-1"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/journal/1?posted=1" {
		t.Fatalf("post: %d %q %s", r.StatusCode, r.Header.Get("Location"), b.last)
	}
	tx, err := e.j.Get(1)
	if err != nil || tx.Operator != "olivia" || tx.Source != "console" || len(tx.Lines) != 2 {
		t.Fatalf("committed %+v %v", tx, err)
	}
	// Re-submitting the same form (same id) commits nothing new.
	b.get("/post")
	b.post("/post", url.Values{"id": {"form-1"}, "type": {"receipt"}, "lines[0].item": {"SKU-9"}, "lines[0].qty": {"12"}, "lines[0].to": {"WH/Stock"}})
	if last, _ := e.j.Positions(); last != 1 {
		t.Fatalf("double submit committed twice: last %d", last)
	}
	b.get("/journal/1?posted=1")
	for _, want := range []string{"Transaction #1 posted", "SKU-9", "PO0042", "pending"} {
		if !strings.Contains(b.last, want) {
			t.Errorf("entry page lacks %q", want)
		}
	}
	b.get("/journal?item=SKU-9")
	if !strings.Contains(b.last, `href="/journal/1"`) {
		t.Errorf("journal filter by item misses #1")
	}
	b.get("/journal?item=SKU-0")
	if strings.Contains(b.last, `href="/journal/1"`) {
		t.Errorf("journal filter by another item shows #1")
	}
	b.get("/stock?item=SKU-9")
	if !strings.Contains(b.last, `<td data-label="Item">SKU-9</td><td data-label="Location">WH/Stock</td><td data-label="Lot">L7</td>`) || !strings.Contains(b.last, "&#43;12 not yet acknowledged") {
		t.Errorf("stock page:\n%s", b.last)
	}
	r = b.get("/stock.csv?location=Van-1")
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("csv content type %q", ct)
	}
	want := "item,location,lot,state,qty,erp_qty,pending_qty\nSKU-8,Van-1,,available,2,0,2\n"
	if b.last != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", b.last, want)
	}
	// Validation messages land on the form, next to the field.
	formCases := []struct {
		name string
		form url.Values
		code int
		want string
	}{
		{"bad qty", url.Values{"type": {"receipt"}, "lines[0].item": {"A"}, "lines[0].qty": {"1,5"}, "lines[0].to": {"WH/Stock"}}, 422, `id="err-line0-qty"`},
		{"no lines", url.Values{"type": {"receipt"}}, 422, `id="err-lines"`},
		{"no location", url.Values{"type": {"receipt"}, "lines[0].item": {"A"}, "lines[0].qty": {"1"}}, 422, `id="err-line0-to"`},
		{"negative refused", url.Values{"type": {"issue"}, "lines[0].item": {"SKU-9"}, "lines[0].qty": {"100"}, "lines[0].lot": {"L7"}, "lines[0].from": {"WH/Stock"}}, 409, "only 12 on hand"},
	}
	for _, c := range formCases {
		t.Run(c.name, func(t *testing.T) {
			b.get("/post")
			c.form.Set("id", "form-"+c.name)
			r := b.post("/post", c.form)
			if r.StatusCode != c.code || !strings.Contains(b.last, c.want) {
				t.Fatalf("status %d (want %d), page lacks %q:\n%s", r.StatusCode, c.code, c.want, b.last)
			}
		})
	}
}

func TestRolesEnforced(t *testing.T) {
	e := startWeb(t, nil)
	op, sup := logIn(t, e, 0), logIn(t, e, 1)
	adj := url.Values{"id": {"adj-1"}, "type": {"adjustment"}, "reason": {"FOUND"}, "lines[0].item": {"SKU-1"}, "lines[0].qty": {"3"}, "lines[0].to": {"Van-1"}}
	op.get("/post")
	if r := op.post("/post", adj); r.StatusCode != http.StatusForbidden || !strings.Contains(op.last, "needs the supervisor role") {
		t.Fatalf("operator adjustment: %d\n%s", r.StatusCode, op.last)
	}
	if last, _ := e.j.Positions(); last != 0 {
		t.Fatal("refused adjustment was committed")
	}
	sup.get("/post")
	if r := sup.post("/post", adj); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("supervisor adjustment: %d %s", r.StatusCode, sup.last)
	}
	// Count discrepancy → exception; operators may see it but not resolve it.
	if _, _, err := e.j.Commit(context.Background(), edge.Transaction{ID: "c1", Type: edge.Count,
		Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("1"), To: "Van-1"}}}); err != nil {
		t.Fatal(err)
	}
	exc, _ := e.j.Exceptions(true, 10)
	if len(exc) != 1 {
		t.Fatalf("exceptions %v", exc)
	}
	id := exc[0].ID
	op.get("/exceptions")
	if strings.Contains(op.last, fmt.Sprintf(`action="/exceptions/%d/resolve"`, id)) {
		t.Error("operator is offered the resolve form")
	}
	if r := op.post(fmt.Sprintf("/exceptions/%d/resolve", id), url.Values{"action": {"voided"}, "reason": {"x"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("operator resolve: %d", r.StatusCode)
	}
	sup.get("/exceptions")
	if r := sup.post(fmt.Sprintf("/exceptions/%d/resolve", id), url.Values{"action": {"voided"}, "reason": {""}}); r.StatusCode != 422 {
		t.Fatalf("resolve without reason: %d", r.StatusCode)
	}
	if r := sup.post(fmt.Sprintf("/exceptions/%d/resolve", id), url.Values{"action": {"acknowledged"}, "reason": {"recounted, 1 is right"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("supervisor resolve: %d %s", r.StatusCode, sup.last)
	}
	got, _ := e.j.Exception(id)
	if got.Resolved == nil || got.Resolved.By != "sam" || got.Resolved.Action != "acknowledged" || got.Resolved.Reason != "recounted, 1 is right" {
		t.Fatalf("resolution %+v", got.Resolved)
	}
	// The API enforces the same rule.
	code, _ := do(t, &server{url: e.url}, "POST", fmt.Sprintf("/api/v1/exceptions/%d/resolve", id), opToken, `{"action":"voided","reason":"x"}`)
	if code != http.StatusForbidden {
		t.Fatalf("API operator resolve: %d", code)
	}
	code, out := do(t, &server{url: e.url}, "POST", fmt.Sprintf("/api/v1/exceptions/%d/resolve", id), supToken, `{"action":"voided","reason":"x"}`)
	if code != http.StatusConflict {
		t.Fatalf("API resolve of a resolved exception: %d %v", code, out)
	}
}

// #19.6: an action's name says what it does: "dismissed" (the old "voided" voided
// nothing, and is still accepted as its alias), and the form says so in words.
func TestExceptionActionsSayWhatTheyDo(t *testing.T) {
	e := startWeb(t, nil)
	sup := logIn(t, e, 1)
	for i, action := range []string{"dismissed", "voided"} {
		if _, _, err := e.j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("c%d", i), Type: edge.Count, Station: "dock-1",
			Lines: []edge.Line{{Item: "SKU-9", Qty: edge.MustQty(fmt.Sprint(3 + i)), To: "WH/Stock"}}}); err != nil {
			t.Fatal(err)
		}
		open, _ := e.j.Exceptions(true, 10)
		if len(open) != 1 {
			t.Fatalf("open exceptions %v", open)
		}
		code, out := do(t, &server{url: e.url}, "POST", fmt.Sprintf("/api/v1/exceptions/%d/resolve", open[0].ID), supToken,
			fmt.Sprintf(`{"action":%q,"reason":"recounted"}`, action))
		got, _ := e.j.Exception(open[0].ID)
		if code != http.StatusOK || got.Resolved == nil || got.Resolved.Action != "dismissed" {
			t.Fatalf("%s: %d %v, resolution %+v: want dismissed", action, code, out, got.Resolved)
		}
	}
	sup.get("/exceptions")
	if strings.Contains(sup.last, `>void<`) {
		t.Fatal("the form still offers \"void\"")
	}
}

func TestRepostResolvesException(t *testing.T) {
	e := startWeb(t, nil)
	sup := logIn(t, e, 1)
	// An issue from a van that drives its stock negative raises an exception.
	if _, _, err := e.j.Commit(context.Background(), edge.Transaction{ID: "i1", Type: edge.Issue,
		Lines: []edge.Line{{Item: "SKU-2", Qty: edge.MustQty("4"), From: "Van-1"}}}); err != nil {
		t.Fatal(err)
	}
	exc, _ := e.j.Exceptions(true, 10)
	if len(exc) != 1 || exc[0].Kind != edge.ExcNegativeStock {
		t.Fatalf("exceptions %v", exc)
	}
	sup.get(fmt.Sprintf("/post?copy=1&exception=%d", exc[0].ID))
	if !strings.Contains(sup.last, `value="SKU-2"`) || !strings.Contains(sup.last, "resolves exception #1") {
		t.Fatalf("re-post form not prefilled:\n%s", sup.last)
	}
	r := sup.post("/post", url.Values{"id": {"fix-1"}, "type": {"receipt"}, "exception": {"1"},
		"lines[0].item": {"SKU-2"}, "lines[0].qty": {"4"}, "lines[0].to": {"Van-1"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("re-post: %d %s", r.StatusCode, sup.last)
	}
	got, _ := e.j.Exception(exc[0].ID)
	if got.Resolved == nil || got.Resolved.Action != "reposted" || got.Resolved.Seq != 2 || got.Resolved.By != "sam" {
		t.Fatalf("resolution %+v", got.Resolved)
	}
}

func TestMetrics(t *testing.T) {
	pub := startWeb(t, nil)
	if resp, err := http.Get(pub.url + "/healthz"); err == nil {
		resp.Body.Close()
	}
	resp, err := http.Get(pub.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("public metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"depotd_backlog 0", "depotd_oldest_pending_seconds", "depotd_journal_commits_total", "depotd_drain_rate", "depotd_http_requests_total"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	f := false
	priv := startWeb(t, func(c *console.Config, _ *console.Options) { c.MetricsPublic = &f })
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct {
		token string
		code  int
	}{{"", 401}, {"not-a-valid-token-at-all", 401}, {opToken, 200}} {
		req, _ := http.NewRequest("GET", priv.url+"/metrics", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("token %q: %d, want %d", c.token, resp.StatusCode, c.code)
		}
	}
}

// staticStations is a StationSource holding fixed views; Update changes one and tells
// subscribers, as the station manager does.
type staticStations struct {
	mu   sync.Mutex
	list []console.StationView
	subs []chan console.StationView
}

func (s *staticStations) Stations() []console.StationView {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]console.StationView(nil), s.list...)
}

func (s *staticStations) Subscribe(ctx context.Context) <-chan console.StationView {
	ch := make(chan console.StationView, 1)
	s.mu.Lock()
	s.subs = append(s.subs, ch)
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, c := range s.subs {
			if c == ch {
				s.subs = append(s.subs[:i], s.subs[i+1:]...)
				close(ch)
				return
			}
		}
	}()
	return ch
}

// ScanCounts makes it a console.ScanCounter, as the station manager is.
func (s *staticStations) ScanCounts() map[string]uint64 {
	return map[string]uint64{"accepted": 41, "prompt": 9, "refused": 2}
}

func (s *staticStations) Update(v console.StationView) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.list {
		if s.list[i].Name == v.Name {
			s.list[i] = v
		}
	}
	for _, c := range s.subs {
		select {
		case c <- v:
		default:
		}
	}
}

type fixedUplink console.UplinkView

func (u fixedUplink) UplinkStatus() console.UplinkView { return console.UplinkView(u) }

func TestSecretsNeverShown(t *testing.T) {
	e := startWeb(t, func(c *console.Config, o *console.Options) {
		o.Settings = struct {
			Console console.Config `yaml:"console"`
			Uplink  map[string]any `yaml:"uplink"`
		}{*c, map[string]any{"broker": "tcp://erp:1883", "password": "mqtt-secret-pw", "ping_interval": "30s"}}
	})
	admin := logIn(t, e, 2)
	admin.get("/devices")
	for _, secret := range []string{opToken, supToken, "mqtt-secret-pw", "$2a$"} {
		if strings.Contains(admin.last, secret) {
			t.Errorf("settings page shows %q", secret)
		}
	}
	// #19.9: a token's name and role are not secrets; only the token is.
	for _, shown := range []string{"tcp://erp:1883", "ping_interval: 30s", "olivia", "name: sup", "role: supervisor"} {
		if !strings.Contains(admin.last, shown) {
			t.Errorf("settings page lacks %q", shown)
		}
	}
	op := logIn(t, e, 0)
	op.get("/devices")
	if strings.Contains(op.last, `id="settings"`) {
		t.Error("operators see the configuration")
	}
}

// TestDevicesPageSummarisesSettingsAndFoldsTheFullConfig proves the devices page leads
// with what a supervisor checks (each device and its state, the uplink's broker without its
// password, where the console listens, how long acknowledged transactions are kept) and
// keeps the whole masked configuration folded behind a <details>; without settings the
// summary falls back on the console's own knowledge and the defaults.
func TestDevicesPageSummarisesSettingsAndFoldsTheFullConfig(t *testing.T) {
	e := startWeb(t, func(c *console.Config, o *console.Options) {
		c.Listen = "0.0.0.0:8443"
		o.Settings = map[string]any{"console": *c,
			"uplink":  map[string]any{"brokers": []string{"tls://depot7:mqtt-secret-pw@erp.example:8883", "tcp://backup:1883"}, "password": "mqtt-secret-pw"},
			"journal": map[string]any{"retention": 30 * 24 * time.Hour}}
		o.Devices = func() any {
			return json.RawMessage(`[{"name":"scanner-1","kind":"serial","state":"connected"},{"name":"scale-1","kind":"scale","state":"disconnected"}]`)
		}
	})
	summary := regexp.MustCompile(`(?s)<table id="settings-summary".*?</table>`)
	for _, role := range []int{0, 1} {
		b := logIn(t, e, role)
		b.get("/devices")
		sum := summary.FindString(b.last)
		for _, want := range []string{`scanner-1 <span class="state-connected">connected</span>`, `scale-1 <span class="state-disconnected">disconnected</span>`,
			"tls://redacted@erp.example:8883", "tcp://backup:1883", "0.0.0.0:8443", "kept 30 days"} {
			if !strings.Contains(sum, want) {
				t.Errorf("%s: summary lacks %q:\n%s", testUsers[role].name, want, sum)
			}
		}
		if strings.Contains(b.last, "mqtt-secret-pw") {
			t.Errorf("%s: the devices page shows the broker password", testUsers[role].name)
		}
	}
	sup := logIn(t, e, 1)
	sup.get("/devices")
	if !regexp.MustCompile(`(?s)<details id="settings-details"><summary>[^<]+</summary>\s*<pre id="settings">`).MatchString(sup.last) {
		t.Errorf("the full configuration is not folded behind <details>:\n%s", sup.last)
	}

	bare := logIn(t, startWeb(t, nil), 1)
	bare.get("/devices")
	sum := summary.FindString(bare.last)
	for _, want := range []string{"not configured", ":8080", "kept 90 days"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary without settings lacks %q:\n%s", want, sum)
		}
	}
}

func TestSourcesNotConfiguredAndShown(t *testing.T) {
	bare := startWeb(t, nil)
	b := logIn(t, bare, 0)
	b.get("/")
	if n := strings.Count(b.last, "not configured"); n < 3 {
		t.Errorf("dashboard without sources says 'not configured' %d times", n)
	}
	st := &staticStations{list: []console.StationView{{Name: "dock-1", Mode: "receipt", Operator: "olivia",
		Document: &console.DocumentView{Type: "receipt", Ref: "PO0042", Lines: []console.DocLineView{{Item: "SKU-1", Qty: "12", UoM: "Units"}}},
		Last:     &console.ScanView{Scan: "0104012345678901\x1d10L1", Result: "refused", Message: "unknown item"}}}}
	full := startWeb(t, func(_ *console.Config, o *console.Options) {
		o.Stations = st
		o.Uplink = fixedUplink{Online: true, Broker: "tcp://depot7:mqtt-secret-pw@broker:1883", Since: time.Now().Add(-time.Hour),
			LastError: `dial "wss://depot7:mqtt-secret-pw@broker:443/mqtt": refused`}
		// The devices package's JSON, as devices.Registry.Snapshot marshals it.
		o.Devices = func() any {
			return json.RawMessage(`[{"name":"scanner-1","kind":"serial","port":"/dev/ttyUSB0","state":"connected","since":"2026-11-26T08:00:00Z","failures":2,` +
				`"last_scan":{"at":"2026-11-26T09:00:00Z","aim":"]E0","data":"4006381333931","raw_hex":"5d4530343030"},"last_raw_hex":"5d43313031"},` +
				`{"name":"scale-1","kind":"scale","port":"/dev/ttyUSB1","state":"connected","since":"2026-11-26T08:00:00Z","failures":0,"frame_errors":7,` +
				`"last_frame_error":{"at":"2026-11-26T09:00:00Z","reason":"14 bytes of line noise between frames","raw_hex":"ff7e"}}]`)
		}
	})
	b = logIn(t, full, 0)
	b.get("/")
	for _, want := range []string{"online", "tcp://redacted@broker:1883", "scanner-1", "dock-1", "PO0042", "state-connected"} {
		if !strings.Contains(b.last, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if strings.Contains(b.last, "mqtt-secret-pw") {
		t.Error("dashboard shows the broker password")
	}
	if _, out := do(t, &server{url: full.url}, "GET", "/api/v1/status", opToken, ""); strings.Contains(fmt.Sprint(out), "mqtt-secret-pw") {
		t.Errorf("status API shows the broker password: %v", out)
	}
	b.get("/metrics")
	for _, want := range []string{`depotd_device_state{device="scanner-1",kind="serial",state="connected"} 1`,
		`depotd_device_frame_errors_total{device="scale-1",kind="scale"} 7`, `depotd_device_frame_errors_total{device="scanner-1",kind="serial"} 0`,
		"depotd_uplink_online 1", `depotd_scans_total{result="refused"} 2`, `depotd_scans_total{result="accepted"} 41`} {
		if !strings.Contains(b.last, want) {
			t.Errorf("metrics lack %q:\n%s", want, b.last)
		}
	}
	b.get("/devices")
	for _, want := range []string{"/dev/ttyUSB0", "4006381333931 ]E0", "5d43313031", "14 bytes of line noise between frames", `data-label="Frame errors" class="num">7</td>`} {
		if !strings.Contains(b.last, want) {
			t.Errorf("devices page lacks %q", want)
		}
	}
	b.get("/stations/dock-1")
	if !strings.Contains(b.last, "0104012345678901␝10L1") || !strings.Contains(b.last, "result-refused") {
		t.Errorf("station screen:\n%s", b.last)
	}
	code, out := do(t, &server{url: full.url}, "GET", "/api/v1/stations", opToken, "")
	if code != 200 || len(out["stations"].([]any)) != 1 || out["stations"].([]any)[0].(map[string]any)["last"].(map[string]any)["result"] != "refused" {
		t.Fatalf("stations API: %d %v", code, out)
	}
	code, out = do(t, &server{url: full.url}, "GET", "/api/v1/devices", opToken, "")
	if code != 200 || out["devices"].([]any)[0].(map[string]any)["last_raw_hex"] != "5d43313031" {
		t.Fatalf("devices API: %d %v", code, out)
	}
}

// readEvent reads one server-sent event's data.
func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var data []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		if line == "" && data != nil {
			return strings.Join(data, "\n")
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			data = append(data, d)
		}
	}
}

func TestLiveEvents(t *testing.T) {
	st := &staticStations{list: []console.StationView{{Name: "dock-1", Mode: "receipt"}}}
	e := startWeb(t, func(_ *console.Config, o *console.Options) { o.Stations = st })
	b := logIn(t, e, 0)
	for _, c := range []struct {
		path   string
		change func()
		want   string
	}{
		{"/events?view=dashboard", func() {
			do(t, &server{url: e.url}, "POST", "/api/v1/transactions", opToken, `{"id":"r1","type":"receipt","lines":[{"item":"A","qty":"1","to":"WH/Stock"}]}`)
		}, `<p class="big" id="backlog">1</p>`},
		{"/events?view=station&name=dock-1", func() {
			st.Update(console.StationView{Name: "dock-1", Mode: "receipt", Operator: "olivia", Next: "scan the location"})
		}, "Next: scan the location"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", e.url+c.path, nil)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("%s: %d %s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		r := bufio.NewReader(resp.Body)
		first := readEvent(t, r)
		if strings.Contains(first, c.want) {
			t.Fatalf("%s: first event already shows the change", c.path)
		}
		c.change()
		for ev := readEvent(t, r); !strings.Contains(ev, c.want); ev = readEvent(t, r) {
		}
		cancel()
		resp.Body.Close()
	}
	// Without a session the stream is refused, not redirected.
	anon := e.browser(t)
	if r := anon.get("/events"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous events: %d", r.StatusCode)
	}
}

func TestUnknownItemRaisesException(t *testing.T) {
	e := startWeb(t, nil)
	if _, err := e.j.PutMaster(edge.MasterKindItems, []byte(`{"v":1,"version":"m1","items":[{"sku":"SKU-1","barcodes":["4012345678901"]}]}`)); err != nil {
		t.Fatal(err)
	}
	code, out := do(t, &server{url: e.url}, "POST", "/api/v1/transactions", opToken,
		`{"id":"u1","type":"receipt","lines":[{"item":"SKU-1","qty":"1","to":"WH/Stock"},{"item":"NEW-7","qty":"2","to":"WH/Stock"}]}`)
	if code != http.StatusCreated {
		t.Fatalf("post: %d %v", code, out)
	}
	exc, _ := e.j.Exceptions(true, 10)
	if len(exc) != 1 || exc[0].Kind != edge.ExcUnknownItem || exc[0].Item != "NEW-7" || exc[0].Seq != 1 {
		t.Fatalf("exceptions %+v", exc)
	}
	b := logIn(t, e, 0)
	b.get("/stock?barcode=4012345678901")
	if !strings.Contains(b.last, `data-label="Item">SKU-1</td>`) || strings.Contains(b.last, `data-label="Item">NEW-7</td>`) {
		t.Errorf("barcode search:\n%s", b.last)
	}
	b.get("/stock?barcode=999")
	if !strings.Contains(b.last, "No item in the master data has barcode") {
		t.Error("unknown barcode not explained")
	}
}

func TestJournalDetailShowsEvidenceAndRejection(t *testing.T) {
	e := startWeb(t, nil)
	at := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	if _, _, err := e.j.Commit(context.Background(), edge.Transaction{ID: "s1", Type: edge.Receipt, Station: "dock-1", Operator: "olivia",
		Lines: []edge.Line{{Item: "CHEESE", Qty: edge.MustQty("2.5"), UoM: "kg", To: "WH/Stock", WeightKg: "2.500"}},
		Scans: []edge.ScanEvidence{{At: at, Device: "scanner-1", Raw: "0104012345678901\x1d3103002500", AIM: "]C1"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.j.Ack(edge.Ack{UptoSeq: 1, Rejected: []edge.Rejection{{Seq: 1, Code: "UNKNOWN_PRODUCT", Message: "no such product"}}}); err != nil {
		t.Fatal(err)
	}
	b := logIn(t, e, 0)
	b.get("/journal/1")
	for _, want := range []string{"2.500 kg", "0104012345678901␝3103002500", "]C1", "UNKNOWN_PRODUCT", "no such product", "sync-rejected"} {
		if !strings.Contains(b.last, want) {
			t.Errorf("entry page lacks %q", want)
		}
	}
	b.get("/journal?sync=rejected")
	if !strings.Contains(b.last, `href="/journal/1"`) {
		t.Error("sync=rejected filter misses #1")
	}
	b.get("/journal?sync=pending")
	if strings.Contains(b.last, `href="/journal/1"`) {
		t.Error("sync=pending shows an acked entry")
	}
	if r := b.get("/journal/99"); r.StatusCode != 404 {
		t.Errorf("missing entry: %d", r.StatusCode)
	}
}

func TestStaticAssetsEmbedded(t *testing.T) {
	e := startWeb(t, nil)
	for _, c := range []struct{ path, ctype string }{{"/static/app.js", "javascript"}, {"/static/app.css", "text/css"}} {
		resp, err := http.Get(e.url + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), c.ctype) {
			t.Errorf("%s: %d %s", c.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	for _, p := range []string{"/static/../api.go", "/static/nope.js", "/static/"} {
		resp, err := http.Get(e.url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, PEM, into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "depotd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLS(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	e := startWeb(t, func(c *console.Config, _ *console.Options) { c.TLS = console.TLSConfig{CertFile: cert, KeyFile: key} })
	if !strings.HasPrefix(e.url, "https://") {
		t.Fatal(e.url)
	}
	b := e.browser(t)
	b.get("/login")
	r := b.post("/login", url.Values{"mode": {"password"}, "who": {"sam"}, "secret": {"sup-pass-1"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login over TLS: %d %s", r.StatusCode, b.last)
	}
	for _, ck := range r.Cookies() {
		if ck.Name == "depotd_session" && (!ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode) {
			t.Fatalf("session cookie over TLS %+v", ck)
		}
	}
	r = b.get("/")
	if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("dashboard over TLS: %d, HSTS %q", r.StatusCode, r.Header.Get("Strict-Transport-Security"))
	}
	// Plain HTTP on the TLS port gets nothing useful.
	resp, err := http.Get(strings.Replace(e.url, "https://", "http://", 1) + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP answered on the TLS listener")
		}
	}
	// A missing certificate is a start-up error, not a silent plain-HTTP console.
	j := openJournal(t)
	cfg := testConfig(t)
	cfg.TLS = console.TLSConfig{CertFile: cert + ".missing", KeyFile: key}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := console.New(cfg, j, console.Options{}).Serve(context.Background(), ln); err == nil || !strings.Contains(err.Error(), "console tls") {
		t.Fatalf("serve with a missing certificate: %v", err)
	}
}

// TestTestScanBox wires the real GS1 decoder as the test-scan box, as cmd/depotd does.
func TestTestScanBox(t *testing.T) {
	dec, err := barcode.NewDecoder(barcode.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	e := startWeb(t, func(_ *console.Config, o *console.Options) {
		o.TestScan = console.TestScanFunc(func(ctx context.Context, raw string) (console.TestScanResult, error) {
			res, err := dec.Decode([]byte(raw), "")
			if err != nil {
				return console.TestScanResult{}, err
			}
			return console.TestScanResult{Summary: string(res.Kind) + " (" + res.Symbology + ")", Fields: console.FieldsOf(res)}, nil
		})
	})
	b := logIn(t, e, 0)
	b.get("/devices")
	r := b.post("/devices/test-scan", url.Values{"scan": {`]C1010950600013435217201225<GS>10ABC`}})
	if r.StatusCode != 200 {
		t.Fatalf("test scan: %d %s", r.StatusCode, b.last)
	}
	for _, want := range []string{`id="scan-result"`, "09506000134352", "2020-12-25", "ABC", "gs1-128"} {
		if !strings.Contains(b.last, want) {
			t.Errorf("test scan result lacks %q", want)
		}
	}
	b.get("/devices")
	if r := b.post("/devices/test-scan", url.Values{"scan": {`]C10112312312312334`}}); r.StatusCode != 422 || !strings.Contains(b.last, `id="scan-error"`) {
		t.Fatalf("refused scan: %d", r.StatusCode)
	}
	if last, _ := e.j.Positions(); last != 0 {
		t.Fatal("a test scan was journalled")
	}
	bare := startWeb(t, nil)
	b = logIn(t, bare, 0)
	b.get("/devices")
	if r := b.post("/devices/test-scan", url.Values{"scan": {"x"}}); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("unconfigured test scan: %d", r.StatusCode)
	}
}

func TestSessionExpires(t *testing.T) {
	e := startWeb(t, func(c *console.Config, _ *console.Options) { c.SessionTTL = time.Second }) // fiber counts whole seconds
	b := logIn(t, e, 0)
	if r := b.get("/"); r.StatusCode != 200 {
		t.Fatalf("fresh session: %d", r.StatusCode)
	}
	// Activity slides the expiry; idleness ends the session.
	deadline := time.Now().Add(10 * time.Second)
	idle := 50 * time.Millisecond
	for {
		time.Sleep(idle) // the idle time under test, not a wait for a result
		r := b.get("/")
		if r.StatusCode == http.StatusSeeOther {
			if idle < time.Second {
				t.Fatalf("session ended after only %s idle", idle)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("session never expired")
		}
		idle *= 2
	}
}

// TestJournalShowsVoids: the seqs a restore skipped appear in the journal as voids, with
// the restore they came from, filterable by type, and their page says what a void is and
// offers no corrected copy.
func TestJournalShowsVoids(t *testing.T) {
	dir := t.TempDir()
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}, {Name: "Van-1", Type: edge.LocMobile}}, nil,
		map[edge.LocationType]edge.NegativePolicy{edge.LocInternal: edge.NegativeRefuse})
	if err != nil {
		t.Fatal(err)
	}
	src, err := edge.Open(filepath.Join(dir, "src.db"), edge.Options{Depot: "D1", Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"r1", "r2"} {
		if _, _, err := src.Commit(context.Background(), edge.Transaction{ID: id, Type: edge.Receipt,
			Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("1"), To: "WH/Stock"}}}); err != nil {
			t.Fatal(err)
		}
	}
	var bak bytes.Buffer
	info, err := src.WriteBackup(&bak)
	if err != nil {
		t.Fatal(err)
	}
	src.Close()
	bakPath := filepath.Join(dir, "backup.db")
	if err := os.WriteFile(bakPath, bak.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "data", "depotd.db")
	at := time.Date(2026, 12, 3, 9, 45, 0, 0, time.UTC)
	if _, err := edge.Restore(bakPath, db, edge.RestoreOptions{Depot: "D1", Catalog: cat, SHA256: info.SHA256, Floor: 5,
		Now: func() time.Time { return at }}); err != nil {
		t.Fatal(err)
	}
	e := startWebOn(t, openJournalAt(t, db), nil)
	b := logIn(t, e, 0)
	b.get("/journal?type=void")
	for seq := 3; seq <= 5; seq++ {
		if !strings.Contains(b.last, fmt.Sprintf(`href="/journal/%d"`, seq)) {
			t.Errorf("type=void filter misses #%d", seq)
		}
	}
	if strings.Contains(b.last, `href="/journal/2"`) || !strings.Contains(b.last, "skipped by restore-20261203T094500Z") {
		t.Errorf("void list: %s", b.last)
	}
	b.get("/journal/4")
	if !strings.Contains(b.last, `id="void"`) || !strings.Contains(b.last, "applies") || strings.Contains(b.last, "Post a corrected copy") {
		t.Errorf("void page: %s", b.last)
	}
}

// TestAnAnomalysEvidenceIsShownWithItsException: the exceptions page shows what a
// consumption anomaly was judged on (expected and observed, the window, the p-value), not
// only its message.
func TestAnAnomalysEvidenceIsShownWithItsException(t *testing.T) {
	e := startWeb(t, nil)
	sup := logIn(t, e, 1)
	exc, err := e.j.RaiseException(edge.Exception{Kind: edge.ExcConsumptionAnomaly, Item: "SKU-EV", Code: "surge:2026-10-22",
		Message: "SKU-EV: consumption surged over 2026-10-22..2026-10-24",
		Evidence: map[string]string{"direction": "surge", "window": "2026-10-22..2026-10-24", "window_days": "3",
			"expected": "60.25", "observed": "181", "p_value": "2.1e-19", "significance": "0.000645"}})
	if err != nil {
		t.Fatal(err)
	}
	sup.get("/exceptions")
	start := strings.Index(sup.last, fmt.Sprintf(`id="evidence-%d"`, exc.ID))
	if start < 0 {
		t.Fatalf("no evidence for exception %d on the page:\n%s", exc.ID, sup.last)
	}
	dl := sup.last[start:]
	dl = dl[:strings.Index(dl, "</dl>")]
	for _, want := range []string{"<dt>expected</dt><dd>60.25</dd>", "<dt>observed</dt><dd>181</dd>",
		"<dt>window</dt><dd>2026-10-22..2026-10-24</dd>", "<dt>p value</dt><dd>2.1e-19</dd>"} {
		if !strings.Contains(dl, want) {
			t.Errorf("evidence lacks %s: %s", want, dl)
		}
	}
}
