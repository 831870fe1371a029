package odoo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
)

// orderpointModels are what an orderpoints payload is built from: the orderpoints, the
// routes and rules that say where each replenishes from, and the SKUs, location names and
// units it names.
var orderpointModels = []string{"stock.warehouse.orderpoint", "stock.route", "stock.rule", "product.product", "stock.location", "uom.uom"}

type orderpointRec struct {
	ID      int `json:"id"`
	Product struct {
		Code text `json:"default_code"`
	} `json:"product_id"`
	Location struct {
		Name text `json:"complete_name"`
	} `json:"location_id"`
	Min      json.Number `json:"product_min_qty"`
	Max      json.Number `json:"product_max_qty"`
	UoM      uomFactor   `json:"product_uom"`
	ReplUoM  uomFactor   `json:"replenishment_uom_id"`
	Route    routeRef    `json:"effective_route_id"`
	WriteDte text        `json:"write_date"`
}

// uomFactor and routeRef are many2one fields read with a specification: an object, or
// false when empty.
type uomFactor struct {
	ID     int
	Factor string
}

func (u *uomFactor) UnmarshalJSON(b []byte) error {
	if string(b) == "false" || string(b) == "null" {
		*u = uomFactor{}
		return nil
	}
	var v struct {
		ID     int         `json:"id"`
		Factor json.Number `json:"factor"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*u = uomFactor{ID: v.ID, Factor: string(v.Factor)}
	return nil
}

type routeRef struct{ ID int }

func (r *routeRef) UnmarshalJSON(b []byte) error {
	if string(b) == "false" || string(b) == "null" {
		*r = routeRef{}
		return nil
	}
	var v struct {
		ID int `json:"id"`
	}
	err := json.Unmarshal(b, &v)
	r.ID = v.ID
	return err
}

// readOrderpoints reads the active orderpoints of the depot's warehouse as the depot's
// min/max rules, sorted by item and location, and the newest write_date among them.
//
//   - item: the product's internal reference (orderpoints of products without one are left
//     out, as the items master leaves them out);
//   - location: the depot name of the orderpoint's location (Depot.DepotLocation);
//   - min and max: product_min_qty and product_max_qty. An orderpoint with a maximum of 0 is
//     not a rule but the placeholder Odoo's replenishment report makes for every product
//     short of stock (trigger manual, 0/0): left out;
//   - multiple: Odoo 19 has no qty_multiple; it orders in multiples of the orderpoint's
//     replenishment unit (a pack of 12), so the multiple is that unit's factor over the
//     product's unit, and 1 without one;
//   - source: where its route (the orderpoint's own or the one Odoo would use) pulls the
//     location's goods from: a location of the same warehouse is named as the depot names
//     it (a van refilled from the depot), anything else, or no route, is "central".
func readOrderpoints(ctx context.Context, c *Client, d Depot, log *slog.Logger) ([]edge.Orderpoint, string, error) {
	var ans struct {
		Records []orderpointRec `json:"records"`
	}
	uom := map[string]any{"fields": map[string]any{"factor": map[string]any{}}}
	if err := c.Call(ctx, "stock.warehouse.orderpoint", "web_search_read", map[string]any{
		"domain": []any{[]any{"warehouse_id.code", "=", d.Warehouse}, []any{"product_max_qty", ">", 0}, []any{"product_id.default_code", "!=", false}},
		"specification": map[string]any{
			"product_id":      map[string]any{"fields": map[string]any{"default_code": map[string]any{}}},
			"location_id":     map[string]any{"fields": map[string]any{"complete_name": map[string]any{}}},
			"product_min_qty": map[string]any{}, "product_max_qty": map[string]any{},
			"product_uom": uom, "replenishment_uom_id": uom,
			"effective_route_id": map[string]any{"fields": map[string]any{}}, "write_date": map[string]any{},
		},
		"order": "id"}, &ans); err != nil {
		return nil, "", fmt.Errorf("read orderpoints of warehouse %s: %w", d.Warehouse, err)
	}
	sources, err := routeSources(ctx, c, ans.Records)
	if err != nil {
		return nil, "", err
	}
	newest := ""
	seen := map[[2]string]bool{}
	var out []edge.Orderpoint
	for _, r := range ans.Records {
		if w := string(r.WriteDte); w > newest {
			newest = w
		}
		o, err := orderpointOf(d, r, sources)
		if err != nil {
			log.Warn("erp downlink: orderpoint left out", "orderpoint_id", r.ID, "err", err)
			continue
		}
		k := [2]string{o.Item, o.Location}
		if seen[k] {
			log.Warn("erp downlink: two orderpoints for one product and location; only the older is sent", "orderpoint_id", r.ID, "sku", o.Item, "location", o.Location)
			continue
		}
		seen[k] = true
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Item != out[j].Item {
			return out[i].Item < out[j].Item
		}
		return out[i].Location < out[j].Location
	})
	return out, odooTime(newest), nil
}

func orderpointOf(d Depot, r orderpointRec, sources map[int][]ruleSource) (edge.Orderpoint, error) {
	qty := func(n json.Number) (edge.Qty, error) {
		v, err := decimal.NewFromString(string(n))
		if err != nil {
			return edge.Qty{}, err
		}
		// Odoo keeps quantities as floats: beyond the depot's decimals is noise.
		return edge.ParseQty(v.Round(edge.MaxQtyDecimals).String())
	}
	o := edge.Orderpoint{Item: string(r.Product.Code), Location: d.DepotLocation(string(r.Location.Name)), Source: "central"}
	var err error
	if o.Min, err = qty(r.Min); err != nil {
		return o, fmt.Errorf("minimum %s: %w", r.Min, err)
	}
	if o.Max, err = qty(r.Max); err != nil {
		return o, fmt.Errorf("maximum %s: %w", r.Max, err)
	}
	if o.Max.LessThan(o.Min) {
		return o, fmt.Errorf("maximum %s below the minimum %s", o.Max, o.Min)
	}
	o.Multiple = edge.QtyFromInt(1)
	if r.ReplUoM.ID != 0 && r.ReplUoM.ID != r.UoM.ID {
		f, ferr := decimal.NewFromString(r.ReplUoM.Factor)
		base, berr := decimal.NewFromString(r.UoM.Factor)
		if ferr != nil || berr != nil || f.Sign() <= 0 || base.Sign() <= 0 {
			return o, fmt.Errorf("replenishment unit without a usable factor")
		}
		if o.Multiple, err = edge.ParseQty(f.DivRound(base, edge.MaxQtyDecimals).String()); err != nil || o.Multiple.Sign() <= 0 {
			return o, fmt.Errorf("replenishment unit factor out of range")
		}
	}
	for _, s := range sources[r.Route.ID] {
		if s.dest != string(r.Location.Name) {
			continue
		}
		if s.warehouse == d.Warehouse {
			if src := d.DepotLocation(s.src); src != o.Location {
				o.Source = src
			}
		}
		break
	}
	return o, nil
}

// ruleSource is one pull rule of a route: it brings goods to dest from src, a location of
// warehouse.
type ruleSource struct{ dest, src, warehouse string }

// routeSources reads the pull rules of the orderpoints' routes.
func routeSources(ctx context.Context, c *Client, recs []orderpointRec) (map[int][]ruleSource, error) {
	var ids []int
	for _, r := range recs {
		if r.Route.ID != 0 {
			ids = append(ids, r.Route.ID)
		}
	}
	out := map[int][]ruleSource{}
	if len(ids) == 0 {
		return out, nil
	}
	var ans struct {
		Records []struct {
			Route routeRef `json:"route_id"`
			Dest  struct {
				Name text `json:"complete_name"`
			} `json:"location_dest_id"`
			Src struct {
				Name      text `json:"complete_name"`
				Warehouse struct {
					Code text `json:"code"`
				} `json:"warehouse_id"`
			} `json:"location_src_id"`
		} `json:"records"`
	}
	if err := c.Call(ctx, "stock.rule", "web_search_read", map[string]any{
		"domain": []any{[]any{"route_id", "in", ids}, []any{"action", "in", []string{"pull", "pull_push"}}},
		"specification": map[string]any{
			"route_id":         map[string]any{"fields": map[string]any{}},
			"location_dest_id": map[string]any{"fields": map[string]any{"complete_name": map[string]any{}}},
			"location_src_id": map[string]any{"fields": map[string]any{"complete_name": map[string]any{},
				"warehouse_id": map[string]any{"fields": map[string]any{"code": map[string]any{}}}}},
		},
		"order": "sequence, id"}, &ans); err != nil {
		return nil, fmt.Errorf("read the rules of the orderpoints' routes: %w", err)
	}
	for _, r := range ans.Records {
		out[r.Route.ID] = append(out[r.Route.ID], ruleSource{dest: string(r.Dest.Name), src: string(r.Src.Name), warehouse: string(r.Src.Warehouse.Code)})
	}
	return out, nil
}

// buildOrderpoints reads every depot's orderpoints payload.
func (d *Downlink) buildOrderpoints(ctx context.Context) (map[string]masterSet, error) {
	out := map[string]masterSet{}
	for _, dep := range d.depots {
		ops, newest, err := readOrderpoints(ctx, d.c, dep, d.log)
		if err != nil {
			return nil, err
		}
		if ops == nil {
			ops = []edge.Orderpoint{}
		}
		set, err := masterPayload(newest, func(v string) any { return edge.MasterOrderpoints{V: 1, Version: v, Orderpoints: ops} }, ops)
		if err != nil {
			return nil, err
		}
		out[dep.ID] = set
	}
	return out, nil
}
