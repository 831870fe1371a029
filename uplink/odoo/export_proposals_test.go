package odoo

import "log/slog"

// ProposalSpool is the connector's receiver of approved proposals.
type ProposalSpool = proposals

// NewProposalSpoolForTest is the spool Service runs, kept in stateDir, already loaded.
func NewProposalSpoolForTest(c *Client, depots []Depot, stateDir string) (*ProposalSpool, error) {
	p := newProposals(c, depots, stateDir, slog.New(slog.DiscardHandler))
	return p, p.load()
}
