package uplink

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ParseProposal reads a `P proposal` payload as the ERP receives it. Members it does not
// know are ignored (version 1 may add some); it refuses, wrapping ErrBadPayload,
// ErrBadVersion or ErrInvalid, a payload that is not a v1 object, has no depot, no id, no
// item, location or source, a source equal to its location, or a quantity that is not
// above zero.
func ParseProposal(payload []byte) (Proposal, error) {
	if err := checkVersion(payload); err != nil {
		return Proposal{}, err
	}
	var p Proposal
	if err := json.Unmarshal(payload, &p); err != nil {
		return Proposal{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	for _, f := range []struct{ name, v string }{{"depot", p.Depot}, {"item", p.Item}, {"location", p.Location}, {"source", p.Source}} {
		if strings.TrimSpace(f.v) == "" {
			return Proposal{}, fmt.Errorf("%w: proposal without %s", ErrInvalid, f.name)
		}
	}
	switch {
	case p.ID == 0:
		return Proposal{}, fmt.Errorf("%w: proposal without id", ErrInvalid)
	case p.Qty.Sign() <= 0:
		return Proposal{}, fmt.Errorf("%w: proposal %d: qty %s is not above zero", ErrInvalid, p.ID, p.Qty)
	case p.Source == p.Location:
		return Proposal{}, fmt.Errorf("%w: proposal %d: %s cannot replenish itself", ErrInvalid, p.ID, p.Location)
	}
	return p, nil
}
