package odoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
)

// Statuses of a posting, as the post action reports them.
const (
	StatusApplied   = "applied"     // the movement is now in Odoo, with its key
	StatusRejected  = "rejected"    // recorded as processed without a movement (Reject)
	StatusVoided    = "voided"      // a void entry recorded as processed without a movement (Void)
	StatusDuplicate = "duplicate"   // the key already exists: applied (or rejected) before
	StatusGap       = "gap"         // seq is beyond the depot's applied seq + 1: nothing done
	StatusBehind    = "behind"      // seq is at or below the applied seq but has no key
	StatusNotSetUp  = "not_set_up"  // the depot has no applied-seq record: Post returns a *SetupError
	StatusBadInput  = "bad_request" // the action did not understand depotd: Post returns ErrProtocol
)

// Result is what the post action did with one (depot, seq).
type Result struct {
	Status     string
	AppliedSeq uint64 // the depot's applied seq in Odoo after the call
	// PickingID is the record the key points at (Model): the picking made or completed;
	// for an adjustment or a count its first inventory move (stock.move), for a scrap its
	// first stock.scrap; 0 for a posting that moved nothing (a state change Odoo keeps in
	// one location: Model ir.config_parameter). Picking is that record's name or reference.
	PickingID int
	Picking   string
	Model     string // the key's model (stock.picking, stock.move, stock.scrap; ir.config_parameter for a rejection or nothing moved)
	// Moves are the depot's lines as Odoo stored them: a picking's in order of product and
	// destination; an adjustment's or a count's signed (negative when stock left the
	// location); a scrap's in line order.
	Moves []Move
	// Backorder is the picking Odoo made for what is still due when a receipt or an issue
	// was posted against the open picking its ref names ("" when nothing is left).
	Backorder string
	// Rejection is set on a duplicate of a seq that was rejected: the code and message
	// recorded then (nil when recorded by a depotd that did not keep them).
	Rejection *Rejection
	// Grouped is set when a batch posted this seq in a run with its neighbours, Odoo's
	// work done on the run's records together (post_action.py, post_run); false when it
	// was posted alone.
	Grouped bool
}

// Move is one depot line as Odoo stored it (a move line of the picking; lines of one
// product and destination share one stock move), read back in the same Odoo transaction.
type Move struct {
	ProductID int
	Quantity  decimal.Decimal // exactly as Odoo stored it
	State     string
	Lot       string
}

// Rejection is Odoo refusing a transaction for a reason that is the data's fault (an
// unknown product or location, a tracked product without a lot, a quantity Odoo cannot
// hold). Nothing was changed; the connector acknowledges the seq as rejected (Reject).
type Rejection struct {
	Code    string // e.g. UNKNOWN_ITEM; ODOO_REFUSED when Odoo's own check refused it
	Message string // for a supervisor at the depot
	Err     *Error
}

func (r *Rejection) Error() string { return r.Code + ": " + r.Message }

// Unwrap is Odoo's error when Odoo refused it; nil for a rejection depotd decided itself
// (BAD_TX), which must not unwrap to a nil *Error that errors.As would find.
func (r *Rejection) Unwrap() error {
	if r.Err == nil {
		return nil
	}
	return r.Err
}

// Poster posts depot transactions through the post action installed by Setup. Safe for
// concurrent use, but a depot's seqs must be posted in order by one caller (the action
// refuses a gap and serializes each depot's postings in Odoo anyway).
type Poster struct {
	c *Client

	mu       sync.Mutex
	actionID int
}

// NewPoster returns a Poster whose posting calls may take up to timeout each
// (Config.PostTimeout).
func NewPoster(c *Client, timeout time.Duration) *Poster {
	cc := *c
	if timeout > 0 {
		cc.timeout = timeout
	}
	return &Poster{c: &cc}
}

func (p *Poster) action(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.actionID != 0 {
		return p.actionID, nil
	}
	id, err := findXMLID(ctx, p.c, PostActionXMLID)
	if err != nil {
		return 0, err
	}
	if id == 0 {
		return 0, &SetupError{Msg: fmt.Sprintf("this depotd's post action (%s.%s) is not installed in Odoo: run depotd erp setup", Module, PostActionXMLID)}
	}
	p.actionID = id
	return id, nil
}

// Post applies tx (its Seq set, as sent on the uplink) for depot d exactly once: receipts
// (an incoming picking from the vendor location), issues (an outgoing picking to the
// customer location, lots as scanned), each against the open picking of the warehouse
// that ref names when there is one (leaving a backorder for what is still due), transfers and status changes (an internal picking
// between the mapped locations; a state change moves into or out of the state's
// location), returns (an incoming picking from the customer location into the state's
// location, quarantine by default, pointing at the delivery named by ref), scraps (a
// stock.scrap per line, tagged with the reason), adjustments and counts (an inventory
// adjustment on stock.quant by the depot's delta). A type depotd does not know returns
// ErrNotImplemented without calling Odoo. Calling it
// again for the same seq, after a timeout or from another process, never moves stock
// twice: it answers StatusDuplicate. Errors: a *Rejection when Odoo refused the data;
// otherwise an *Error (Retryable says whether to try again: the call either committed
// whole or not at all, and retrying is always safe).
func (p *Poster) Post(ctx context.Context, d Depot, tx edge.Transaction) (Result, error) {
	req, err := buildRequest(d, tx)
	if err != nil {
		return Result{}, err
	}
	req["op"] = "post"
	return p.run(ctx, req)
}

// Reject records (depot, seq) as processed without a movement, in order and exactly once,
// so that the depot's next seq can be applied. The rejection's code and message are kept
// in Odoo (ir.config_parameter depotd.rejected.<depot>_<seq>, which the key points at), so
// a connector that restarts before its ack went out still tells the depot why (a
// duplicate's Result.Rejection). why may be nil.
func (p *Poster) Reject(ctx context.Context, d Depot, seq uint64, why *Rejection) (Result, error) {
	req := map[string]any{"op": "reject", "depot": d.ID, "seq": seq, "key": TxKey(d.ID, seq), "param": AppliedSeqParam(d.ID)}
	if why != nil {
		req["code"], req["message"] = why.Code, why.Message
	}
	return p.run(ctx, req)
}

// Void records (depot, seq), a void entry (a seq a depot restore skipped), as processed
// without a movement, in order and exactly once.
func (p *Poster) Void(ctx context.Context, d Depot, seq uint64) (Result, error) {
	return p.run(ctx, map[string]any{"op": "void", "depot": d.ID, "seq": seq, "key": TxKey(d.ID, seq), "param": AppliedSeqParam(d.ID)})
}

// actionResult is one transaction's answer of the post action.
type actionResult struct {
	Status     string `json:"status"`
	AppliedSeq uint64 `json:"applied_seq"`
	PickingID  int    `json:"picking_id"`
	Picking    string `json:"picking"`
	Model      string `json:"model"`
	ResID      int    `json:"res_id"`
	Rejection  string `json:"rejection"` // a duplicate of a rejected seq: "CODE: message"
	Code       string `json:"code"`      // rejected in a batch
	Message    string `json:"message"`   // rejected in a batch; stopped: why
	Backorder  string `json:"backorder"`
	Grouped    bool   `json:"grouped"`
	Moves      []struct {
		ProductID int             `json:"product_id"`
		Quantity  decimal.Decimal `json:"quantity"`
		State     string          `json:"state"`
		Lot       string          `json:"lot"`
	} `json:"moves"`
}

// call runs the post action with req and decodes its answer into out.
func (p *Poster) call(ctx context.Context, req map[string]any, out any) error {
	id, err := p.action(ctx)
	if err != nil {
		return err
	}
	err = p.c.Call(ctx, "ir.actions.server", "run", map[string]any{"ids": []int{id}, "context": map[string]any{"depotd": req}}, out)
	if errors.Is(err, ErrNotFound) {
		// The action was deleted or reinstalled under another id: look it up again next time.
		p.mu.Lock()
		p.actionID = 0
		p.mu.Unlock()
	}
	return err
}

func (p *Poster) run(ctx context.Context, req map[string]any) (Result, error) {
	var out struct {
		Depotd actionResult `json:"depotd"`
	}
	err := p.call(ctx, req, &out)
	var oe *Error
	if errors.As(err, &oe) && errors.Is(err, ErrRefused) {
		return Result{}, rejection(oe)
	}
	if err != nil {
		return Result{}, err
	}
	return out.Depotd.result(req["depot"], req["param"])
}

func (a actionResult) result(depot, param any) (Result, error) {
	r := Result{Status: a.Status, AppliedSeq: a.AppliedSeq, PickingID: a.PickingID,
		Picking: a.Picking, Model: a.Model, Backorder: a.Backorder, Grouped: a.Grouped}
	switch r.Status {
	case StatusDuplicate:
		r.PickingID = a.ResID
		if a.Rejection != "" {
			code, msg, _ := strings.Cut(a.Rejection, ": ")
			r.Rejection = &Rejection{Code: code, Message: msg}
		}
	case StatusRejected:
		if a.Code != "" {
			r.Rejection = &Rejection{Code: a.Code, Message: a.Message}
		}
	}
	for _, m := range a.Moves {
		r.Moves = append(r.Moves, Move{ProductID: m.ProductID, Quantity: m.Quantity, State: m.State, Lot: m.Lot})
	}
	switch r.Status {
	case StatusNotSetUp:
		return r, &SetupError{Msg: fmt.Sprintf("depot %v is not set up in this Odoo database (no ir.config_parameter %v): run depotd erp setup", depot, param)}
	case StatusBadInput, "":
		return r, &Error{Op: "ir.actions.server/run", Status: 200, Kind: ErrProtocol, Message: fmt.Sprintf("the post action answered %q: is it this depotd's? (run depotd erp setup)", r.Status)}
	}
	return r, nil
}

// BatchItem is one seq of a batch (Poster.Batch): a transaction to post (Tx), a void
// entry (Void), or a seq to record as rejected without posting it (Reject: depotd could
// not even build the posting, e.g. BAD_TX).
type BatchItem struct {
	Seq    uint64
	Tx     *edge.Transaction
	Void   bool
	Reject *Rejection
}

// Batch posts consecutive seqs of depot d in one Odoo call, each in its own savepoint
// and each exactly once, as Post, Void and Reject would one by one: a transaction Odoo
// refuses for its data is recorded as rejected at once (StatusRejected, Result.Rejection
// set) and the next one goes on. The results are in item order and cover a prefix of
// items, all of it committed. When the action stopped at an item for a reason that is not
// the data's fault, the results before it come back with an *Error (ErrServer, retryable)
// for that item; any other error means nothing of the call is known to be committed
// (retrying is safe: the keys answer StatusDuplicate). A transaction depotd cannot post
// (ErrNotImplemented) ends the batch before it: the results before it come back with that
// error, as Post's.
func (p *Poster) Batch(ctx context.Context, d Depot, items []BatchItem) ([]Result, error) {
	reqs := make([]map[string]any, 0, len(items))
	var stop error // what ends the batch before the item it refuses
	for _, it := range items {
		req := map[string]any{"depot": d.ID, "seq": it.Seq, "key": TxKey(d.ID, it.Seq), "param": AppliedSeqParam(d.ID)}
		reject := func(r *Rejection) { req["op"], req["code"], req["message"] = "reject", r.Code, r.Message }
		switch {
		case it.Void:
			req["op"] = "void"
		case it.Reject != nil:
			reject(it.Reject)
		case it.Tx != nil:
			tx := *it.Tx
			tx.Seq = it.Seq
			r, err := buildRequest(d, tx)
			var rej *Rejection
			switch {
			case errors.As(err, &rej):
				reject(rej)
			case err != nil:
				stop = err
			default:
				r["op"] = "post"
				req = r
			}
		default:
			stop = fmt.Errorf("batch item of depot %s seq %d holds nothing to post", d.ID, it.Seq)
		}
		if stop != nil {
			break
		}
		reqs = append(reqs, req)
	}
	if len(reqs) == 0 {
		return nil, stop
	}
	items = items[:len(reqs)]
	var out struct {
		Depotd struct {
			Status  string         `json:"status"`
			Results []actionResult `json:"results"`
		} `json:"depotd"`
	}
	if err := p.call(ctx, map[string]any{"op": "batch", "items": reqs}, &out); err != nil {
		return nil, err
	}
	if out.Depotd.Status != "batch" || len(out.Depotd.Results) > len(items) {
		return nil, &Error{Op: "ir.actions.server/run", Status: 200, Kind: ErrProtocol,
			Message: fmt.Sprintf("the post action answered %q with %d results for a batch of %d: is it this depotd's? (run depotd erp setup)", out.Depotd.Status, len(out.Depotd.Results), len(items))}
	}
	rs := make([]Result, 0, len(out.Depotd.Results))
	for i, a := range out.Depotd.Results {
		if a.Status == "stopped" {
			return rs, &Error{Op: "ir.actions.server/run", Status: 200, Kind: ErrServer,
				Message: fmt.Sprintf("depot %s seq %d not posted (the batch stopped there): %s", d.ID, items[i].Seq, a.Message)}
		}
		r, err := a.result(d.ID, AppliedSeqParam(d.ID))
		if err != nil {
			return rs, err
		}
		rs = append(rs, r)
	}
	if len(rs) < len(items) {
		return rs, &Error{Op: "ir.actions.server/run", Status: 200, Kind: ErrProtocol,
			Message: fmt.Sprintf("the post action answered %d results for a batch of %d", len(rs), len(items))}
	}
	return rs, stop
}

var codeRE = regexp.MustCompile(`^([A-Z][A-Z_]{2,40}): (.+)$`)

func rejection(e *Error) *Rejection {
	msg := strings.TrimSpace(e.Message)
	if m := codeRE.FindStringSubmatch(msg); m != nil {
		return &Rejection{Code: m[1], Message: m[2], Err: e}
	}
	return &Rejection{Code: "ODOO_REFUSED", Message: msg, Err: e}
}

// buildRequest maps a depot transaction onto the post action's input: depot names to Odoo
// names (Depot.Location, and the state's location: stateLocation), quantities as exact
// decimal strings in the unit the ledger counts in, the scans and weights as evidence.
func buildRequest(d Depot, tx edge.Transaction) (map[string]any, error) {
	if !postable(tx.Type) {
		// Not the data's fault: a connector must neither reject nor skip it.
		return nil, fmt.Errorf("%w: posting %s transactions to Odoo is not implemented (depot %s seq %d)", ErrNotImplemented, tx.Type, d.ID, tx.Seq)
	}
	if tx.Seq == 0 {
		return nil, &Rejection{Code: "BAD_TX", Message: "transaction without seq"}
	}
	lines := make([]map[string]any, 0, len(tx.Lines))
	for i, l := range tx.Lines {
		line, err := requestLine(d, tx.Type, i+1, l)
		if err != nil {
			return nil, err
		}
		lines = append(lines, line)
	}
	return map[string]any{
		"depot": d.ID, "seq": tx.Seq, "key": TxKey(d.ID, tx.Seq), "param": AppliedSeqParam(d.ID),
		"type": string(tx.Type), "warehouse": d.Warehouse, "ref": tx.Ref, "reason": tx.Reason,
		"note": evidence(d, tx), "lines": lines,
	}, nil
}

func postable(t edge.TxType) bool {
	switch t {
	case edge.Receipt, edge.Issue, edge.Transfer, edge.StatusMove, edge.Return, edge.Scrap, edge.Adjustment, edge.Count:
		return true
	}
	return false
}

// odooPlace is where a line's stock is in Odoo: a location's complete name, or the
// warehouse company's transit location (Transit), which the action resolves.
type odooPlace struct {
	Name    string
	Transit bool
}

func (p odooPlace) none() bool { return p.Name == "" && !p.Transit }

// place is where stock of state st at depot location loc is in Odoo: the state's own
// location when it has one (quarantine, damaged, in_transit), otherwise loc's mapping.
func place(d Depot, loc string, st edge.StockState) odooPlace {
	if name := d.StateLocation(st); name != "" {
		return odooPlace{Name: name}
	}
	if st == edge.InTransit {
		return odooPlace{Transit: true}
	}
	if loc == "" {
		return odooPlace{}
	}
	return odooPlace{Name: d.Location(loc)}
}

// requestLine maps line n of a transaction of type t. Per type, only the depot's own side
// is sent: a receipt comes from the vendor location, an issue goes to the customer
// location, a return comes from the customer location (the post action's), a scrap goes
// to the company's scrap location (Odoo's).
func requestLine(d Depot, t edge.TxType, n int, l edge.Line) (map[string]any, error) {
	qty, uom := l.Qty, l.UoM
	if l.BaseQty != nil {
		qty, uom = *l.BaseQty, l.BaseUoM
	}
	line := map[string]any{
		"item": l.Item, "qty": qty.Decimal().String(), "uom": uom, "lot": l.Lot, "serial": l.Serial, "expiry": l.Expiry,
	}
	toState := l.State
	if l.ToState != "" {
		toState = l.ToState
	}
	var from, to odooPlace
	switch t {
	case edge.Receipt, edge.Return:
		// A return lands in its state's location: quarantine unless the depot said otherwise.
		to = place(d, l.To, toState)
		if to.none() {
			return nil, &Rejection{Code: "BAD_TX", Message: fmt.Sprintf("line %d has no destination location", n)}
		}
	case edge.Issue, edge.Scrap:
		from = place(d, l.From, l.State)
		if from.none() {
			return nil, &Rejection{Code: "BAD_TX", Message: fmt.Sprintf("line %d has no source location", n)}
		}
	case edge.Transfer, edge.StatusMove:
		dest := l.To
		if t == edge.StatusMove {
			// A state change stays at its location: into or out of the state's location.
			dest = l.From
		}
		from, to = place(d, l.From, l.State), place(d, dest, toState)
		if from.none() || to.none() {
			return nil, &Rejection{Code: "BAD_TX", Message: fmt.Sprintf("line %d needs a source and a destination location", n)}
		}
		// from == to: a change between states Odoo keeps in one location (available and
		// reserved); the action posts no movement for it.
	case edge.Adjustment, edge.Count:
		to = place(d, l.To, l.State)
		if to.none() {
			return nil, &Rejection{Code: "BAD_TX", Message: fmt.Sprintf("line %d has no location", n)}
		}
		if t == edge.Adjustment {
			line["delta"] = line["qty"]
			break
		}
		// The depot's delta, not its counted total: Odoo may have moved stock since.
		if l.Expected == nil || l.Delta == nil {
			return nil, &Rejection{Code: "BAD_TX", Message: fmt.Sprintf("line %d of the count has no expected quantity (the depot's journal records it at commit)", n)}
		}
		line["expected"], line["delta"] = l.Expected.Decimal().String(), l.Delta.Decimal().String()
	}
	if !from.none() {
		line["from"], line["from_transit"] = from.Name, from.Transit
	}
	if !to.none() {
		line["to"], line["to_transit"] = to.Name, to.Transit
	}
	return line, nil
}

// evidence is the picking's note (and, for moves without a picking, an attachment): where
// the transaction came from, each line's weight, packaging and counted figures, and the
// raw scans, so a dispute can be traced to the scan and the scale.
func evidence(d Depot, tx edge.Transaction) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<p>depotd %s seq %d, id %s, %s", html.EscapeString(d.ID), tx.Seq, html.EscapeString(tx.ID), html.EscapeString(string(tx.Type)))
	if tx.At != nil {
		fmt.Fprintf(&b, ", at %s", tx.At.Format(time.RFC3339Nano))
	}
	for _, kv := range [][2]string{{"ref", tx.Ref}, {"reason", tx.Reason}, {"station", tx.Station}, {"operator", tx.Operator}, {"source", tx.Source}, {"note", tx.Note}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, ", %s %s", kv[0], html.EscapeString(kv[1]))
		}
	}
	b.WriteString("</p>")
	for i, l := range tx.Lines {
		var parts []string
		if l.WeightKg != "" {
			parts = append(parts, "weighed "+l.WeightKg+" kg")
		}
		if l.Packaging != "" {
			parts = append(parts, "packaging "+l.Packaging)
		}
		if l.BaseQty != nil && l.BaseUoM != "" && l.BaseUoM != l.UoM {
			parts = append(parts, fmt.Sprintf("scanned %s %s", l.Qty, l.UoM))
		}
		if l.Expected != nil {
			parts = append(parts, fmt.Sprintf("counted %s, expected %s", l.Qty, *l.Expected))
		}
		if len(parts) > 0 {
			fmt.Fprintf(&b, "<p>line %d (%s): %s</p>", i+1, html.EscapeString(l.Item), html.EscapeString(strings.Join(parts, ", ")))
		}
	}
	if len(tx.Scans) > 0 {
		raw, err := json.Marshal(tx.Scans)
		if err == nil {
			fmt.Fprintf(&b, "<p>scans: %s</p>", html.EscapeString(string(raw)))
		}
	}
	return b.String()
}
