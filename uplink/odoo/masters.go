package odoo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
)

// odooTime turns Odoo's "2006-01-02 15:04:05" (UTC) into RFC 3339; "" stays "".
func odooTime(s string) string {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		return s
	}
	return t.UTC().Format(time.RFC3339)
}

// text is an Odoo char field: a string, or false when empty.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	if string(b) == "false" || string(b) == "null" {
		*t = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*t = text(s)
	return nil
}

type uomRec struct {
	ID     int         `json:"id"`
	Name   text        `json:"name"`
	Factor json.Number `json:"factor"`
}

type productRec struct {
	ID          int         `json:"id"`
	Code        text        `json:"default_code"`
	Name        text        `json:"name"`
	Barcode     text        `json:"barcode"`
	Weight      json.Number `json:"weight"`
	Cost        json.Number `json:"standard_price"`
	WeightUoM   text        `json:"weight_uom_name"`
	Tracking    text        `json:"tracking"`
	UseExpiry   bool        `json:"use_expiration_date"`
	WriteDate   text        `json:"write_date"`
	UoM         uomRec      `json:"uom_id"`
	ProductUoMs []struct {
		Barcode text   `json:"barcode"`
		UoM     uomRec `json:"uom_id"`
	} `json:"product_uom_ids"`
}

// readItems reads every active good with an internal reference (the depot's SKU) as the
// depot's items, sorted by SKU, and the newest write_date among them. A packaging is a
// product's packaging unit that has a barcode for that product (product.uom), its
// quantity the unit's factor over the product's own; a barcode on the product's own unit
// is one more barcode of the item. A packaging unit without a barcode is left out: at a
// depot a packaging is what a scan of its barcode stands for. The weight is sent when
// Odoo counts it in kg. The cost price (standard_price, of the connecting user's company,
// per the product's unit) is the item's unit_value, sent as Odoo's JSON prints it (Odoo
// rounds it to its Product Price decimals); 0, Odoo's default for a product nobody
// costed, is not sent, so that a value the depot's config gives stands. Of two products with the same internal reference only the older
// is sent (posting refuses the reference as AMBIGUOUS_ITEM anyway).
func readItems(ctx context.Context, c *Client, log *slog.Logger) ([]edge.Item, string, error) {
	var ans struct {
		Records []productRec `json:"records"`
	}
	uom := map[string]any{"fields": map[string]any{"name": map[string]any{}, "factor": map[string]any{}}}
	if err := c.Call(ctx, "product.product", "web_search_read", map[string]any{
		"domain": []any{[]any{"default_code", "!=", false}, []any{"type", "=", "consu"}},
		"specification": map[string]any{
			"default_code": map[string]any{}, "name": map[string]any{}, "barcode": map[string]any{},
			"weight": map[string]any{}, "weight_uom_name": map[string]any{}, "tracking": map[string]any{}, "standard_price": map[string]any{},
			"use_expiration_date": map[string]any{}, "write_date": map[string]any{}, "uom_id": uom,
			"product_uom_ids": map[string]any{"fields": map[string]any{"barcode": map[string]any{}, "uom_id": uom}},
		},
		"order": "id"}, &ans); err != nil {
		return nil, "", fmt.Errorf("read products: %w", err)
	}
	newest := ""
	seen := map[string]bool{}
	items := make([]edge.Item, 0, len(ans.Records))
	for _, p := range ans.Records {
		sku := strings.TrimSpace(string(p.Code))
		if sku == "" {
			continue
		}
		if seen[sku] {
			log.Warn("erp downlink: two Odoo products share an internal reference; only the older is sent", "sku", sku, "product_id", p.ID)
			continue
		}
		seen[sku] = true
		if w := string(p.WriteDate); w > newest {
			newest = w
		}
		it := edge.Item{SKU: sku, Name: string(p.Name), UoM: string(p.UoM.Name), Expiry: p.UseExpiry}
		switch string(p.Tracking) {
		case "lot", "serial":
			it.Tracking = string(p.Tracking)
		default:
			it.Tracking = "none"
		}
		if p.Barcode != "" {
			it.Barcodes = append(it.Barcodes, string(p.Barcode))
		}
		if w, err := decimal.NewFromString(string(p.Weight)); err == nil && w.Sign() > 0 && p.WeightUoM == "kg" {
			it.UnitWeightKg = w.String()
		}
		if v, err := decimal.NewFromString(string(p.Cost)); err == nil && v.Sign() > 0 {
			it.UnitValue = v.String()
		}
		base, err := decimal.NewFromString(string(p.UoM.Factor))
		for _, pu := range p.ProductUoMs {
			if pu.Barcode == "" {
				continue
			}
			if pu.UoM.ID == p.UoM.ID {
				it.Barcodes = append(it.Barcodes, string(pu.Barcode))
				continue
			}
			f, ferr := decimal.NewFromString(string(pu.UoM.Factor))
			if err != nil || ferr != nil || base.Sign() <= 0 || f.Sign() <= 0 {
				log.Warn("erp downlink: packaging without a usable factor left out", "sku", sku, "uom", pu.UoM.Name, "barcode", pu.Barcode)
				continue
			}
			// Odoo keeps factors as floats: a dozen over a unit is 12 exactly, and what a
			// float adds beyond the depot's decimals is noise.
			q, qerr := edge.ParseQty(f.DivRound(base, edge.MaxQtyDecimals).String())
			if qerr != nil || q.Sign() <= 0 {
				log.Warn("erp downlink: packaging quantity out of range left out", "sku", sku, "uom", pu.UoM.Name, "err", qerr)
				continue
			}
			it.Packagings = append(it.Packagings, edge.Packaging{Name: string(pu.UoM.Name), Barcode: string(pu.Barcode), Qty: q})
		}
		sort.Strings(it.Barcodes)
		sort.Slice(it.Packagings, func(i, j int) bool { return it.Packagings[i].Barcode < it.Packagings[j].Barcode })
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].SKU < items[j].SKU })
	return items, odooTime(newest), nil
}

// readLocations reads the internal locations of the depot's warehouse, named as the
// depot names them (Depot.DepotLocation). The locations of stock states (quarantine,
// damaged) are states at the depot, not locations, and are left out.
func readLocations(ctx context.Context, c *Client, d Depot) ([]edge.Location, string, error) {
	var ans struct {
		Records []struct {
			Name      text `json:"complete_name"`
			Barcode   text `json:"barcode"`
			WriteDate text `json:"write_date"`
		} `json:"records"`
	}
	if err := c.Call(ctx, "stock.location", "web_search_read", map[string]any{
		"domain":        []any{[]any{"warehouse_id.code", "=", d.Warehouse}, []any{"usage", "=", "internal"}},
		"specification": map[string]any{"complete_name": map[string]any{}, "barcode": map[string]any{}, "write_date": map[string]any{}},
		"order":         "complete_name"}, &ans); err != nil {
		return nil, "", fmt.Errorf("read locations of warehouse %s: %w", d.Warehouse, err)
	}
	states := d.stateLocations()
	newest := ""
	var out []edge.Location
	for _, r := range ans.Records {
		if w := string(r.WriteDate); w > newest {
			newest = w
		}
		if _, ok := states[string(r.Name)]; ok {
			continue
		}
		out = append(out, edge.Location{Name: d.DepotLocation(string(r.Name)), Type: edge.LocInternal, Barcode: string(r.Barcode)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, odooTime(newest), nil
}

// stateLocations maps the Odoo complete names of the depot's state locations to their
// states.
func (d *Depot) stateLocations() map[string]edge.StockState {
	out := map[string]edge.StockState{}
	for _, st := range edge.StockStates {
		if loc := d.StateLocation(st); loc != "" {
			out[loc] = st
		}
	}
	return out
}

// DepotLocation is the inverse of Location: the depot name of an Odoo location complete
// name. A name the locations map lists maps back to its key (the first in sort order
// when several keys map to it); any other to itself, as the depot configs name
// locations "<warehouse>/<name>".
func (d *Depot) DepotLocation(complete string) string {
	for _, k := range sortedKeys(d.Locations) {
		if d.Locations[k] == complete {
			return k
		}
	}
	return complete
}
