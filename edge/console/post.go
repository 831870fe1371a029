package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/depotd/depotd/edge"
	"github.com/gofiber/fiber/v2"
)

// formLines is how many line rows the manual posting form offers.
const formLines = 5

type postLine struct {
	// Serial has no column on the form (a serial-numbered item is received at a station,
	// one scan per unit): it is carried, hidden, by a reversal of such a line.
	Item, Qty, UoM, Lot, Serial, Expiry, From, To, State, ToState string
}

type postData struct {
	ID, Type, Ref, Reason, Note string
	Exception                   uint64
	// Reverses is the seq of the transaction this form reverses (0: none): the form is
	// shown pre-filled and nothing is posted until the user confirms it.
	Reverses  uint64
	Lines     []postLine
	Errors    map[string]string
	Summary   string
	Done      *edge.Transaction
	Locations []edge.Location
	CanAdjust bool
}

func newFormID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "console-" + hex.EncodeToString(b)
}

func (s *Server) postPage(c *fiber.Ctx) error {
	u := s.currentUser(c)
	d := postData{ID: newFormID(), Type: string(edge.Receipt), Lines: make([]postLine, formLines),
		Locations: s.j.Catalog().Locations(), CanAdjust: u.Role.AtLeast(RoleSupervisor)}
	// ?copy=SEQ pre-fills a corrected re-post of a transaction; ?exception=ID resolves that
	// exception as "reposted" once the correction is committed.
	if v := c.Query("copy"); v != "" {
		seq, _ := strconv.ParseUint(v, 10, 64)
		tx, err := s.j.Get(seq)
		if err == nil {
			d.Type, d.Ref, d.Reason, d.Note = string(tx.Type), tx.Ref, tx.Reason, fmt.Sprintf("correction of #%d", seq)
			for i, l := range tx.Lines {
				if i >= formLines {
					break
				}
				d.Lines[i] = postLine{Item: l.Item, Qty: l.Qty.String(), UoM: l.UoM, Lot: l.Lot, Expiry: l.Expiry,
					From: l.From, To: l.To, State: string(l.State), ToState: string(l.ToState)}
			}
		}
	}
	// ?reverse=SEQ pre-fills the opposite movement of a transaction (supervisors only:
	// it undoes what someone else posted).
	if v := c.Query("reverse"); v != "" {
		if !u.Role.AtLeast(RoleSupervisor) {
			return s.renderError(c, fiber.StatusForbidden, "Reversing a transaction needs the supervisor role.")
		}
		seq, _ := strconv.ParseUint(v, 10, 64)
		tx, err := s.j.Get(seq)
		if err != nil {
			return s.renderError(c, fiber.StatusNotFound, fmt.Sprintf("No journal entry with seq %d to reverse.", seq))
		}
		if why := s.fillReversal(&d, tx); why != "" {
			return s.renderError(c, fiber.StatusUnprocessableEntity, why)
		}
		if prev, err := s.j.GetByID(d.ID); err == nil {
			d.Summary = fmt.Sprintf("#%d was already reversed by #%d: posting this again changes nothing.", seq, prev.Seq)
		}
	}
	if v := c.Query("exception"); v != "" {
		d.Exception, _ = strconv.ParseUint(v, 10, 64)
	}
	if t := c.Query("type"); t != "" && d.Reverses == 0 {
		d.Type = t
	}
	if d.Reverses == 0 && c.Query("copy") == "" {
		s.prefillPost(c, &d) // today.go: the Today page's links to act
	}
	return s.render(c, "post", fiber.StatusOK, pageData{Title: "Post a transaction", Data: d})
}

// reversalID is the id of the transaction that reverses seq: one reversal per
// transaction, so that confirming the form twice (or from two tablets) posts it once.
func reversalID(seq uint64) string { return fmt.Sprintf("reversal-of-%d", seq) }

// fillReversal fills d with the movement that undoes tx: a receipt is reversed by an
// issue from where it went, an issue (or a return) by a receipt back to where it came
// from, a transfer or a status change by the same moved back, an adjustment by its
// opposite, a count by an adjustment of its delta's opposite, scrap by an adjustment
// putting the quantity back. Lots, serials, units and states are kept. It says why when
// tx cannot be reversed here.
func (s *Server) fillReversal(d *postData, tx edge.Transaction) string {
	if tx.Type == edge.Void {
		return fmt.Sprintf("#%d is a void: it moved nothing, there is nothing to reverse.", tx.Seq)
	}
	if len(tx.Lines) > formLines {
		return fmt.Sprintf("#%d has %d lines; the form takes %d. Reverse it through the API (POST /api/v1/transactions).", tx.Seq, len(tx.Lines), formLines)
	}
	d.Reverses, d.ID, d.Ref, d.Reason = tx.Seq, reversalID(tx.Seq), tx.Ref, ""
	d.Note = fmt.Sprintf("reverses #%d", tx.Seq)
	if tx.ID != "" {
		d.Note += " (id " + tx.ID + ")"
	}
	d.Lines = make([]postLine, formLines)
	var typ edge.TxType
	for i, l := range tx.Lines {
		r := postLine{Item: l.Item, Qty: l.Qty.String(), UoM: l.UoM, Lot: l.Lot, Serial: l.Serial, State: string(l.State)}
		if l.Serial != "" && l.Lot == l.Serial {
			r.Lot = "" // the journal sets a serial line's lot to its serial
		}
		switch tx.Type {
		case edge.Receipt:
			typ, r.From, r.To = edge.Issue, l.To, l.From
		case edge.Issue:
			typ, r.From, r.To = edge.Receipt, l.To, l.From
		case edge.Return:
			typ, r.From, r.To = edge.Issue, l.To, l.From
		case edge.Transfer:
			typ, r.From, r.To = edge.Transfer, l.To, l.From
			if l.ToState != "" {
				r.State, r.ToState = string(l.ToState), string(l.State)
			}
		case edge.StatusMove:
			typ, r.From, r.State, r.ToState = edge.StatusMove, l.From, string(l.ToState), string(l.State)
		case edge.Adjustment:
			typ, r.To, r.Qty = edge.Adjustment, l.To, l.Qty.Neg().String()
		case edge.Scrap:
			typ, r.To = edge.Adjustment, l.From
		case edge.Count:
			if l.Delta == nil || l.Delta.IsZero() {
				continue // the count changed nothing on this line
			}
			typ, r.To, r.Qty, r.UoM = edge.Adjustment, l.To, l.Delta.Neg().String(), l.BaseUoM
		default:
			return fmt.Sprintf("#%d is a %s: the console does not know how to reverse it.", tx.Seq, tx.Type)
		}
		d.Lines[i] = r
	}
	if typ == "" {
		return fmt.Sprintf("#%d changed no stock (every count matched): there is nothing to reverse.", tx.Seq)
	}
	d.Type = string(typ)
	if typ == edge.Adjustment {
		d.Reason = tx.Reason
		if d.Reason == "" {
			d.Reason = "REVERSAL"
		}
	}
	return ""
}

func (s *Server) postForm(c *fiber.Ctx) error {
	u := s.currentUser(c)
	val := func(k string) string { return strings.TrimSpace(strings.Clone(c.FormValue(k))) }
	d := postData{ID: val("id"), Type: val("type"), Ref: val("ref"), Reason: val("reason"), Note: strings.Clone(c.FormValue("note")),
		Errors: map[string]string{}, Locations: s.j.Catalog().Locations(), CanAdjust: u.Role.AtLeast(RoleSupervisor)}
	d.Exception, _ = strconv.ParseUint(val("exception"), 10, 64)
	d.Reverses, _ = strconv.ParseUint(val("reverses"), 10, 64)
	tx := edge.Transaction{ID: d.ID, Type: edge.TxType(d.Type), Ref: d.Ref, Reason: d.Reason, Note: d.Note,
		Operator: u.Name, Source: "console"}
	// rows[k] is the form row of the transaction's line k: blank rows are skipped, so an
	// error the journal names by line must be shown on the row it came from.
	var rows []int
	for i := 0; i < formLines; i++ {
		p := fmt.Sprintf("lines[%d].", i)
		l := postLine{Item: val(p + "item"), Qty: val(p + "qty"), UoM: val(p + "uom"), Lot: val(p + "lot"), Serial: val(p + "serial"),
			Expiry: val(p + "expiry"), From: val(p + "from"), To: val(p + "to"), State: val(p + "state"), ToState: val(p + "to_state")}
		d.Lines = append(d.Lines, l)
		if l == (postLine{}) || (l.Item == "" && l.Qty == "") {
			continue
		}
		var q edge.Qty
		if l.Qty == "" {
			d.Errors[p+"qty"] = "required"
		} else if err := q.UnmarshalText([]byte(l.Qty)); err != nil {
			d.Errors[p+"qty"] = fmt.Sprintf("%q is not a quantity (use a dot for decimals)", l.Qty)
		}
		rows = append(rows, i)
		tx.Lines = append(tx.Lines, edge.Line{Item: l.Item, Qty: q, UoM: l.UoM, Lot: l.Lot, Serial: l.Serial, Expiry: l.Expiry, From: l.From, To: l.To,
			State: edge.StockState(l.State), ToState: edge.StockState(l.ToState)})
	}
	fail := func(code int, summary string) error {
		d.Summary = summary
		return s.render(c, "post", code, pageData{Title: "Post a transaction", Nav: "post", Data: d})
	}
	if tx.Type != "" && !u.Role.AtLeast(minRoleFor(tx.Type)) {
		d.Errors["type"] = fmt.Sprintf("your role (%s) may not post %s transactions", u.Role, tx.Type)
		return fail(fiber.StatusForbidden, fmt.Sprintf("Refused: a %s needs the %s role.", tx.Type, minRoleFor(tx.Type)))
	}
	if len(d.Errors) > 0 {
		return fail(fiber.StatusUnprocessableEntity, "Please correct the marked fields.")
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.RequestTimeout)
	defer cancel()
	stored, existing, err := s.j.CommitRaising(ctx, tx, s.unknownItemExceptions(tx))
	if err != nil {
		var fe *edge.FieldError
		var se *edge.StockError
		switch {
		case errors.As(err, &fe):
			d.Errors[formField(fe.Field, rows)] = fe.Msg
			if fe.Field == "lines" || fe.Field == "id" || strings.HasSuffix(fe.Field, ".serial") {
				// No field of the form to mark (the form has no serial column: a
				// serial-numbered item is received at a station, one scan per unit).
				return fail(fiber.StatusUnprocessableEntity, fe.Msg)
			}
			return fail(fiber.StatusUnprocessableEntity, "Please correct the marked fields: "+fe.Msg)
		case errors.As(err, &se):
			d.Errors[formField(se.Field, rows)+".qty"] = fmt.Sprintf("only %s on hand", se.Have)
			return fail(fiber.StatusConflict, se.Error())
		}
		s.log.Error("console commit", "err", err)
		return fail(fiber.StatusServiceUnavailable, "The journal could not take the transaction (see the depotd log). Nothing was committed; submit again.")
	}
	if d.Exception != 0 {
		if _, _, err := s.resolve(d.Exception, "reposted", fmt.Sprintf("corrected by #%d", stored.Seq), stored.Seq, u.Name); err != nil {
			s.log.Warn("resolve after re-post", "exception", d.Exception, "err", err)
		}
	}
	s.log.Info("console transaction", "seq", stored.Seq, "type", stored.Type, "user", u.Name, "repeat", existing)
	return c.Redirect(fmt.Sprintf("/journal/%d?posted=1", stored.Seq), fiber.StatusSeeOther)
}

// formField turns the journal's name of a field of line k ("lines[k].lot") into the name
// of the form row that line came from; other names pass unchanged.
func formField(field string, rows []int) string {
	rest, ok := strings.CutPrefix(field, "lines[")
	if !ok {
		return field
	}
	num, tail, ok := strings.Cut(rest, "]")
	k, err := strconv.Atoi(num)
	if !ok || err != nil || k < 0 || k >= len(rows) {
		return field
	}
	return fmt.Sprintf("lines[%d]", rows[k]) + tail
}

func qe(s string) string { return url.QueryEscape(s) }
