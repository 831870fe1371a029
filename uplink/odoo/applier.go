package odoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/depotd/depotd/uplink/erpcore"
)

// VoidType is the type of a journal entry that stands for a seq a depot restore skipped
// (DECISIONS.md): acknowledged without a movement.
const VoidType = "void"

// Applier is the erpcore.Applier that posts into Odoo through a Poster: the consumer core
// hands it each served depot's seqs in order, and it answers only once Odoo committed
// (or refused) the seq. Safe for concurrent use by one worker per depot.
type Applier struct {
	c      *Client
	p      *Poster
	depots map[string]Depot
}

// NewApplier returns an Applier for depots; postTimeout bounds each posting call
// (Config.PostTimeout).
func NewApplier(c *Client, postTimeout time.Duration, depots []Depot) *Applier {
	a := &Applier{c: c, p: NewPoster(c, postTimeout), depots: map[string]Depot{}}
	for _, d := range depots {
		a.depots[d.ID] = d
	}
	return a
}

var _ erpcore.BatchApplier = (*Applier)(nil)

// AppliedSeq reads the depot's applied seq from Odoo (the ir.config_parameter setup made).
// A depot setup never saw is a *SetupError.
func (a *Applier) AppliedSeq(ctx context.Context, depot string) (uint64, error) {
	var rows []struct {
		Value string `json:"value"`
	}
	key := AppliedSeqParam(depot)
	if err := a.c.Call(ctx, "ir.config_parameter", "search_read", map[string]any{
		"domain": []any{[]any{"key", "=", key}}, "fields": []string{"value"}, "limit": 1}, &rows); err != nil {
		return 0, fmt.Errorf("read applied seq of depot %s: %w", depot, err)
	}
	if len(rows) == 0 {
		return 0, &SetupError{Msg: fmt.Sprintf("depot %s is not set up in this Odoo database (no ir.config_parameter %s): run depotd erp setup", depot, key)}
	}
	n, err := strconv.ParseUint(rows[0].Value, 10, 64)
	if err != nil {
		return 0, &SetupError{Msg: fmt.Sprintf("depot %s: ir.config_parameter %s holds %q, not a seq", depot, key, rows[0].Value)}
	}
	return n, nil
}

// Apply posts tx once. A refusal that is the data's fault is recorded in Odoo (Reject)
// and answered Rejected; a void entry is recorded without a movement (Voided). Errors are
// Odoo's (*Error: Retryable tells), a *SetupError, or ErrNotImplemented for a type this
// depotd does not know (sent by a newer depot): none of them is acknowledged.
func (a *Applier) Apply(ctx context.Context, tx erpcore.Tx) (erpcore.Result, error) {
	d, ok := a.depots[tx.Depot]
	if !ok {
		return erpcore.Result{}, &SetupError{Msg: fmt.Sprintf("depot %s is not in erp.yaml's depots", tx.Depot)}
	}
	if tx.Type == VoidType {
		r, err := a.p.Void(ctx, d, tx.Seq)
		if err != nil {
			return erpcore.Result{}, err
		}
		return result(r, StatusVoided)
	}
	etx, err := tx.Transaction()
	if err != nil {
		return a.reject(ctx, d, tx.Seq, &Rejection{Code: "BAD_TX", Message: "the transaction could not be read: " + jsonReason(err)})
	}
	r, err := a.p.Post(ctx, d, etx)
	var rej *Rejection
	if errors.As(err, &rej) {
		return a.reject(ctx, d, tx.Seq, rej)
	}
	if err != nil {
		return erpcore.Result{}, err
	}
	return result(r, StatusApplied)
}

// ApplyBatch posts consecutive seqs of one depot in one Odoo call (Poster.Batch), each
// exactly once and in its own savepoint, with Apply's answers: a refusal that is the
// data's fault is recorded and answered Rejected, and the seqs after it go on. The
// results cover a prefix of txs, all committed; with an error, the rest is not.
func (a *Applier) ApplyBatch(ctx context.Context, txs []erpcore.Tx) ([]erpcore.Result, error) {
	if len(txs) == 0 {
		return nil, nil
	}
	d, ok := a.depots[txs[0].Depot]
	if !ok {
		return nil, &SetupError{Msg: fmt.Sprintf("depot %s is not in erp.yaml's depots", txs[0].Depot)}
	}
	items := make([]BatchItem, len(txs))
	for i, tx := range txs {
		if tx.Depot != d.ID {
			return nil, fmt.Errorf("a batch of depot %s holds seq %d of depot %s", d.ID, tx.Seq, tx.Depot)
		}
		it := BatchItem{Seq: tx.Seq}
		if tx.Type == VoidType {
			it.Void = true
		} else if etx, err := tx.Transaction(); err != nil {
			it.Reject = &Rejection{Code: "BAD_TX", Message: "the transaction could not be read: " + jsonReason(err)}
		} else {
			it.Tx = &etx
		}
		items[i] = it
	}
	rs, err := a.p.Batch(ctx, d, items)
	out := make([]erpcore.Result, 0, len(rs))
	for i, r := range rs {
		done := StatusApplied
		switch {
		case items[i].Void:
			done = StatusVoided
		case items[i].Reject != nil || r.Status == StatusRejected:
			done = StatusRejected
		}
		res, rerr := result(r, done)
		if rerr != nil {
			return out, rerr
		}
		out = append(out, res)
	}
	return out, err
}

func (a *Applier) reject(ctx context.Context, d Depot, seq uint64, why *Rejection) (erpcore.Result, error) {
	r, err := a.p.Reject(ctx, d, seq, why)
	if err != nil {
		return erpcore.Result{}, err
	}
	if r.Status == StatusRejected {
		return erpcore.Result{Status: erpcore.Rejected, Code: why.Code, Message: why.Message, AppliedSeq: r.AppliedSeq}, nil
	}
	return result(r, StatusRejected)
}

// result maps the post action's answer; done is the status of the change asked for.
func result(r Result, done string) (erpcore.Result, error) {
	out := erpcore.Result{AppliedSeq: r.AppliedSeq}
	switch r.Status {
	case done:
		switch done {
		case StatusApplied:
			out.Status = erpcore.Applied
		case StatusVoided:
			out.Status = erpcore.Voided
		default:
			out.Status = erpcore.Rejected
			if r.Rejection != nil {
				out.Code, out.Message = r.Rejection.Code, r.Rejection.Message
			}
		}
	case StatusDuplicate, StatusBehind:
		// behind: at or below the applied seq without a key (an applied seq set by hand):
		// Odoo says it was processed.
		out.Status = erpcore.Duplicate
		if r.Rejection != nil {
			out.Code, out.Message = r.Rejection.Code, r.Rejection.Message
		}
	case StatusGap:
		out.Status = erpcore.Gap
	default:
		return out, &Error{Op: "ir.actions.server/run", Status: 200, Kind: ErrProtocol, Message: fmt.Sprintf("the post action answered %q", r.Status)}
	}
	return out, nil
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "not JSON"
	case errors.As(err, &te):
		return fmt.Sprintf("%s is not a %s", te.Field, te.Type)
	}
	return err.Error()
}
