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
	PickingID  int    // applied: the picking made; duplicate: the key's record (Model)
	Picking    string
	Model      string // duplicate: the key's model (stock.picking, or ir.config_parameter for a rejection)
	Moves      []Move // applied: one per depot line, in order of product and destination
	// Rejection is set on a duplicate of a seq that was rejected: the code and message
	// recorded then (nil when recorded by a depotd that did not keep them).
	Rejection *Rejection
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
func (r *Rejection) Unwrap() error { return r.Err }

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
		return 0, &SetupError{Msg: "the post action (depotd.action_post) is not installed in Odoo: run depotd erp setup"}
	}
	p.actionID = id
	return id, nil
}

// Post applies tx (its Seq set, as sent on the uplink) for depot d exactly once.
// Receipts (an incoming picking from the vendor location), issues (an outgoing picking to
// the customer location, lots as scanned) and transfers (an internal picking) are posted;
// other types return ErrNotImplemented without calling Odoo. Calling it
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

func (p *Poster) run(ctx context.Context, req map[string]any) (Result, error) {
	id, err := p.action(ctx)
	if err != nil {
		return Result{}, err
	}
	var out struct {
		Depotd struct {
			Status     string `json:"status"`
			AppliedSeq uint64 `json:"applied_seq"`
			PickingID  int    `json:"picking_id"`
			Picking    string `json:"picking"`
			Model      string `json:"model"`
			ResID      int    `json:"res_id"`
			Rejection  string `json:"rejection"`
			Moves      []struct {
				ProductID int             `json:"product_id"`
				Quantity  decimal.Decimal `json:"quantity"`
				State     string          `json:"state"`
				Lot       string          `json:"lot"`
			} `json:"moves"`
		} `json:"depotd"`
	}
	err = p.c.Call(ctx, "ir.actions.server", "run", map[string]any{"ids": []int{id}, "context": map[string]any{"depotd": req}}, &out)
	if errors.Is(err, ErrNotFound) {
		// The action was deleted or reinstalled under another id: look it up again next time.
		p.mu.Lock()
		p.actionID = 0
		p.mu.Unlock()
	}
	var oe *Error
	if errors.As(err, &oe) && errors.Is(err, ErrRefused) {
		return Result{}, rejection(oe)
	}
	if err != nil {
		return Result{}, err
	}
	r := Result{Status: out.Depotd.Status, AppliedSeq: out.Depotd.AppliedSeq, PickingID: out.Depotd.PickingID,
		Picking: out.Depotd.Picking, Model: out.Depotd.Model}
	if r.Status == StatusDuplicate {
		r.PickingID = out.Depotd.ResID
		if out.Depotd.Rejection != "" {
			code, msg, _ := strings.Cut(out.Depotd.Rejection, ": ")
			r.Rejection = &Rejection{Code: code, Message: msg}
		}
	}
	for _, m := range out.Depotd.Moves {
		r.Moves = append(r.Moves, Move{ProductID: m.ProductID, Quantity: m.Quantity, State: m.State, Lot: m.Lot})
	}
	switch r.Status {
	case StatusNotSetUp:
		return r, &SetupError{Msg: fmt.Sprintf("depot %v is not set up in this Odoo database (no ir.config_parameter %v): run depotd erp setup", req["depot"], req["param"])}
	case StatusBadInput, "":
		return r, &Error{Op: "ir.actions.server/run", Status: 200, Kind: ErrProtocol, Message: fmt.Sprintf("the post action answered %q: is it this depotd's? (run depotd erp setup)", r.Status)}
	}
	return r, nil
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
// names (Depot.Location, Depot.StateLocation), quantities as exact decimal strings in the
// unit the ledger counts in, the scans as evidence on the picking.
func buildRequest(d Depot, tx edge.Transaction) (map[string]any, error) {
	switch tx.Type {
	case edge.Receipt, edge.Issue, edge.Transfer:
	default:
		// Not the data's fault: a connector must neither reject nor skip it.
		return nil, fmt.Errorf("%w: posting %s transactions to Odoo is not implemented yet (depot %s seq %d)", ErrNotImplemented, tx.Type, d.ID, tx.Seq)
	}
	if tx.Seq == 0 {
		return nil, &Rejection{Code: "BAD_TX", Message: "transaction without seq"}
	}
	lines := make([]map[string]any, 0, len(tx.Lines))
	for i, l := range tx.Lines {
		qty, uom := l.Qty, l.UoM
		if l.BaseQty != nil {
			qty, uom = *l.BaseQty, l.BaseUoM
		}
		// Stock in a state lives in that state's location (quarantine, damaged); available
		// and reserved stay in the line's own.
		from := ""
		if l.From != "" {
			from = d.Location(l.From)
		}
		if loc := d.StateLocation(l.State); loc != "" {
			from = loc
		}
		to := ""
		if l.To != "" {
			to = d.Location(l.To)
		}
		st := l.State
		if l.ToState != "" {
			st = l.ToState
		}
		if loc := d.StateLocation(st); loc != "" {
			to = loc
		}
		line := map[string]any{
			"item": l.Item, "qty": qty.Decimal().String(), "uom": uom, "lot": l.Lot, "serial": l.Serial, "expiry": l.Expiry,
		}
		// A receipt comes from the vendor location and an issue goes to the customer
		// location (the post action's): only the depot's own side is sent.
		switch tx.Type {
		case edge.Receipt:
			if to == "" {
				return nil, &Rejection{Code: "BAD_TX", Message: fmt.Sprintf("line %d has no destination location", i+1)}
			}
			line["to"] = to
		case edge.Issue:
			if from == "" {
				return nil, &Rejection{Code: "BAD_TX", Message: fmt.Sprintf("line %d has no source location", i+1)}
			}
			line["from"] = from
		case edge.Transfer:
			if from == "" || to == "" {
				return nil, &Rejection{Code: "BAD_TX", Message: fmt.Sprintf("line %d needs a source and a destination location", i+1)}
			}
			if from == to {
				return nil, &Rejection{Code: "BAD_TX", Message: fmt.Sprintf("line %d moves nothing in Odoo: %s and %s are both %s", i+1, l.From, l.To, to)}
			}
			line["from"], line["to"] = from, to
		}
		lines = append(lines, line)
	}
	return map[string]any{
		"depot": d.ID, "seq": tx.Seq, "key": TxKey(d.ID, tx.Seq), "param": AppliedSeqParam(d.ID),
		"type": string(tx.Type), "warehouse": d.Warehouse, "ref": tx.Ref, "note": evidence(d, tx), "lines": lines,
	}, nil
}

// evidence is the picking's note: where the transaction came from and the raw scans, so a
// dispute can be traced to the scan.
func evidence(d Depot, tx edge.Transaction) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<p>depotd %s seq %d, id %s", html.EscapeString(d.ID), tx.Seq, html.EscapeString(tx.ID))
	if tx.At != nil {
		fmt.Fprintf(&b, ", at %s", tx.At.Format(time.RFC3339Nano))
	}
	for _, kv := range [][2]string{{"station", tx.Station}, {"operator", tx.Operator}, {"source", tx.Source}, {"note", tx.Note}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, ", %s %s", kv[0], html.EscapeString(kv[1]))
		}
	}
	b.WriteString("</p>")
	if len(tx.Scans) > 0 {
		raw, err := json.Marshal(tx.Scans)
		if err == nil {
			fmt.Fprintf(&b, "<p>scans: %s</p>", html.EscapeString(string(raw)))
		}
	}
	return b.String()
}
