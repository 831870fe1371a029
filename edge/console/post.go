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
	Item, Qty, UoM, Lot, Expiry, From, To, State, ToState string
}

type postData struct {
	ID, Type, Ref, Reason, Note string
	Exception                   uint64
	Lines                       []postLine
	Errors                      map[string]string
	Summary                     string
	Done                        *edge.Transaction
	Locations                   []edge.Location
	CanAdjust                   bool
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
	if v := c.Query("exception"); v != "" {
		d.Exception, _ = strconv.ParseUint(v, 10, 64)
	}
	if t := c.Query("type"); t != "" {
		d.Type = t
	}
	return s.render(c, "post", fiber.StatusOK, pageData{Title: "Post a transaction", Data: d})
}

func (s *Server) postForm(c *fiber.Ctx) error {
	u := s.currentUser(c)
	val := func(k string) string { return strings.TrimSpace(strings.Clone(c.FormValue(k))) }
	d := postData{ID: val("id"), Type: val("type"), Ref: val("ref"), Reason: val("reason"), Note: strings.Clone(c.FormValue("note")),
		Errors: map[string]string{}, Locations: s.j.Catalog().Locations(), CanAdjust: u.Role.AtLeast(RoleSupervisor)}
	d.Exception, _ = strconv.ParseUint(val("exception"), 10, 64)
	tx := edge.Transaction{ID: d.ID, Type: edge.TxType(d.Type), Ref: d.Ref, Reason: d.Reason, Note: d.Note,
		Operator: u.Name, Source: "console"}
	for i := 0; i < formLines; i++ {
		p := fmt.Sprintf("lines[%d].", i)
		l := postLine{Item: val(p + "item"), Qty: val(p + "qty"), UoM: val(p + "uom"), Lot: val(p + "lot"), Expiry: val(p + "expiry"),
			From: val(p + "from"), To: val(p + "to"), State: val(p + "state"), ToState: val(p + "to_state")}
		d.Lines = append(d.Lines, l)
		if l == (postLine{}) || (l.Item == "" && l.Qty == "") {
			continue
		}
		var q edge.Qty
		if l.Qty == "" {
			d.Errors[fmt.Sprintf("lines[%d].qty", len(tx.Lines))] = "required"
		} else if err := q.UnmarshalText([]byte(l.Qty)); err != nil {
			d.Errors[fmt.Sprintf("lines[%d].qty", len(tx.Lines))] = fmt.Sprintf("%q is not a quantity (use a dot for decimals)", l.Qty)
		}
		tx.Lines = append(tx.Lines, edge.Line{Item: l.Item, Qty: q, UoM: l.UoM, Lot: l.Lot, Expiry: l.Expiry, From: l.From, To: l.To,
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
			d.Errors[fe.Field] = fe.Msg
			if fe.Field == "lines" || fe.Field == "id" || strings.HasSuffix(fe.Field, ".serial") {
				// No field of the form to mark (the form has no serial column: a
				// serial-numbered item is received at a station, one scan per unit).
				return fail(fiber.StatusUnprocessableEntity, fe.Msg)
			}
			return fail(fiber.StatusUnprocessableEntity, "Please correct the marked fields: "+fe.Msg)
		case errors.As(err, &se):
			d.Errors[se.Field+".qty"] = fmt.Sprintf("only %s on hand", se.Have)
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

func qe(s string) string { return url.QueryEscape(s) }
