package odoo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
)

// documentKinds maps an Odoo picking type code to the depot's document kind.
var documentKinds = map[string]string{"incoming": edge.DocReceipt, "outgoing": edge.DocIssue, "internal": edge.DocTransfer}

// openPickingStates are the states of a picking the depot still has to work on.
var openPickingStates = []string{"confirmed", "waiting", "assigned"}

type pickingRec struct {
	ID        int        `json:"id"`
	Name      text       `json:"name"`
	Code      text       `json:"picking_type_code"`
	Origin    text       `json:"origin"`
	Scheduled text       `json:"scheduled_date"`
	WriteDate text       `json:"write_date"`
	Partner   partnerRef `json:"partner_id"`
}

// partnerRef is a picking's partner; Odoo sends false for a picking without one.
type partnerRef struct {
	Name text `json:"display_name"`
}

func (p *partnerRef) UnmarshalJSON(b []byte) error {
	if string(b) == "false" || string(b) == "null" {
		*p = partnerRef{}
		return nil
	}
	type plain partnerRef
	return json.Unmarshal(b, (*plain)(p))
}

type moveRec struct {
	Picking  pickingRec  `json:"picking_id"`
	Ordered  json.Number `json:"product_uom_qty"` // in the move's unit
	Base     json.Number `json:"product_qty"`     // the same, in the product's unit
	Quantity json.Number `json:"quantity"`        // reserved or picked, in the move's unit
	Picked   bool        `json:"picked"`          // Quantity is what was actually done
	Write    text        `json:"write_date"`
	Product  struct {
		Code text `json:"default_code"`
		UoM  struct {
			Name text `json:"name"`
		} `json:"uom_id"`
	} `json:"product_id"`
}

// readDocuments reads the open pickings of the depot's warehouse (confirmed, waiting or
// assigned; receipts, deliveries and internal transfers) with their open moves, as the
// depot's documents sorted by ref, and the newest write_date among pickings and moves.
// Quantities are converted to the product's unit: Odoo's product_qty is the ordered
// quantity so converted, and the done quantity is scaled by the same ratio. Done is a
// move's quantity only once it is picked: Odoo fills quantity with what it reserved (a
// receipt's whole demand as soon as it is confirmed), which nobody has done yet. A move whose
// product has no internal reference names no depot item and is left out (logged).
func readDocuments(ctx context.Context, c *Client, d Depot, log *slog.Logger) ([]edge.Document, string, error) {
	var ans struct {
		Records []moveRec `json:"records"`
	}
	states := make([]any, len(openPickingStates))
	for i, s := range openPickingStates {
		states[i] = s
	}
	if err := c.Call(ctx, "stock.move", "web_search_read", map[string]any{
		"domain": []any{
			[]any{"picking_id.picking_type_id.warehouse_id.code", "=", d.Warehouse},
			[]any{"picking_id.state", "in", states},
			[]any{"picking_id.picking_type_code", "in", []any{"incoming", "outgoing", "internal"}},
			[]any{"state", "not in", []any{"done", "cancel"}},
		},
		"specification": map[string]any{
			"picking_id": map[string]any{"fields": map[string]any{
				"name": map[string]any{}, "picking_type_code": map[string]any{}, "origin": map[string]any{},
				"scheduled_date": map[string]any{}, "write_date": map[string]any{},
				"partner_id": map[string]any{"fields": map[string]any{"display_name": map[string]any{}}}}},
			"product_uom_qty": map[string]any{}, "product_qty": map[string]any{}, "quantity": map[string]any{},
			"picked": map[string]any{}, "write_date": map[string]any{},
			"product_id": map[string]any{"fields": map[string]any{"default_code": map[string]any{}, "uom_id": map[string]any{"fields": map[string]any{"name": map[string]any{}}}}},
		},
		"order": "picking_id, id"}, &ans); err != nil {
		return nil, "", fmt.Errorf("read open pickings of warehouse %s: %w", d.Warehouse, err)
	}
	newest := ""
	byRef := map[string]*edge.Document{}
	at := map[string]map[string]int{} // ref → item → line
	for _, m := range ans.Records {
		p := m.Picking
		for _, w := range []text{p.WriteDate, m.Write} {
			if string(w) > newest {
				newest = string(w)
			}
		}
		kind, ok := documentKinds[string(p.Code)]
		ref := string(p.Name)
		if !ok || ref == "" {
			continue
		}
		sku := strings.TrimSpace(string(m.Product.Code))
		if sku == "" {
			log.Warn("erp downlink: a move of a product without an internal reference left out of its document", "picking", ref)
			continue
		}
		qty, done, err := baseQuantities(m)
		if err != nil {
			log.Warn("erp downlink: a move with unusable quantities left out of its document", "picking", ref, "sku", sku, "err", err)
			continue
		}
		doc := byRef[ref]
		if doc == nil {
			doc = &edge.Document{Ref: ref, Kind: kind, Origin: string(p.Origin), Partner: string(p.Partner.Name)}
			if s := odooTime(string(p.Scheduled)); s != "" {
				if err := doc.Scheduled.UnmarshalText([]byte(s)); err != nil {
					log.Warn("erp downlink: unreadable scheduled date left out", "picking", ref, "scheduled", p.Scheduled)
				}
			}
			byRef[ref], at[ref] = doc, map[string]int{}
		}
		if i, ok := at[ref][sku]; ok {
			doc.Lines[i].Qty, doc.Lines[i].Done = doc.Lines[i].Qty.Add(qty), doc.Lines[i].Done.Add(done)
			continue
		}
		at[ref][sku] = len(doc.Lines)
		doc.Lines = append(doc.Lines, edge.DocumentLine{Item: sku, Qty: qty, Done: done, UoM: string(m.Product.UoM.Name)})
	}
	out := make([]edge.Document, 0, len(byRef))
	for _, doc := range byRef {
		sort.Slice(doc.Lines, func(i, j int) bool { return doc.Lines[i].Item < doc.Lines[j].Item })
		out = append(out, *doc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out, odooTime(newest), nil
}

// baseQuantities are a move's ordered and done quantities in its product's unit, rounded
// to the depot's decimals (Odoo keeps them as floats: 12 is 12 exactly, and what a float
// adds beyond the depot's decimals is noise).
func baseQuantities(m moveRec) (qty, done edge.Qty, err error) {
	ordered, err1 := decimal.NewFromString(string(m.Ordered))
	base, err2 := decimal.NewFromString(string(m.Base))
	picked, err3 := decimal.NewFromString(string(m.Quantity))
	if err1 != nil || err2 != nil || err3 != nil {
		return qty, done, fmt.Errorf("product_uom_qty %q, product_qty %q, quantity %q", m.Ordered, m.Base, m.Quantity)
	}
	if ordered.Sign() <= 0 || base.Sign() <= 0 {
		return qty, done, fmt.Errorf("nothing ordered (%s)", ordered)
	}
	if qty, err = edge.ParseQty(base.Round(edge.MaxQtyDecimals).String()); err != nil {
		return qty, done, err
	}
	d := picked.Mul(base).DivRound(ordered, edge.MaxQtyDecimals)
	if !m.Picked || d.Sign() < 0 {
		d = decimal.Zero
	}
	done, err = edge.ParseQty(d.String())
	return qty, done, err
}
