package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/depotd/depotd/edge"
	"github.com/gofiber/fiber/v2"
)

// Replenishment proposals (package replenish raises them): the Proposals page and
// /api/v1/proposals, where a supervisor approves, changes or dismisses each, with a reason.

var errDecide = errors.New("cannot decide")

// proposalActions maps what a form or API client says to the journal's actions.
var proposalActions = map[string]string{
	"approve": edge.ProposalApprove,
	"change":  edge.ProposalChange,
	"dismiss": edge.ProposalDismiss,
}

// decisionEvent validates one decision as a form or API client states it; field names
// what was wrong.
func decisionEvent(action, qtyText, reason, by string) (edge.ProposalEvent, string, error) {
	act, ok := proposalActions[action]
	if !ok {
		return edge.ProposalEvent{}, "action", fmt.Errorf("%w: action must be approve, change or dismiss", errDecide)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return edge.ProposalEvent{}, "reason", fmt.Errorf("%w: a reason is required", errDecide)
	}
	if len(reason) > 500 {
		return edge.ProposalEvent{}, "reason", fmt.Errorf("%w: reason longer than 500 bytes", errDecide)
	}
	ev := edge.ProposalEvent{By: by, Action: act, Reason: reason}
	if act == edge.ProposalChange {
		q, err := edge.ParseQty(strings.TrimSpace(qtyText))
		if err != nil {
			return edge.ProposalEvent{}, "qty", fmt.Errorf("%w: quantity: %v", errDecide, err)
		}
		if q.Sign() <= 0 {
			return edge.ProposalEvent{}, "qty", fmt.Errorf("%w: a changed quantity must be above zero", errDecide)
		}
		ev.Qty = &q
	}
	return ev, "", nil
}

// decideProposal validates and journals one decision; field names what was wrong.
func (s *Server) decideProposal(id uint64, action, qtyText, reason, by string) (edge.Proposal, string, error) {
	ev, field, err := decisionEvent(action, qtyText, reason, by)
	if err != nil {
		return edge.Proposal{}, field, err
	}
	p, err := s.j.DecideProposal(id, ev)
	switch {
	case errors.Is(err, edge.ErrNotFound):
		return p, "id", fmt.Errorf("%w: no proposal %d", errDecide, id)
	case errors.Is(err, edge.ErrProposalState):
		return p, "state", fmt.Errorf("%w: %v", errDecide, err)
	case err != nil:
		return p, "", err
	}
	s.log.Info("replenishment proposal decided", "id", id, "action", ev.Action, "by", by, "qty", p.Qty.String())
	return p, "", nil
}

func (s *Server) decideError(c *fiber.Ctx, err error, field string) error {
	if !errors.Is(err, errDecide) {
		s.log.Error("decide proposal", "err", err)
		return apiError(c, fiber.StatusServiceUnavailable, "journal write failed (see the depotd log)", "")
	}
	code := fiber.StatusUnprocessableEntity
	switch field {
	case "id":
		code = fiber.StatusNotFound
	case "state":
		code = fiber.StatusConflict
	}
	return apiError(c, code, err.Error(), field)
}

// apiProposals lists proposals, newest first: ?active=true for the active ones only.
func (s *Server) apiProposals(c *fiber.Ctx) error {
	limit, _ := strconv.Atoi(c.Query("limit", "100"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	list, err := s.j.Proposals(c.Query("active") == "true", limit)
	if err != nil {
		s.log.Error("proposals", "err", err)
		return apiError(c, fiber.StatusServiceUnavailable, "journal read failed (see the depotd log)", "")
	}
	if list == nil {
		list = []edge.Proposal{}
	}
	return c.JSON(fiber.Map{"proposals": list})
}

// apiDecideProposal: {"action": "approve"|"change"|"dismiss", "reason": "...", "qty":
// "24" (change only), "by": "..."}. Supervisors and admins only.
func (s *Server) apiDecideProposal(c *fiber.Ctx) error {
	if !roleOf(c).AtLeast(RoleSupervisor) {
		return apiError(c, fiber.StatusForbidden, "deciding proposals needs the supervisor role", "")
	}
	id, err := strconv.ParseUint(c.Params("id"), 10, 64)
	if err != nil || id == 0 {
		return apiError(c, fiber.StatusBadRequest, "id must be a positive integer", "id")
	}
	req, err := decodeDecision(c.Body())
	if err != nil {
		return apiError(c, fiber.StatusBadRequest, err.Error(), "")
	}
	by := "api:" + tokenName(s.cfg.APITokens, c)
	if req.By != "" {
		by += " (" + req.By + ")"
	}
	p, field, err := s.decideProposal(id, req.Action, req.Qty, req.Reason, by)
	if err != nil {
		return s.decideError(c, err, field)
	}
	return c.JSON(p)
}

type decisionRequest struct {
	Action string `json:"action"`
	Reason string `json:"reason"`
	Qty    string `json:"qty"`
	By     string `json:"by"`
}

// decodeDecision reads one decision body: a single JSON object of known members.
func decodeDecision(body []byte) (decisionRequest, error) {
	var req decisionRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		return req, fmt.Errorf(`expected {"action", "reason", "qty", "by"}: %v`, err)
	}
	return req, nil
}

type proposalsData struct {
	All       bool
	Proposals []edge.Proposal
	Flash     string
	Error     string
}

func (s *Server) proposalsPage(c *fiber.Ctx) error {
	return s.renderProposals(c, fiber.StatusOK, c.Query("all") == "1", c.Query("decided"), "")
}

func (s *Server) renderProposals(c *fiber.Ctx, code int, all bool, decided, msg string) error {
	list, err := s.j.Proposals(!all, 200)
	if err != nil {
		return err
	}
	d := proposalsData{All: all, Proposals: list, Error: msg}
	if decided != "" {
		d.Flash = "Proposal " + decided + " updated."
	}
	return s.render(c, "proposals", code, pageData{Title: "Proposals", Data: d})
}

func (s *Server) decideForm(c *fiber.Ctx) error {
	id, _ := strconv.ParseUint(c.Params("id"), 10, 64)
	u := s.currentUser(c)
	_, _, err := s.decideProposal(id, strings.Clone(c.FormValue("action")), strings.Clone(c.FormValue("qty")),
		strings.Clone(c.FormValue("reason")), u.Name)
	if err != nil {
		if !errors.Is(err, errDecide) {
			return err
		}
		return s.renderProposals(c, fiber.StatusUnprocessableEntity, false, "", fmt.Sprintf("Proposal %d: %s", id, strings.TrimPrefix(err.Error(), errDecide.Error()+": ")))
	}
	return c.Redirect(fmt.Sprintf("/proposals?decided=%d", id), fiber.StatusSeeOther)
}
