package odoo

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
)

// ProposalAction is the Python code of the server action that turns one approved depot
// replenishment proposal into an internal transfer request exactly once (see
// proposal_action.py, written for depotd; nothing in it is Odoo's code).
//
//go:embed proposal_action.py
var ProposalAction string

// The proposal action is installed, as the post action, under a name and xml id carrying
// a digest of its code, so that two depotd versions sharing a database each run their own.
var (
	proposalActionDigest = func() string { h := sha256.Sum256([]byte(ProposalAction)); return hex.EncodeToString(h[:6]) }()
	// ProposalActionXMLID is the ir.model.data name (module depotd) of this depotd's proposal action.
	ProposalActionXMLID = "action_proposal_" + proposalActionDigest
	// ProposalActionName is the ir.actions.server name of this depotd's proposal action.
	ProposalActionName = "depotd: request a depot's replenishment (" + proposalActionDigest + ")"
)

// ProposalKey is the ir.model.data name (module "depotd") of a depot's proposal.
func ProposalKey(depot string, id uint64) string {
	return fmt.Sprintf("proposal_%s_%d", Slug(depot), id)
}

// proposalAction installs the proposal action under depotd.<ProposalActionXMLID>, or
// rewrites its code when it differs: the steps of postAction, for the other action.
func (s *setup) proposalAction(ctx context.Context) error {
	id, err := findXMLID(ctx, s.c, ProposalActionXMLID)
	if err != nil {
		return err
	}
	if id != 0 {
		var acts []struct {
			Code  string `json:"code"`
			State string `json:"state"`
		}
		if err := s.call(ctx, "ir.actions.server", "read", map[string]any{"ids": []int{id}, "fields": []string{"code", "state"}}, &acts); err != nil {
			return err
		}
		if len(acts) == 1 && acts[0].Code == ProposalAction && acts[0].State == "code" {
			s.ok("proposal action installed and current (ir.actions.server %d, %s.%s)", id, Module, ProposalActionXMLID)
			return nil
		}
		if err := s.call(ctx, "ir.actions.server", "write", map[string]any{"ids": []int{id}, "vals": map[string]any{"code": ProposalAction, "state": "code"}}, nil); err != nil {
			return err
		}
		s.changed("proposal action rewritten with this depotd's code (ir.actions.server %d)", id)
		return nil
	}
	var models []int
	if err := s.call(ctx, "ir.model", "search", map[string]any{"domain": []any{[]any{"model", "=", "stock.picking"}}}, &models); err != nil {
		return err
	}
	if len(models) != 1 {
		return &SetupError{Msg: "Odoo has no stock.picking model: is the Inventory app installed?"}
	}
	// Adopt an action left by a run that died between the two creates below.
	var ids []int
	if err := s.call(ctx, "ir.actions.server", "search", map[string]any{"domain": []any{[]any{"name", "=", ProposalActionName}}}, &ids); err != nil {
		return err
	}
	if len(ids) == 0 {
		if err := s.call(ctx, "ir.actions.server", "create", map[string]any{"vals_list": []any{map[string]any{
			"name": ProposalActionName, "model_id": models[0], "state": "code", "code": ProposalAction,
		}}}, &ids); err != nil {
			return err
		}
	} else if err := s.call(ctx, "ir.actions.server", "write", map[string]any{"ids": ids[:1], "vals": map[string]any{"code": ProposalAction, "state": "code"}}, nil); err != nil {
		return err
	}
	err = s.call(ctx, "ir.model.data", "create", map[string]any{"vals_list": []any{map[string]any{
		"module": Module, "name": ProposalActionXMLID, "model": "ir.actions.server", "res_id": ids[0], "noupdate": true,
	}}}, nil)
	if errors.Is(err, ErrRefused) {
		// A setup running at the same time installed its own first: keep that one.
		if other, ferr := findXMLID(ctx, s.c, ProposalActionXMLID); ferr == nil && other != 0 && other != ids[0] {
			if uerr := s.call(ctx, "ir.actions.server", "unlink", map[string]any{"ids": ids[:1]}, nil); uerr != nil {
				return uerr
			}
			s.ok("proposal action installed by a setup that ran at the same time (ir.actions.server %d)", other)
			return nil
		}
	}
	if err != nil {
		return err
	}
	s.changed("installed the proposal action (ir.actions.server %d, %s.%s)", ids[0], Module, ProposalActionXMLID)
	return nil
}
