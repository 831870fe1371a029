package odoo_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

func changedSteps(steps []odoo.Step) []string {
	var out []string
	for _, s := range steps {
		if s.Changed {
			out = append(out, s.What)
		}
	}
	return out
}

func TestSetupPreparesAWarehouseAndTheSecondRunChangesNothing(t *testing.T) {
	env := odootest.Need(t)
	c := env.Client(t)
	ctx := context.Background()
	wh := odootest.NewWarehouse(t, c)
	depot := odoo.Depot{ID: odootest.Unique("D"), Warehouse: wh}

	start := time.Now()
	steps, err := odoo.Setup(ctx, c, []odoo.Depot{depot})
	if err != nil {
		t.Fatalf("setup: %v\n%v", err, steps)
	}
	t.Logf("first setup took %v", time.Since(start))
	changed := strings.Join(changedSteps(steps), "\n")
	for _, want := range []string{
		"created the quarantine location " + wh + "/Quarantine",
		"created the damaged location " + wh + "/Damaged",
		"created its applied seq, 0 (ir.config_parameter " + odoo.AppliedSeqParam(depot.ID) + ")",
	} {
		if !strings.Contains(changed, want) {
			t.Errorf("first run did not say %q; changes:\n%s", want, changed)
		}
	}
	// What it said is what Odoo now holds.
	for _, name := range []string{wh + "/Quarantine", wh + "/Damaged"} {
		var locs []struct {
			Usage  string `json:"usage"`
			Parent []any  `json:"location_id"`
		}
		if err := c.Call(ctx, "stock.location", "search_read", map[string]any{
			"domain": []any{[]any{"complete_name", "=", name}}, "fields": []string{"usage", "location_id"}}, &locs); err != nil {
			t.Fatal(err)
		}
		if len(locs) != 1 || locs[0].Usage != "internal" || len(locs[0].Parent) != 2 || locs[0].Parent[1] != wh {
			t.Errorf("%s in Odoo: %+v, want one internal location under the warehouse's view %s", name, locs, wh)
		}
	}
	var acts []struct {
		Code string `json:"code"`
	}
	var ids []int
	if err := c.Call(ctx, "ir.actions.server", "search", map[string]any{"domain": []any{[]any{"name", "=", odoo.PostActionName}}}, &ids); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 {
		t.Fatalf("%d post actions in Odoo, want exactly 1", len(ids))
	}
	if err := c.Call(ctx, "ir.actions.server", "read", map[string]any{"ids": ids, "fields": []string{"code"}}, &acts); err != nil {
		t.Fatal(err)
	}
	if acts[0].Code != odoo.PostAction {
		t.Errorf("the post action's code in Odoo is not depotd's")
	}

	start = time.Now()
	again, err := odoo.Setup(ctx, c, []odoo.Depot{depot})
	if err != nil {
		t.Fatalf("second setup: %v", err)
	}
	t.Logf("second setup took %v", time.Since(start))
	if ch := changedSteps(again); len(ch) != 0 {
		t.Errorf("second run changed %q, want nothing", ch)
	}
	if len(again) != len(steps) {
		t.Errorf("second run reported %d steps, the first %d: each check must say it is ok", len(again), len(steps))
	}
}

func TestSetupRefusesWhatItWillNotCreate(t *testing.T) {
	env := odootest.Need(t)
	c := env.Client(t)
	ctx := context.Background()
	wh := odootest.NewWarehouse(t, c)
	for _, tc := range []struct {
		depot odoo.Depot
		want  string
	}{
		{odoo.Depot{ID: "D1", Warehouse: "NOWH"}, `Odoo has 0 warehouses with the short name "NOWH"`},
		{odoo.Depot{ID: "D1", Warehouse: wh, Locations: map[string]string{"Van-1": wh + "/Vans/Van-1"}},
			"depot location Van-1 maps to " + wh + "/Vans/Van-1, which does not exist in Odoo"},
		{odoo.Depot{ID: "D1", Warehouse: wh, States: map[edge.StockState]string{edge.Quarantine: "Elsewhere/Q"}},
			"the quarantine location Elsewhere/Q does not exist in Odoo; setup only creates one directly under the warehouse"},
	} {
		_, err := odoo.Setup(ctx, c, []odoo.Depot{tc.depot})
		var se *odoo.SetupError
		if !errors.As(err, &se) || !strings.Contains(se.Msg, tc.want) {
			t.Errorf("%+v: got %v, want a SetupError saying %q", tc.depot, err, tc.want)
		}
	}
}

// Only Odoo 19 can be run here, so other versions' answers come from a fake /web/version.
func TestSetupRefusesEveryOdooButNineteen(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"version_info": [17, 0, 0, "final", 0, ""], "version": "17.0"}`, false},
		{`{"version_info": [18, 0, 0, "final", 0, ""], "version": "18.0"}`, false},
		{`{"version_info": ["saas~18", 4, 0, "final", 0, ""], "version": "saas~18.4"}`, false},
		{`{"version_info": [20, 0, 0, "alpha", 1, ""], "version": "20.0a1"}`, false},
		{`{"version_info": [19, 0, 0, "final", 0, ""], "version": "19.0"}`, true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/web/version" {
				http.NotFound(w, r)
				return
			}
			w.Write([]byte(tc.body))
		}))
		c, err := odoo.New(odoo.Options{URL: srv.URL, Database: "db", APIKey: "k"})
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.Version(context.Background())
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		err = odoo.CheckVersion(v)
		if tc.ok != (err == nil) {
			t.Errorf("%s: CheckVersion = %v", v.Text, err)
		}
		if err != nil && (!strings.Contains(err.Error(), "Odoo "+v.Text+" is not supported") || !strings.Contains(err.Error(), "19.x")) {
			t.Errorf("%s: refusal %q does not say which version and what is needed", v.Text, err)
		}
	}
}
