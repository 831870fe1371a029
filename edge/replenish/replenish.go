package replenish

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/depotd/depotd/edge"
)

// SourceCentral names the ERP's central warehouse as a rule's source.
const SourceCentral = "central"

// Rule is one min/max rule for an item at a location.
type Rule struct {
	Item     string   `yaml:"item"`
	Location string   `yaml:"location"`
	Min      edge.Qty `yaml:"min"`
	Max      edge.Qty `yaml:"max"`
	// Multiple rounds the proposed quantity up (default 1).
	Multiple edge.Qty `yaml:"multiple"`
	// Source is "central" or a location of this depot (default: central for an internal
	// location, the depot's first internal location for a mobile one).
	Source string `yaml:"source"`
}

// Config is the `replenishment:` section of the depot config.
type Config struct {
	Rules []Rule `yaml:"rules"`
}

// ApplyDefaults fills each rule's multiple and source from the catalog.
func (c *Config) ApplyDefaults(cat *edge.Catalog) {
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.Multiple.IsZero() {
			r.Multiple = edge.QtyFromInt(1)
		}
		if r.Source != "" {
			continue
		}
		r.Source = SourceCentral
		if l, ok := cat.Location(r.Location); ok && l.Type == edge.LocMobile {
			for _, d := range cat.Locations() {
				if d.Type == edge.LocInternal {
					r.Source = d.Name
					break
				}
			}
		}
	}
}

// Check reports every problem with its key path. Run it after ApplyDefaults.
func (c *Config) Check(path string, cat *edge.Catalog, report func(key, msg string)) {
	seen := map[[2]string]int{}
	for i, r := range c.Rules {
		p := fmt.Sprintf("%s.rules[%d]", path, i)
		if r.Item == "" {
			report(p+".item", "required")
		}
		l, ok := cat.Location(r.Location)
		switch {
		case r.Location == "":
			report(p+".location", "required")
		case !ok:
			report(p+".location", fmt.Sprintf("unknown location %q", r.Location))
		case l.Type != edge.LocInternal && l.Type != edge.LocMobile:
			report(p+".location", fmt.Sprintf("%q is a %s location: rules apply to internal and mobile locations", r.Location, l.Type))
		}
		if j, dup := seen[[2]string{r.Item, r.Location}]; dup {
			report(p, fmt.Sprintf("a second rule for %s at %s (the first is rules[%d])", r.Item, r.Location, j))
		}
		seen[[2]string{r.Item, r.Location}] = i
		if r.Min.Sign() < 0 {
			report(p+".min", fmt.Sprintf("%s: must not be negative", r.Min))
		}
		if r.Max.Sign() <= 0 || r.Max.LessThan(r.Min) {
			report(p+".max", fmt.Sprintf("%s: must be above zero and at least min (%s)", r.Max, r.Min))
		}
		if r.Multiple.Sign() <= 0 {
			report(p+".multiple", fmt.Sprintf("%s: must be above zero", r.Multiple))
		}
		if r.Source != SourceCentral {
			s, ok := cat.Location(r.Source)
			switch {
			case !ok:
				report(p+".source", fmt.Sprintf("%q: neither %q nor a location of this depot", r.Source, SourceCentral))
			case s.Type != edge.LocInternal:
				report(p+".source", fmt.Sprintf("%q is a %s location: a source is central or an internal location", r.Source, s.Type))
			case s.Name == r.Location:
				report(p+".source", "a location cannot replenish itself")
			}
		}
	}
}

// Quantity is what a rule proposes at available: max minus available, rounded up to the
// multiple. It is exact.
func (r Rule) Quantity(available edge.Qty) edge.Qty {
	need := r.Max.Sub(available).Decimal()
	m := r.Multiple.Decimal()
	q, rem := need.QuoRem(m, 0)
	if rem.Sign() > 0 {
		q = q.Add(edge.QtyFromInt(1).Decimal())
	}
	return edge.QtyFromDecimal(q.Mul(m))
}

// Journal is what the proposer needs of the journal; *edge.Journal satisfies it.
type Journal interface {
	StockCheckpointed(f edge.StockFilter) ([]edge.StockRow, error)
	Checkpointed() <-chan struct{}
	RaiseProposal(p edge.Proposal) (edge.Proposal, bool, error)
	Proposals(activeOnly bool, limit int) ([]edge.Proposal, error)
	DecideProposal(id uint64, ev edge.ProposalEvent) (edge.Proposal, error)
	// Master and Catalog give the ERP's orderpoints and the depot's locations (Merge).
	Master(kind string) ([]byte, error)
	Catalog() *edge.Catalog
}

// Proposer raises and closes proposals as the ledger moves.
type Proposer struct {
	j     Journal
	rules []Rule
	log   *slog.Logger
	erp   erpRules // touched only by the goroutine that runs Check
	// MinGap is the shortest time between two passes (default 2 s); Interval the longest
	// (default 1 minute), for a ledger that moves without checkpoints (never, today).
	MinGap, Interval time.Duration
}

// NewProposer returns a proposer for the rules of cfg, which must have passed Check.
func NewProposer(j Journal, cfg Config, log *slog.Logger) *Proposer {
	return &Proposer{j: j, rules: cfg.Rules, log: log, MinGap: 2 * time.Second, Interval: time.Minute}
}

// maxActive bounds the active proposals read per pass; rules are config and the depot's
// orderpoints, so their number (and so the number of active proposals) is small.
const maxActive = 1 << 16

// Check runs one pass over the merged rules (Merge): it raises a proposal for each rule whose location is below its
// minimum and has none active, and closes the active proposal of each rule back at or
// above its minimum. It returns the proposals it raised.
func (p *Proposer) Check() ([]edge.Proposal, error) {
	active, err := p.j.Proposals(true, maxActive)
	if err != nil {
		return nil, fmt.Errorf("list proposals: %w", err)
	}
	byKey := map[[2]string]edge.Proposal{}
	for _, a := range active {
		byKey[[2]string{a.Item, a.Location}] = a
	}
	rules, err := p.currentRules()
	if err != nil {
		return nil, err
	}
	var raised []edge.Proposal
	for _, r := range rules {
		avail, err := p.available(r)
		if err != nil {
			return raised, err
		}
		a, has := byKey[[2]string{r.Item, r.Location}]
		if !avail.LessThan(r.Min) {
			if has {
				reason := fmt.Sprintf("available %s is back at or above the minimum %s", avail, r.Min)
				if _, err := p.j.DecideProposal(a.ID, edge.ProposalEvent{By: "depotd", Action: edge.ProposalClose, Reason: reason}); err != nil {
					return raised, fmt.Errorf("close proposal %d: %w", a.ID, err)
				}
				p.log.Info("replenishment proposal closed", "id", a.ID, "item", r.Item, "location", r.Location, "available", avail.String())
			}
			continue
		}
		if has {
			continue
		}
		np, created, err := p.j.RaiseProposal(edge.Proposal{Item: r.Item, Location: r.Location, Source: r.Source,
			Min: r.Min, Max: r.Max, Multiple: r.Multiple, Available: avail, Qty: r.Quantity(avail)})
		if err != nil {
			return raised, err
		}
		if created {
			p.log.Info("replenishment proposed", "id", np.ID, "item", r.Item, "location", r.Location,
				"available", avail.String(), "qty", np.Qty.String(), "source", r.Source)
			raised = append(raised, np)
		}
	}
	return raised, nil
}

func (p *Proposer) available(r Rule) (edge.Qty, error) {
	rows, err := p.j.StockCheckpointed(edge.StockFilter{Item: r.Item, Location: r.Location, State: edge.Available, Limit: 1 << 20})
	if err != nil {
		return edge.Qty{}, fmt.Errorf("stock of %s at %s: %w", r.Item, r.Location, err)
	}
	var sum edge.Qty
	for _, row := range rows {
		sum = sum.Add(row.Qty)
	}
	return sum, nil
}

// Run passes once at start, then after each checkpoint (at most once per MinGap) and at
// least once per Interval, until ctx is done. A failed pass is logged once per distinct
// error and retried at the next wake.
// It runs even without config rules: the ERP's orderpoints may arrive at any time.
func (p *Proposer) Run(ctx context.Context) error {
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	lastErr := ""
	for {
		// Asked before the pass: a checkpoint during it wakes the next one.
		next := p.j.Checkpointed()
		if _, err := p.Check(); err != nil {
			if err.Error() != lastErr {
				p.log.Error("replenishment pass failed", "err", err)
			}
			lastErr = err.Error()
		} else {
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return nil
		case <-next:
		case <-t.C:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.MinGap):
		}
	}
}
