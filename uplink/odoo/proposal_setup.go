package odoo

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
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

// proposalAction installs the proposal action under depotd.<ProposalActionXMLID>.
func (s *setup) proposalAction(ctx context.Context) error {
	return s.installAction(ctx, serverAction{"proposal action", ProposalActionXMLID, ProposalActionName, ProposalAction})
}
