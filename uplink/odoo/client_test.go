package odoo_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/depotd/depotd/uplink/odoo"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fake answers every call with a fixed status and body: only for the error mapping of
// answers the real server cannot be made to send on demand (a proxy's 502 page, 409).
func fake(t *testing.T, status int, body string) *odoo.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "bearer k" || r.Header.Get("X-Odoo-Database") != "db" ||
			r.Header.Get("Content-Type") != "application/json" || r.Method != http.MethodPost {
			http.Error(w, "bad request headers", http.StatusTeapot)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := odoo.New(odoo.Options{URL: srv.URL, Database: "db", APIKey: "k", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.CloseClientConnections)
	return c
}

func TestEveryStatusMapsToOneKindAndSaysWhetherToRetry(t *testing.T) {
	cases := []struct {
		status    int
		body      string
		kind      error
		retryable bool
		name      string
	}{
		{401, `{"name":"werkzeug.exceptions.Unauthorized","message":"Invalid apikey"}`, odoo.ErrUnauthorized, false, "werkzeug.exceptions.Unauthorized"},
		{403, `{"name":"odoo.exceptions.AccessError","message":"no"}`, odoo.ErrForbidden, false, "odoo.exceptions.AccessError"},
		{404, `{"name":"werkzeug.exceptions.NotFound","message":"the model 'x' does not exist"}`, odoo.ErrNotFound, false, "werkzeug.exceptions.NotFound"},
		{422, `{"name":"odoo.exceptions.ValidationError","message":"bad lot"}`, odoo.ErrRefused, false, "odoo.exceptions.ValidationError"},
		{400, `{"name":"werkzeug.exceptions.BadRequest","message":"could not parse"}`, odoo.ErrRefused, false, "werkzeug.exceptions.BadRequest"},
		{409, `{"name":"odoo.exceptions.LockError","message":"locked"}`, odoo.ErrConflict, true, "odoo.exceptions.LockError"},
		{429, `Too many`, odoo.ErrConflict, true, ""},
		{500, `{"name":"psycopg2.errors.SerializationFailure","message":"could not serialize access"}`, odoo.ErrServer, true, "psycopg2.errors.SerializationFailure"},
		{502, `<html>Bad Gateway</html>`, odoo.ErrUnavailable, true, ""},
		{503, ``, odoo.ErrUnavailable, true, ""},
		{504, `upstream timed out`, odoo.ErrUnavailable, true, ""},
		{302, ``, odoo.ErrProtocol, false, ""},
	}
	for _, tc := range cases {
		c := fake(t, tc.status, tc.body)
		err := c.Call(context.Background(), "res.partner", "search", map[string]any{"domain": []any{}}, nil)
		var oe *odoo.Error
		if !errors.As(err, &oe) {
			t.Fatalf("%d: %v is not an *odoo.Error", tc.status, err)
		}
		if !errors.Is(err, tc.kind) {
			t.Errorf("%d: %v is not %v", tc.status, err, tc.kind)
		}
		for _, other := range []error{odoo.ErrUnauthorized, odoo.ErrForbidden, odoo.ErrNotFound, odoo.ErrRefused, odoo.ErrConflict, odoo.ErrServer, odoo.ErrUnavailable, odoo.ErrProtocol} {
			if other != tc.kind && errors.Is(err, other) {
				t.Errorf("%d: also matches %v", tc.status, other)
			}
		}
		if oe.Status != tc.status || oe.Name != tc.name || odoo.Retryable(err) != tc.retryable {
			t.Errorf("%d: status %d name %q retryable %v, want %d %q %v", tc.status, oe.Status, oe.Name, odoo.Retryable(err), tc.status, tc.name, tc.retryable)
		}
		if oe.Op != "res.partner/search" || !strings.Contains(err.Error(), "res.partner/search") {
			t.Errorf("%d: error %q does not name the call", tc.status, err)
		}
		if strings.Contains(err.Error(), "<html>") {
			t.Errorf("%d: error carries a proxy's HTML: %q", tc.status, err)
		}
	}
}

func TestAResultThatIsNotJSONIsAProtocolError(t *testing.T) {
	c := fake(t, 200, `<html>login</html>`)
	var out any
	err := c.Call(context.Background(), "res.partner", "search", nil, &out)
	if !errors.Is(err, odoo.ErrProtocol) || odoo.Retryable(err) {
		t.Fatalf("got %v, want a non-retryable ErrProtocol", err)
	}
}

func TestResultNumbersStayExact(t *testing.T) {
	c := fake(t, 200, `[{"quantity": 12.345678901234567890}]`)
	var out []map[string]any
	if err := c.Call(context.Background(), "stock.quant", "search_read", nil, &out); err != nil {
		t.Fatal(err)
	}
	if n, ok := out[0]["quantity"].(json.Number); !ok || n.String() != "12.345678901234567890" {
		t.Fatalf("quantity decoded as %#v, want the json.Number as sent", out[0]["quantity"])
	}
}

func TestAServerThatNeverAnswersEndsAtTheTimeoutAsRetryable(t *testing.T) {
	// A real listener that accepts and never answers (a hung Odoo or a black-holed link).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	c, err := odoo.New(odoo.Options{URL: "http://" + ln.Addr().String(), Database: "db", APIKey: "k", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = c.Call(context.Background(), "res.partner", "search", nil, nil)
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("took %v, the timeout is 300ms", el)
	}
	if !errors.Is(err, odoo.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !odoo.Retryable(err) {
		t.Fatalf("got %v, want a retryable ErrUnavailable wrapping context.DeadlineExceeded", err)
	}
	// The caller's own cancellation ends it too, and says so.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Call(ctx, "res.partner", "search", nil, nil); !errors.Is(err, context.Canceled) || !errors.Is(err, odoo.ErrUnavailable) {
		t.Fatalf("cancelled: got %v", err)
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := odoo.New(odoo.Options{URL: "http://" + addr, Database: "db", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Call(context.Background(), "res.partner", "search", nil, nil)
	if !errors.Is(err, odoo.ErrUnavailable) || !odoo.Retryable(err) {
		t.Fatalf("got %v, want a retryable ErrUnavailable", err)
	}
}

func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	for _, o := range []odoo.Options{
		{URL: "ftp://x", Database: "d", APIKey: "k"},
		{URL: "http://", Database: "d", APIKey: "k"},
		{URL: "http://x", APIKey: "k"},
		{URL: "http://x", Database: "d"},
	} {
		if _, err := odoo.New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
