package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/odoo"
)

// demoOdooEnv is what ../shared/odoo/start writes in DIR/odoo.env.
type demoOdooEnv struct{ url, db, apiKey string }

func readOdooEnv(path string) (demoOdooEnv, error) {
	f, err := os.Open(path)
	if err != nil {
		return demoOdooEnv{}, err
	}
	defer f.Close()
	var e demoOdooEnv
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ODOO_URL":
			e.url = v
		case "ODOO_DB":
			e.db = v
		case "ODOO_API_KEY":
			e.apiKey = v
		}
	}
	if err := sc.Err(); err != nil {
		return demoOdooEnv{}, fmt.Errorf("%s: %w", path, err)
	}
	if e.url == "" || e.db == "" || e.apiKey == "" {
		return demoOdooEnv{}, fmt.Errorf("%s: ODOO_URL, ODOO_DB and ODOO_API_KEY are all required", path)
	}
	return e, nil
}

// demoDepotID is the depot id the demo uses against Odoo. Odoo keeps the seqs it applied
// per depot id, and a fresh demo starts again at seq 1: under a reused id its receipts
// would be taken for duplicates and acknowledged without a movement. So each data dir
// gets its own id, kept in the data dir for a demo run again on it (--data-dir).
func demoDepotID(dataDir, base string) (string, error) {
	path := filepath.Join(dataDir, "odoo-depot-id")
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	var r [3]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	id := base + "-" + strings.ToUpper(hex.EncodeToString(r[:]))
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", err
	}
	return id, nil
}

// prepareDemoOdoo makes the Odoo database ready for the demo's depot, idempotently, as
// an administrator would by hand: the warehouse (created when missing), a location for
// each demo location (WH/Input becomes <code>/Input, ...), the demo's items as products
// (internal reference = SKU, barcode, tracking, expiry, unit), then `depotd erp setup`'s
// own steps. It returns the connector service that drains the depot into Odoo through
// brokerURL.
func prepareDemoOdoo(ctx context.Context, envPath, code string, cfg *Config, brokerURL string, out io.Writer, log *slog.Logger) (*odoo.Service, error) {
	env, err := readOdooEnv(envPath)
	if err != nil {
		return nil, err
	}
	c, err := odoo.New(odoo.Options{URL: env.url, Database: env.db, APIKey: env.apiKey, Timeout: time.Minute})
	if err != nil {
		return nil, err
	}
	call := func(model, method string, params map[string]any, result any) error {
		return c.Call(ctx, model, method, params, result)
	}
	var whs []struct {
		ID   int             `json:"id"`
		View json.RawMessage `json:"view_location_id"`
	}
	if err := call("stock.warehouse", "search_read", map[string]any{"domain": []any{[]any{"code", "=", code}},
		"fields": []string{"view_location_id"}}, &whs); err != nil {
		return nil, fmt.Errorf("odoo at %s: %w", env.url, err)
	}
	if len(whs) == 0 {
		var ids []int
		if err := call("stock.warehouse", "create", map[string]any{"vals_list": []any{map[string]any{"name": "depotd demo " + code, "code": code}}}, &ids); err != nil {
			return nil, fmt.Errorf("create warehouse %s: %w", code, err)
		}
		fmt.Fprintf(out, "  odoo:     created warehouse %s\n", code)
		if err := call("stock.warehouse", "search_read", map[string]any{"domain": []any{[]any{"id", "=", ids[0]}},
			"fields": []string{"view_location_id"}}, &whs); err != nil || len(whs) != 1 {
			return nil, fmt.Errorf("read warehouse %s: %v", code, err)
		}
	}
	var view []any
	if err := json.Unmarshal(whs[0].View, &view); err != nil || len(view) == 0 {
		return nil, fmt.Errorf("warehouse %s: view location %s", code, whs[0].View)
	}
	dep := odoo.Depot{ID: cfg.Depot.ID, Warehouse: code, Locations: map[string]string{}}
	for _, l := range cfg.Locations {
		name := strings.TrimPrefix(l.Name, "WH/")
		dep.Locations[l.Name] = code + "/" + name
		var ids []int
		if err := call("stock.location", "search", map[string]any{"domain": []any{[]any{"complete_name", "=", code + "/" + name}}}, &ids); err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			if err := call("stock.location", "create", map[string]any{"vals_list": []any{map[string]any{
				"name": name, "location_id": view[0], "usage": "internal"}}}, &ids); err != nil {
				return nil, fmt.Errorf("create location %s/%s: %w", code, name, err)
			}
			fmt.Fprintf(out, "  odoo:     created location %s/%s\n", code, name)
		}
	}
	for _, it := range cfg.Master.Items {
		if err := demoProduct(ctx, c, it.Item, out); err != nil {
			return nil, err
		}
	}
	steps, err := odoo.Setup(ctx, c, []odoo.Depot{dep})
	if err != nil {
		return nil, fmt.Errorf("erp setup: %w", err)
	}
	for _, s := range steps {
		if s.Changed {
			fmt.Fprintf(out, "  odoo:     %s\n", s)
		}
	}
	mc := uplink.ClientConfig{Brokers: []string{brokerURL}, ClientID: "depotd-erp-" + cfg.Depot.ID}
	mc.ApplyDefaults()
	oc := odoo.Config{URL: env.url, Database: env.db}
	oc.ApplyDefaults()
	var dl odoo.DownlinkConfig
	dl.ApplyDefaults()
	return &odoo.Service{MQTT: mc, Odoo: oc, Depots: []odoo.Depot{dep}, Downlink: dl, Client: c,
		StateDir: filepath.Join(cfg.DataDir, "erp"), Log: log}, nil
}

// demoProduct creates the product of a demo item unless Odoo has one with its SKU.
func demoProduct(ctx context.Context, c *odoo.Client, it edge.Item, out io.Writer) error {
	var ids []int
	if err := c.Call(ctx, "product.product", "search", map[string]any{"domain": []any{[]any{"default_code", "=", it.SKU}}}, &ids); err != nil {
		return err
	}
	if len(ids) > 0 {
		return nil
	}
	vals := map[string]any{"name": it.Name, "default_code": it.SKU, "type": "consu", "is_storable": true}
	if len(it.Barcodes) > 0 {
		vals["barcode"] = it.Barcodes[0]
	}
	if it.Tracking != "" && it.Tracking != "none" {
		vals["tracking"] = it.Tracking
	}
	if it.Expiry {
		vals["use_expiration_date"] = true
	}
	if it.UnitWeightKg != "" {
		vals["weight"] = json.Number(it.UnitWeightKg)
	}
	if it.UoM != "" && it.UoM != "Units" {
		var uoms []int
		if err := c.Call(ctx, "uom.uom", "search", map[string]any{"domain": []any{[]any{"name", "=", it.UoM}}}, &uoms); err != nil {
			return err
		}
		if len(uoms) != 1 {
			return fmt.Errorf("item %s: Odoo has %d units named %q", it.SKU, len(uoms), it.UoM)
		}
		vals["uom_id"] = uoms[0]
	}
	// A packaging is, in Odoo 19, a unit of the product (so many of its own) with a
	// barcode for that product (product.uom): what masters.go reads back.
	var packs []int
	for _, pk := range it.Packagings {
		var u []int
		if err := c.Call(ctx, "uom.uom", "create", map[string]any{"vals_list": []any{map[string]any{
			"name": it.SKU + " " + pk.Name, "relative_factor": json.Number(pk.Qty.String()), "relative_uom_id": 1}}}, &u); err != nil {
			return fmt.Errorf("item %s: create unit %s: %w", it.SKU, pk.Name, err)
		}
		packs = append(packs, u[0])
	}
	if len(packs) > 0 {
		vals["uom_ids"] = []any{[]any{6, 0, packs}}
	}
	if err := c.Call(ctx, "product.product", "create", map[string]any{"vals_list": []any{vals}}, &ids); err != nil {
		return fmt.Errorf("create product %s: %w", it.SKU, err)
	}
	for i, pk := range it.Packagings {
		var pu []int
		if err := c.Call(ctx, "product.uom", "create", map[string]any{"vals_list": []any{map[string]any{
			"product_id": ids[0], "uom_id": packs[i], "barcode": pk.Barcode}}}, &pu); err != nil {
			return fmt.Errorf("item %s: packaging barcode %s: %w", it.SKU, pk.Barcode, err)
		}
	}
	fmt.Fprintf(out, "  odoo:     created product %s (%s)\n", it.SKU, it.Name)
	return nil
}
