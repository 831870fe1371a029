package odoo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// waitClaim waits for the connector's retained ownership claim of the rig's depot.
func (r *e2eRig) waitClaim() {
	r.t.Helper()
	got := make(chan struct{}, 1)
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(r.broker.URL()).SetClientID(odootest.Unique("claim-watch")))
	if t := cl.Connect(); !t.WaitTimeout(30*time.Second) || t.Error() != nil {
		r.t.Fatalf("connect: %v", t.Error())
	}
	defer cl.Disconnect(100)
	topic := "depots/" + r.depot.ID + "/owner"
	if t := cl.Subscribe(topic, 0, func(_ mqtt.Client, m mqtt.Message) {
		if len(m.Payload()) > 0 {
			select {
			case got <- struct{}{}:
			default:
			}
		}
	}); !t.WaitTimeout(30*time.Second) || t.Error() != nil {
		r.t.Fatalf("subscribe %s: %v", topic, t.Error())
	}
	select {
	case <-got:
	case <-time.After(time.Minute):
		r.t.Fatalf("no claim on %s within a minute", topic)
	}
}

type whRec struct {
	ID       int   `json:"id"`
	Stock    []any `json:"lot_stock_id"`
	IntType  []any `json:"int_type_id"`
	InType   []any `json:"in_type_id"`
	OutType  []any `json:"out_type_id"`
	Resupply []int `json:"resupply_wh_ids"`
}

func (r *e2eRig) warehouse(code string) whRec {
	r.t.Helper()
	var whs []whRec
	if err := r.c.Call(context.Background(), "stock.warehouse", "search_read", map[string]any{
		"domain": []any{[]any{"code", "=", code}}, "fields": []string{"lot_stock_id", "int_type_id", "in_type_id", "out_type_id", "resupply_wh_ids"}}, &whs); err != nil || len(whs) != 1 {
		r.t.Fatalf("warehouse %s: %v %v", code, whs, err)
	}
	return whs[0]
}

// pairID is the id of a many2one read as [id, name] (numbers come as json.Number).
func pairID(v []any) int {
	if len(v) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(fmt.Sprint(v[0]))
	return n
}

// withCentral makes a central warehouse and lets the depot's warehouse resupply from it
// (Odoo's "Resupply From"), then installs the actions again (setup is idempotent).
func (r *e2eRig) withCentral() whRec {
	r.t.Helper()
	central := r.warehouse(odootest.NewWarehouse(r.t, r.c))
	dep := r.warehouse(r.depot.Warehouse)
	if err := r.c.Call(context.Background(), "stock.warehouse", "write", map[string]any{"ids": []int{dep.ID},
		"vals": map[string]any{"resupply_wh_ids": []any{[]any{6, 0, []int{central.ID}}}}}, nil); err != nil {
		r.t.Fatal(err)
	}
	return central
}

type pickRec struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	State    string `json:"state"`
	Origin   any    `json:"origin"`
	Src      []any  `json:"location_id"`
	Dest     []any  `json:"location_dest_id"`
	Type     []any  `json:"picking_type_id"`
	TypeCode string `json:"picking_type_code"`
}

// pickingsOf lists the pickings with a move of the rig's product into location dest.
func (r *e2eRig) pickingsOf(dest int) []pickRec {
	r.t.Helper()
	var out []pickRec
	if err := r.c.Call(context.Background(), "stock.picking", "search_read", map[string]any{
		"domain": []any{[]any{"move_ids.product_id", "=", r.prod}, []any{"location_dest_id", "=", dest}},
		"fields": []string{"name", "state", "origin", "location_id", "location_dest_id", "picking_type_id", "picking_type_code"}}, &out); err != nil {
		r.t.Fatal(err)
	}
	return out
}

func (r *e2eRig) moveQty(picking int) string {
	r.t.Helper()
	var mv []struct {
		Qty float64 `json:"product_uom_qty"`
	}
	if err := r.c.Call(context.Background(), "stock.move", "search_read", map[string]any{
		"domain": []any{[]any{"picking_id", "=", picking}}, "fields": []string{"product_uom_qty"}}, &mv); err != nil || len(mv) != 1 {
		r.t.Fatalf("moves of picking %d: %+v %v", picking, mv, err)
	}
	return fmt.Sprint(mv[0].Qty)
}

func (r *e2eRig) approved(loc, source string, qty int64) edge.Proposal {
	r.t.Helper()
	p, _, err := r.j.RaiseProposal(edge.Proposal{Item: r.sku, Location: loc, Source: source, Min: edge.QtyFromInt(10), Max: edge.QtyFromInt(50),
		Multiple: edge.QtyFromInt(12), Available: edge.QtyFromInt(5), Qty: edge.QtyFromInt(qty)})
	if err != nil {
		r.t.Fatal(err)
	}
	if p, err = r.j.DecideProposal(p.ID, edge.ProposalEvent{By: "sam", Action: edge.ProposalApprove, Reason: "needed for Monday"}); err != nil {
		r.t.Fatal(err)
	}
	return p
}

func wire(t *testing.T, depot string, p edge.Proposal) uplink.Proposal {
	t.Helper()
	raw, err := uplink.ProposalPayload(depot, p)
	if err != nil {
		t.Fatal(err)
	}
	w, err := uplink.ParseProposal(raw)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// An approved proposal travels from the depot's journal through the broker to the
// connector and becomes, in Odoo, the transfer from the central warehouse the depot's
// warehouse resupplies from: along Odoo's resupply route, the central's delivery from its
// stock to transit chained to the depot's receipt from transit into the depot's location,
// both confirmed, for the proposal's quantity. Requesting it a second time (a redelivery,
// a connector that crashed before the broker had its ack) finds its key and makes no
// second transfer.
func TestAnApprovedProposalBecomesOneTransferFromCentralEvenWhenItArrivesTwice(t *testing.T) {
	r := newE2ERig(t)
	central := r.withCentral()
	dep := r.warehouse(r.depot.Warehouse)
	stock := dep.Stock
	p := r.approved(r.depot.Warehouse+"/Stock", "central", 48)
	mc := uplink.ClientConfig{Brokers: []string{r.broker.URL()}, ClientID: r.clientID, KeepAlive: 2 * time.Second}
	mc.ApplyDefaults()
	oc := odoo.Config{URL: r.env.URL, Database: r.env.DB, PostTimeout: 2 * time.Minute, RetryMax: 2 * time.Second}
	oc.ApplyDefaults()
	svc := &odoo.Service{MQTT: mc, Odoo: oc, Depots: []odoo.Depot{r.depot}, Client: r.c, Log: e2eLog(t, "erp"), StateDir: t.TempDir(),
		Downlink: odoo.DownlinkConfig{Poll: time.Hour, SnapshotEvery: 1000, SnapshotInterval: time.Hour}}
	goRun(t, "erp service", svc.Run)
	// The connector claims the depot only after it subscribed: from then on the broker
	// keeps the depot's proposals for it.
	r.waitClaim()
	r.startUplink()

	var picks []pickRec
	waitUntil(t, 2*time.Minute, "the proposal's transfer in Odoo", func() bool { picks = r.pickingsOf(pairID(stock)); return len(picks) > 0 })
	pk := picks[0]
	origin := fmt.Sprintf("depotd %s proposal %d", r.depot.ID, p.ID)
	if len(picks) != 1 || pk.TypeCode != "incoming" || pairID(pk.Type) != pairID(dep.InType) || pk.State == "done" || pk.State == "cancel" || pk.Origin != origin {
		t.Fatalf("pickings into the depot's stock %+v; want one open receipt of type %v from transit, origin %q", picks, dep.InType, origin)
	}
	var outs []pickRec
	if err := r.c.Call(t.Context(), "stock.picking", "search_read", map[string]any{
		"domain": []any{[]any{"origin", "=", origin}, []any{"id", "!=", pk.ID}},
		"fields": []string{"name", "state", "origin", "location_id", "location_dest_id", "picking_type_id", "picking_type_code"}}, &outs); err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || pairID(outs[0].Src) != pairID(central.Stock) || pairID(outs[0].Type) != pairID(central.OutType) ||
		pairID(outs[0].Dest) != pairID(pk.Src) || outs[0].State == "draft" || outs[0].State == "cancel" {
		t.Fatalf("first legs %+v; want one confirmed delivery of the central (type %v) from its stock %v to the receipt's transit %v", outs, central.OutType, central.Stock, pk.Src)
	}
	var chained []struct {
		Orig []int `json:"move_orig_ids"`
	}
	if err := r.c.Call(t.Context(), "stock.move", "search_read", map[string]any{
		"domain": []any{[]any{"picking_id", "=", pk.ID}}, "fields": []string{"move_orig_ids"}}, &chained); err != nil || len(chained) != 1 || len(chained[0].Orig) != 1 {
		t.Fatalf("the receipt's move is not chained to the delivery's: %+v %v", chained, err)
	}
	for _, id := range []int{pk.ID, outs[0].ID} {
		if q := r.moveQty(id); q != "48" {
			t.Fatalf("picking %d moves %s, want 48", id, q)
		}
	}
	res, err := r.c.RequestReplenishment(t.Context(), r.depot, wire(t, r.depot.ID, p))
	if err != nil || res.Status != odoo.ProposalDuplicate || res.ResID != pk.ID {
		t.Fatalf("second request: %+v, %v; want duplicate of picking %d", res, err, pk.ID)
	}
	if again := r.pickingsOf(pairID(stock)); len(again) != 1 {
		t.Fatalf("after the second request %d pickings, want 1: %+v", len(again), again)
	}
}

// A proposal for a location Odoo already replenishes (an open internal transfer of the
// product into it, made in Odoo) is recorded as covered: its key points at that move and
// no second transfer is made, not on a repeat either.
func TestAProposalOdooAlreadyCoversWithAnOpenTransferMakesNoSecondOne(t *testing.T) {
	r := newE2ERig(t)
	central := r.withCentral()
	dep := r.warehouse(r.depot.Warehouse)
	open := r.create("stock.picking", map[string]any{"picking_type_id": pairID(central.IntType), "location_id": pairID(central.Stock),
		"location_dest_id": pairID(dep.Stock), "move_ids": []any{[]any{0, 0, map[string]any{"product_id": r.prod, "product_uom_qty": 30,
			"location_id": pairID(central.Stock), "location_dest_id": pairID(dep.Stock)}}}})
	p := wire(t, r.depot.ID, r.approved(r.depot.Warehouse+"/Stock", "central", 48))
	for i := range 2 {
		res, err := r.c.RequestReplenishment(t.Context(), r.depot, p)
		want := odoo.ProposalCovered
		if i == 1 {
			want = odoo.ProposalDuplicate
		}
		if err != nil || res.Status != want || res.Model != "stock.move" && i == 0 {
			t.Fatalf("request %d: %+v, %v; want %s (a stock.move)", i+1, res, err, want)
		}
	}
	if picks := r.pickingsOf(pairID(dep.Stock)); len(picks) != 1 || picks[0].ID != open {
		t.Fatalf("pickings into the depot's stock %+v; want only Odoo's own %d", picks, open)
	}
}

// A van's proposal (source: a location of the depot) becomes an internal transfer inside
// the depot's warehouse, of its own internal operation type, from that location to the van.
func TestAVansProposalBecomesAnInternalTransferInsideTheDepotsWarehouse(t *testing.T) {
	r := newE2ERig(t)
	dep := r.warehouse(r.depot.Warehouse)
	var views []struct {
		View []any `json:"view_location_id"`
	}
	if err := r.c.Call(t.Context(), "stock.warehouse", "read", map[string]any{"ids": []int{dep.ID}, "fields": []string{"view_location_id"}}, &views); err != nil {
		t.Fatal(err)
	}
	van := r.create("stock.location", map[string]any{"name": "Van-1", "location_id": pairID(views[0].View), "usage": "internal"})
	r.depot.Locations = map[string]string{"Van-1": r.depot.Warehouse + "/Van-1"}
	res, err := r.c.RequestReplenishment(t.Context(), r.depot, wire(t, r.depot.ID, r.approved("Van-1", r.depot.Warehouse+"/Stock", 5)))
	if err != nil || res.Status != odoo.ProposalCreated {
		t.Fatalf("request: %+v, %v; want created", res, err)
	}
	picks := r.pickingsOf(van)
	if len(picks) != 1 || picks[0].ID != res.ResID || picks[0].TypeCode != "internal" || pairID(picks[0].Type) != pairID(dep.IntType) || pairID(picks[0].Src) != pairID(dep.Stock) {
		t.Fatalf("pickings into the van %+v; want one internal transfer of %s's own type %v from its stock %v", picks, r.depot.Warehouse, dep.IntType, dep.Stock)
	}
	if q := r.moveQty(res.ResID); q != "5" {
		t.Fatalf("the transfer moves %s, want 5", q)
	}
}

// A proposal the connector received (and so acknowledged to the broker) but had not yet
// requested when it died is requested by the next run from its state_dir: the depot sends
// each proposal once, so the connector must not lose it.
func TestAProposalReceivedBeforeACrashIsRequestedByTheNextRun(t *testing.T) {
	r := newE2ERig(t)
	r.withCentral()
	state := t.TempDir()
	first, err := odoo.NewProposalSpoolForTest(r.c, []odoo.Depot{r.depot}, state)
	if err != nil {
		t.Fatal(err)
	}
	p := r.approved(r.depot.Warehouse+"/Stock", "central", 48)
	raw, err := uplink.ProposalPayload(r.depot.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	first.Receive(r.depot.ID, raw) // and the process dies before Run gets to it

	next, err := odoo.NewProposalSpoolForTest(r.c, []odoo.Depot{r.depot}, state)
	if err != nil {
		t.Fatal(err)
	}
	stop := goRun(t, "proposal spool", next.Run)
	waitUntil(t, time.Minute, "the spooled proposal requested", func() bool { _, ok := next.Result(r.depot.ID, p.ID); return ok })
	stop.stop(t, "proposal spool")
	if res, _ := next.Result(r.depot.ID, p.ID); res.Status != odoo.ProposalCreated {
		t.Fatalf("spooled proposal: %+v, want created", res)
	}
	if ents, err := os.ReadDir(filepath.Join(state, "proposals")); err != nil || len(ents) != 0 {
		t.Fatalf("spool after the request: %v, %v; want empty", ents, err)
	}
}
