package console_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
	"go.uber.org/goleak"
)

// fasthttp (under fiber) keeps a process-wide date updater, and its worker pool's cleaner
// notices Stop only after its sleep; fiber's limiter starts a process-wide timestamp
// updater once: none belongs to a server that is still running.
var fasthttpBackground = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/utils.StartTimeStampUpdater.func1.1"),
	// The same, inlined into the limiter (as the race detector's build names it).
	goleak.IgnoreAnyFunction("github.com/gofiber/fiber/v2/middleware/limiter.FixedWindow.New.StartTimeStampUpdater.func2.1"),
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, fasthttpBackground...) }

const (
	opToken  = "operator-token-000001"
	supToken = "supervisor-token-00001"
)

type server struct {
	url string
}

// newServer serves the JSON API with a small body limit, to test oversized bodies.
func newServer(t *testing.T) (*server, *edge.Journal) {
	t.Helper()
	e := startWeb(t, func(c *console.Config, _ *console.Options) { c.MaxBodyBytes = 4096 })
	return &server{url: e.url}, e.j
}

func do(t *testing.T, s *server, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
	}
	return resp.StatusCode, out
}

func TestPostTransactionAnswers(t *testing.T) {
	s, j := newServer(t)
	receipt := `{"id":"r1","type":"receipt","ref":"PO0042","lines":[{"item":"SKU-1","qty":"12","uom":"Units","lot":"L1","expiry":"2027-01-31","to":"WH/Stock","state":"available"}]}`
	cases := []struct {
		name, token, body string
		code              int
		field             string
	}{
		{"no token", "", receipt, http.StatusUnauthorized, ""},
		{"bad token", "nope-nope-nope-nope", receipt, http.StatusUnauthorized, ""},
		{"created", opToken, receipt, http.StatusCreated, ""},
		{"repeat id", opToken, receipt, http.StatusOK, ""},
		{"number qty", opToken, `{"id":"r2","type":"receipt","lines":[{"item":"SKU-1","qty":3,"to":"WH/Stock"}]}`, http.StatusCreated, ""},
		{"malformed json", opToken, `{"id":"x",`, http.StatusBadRequest, ""},
		{"empty body", opToken, ``, http.StatusBadRequest, ""},
		{"unknown field", opToken, `{"id":"x","type":"receipt","colour":"red","lines":[]}`, http.StatusBadRequest, "colour"},
		{"unknown line field", opToken, `{"id":"x","type":"receipt","lines":[{"item":"A","qty":"1","to":"WH/Stock","size":"L"}]}`, http.StatusBadRequest, "lines[0].size"},
		{"bad qty", opToken, `{"id":"x","type":"receipt","lines":[{"item":"A","qty":"1,5","to":"WH/Stock"}]}`, http.StatusBadRequest, "lines[0].qty"},
		{"qty wrong type", opToken, `{"id":"x","type":"receipt","lines":[{"item":"A","qty":true,"to":"WH/Stock"}]}`, http.StatusBadRequest, "lines[0].qty"},
		{"trailing data", opToken, receipt + `{}`, http.StatusBadRequest, ""},
		{"unknown type", opToken, `{"id":"x","type":"gift","lines":[{"item":"A","qty":"1","to":"WH/Stock"}]}`, http.StatusUnprocessableEntity, "type"},
		{"unknown location", opToken, `{"id":"x","type":"receipt","lines":[{"item":"A","qty":"1","to":"Nowhere"}]}`, http.StatusUnprocessableEntity, "lines[0].to"},
		{"zero qty", opToken, `{"id":"x","type":"receipt","lines":[{"item":"A","qty":"0","to":"WH/Stock"}]}`, http.StatusUnprocessableEntity, "lines[0].qty"},
		{"too many decimals", opToken, `{"id":"x","type":"receipt","lines":[{"item":"A","qty":"1.25","to":"WH/Stock"}]}`, http.StatusUnprocessableEntity, "lines[0].qty"},
		{"operator adjustment", opToken, `{"id":"x","type":"adjustment","reason":"R","lines":[{"item":"A","qty":"1","to":"WH/Stock"}]}`, http.StatusForbidden, "type"},
		{"operator scrap", opToken, `{"id":"x","type":"scrap","lines":[{"item":"A","qty":"1","from":"WH/Stock"}]}`, http.StatusForbidden, "type"},
		{"supervisor adjustment", supToken, `{"id":"adj","type":"adjustment","reason":"FOUND","lines":[{"item":"SKU-1","qty":"1","to":"WH/Stock"}]}`, http.StatusCreated, ""},
		{"negative refused", opToken, `{"id":"i1","type":"issue","lines":[{"item":"SKU-1","qty":"100","lot":"L1","from":"WH/Stock"}]}`, http.StatusConflict, "lines[0]"},
		{"oversized body", opToken, `{"id":"x","type":"receipt","note":"` + strings.Repeat("a", 5000) + `","lines":[]}`, http.StatusRequestEntityTooLarge, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := do(t, s, "POST", "/api/v1/transactions", c.token, c.body)
			if code != c.code {
				t.Fatalf("status %d, want %d: %v", code, c.code, out)
			}
			if c.code >= 400 {
				if _, ok := out["error"].(string); !ok {
					t.Fatalf("no error message: %v", out)
				}
				if f, _ := out["field"].(string); f != c.field {
					t.Fatalf("field %q, want %q (%v)", f, c.field, out)
				}
			}
		})
	}
	if last, _ := j.Positions(); last != 3 {
		t.Fatalf("last seq %d, want 3 (r1, r2, adj)", last)
	}
}

func TestReadEndpoints(t *testing.T) {
	s, _ := newServer(t)
	for i := 1; i <= 5; i++ {
		code, out := do(t, s, "POST", "/api/v1/transactions", opToken, fmt.Sprintf(`{"id":"r%d","type":"receipt","lines":[{"item":"SKU-%d","qty":"%d","to":"WH/Stock"}]}`, i, i%2, i))
		if code != http.StatusCreated {
			t.Fatalf("post %d: %d %v", i, code, out)
		}
	}
	code, out := do(t, s, "GET", "/api/v1/transactions?after=2&limit=2", opToken, "")
	if code != 200 || out["next_after"].(float64) != 4 || len(out["transactions"].([]any)) != 2 {
		t.Fatalf("list: %d %v", code, out)
	}
	code, out = do(t, s, "GET", "/api/v1/transactions?after=5", opToken, "")
	if code != 200 || out["next_after"].(float64) != 5 || len(out["transactions"].([]any)) != 0 {
		t.Fatalf("list at end: %d %v", code, out)
	}
	if code, out = do(t, s, "GET", "/api/v1/transactions?limit=0", opToken, ""); code != 400 || out["field"] != "limit" {
		t.Fatalf("limit 0: %d %v", code, out)
	}
	if code, out = do(t, s, "GET", "/api/v1/transactions/3", opToken, ""); code != 200 || out["seq"].(float64) != 3 || out["id"] != "r3" {
		t.Fatalf("get 3: %d %v", code, out)
	}
	if code, _ = do(t, s, "GET", "/api/v1/transactions/99", opToken, ""); code != 404 {
		t.Fatalf("get 99: %d", code)
	}
	code, out = do(t, s, "GET", "/api/v1/stock?item=SKU-1", opToken, "")
	rows := out["rows"].([]any)
	if code != 200 || len(rows) != 1 {
		t.Fatalf("stock: %d %v", code, out)
	}
	row := rows[0].(map[string]any)
	if row["qty"] != "9" || row["erp_qty"] != "0" || row["pending_qty"] != "9" || row["state"] != "available" || row["location"] != "WH/Stock" {
		t.Fatalf("stock row %v", row)
	}
	code, out = do(t, s, "GET", "/api/v1/status", opToken, "")
	if code != 200 || out["depot"] != "D1" || out["last_seq"].(float64) != 5 || out["acked_seq"].(float64) != 0 || out["backlog"].(float64) != 5 || out["version"] != "test" {
		t.Fatalf("status %v", out)
	}
	for _, k := range []string{"oldest_pending_s", "uptime_s"} {
		if _, ok := out[k].(float64); !ok {
			t.Fatalf("status lacks %s: %v", k, out)
		}
	}
	if code, out = do(t, s, "GET", "/healthz", "", ""); code != 200 || out["status"] != "ok" {
		t.Fatalf("healthz %d %v", code, out)
	}
	if code, _ = do(t, s, "GET", "/api/v1/nope", opToken, ""); code != 404 {
		t.Fatalf("unknown route %d", code)
	}
}

func FuzzDecodeTransaction(f *testing.F) {
	for _, s := range []string{
		`{"id":"r1","type":"receipt","ref":"PO0042","lines":[{"item":"SKU-1","qty":"12","uom":"Units","lot":"L1","expiry":"2027-01-31","to":"WH/Stock","state":"available"}]}`,
		`{"id":"x","type":"adjustment","reason":"R","lines":[{"item":"A","qty":-1.5e1,"to":"WH/Stock"}]}`,
		`{"id":"x","type":"count","lines":[{"item":"A","qty":"0","to":"WH/Stock","expected":"5"}]}`,
		`{"id":"x","type":"status","lines":[{"item":"A","qty":"1","from":"WH/Stock","state":"quarantine","to_state":"available"}]}`,
		`{"id":"x","lines":[{"qty":{}}]}`, `[]`, `null`, `{"id":1}`, `{"id":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tx, _, err := console.DecodeTransaction(body)
		if err != nil {
			return
		}
		if err := cat.Prepare(&tx); err != nil {
			var fe *edge.FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("validation error without a field: %v", err)
			}
			return
		}
		// A valid transaction survives a JSON round trip unchanged.
		raw, err := json.Marshal(tx)
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := console.DecodeTransaction(raw)
		if err != nil {
			t.Fatalf("re-decode %s: %v", raw, err)
		}
		if err := cat.Prepare(&again); err != nil {
			t.Fatalf("re-validate %s: %v", raw, err)
		}
		raw2, _ := json.Marshal(again)
		if string(raw) != string(raw2) {
			t.Fatalf("round trip changed:\n%s\n%s", raw, raw2)
		}
	})
}

// #19.9: a body too large is refused in JSON on the API however it is sent: with a
// Content-Length or chunked (which fasthttp refuses before routing).
func TestOversizedBodyIsAJSONErrorEvenChunked(t *testing.T) {
	s, _ := newServer(t)
	body := `{"id":"x","type":"receipt","note":"` + strings.Repeat("a", 50000) + `","lines":[]}`
	// A reader of unknown length: net/http sends it chunked.
	req, err := http.NewRequest("POST", s.url+"/api/v1/transactions", io.MultiReader(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+opToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if req.ContentLength != -1 && req.ContentLength != 0 {
		t.Fatalf("request sent with a length (%d), not chunked", req.ContentLength)
	}
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge ||
		!strings.Contains(fmt.Sprint(out["error"]), "larger than 4096 bytes") {
		t.Fatalf("%d %s: want 413 with a JSON error", resp.StatusCode, raw)
	}
}

// #19.9: bearer tokens cannot be guessed at wire speed: after login_attempts invalid
// ones in login_window an address is refused with 429 and Retry-After, while a valid
// token is never counted.
func TestBearerTokenGuessesAreRateLimited(t *testing.T) {
	e := startWeb(t, func(c *console.Config, _ *console.Options) { c.LoginAttempts, c.LoginWindow = 3, time.Minute })
	s := &server{url: e.url}
	for i := 0; i < 5; i++ { // valid tokens are not counted
		if code, _ := do(t, s, "GET", "/api/v1/status", opToken, ""); code != http.StatusOK {
			t.Fatalf("valid token: %d", code)
		}
	}
	for i := 0; i < 3; i++ {
		if code, _ := do(t, s, "GET", "/api/v1/status", fmt.Sprintf("guess-%d", i), ""); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, code)
		}
	}
	req, _ := http.NewRequest("GET", s.url+"/api/v1/status", nil)
	req.Header.Set("Authorization", "Bearer guess-4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("4th guess: %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, body := do(t, s, "GET", "/api/v1/status", opToken, ""); code != http.StatusTooManyRequests || !strings.Contains(fmt.Sprint(body["error"]), "retry in") {
		t.Fatalf("while limited, even a valid token waits: %d %v", code, body)
	}
}
