package odoo

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
)

// snapState is when a depot's last snapshot was taken and whether one is asked for.
type snapState struct {
	seq       uint64
	at        time.Time // zero: none yet (one is taken when the worker starts)
	taken     bool
	requested bool
	failedAt  time.Time // the last attempt failed then (zero after a success)
	errAt     time.Time // last failure logged
}

// snapshotRetry is the least time between two failed attempts of a depot's snapshot, so
// that a failing Odoo or broker is not asked again at every posting.
const snapshotRetry = 10 * time.Second

// due says whether a snapshot is to be taken now, at watermark applied.
func (s *snapState) due(cfg DownlinkConfig, applied uint64, now time.Time) bool {
	if !s.failedAt.IsZero() {
		// A failed attempt is tried again once the retry time passed, whatever made it
		// due: wakeDue asks with applied 0, so a snapshot due by seqs would otherwise wait
		// for the next posting, which an idle depot never makes.
		return now.Sub(s.failedAt) >= snapshotRetry
	}
	return !s.taken || s.requested || applied >= s.seq+uint64(cfg.SnapshotEvery) || now.Sub(s.at) >= cfg.SnapshotInterval
}

// Request is erpcore's Config.Request: a depot's request for a snapshot is served by its
// worker at its next pause.
func (d *Downlink) Request(depot string, r uplink.Request) {
	if r.Request != uplink.RequestSnapshot {
		return
	}
	d.mu.Lock()
	s := d.snaps[depot]
	if s != nil {
		s.requested = true
		d.stats[depot].SnapshotRequests++
	}
	d.mu.Unlock()
	if s != nil {
		d.pub.Wake(depot)
	}
}

// wakeDue wakes each depot whose snapshot is due by time (SnapshotInterval ran out, or
// a failed one may be tried again), so that its worker takes it at its next pause even
// when the depot posts nothing.
func (d *Downlink) wakeDue() {
	var due []string
	now := time.Now()
	d.mu.Lock()
	for id, s := range d.snaps {
		if (s.taken || !s.failedAt.IsZero()) && s.due(d.cfg, 0, now) {
			due = append(due, id)
		}
	}
	d.mu.Unlock()
	for _, id := range due {
		d.pub.Wake(id)
	}
}

// Between is erpcore's Config.Between: on the depot's worker, no posting of the depot in
// flight, it takes and publishes the stock snapshot when one is due: never taken since
// start, SnapshotEvery seqs since the last, SnapshotInterval since the last, or asked for.
func (d *Downlink) Between(ctx context.Context, depot string, applied uint64) {
	d.mu.Lock()
	s := d.snaps[depot]
	due := s != nil && s.due(d.cfg, applied, time.Now())
	d.mu.Unlock()
	if !due {
		return
	}
	var dep Depot
	for _, x := range d.depots {
		if x.ID == depot {
			dep = x
		}
	}
	start := time.Now()
	rows, err := d.snapshot(ctx, dep, applied)
	if err == nil {
		var payload []byte
		at := time.Now().UTC()
		payload, err = json.Marshal(edge.StockSnapshot{V: uplink.ProtocolVersion, AppliedSeq: applied, At: &at, Rows: rows})
		if err == nil {
			err = d.pub.Publish(ctx, depot, uplink.TopicStock, false, payload)
		}
	}
	d.mu.Lock()
	st := d.stats[depot]
	if err != nil {
		st.SnapshotErrors++
		quiet := time.Since(s.errAt) < time.Minute
		if !quiet {
			s.errAt = time.Now()
		}
		// Still due: tried again at a pause or wake snapshotRetry from now.
		s.failedAt = time.Now()
		d.mu.Unlock()
		if !quiet && ctx.Err() == nil {
			d.log.Warn("erp stock snapshot failed (trying again at a later pause)", "depot", depot, "applied_seq", applied, "err", err)
		}
		return
	}
	s.seq, s.at, s.taken, s.requested, s.failedAt = applied, time.Now(), true, false, time.Time{}
	st.Snapshots++
	st.SnapshotSeq, st.SnapshotAt = applied, s.at
	d.mu.Unlock()
	d.log.Info("erp stock snapshot published", "depot", depot, "applied_seq", applied, "rows", len(rows),
		"took", time.Since(start).Round(time.Millisecond))
}

type quantRec struct {
	Product struct {
		Code text `json:"default_code"`
	} `json:"product_id"`
	Location struct {
		Name text `json:"complete_name"`
	} `json:"location_id"`
	Lot json.RawMessage `json:"lot_id"`
	Qty json.Number     `json:"quantity"`
}

// snapshot reads the quants of the depot's warehouse as the depot's stock rows: an Odoo
// location is named back as the depot names it (Depot.DepotLocation); stock in a state's
// location (quarantine, damaged) is that state at the depot location of the
// warehouse's stock location, where the posting took it from. Quants of the same depot
// row (packages, owners) add up; zero rows and products without an internal reference
// are left out. It checks that Odoo's applied seq is still applied: only then is the
// snapshot exactly the stock after that seq.
func (d *Downlink) snapshot(ctx context.Context, dep Depot, applied uint64) ([]edge.StockSnapshotRow, error) {
	var wh struct {
		Records []struct {
			Stock struct {
				Name text `json:"complete_name"`
			} `json:"lot_stock_id"`
		} `json:"records"`
	}
	if err := d.c.Call(ctx, "stock.warehouse", "web_search_read", map[string]any{
		"domain":        []any{[]any{"code", "=", dep.Warehouse}},
		"specification": map[string]any{"lot_stock_id": map[string]any{"fields": map[string]any{"complete_name": map[string]any{}}}},
		"limit":         1}, &wh); err != nil {
		return nil, fmt.Errorf("read warehouse %s: %w", dep.Warehouse, err)
	}
	if len(wh.Records) == 0 {
		return nil, &SetupError{Msg: fmt.Sprintf("depot %s: Odoo has no warehouse %s", dep.ID, dep.Warehouse)}
	}
	home := dep.DepotLocation(string(wh.Records[0].Stock.Name))
	var ans struct {
		Records []quantRec `json:"records"`
	}
	name := map[string]any{"name": map[string]any{}}
	if err := d.c.Call(ctx, "stock.quant", "web_search_read", map[string]any{
		"domain": []any{[]any{"location_id.warehouse_id.code", "=", dep.Warehouse}, []any{"location_id.usage", "=", "internal"}},
		"specification": map[string]any{
			"product_id":  map[string]any{"fields": map[string]any{"default_code": map[string]any{}}},
			"location_id": map[string]any{"fields": map[string]any{"complete_name": map[string]any{}}},
			"lot_id":      map[string]any{"fields": name},
			"quantity":    map[string]any{},
		}}, &ans); err != nil {
		return nil, fmt.Errorf("read quants of warehouse %s: %w", dep.Warehouse, err)
	}
	a := Applier{c: d.c}
	now, err := a.AppliedSeq(ctx, dep.ID)
	if err != nil {
		return nil, err
	}
	if now != applied {
		return nil, fmt.Errorf("depot %s: Odoo's applied seq is %d, not %d: is another connector posting this depot?", dep.ID, now, applied)
	}
	return quantRows(dep, home, ans.Records)
}

func quantRows(dep Depot, home string, quants []quantRec) ([]edge.StockSnapshotRow, error) {
	states := dep.stateLocations()
	type key struct {
		item, loc, lot string
		st             edge.StockState
	}
	sum := map[key]decimal.Decimal{}
	for _, q := range quants {
		sku := string(q.Product.Code)
		if sku == "" {
			continue
		}
		k := key{item: sku, loc: dep.DepotLocation(string(q.Location.Name)), st: edge.Available}
		if st, ok := states[string(q.Location.Name)]; ok {
			k.loc, k.st = home, st
		}
		if len(q.Lot) > 0 && string(q.Lot) != "false" {
			var lot struct {
				Name text `json:"name"`
			}
			if err := json.Unmarshal(q.Lot, &lot); err != nil {
				return nil, fmt.Errorf("quant lot %s: %w", q.Lot, err)
			}
			k.lot = string(lot.Name)
		}
		v, err := decimal.NewFromString(string(q.Qty))
		if err != nil {
			return nil, fmt.Errorf("quant of %s at %s: quantity %q: %w", sku, q.Location.Name, q.Qty, err)
		}
		sum[k] = sum[k].Add(v)
	}
	rows := make([]edge.StockSnapshotRow, 0, len(sum))
	for k, v := range sum {
		// Odoo stores quantities rounded to its precision and answers them as floats: the
		// shortest float text is that decimal; rounding to the depot's decimals drops
		// only what summing floats may add.
		q, err := edge.ParseQty(v.Round(edge.MaxQtyDecimals).String())
		if err != nil {
			return nil, fmt.Errorf("quant of %s at %s: %w", k.item, k.loc, err)
		}
		if q.IsZero() {
			continue
		}
		rows = append(rows, edge.StockSnapshotRow{Item: k.item, Location: k.loc, Lot: k.lot, State: k.st, Qty: q})
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Item != b.Item {
			return a.Item < b.Item
		}
		if a.Location != b.Location {
			return a.Location < b.Location
		}
		if a.Lot != b.Lot {
			return a.Lot < b.Lot
		}
		return a.State < b.State
	})
	return rows, nil
}
