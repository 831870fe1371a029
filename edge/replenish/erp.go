package replenish

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/depotd/depotd/edge"
)

// Merge returns the rules the proposer applies: the config's, merged with the ERP's
// orderpoints by the rule of edge.MasterView, here per (item, location): an ERP orderpoint
// replaces the config's rule for the same item and location whole (min, max, multiple and
// source); rules on one side only are kept, the config's first. An orderpoint the depot
// cannot apply is left out, with the reason in skipped: its location is not an internal or
// mobile location of this depot, or its source is neither "central" nor another internal
// location of it.
func Merge(cfg []Rule, erp []edge.Orderpoint, cat *edge.Catalog) (rules []Rule, skipped []string) {
	var mine []Rule
	replaced := map[[2]string]bool{}
	for _, o := range erp {
		if why := applicable(o, cat); why != "" {
			skipped = append(skipped, fmt.Sprintf("orderpoint %s at %s: %s", o.Item, o.Location, why))
			continue
		}
		k := [2]string{o.Item, o.Location}
		if replaced[k] {
			continue // validation refuses a payload with two; kept safe for a stored one
		}
		replaced[k] = true
		mine = append(mine, Rule{Item: o.Item, Location: o.Location, Min: o.Min, Max: o.Max, Multiple: o.Multiple, Source: o.Source})
	}
	for _, r := range cfg {
		if !replaced[[2]string{r.Item, r.Location}] {
			rules = append(rules, r)
		}
	}
	return append(rules, mine...), skipped
}

func applicable(o edge.Orderpoint, cat *edge.Catalog) string {
	l, ok := cat.Location(o.Location)
	if !ok {
		return "not a location of this depot"
	}
	if l.Type != edge.LocInternal && l.Type != edge.LocMobile {
		return fmt.Sprintf("a %s location: rules apply to internal and mobile locations", l.Type)
	}
	if o.Source == SourceCentral {
		return ""
	}
	if s, ok := cat.Location(o.Source); !ok || s.Type != edge.LocInternal || s.Name == o.Location {
		return fmt.Sprintf("source %q is neither %q nor another internal location of this depot", o.Source, SourceCentral)
	}
	return ""
}

// erpRules is the proposer's cache of the merged rules, rebuilt when the stored
// orderpoints payload changes.
type erpRules struct {
	raw    []byte
	merged []Rule
}

// currentRules returns the merged rules for this pass. An unreadable stored payload (it
// was validated when stored, so only a newer depotd's could be) keeps the config's rules
// alone, logged once per payload.
func (p *Proposer) currentRules() ([]Rule, error) {
	raw, err := p.j.Master(edge.MasterKindOrderpoints)
	if err != nil {
		return nil, fmt.Errorf("read orderpoints: %w", err)
	}
	if p.erp.merged != nil && bytes.Equal(raw, p.erp.raw) {
		return p.erp.merged, nil
	}
	var m edge.MasterOrderpoints
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			p.log.Error("stored orderpoints unreadable, using the config's rules only", "err", err)
			m.Orderpoints = nil
		}
	}
	merged, skipped := Merge(p.rules, m.Orderpoints, p.j.Catalog())
	for _, s := range skipped {
		p.log.Warn("erp orderpoint not applied", "why", s, "version", m.Version)
	}
	if len(raw) > 0 {
		p.log.Info("replenishment rules", "config", len(p.rules), "erp", len(m.Orderpoints), "applied", len(merged), "version", m.Version)
	}
	if merged == nil {
		merged = []Rule{}
	}
	p.erp = erpRules{raw: raw, merged: merged}
	return merged, nil
}
