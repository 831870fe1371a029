package odoo_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

func TestRealOdooAnswersACallWithItsResult(t *testing.T) {
	env := odootest.Need(t)
	c := env.Client(t)
	var ctx map[string]any
	if err := c.Call(context.Background(), "res.users", "context_get", nil, &ctx); err != nil {
		t.Fatal(err)
	}
	if ctx["uid"] == nil {
		t.Fatalf("context_get = %v, want a uid", ctx)
	}
}

// Each status the real server sends is told apart, with Odoo's exception name and message.
func TestRealOdooErrorsAreTypedWithStatusNameAndMessage(t *testing.T) {
	env := odootest.Need(t)
	good := env.Client(t)
	badKey, err := odoo.New(odoo.Options{URL: env.URL, Database: env.DB, APIKey: "not-a-key", Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	badDB, err := odoo.New(odoo.Options{URL: env.URL, Database: "no_such_db_depotd", APIKey: env.APIKey, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		what          string
		c             *odoo.Client
		model, method string
		params        any
		kind          error
		status        int
		name, msg     string
		retryable     bool
	}{
		{"bad API key", badKey, "res.users", "context_get", nil, odoo.ErrUnauthorized, 401, "werkzeug.exceptions.Unauthorized", "Invalid apikey", false},
		{"unknown database", badDB, "res.users", "context_get", nil, odoo.ErrNotFound, 404, "", "unknown database", false},
		{"private method", good, "res.partner", "_search", map[string]any{"domain": []any{}}, odoo.ErrForbidden, 403, "odoo.exceptions.AccessError", "Private methods", false},
		{"unknown model", good, "no.such.model", "search", nil, odoo.ErrNotFound, 404, "werkzeug.exceptions.NotFound", "does not exist", false},
		{"missing record", good, "res.partner", "write", map[string]any{"ids": []int{2147483000}, "vals": map[string]any{"name": "x"}}, odoo.ErrNotFound, 404, "odoo.exceptions.MissingError", "", false},
		{"refused data", good, "res.partner", "create", map[string]any{"vals_list": []any{map[string]any{}}}, odoo.ErrRefused, 422, "odoo.exceptions.ValidationError", "require a name", false},
		{"server exception", good, "res.partner", "search_read", map[string]any{"domain": []any{[]any{"no_such_field", "=", 1}}}, odoo.ErrServer, 500, "builtins.ValueError", "Invalid field", true},
	}
	for _, tc := range cases {
		err := tc.c.Call(context.Background(), tc.model, tc.method, tc.params, nil)
		var oe *odoo.Error
		if !errors.As(err, &oe) {
			t.Fatalf("%s: %v is not an *odoo.Error", tc.what, err)
		}
		if !errors.Is(err, tc.kind) || oe.Status != tc.status || oe.Name != tc.name ||
			!strings.Contains(oe.Message, tc.msg) || odoo.Retryable(err) != tc.retryable {
			t.Errorf("%s: got %v (status %d, name %q, retryable %v); want %v, %d, %q, message with %q, retryable %v",
				tc.what, err, oe.Status, oe.Name, odoo.Retryable(err), tc.kind, tc.status, tc.name, tc.msg, tc.retryable)
		}
		if strings.Contains(err.Error(), "Traceback") {
			t.Errorf("%s: Error() carries Odoo's traceback: %q", tc.what, err)
		}
	}
}

// Quantities go to Odoo as JSON strings (never through float64 on our side); this pins
// what Odoo does with them: a float field accepts the string, and the value comes back
// exactly when it fits the field's digits, but Odoo silently rounds one that does not
// (weight keeps 2 decimals: "1.125" becomes 1.13). Posting must therefore refuse a
// quantity with more decimals than Odoo keeps instead of letting Odoo round it.
func TestRealOdooTakesDecimalStringsAndSilentlyRoundsExtraDigits(t *testing.T) {
	env := odootest.Need(t)
	c := env.Client(t)
	ctx := context.Background()
	for _, tc := range []struct{ sent, back string }{{"1.25", "1.25"}, {"1.125", "1.13"}, {"123456789.01", "123456789.01"}} {
		var ids []int
		if err := c.Call(ctx, "product.product", "create", map[string]any{"vals_list": []any{map[string]any{
			"name": odootest.Unique("qty-probe"), "type": "consu", "weight": tc.sent,
		}}}, &ids); err != nil {
			t.Fatal(err)
		}
		var rows []struct {
			Weight json.Number `json:"weight"`
		}
		if err := c.Call(ctx, "product.product", "read", map[string]any{"ids": ids, "fields": []string{"weight"}}, &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Weight.String() != tc.back {
			t.Errorf("weight %s read back as %v, want %s", tc.sent, rows, tc.back)
		}
	}
}
