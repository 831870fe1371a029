package odoo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/depotd/depotd/edge/engine"
	"github.com/depotd/depotd/uplink"
)

// Statuses of ProposalResult.
const (
	ProposalCreated   = "created"   // an internal transfer request was made
	ProposalCovered   = "covered"   // Odoo already had an open replenishment: none made
	ProposalDuplicate = "duplicate" // the proposal's key existed: nothing done
)

// ProposalResult is what the proposal action did with one proposal.
type ProposalResult struct {
	Status  string
	Model   string // what the key points at: stock.picking (created) or stock.move (covered)
	ResID   int
	Picking string // the picking's name, when there is one
}

// RequestReplenishment turns one approved proposal of depot d into an Odoo internal transfer
// request exactly once by (depot, proposal id), through the proposal action that setup
// installs (proposal_action.py, whose header gives the rules): confirmed pickings of the
// product from the source (the warehouse d's warehouse resupplies from, for "central",
// along Odoo's resupply route through transit when it has one; else the mapped depot
// location, an internal transfer) to the mapped location; or nothing
// when Odoo already has an open move of the product into the location (covered). Calling
// it again answers ProposalDuplicate. Errors: a *Rejection when Odoo refused the data;
// otherwise an *Error (Retryable says whether to try again; a retry is always safe).
func (c *Client) RequestReplenishment(ctx context.Context, d Depot, p uplink.Proposal) (ProposalResult, error) {
	key := ProposalKey(d.ID, p.ID)
	id, err := findXMLID(ctx, c, ProposalActionXMLID)
	if err != nil {
		return ProposalResult{}, err
	}
	if id == 0 {
		return ProposalResult{}, &SetupError{Msg: fmt.Sprintf("this depotd's proposal action (%s.%s) is not installed in Odoo: run depotd erp setup", Module, ProposalActionXMLID)}
	}
	source := p.Source
	if source != "central" {
		source = d.Location(source)
	}
	note := fmt.Sprintf("approved by %s at %s: %s (available %s, min %s, max %s, multiple %s)",
		p.ApprovedBy, p.ApprovedAt.UTC().Format(time.RFC3339), p.Reason, p.Available, p.Min, p.Max, p.Multiple)
	req := map[string]any{"key": key, "depot": d.ID, "id": p.ID, "warehouse": d.Warehouse, "item": p.Item,
		"qty": p.Qty.String(), "dest": d.Location(p.Location), "source": source, "note": note}
	var out struct {
		Depotd struct {
			Status  string `json:"status"`
			Model   string `json:"model"`
			ResID   int    `json:"res_id"`
			Picking any    `json:"picking"`
		} `json:"depotd"`
	}
	err = c.Call(ctx, "ir.actions.server", "run", map[string]any{"ids": []int{id}, "context": map[string]any{"depotd": req}}, &out)
	var oe *Error
	if errors.As(err, &oe) && errors.Is(err, ErrRefused) {
		// Two calls for one key at once: the loser fails on the key's unique index. The
		// key then exists, and this proposal is a duplicate, not refused.
		if other, ferr := findXMLID(ctx, c, key); ferr == nil && other != 0 {
			return ProposalResult{Status: ProposalDuplicate, ResID: other}, nil
		}
		return ProposalResult{}, rejection(oe)
	}
	if err != nil {
		return ProposalResult{}, err
	}
	r := ProposalResult{Status: out.Depotd.Status, Model: out.Depotd.Model, ResID: out.Depotd.ResID}
	if s, ok := out.Depotd.Picking.(string); ok {
		r.Picking = s
	}
	switch r.Status {
	case ProposalCreated, ProposalCovered, ProposalDuplicate:
		return r, nil
	}
	return r, &Error{Op: "ir.actions.server/run", Status: 200, Kind: ErrProtocol, Message: fmt.Sprintf("the proposal action answered %q: is it this depotd's? (run depotd erp setup)", r.Status)}
}

// proposals receives the depots' approved proposals (erpcore's Proposal hook) and turns
// each into an Odoo request on its own goroutine, so that paho's router never waits on
// Odoo. A proposal is acknowledged to the broker once Receive returns, and the depot sends
// it only once, so Receive first spools it to a file in the state directory (fsynced);
// Run removes the file once Odoo answered. Without a state directory the spool is memory
// only and a connector crash loses the proposals not yet requested (logged at start).
type proposals struct {
	c      *Client
	depots map[string]Depot
	dir    string
	log    *slog.Logger
	wake   chan struct{}

	mu      sync.Mutex
	mem     map[string][]byte         // file name → payload (also what is on disk)
	results map[string]ProposalResult // key → what Odoo did, once it answered
	counts  map[string]*proposalCounts
}

// proposalCounts are one depot's proposals since start, for /metrics: received (checked
// and spooled) and answered by Odoo, by outcome (proposalOutcomes).
type proposalCounts struct {
	received uint64
	answered map[string]uint64
}

// proposalOutcomes are the outcomes /metrics counts, each always reported: a transfer
// requested (ProposalCreated), covered by an open one, a duplicate of a key, refused.
var proposalOutcomes = []string{ProposalCreated, ProposalCovered, ProposalDuplicate, "refused"}

func newProposals(c *Client, depots []Depot, stateDir string, log *slog.Logger) *proposals {
	p := &proposals{c: c, depots: map[string]Depot{}, log: log, wake: make(chan struct{}, 1), mem: map[string][]byte{},
		results: map[string]ProposalResult{}, counts: map[string]*proposalCounts{}}
	for _, d := range depots {
		p.depots[d.ID] = d
		p.counts[d.ID] = &proposalCounts{answered: map[string]uint64{}}
	}
	if stateDir != "" {
		p.dir = filepath.Join(stateDir, "proposals")
	}
	return p
}

// load reads the proposals a previous run spooled and did not finish.
func (p *proposals) load() error {
	if p.dir == "" {
		p.log.Warn("erp proposals are spooled in memory only: set state_dir so that a crash loses none")
		return nil
	}
	if err := os.MkdirAll(p.dir, 0o750); err != nil {
		return err
	}
	ents, err := os.ReadDir(p.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(p.dir, e.Name()))
		if err != nil {
			return err
		}
		p.mem[e.Name()] = raw
	}
	return nil
}

// Receive is erpcore's Proposal hook: it checks the payload and spools it.
func (p *proposals) Receive(depot string, payload []byte) {
	pr, err := uplink.ParseProposal(payload)
	switch {
	case err != nil:
		p.log.Warn("erp proposal refused", "depot", depot, "err", err)
		return
	case pr.Depot != depot:
		p.log.Warn("erp proposal refused", "depot", depot, "err", fmt.Sprintf("depot %q on the topic of %s", pr.Depot, depot))
		return
	}
	if _, ok := p.depots[depot]; !ok {
		p.log.Warn("erp proposal of a depot not served dropped", "depot", depot, "id", pr.ID)
		return
	}
	name := ProposalKey(depot, pr.ID) + ".json"
	if p.dir != "" {
		if err := writeFileSync(filepath.Join(p.dir, name), payload); err != nil {
			// Nothing better to do on paho's router: say so loudly; the depot's supervisor
			// sees the proposal approved and Odoo without it.
			p.log.Error("erp proposal not spooled: it is lost unless the depot sends it again", "depot", depot, "id", pr.ID, "err", err)
			return
		}
	}
	p.mu.Lock()
	p.mem[name] = payload
	p.counts[depot].received++
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Result returns what Odoo did with a depot's proposal, once it did.
func (p *proposals) Result(depot string, id uint64) (ProposalResult, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.results[ProposalKey(depot, id)]
	return r, ok
}

// Run requests every spooled proposal, retrying those Odoo could not take yet with a
// backoff (1 s doubling to a minute), until ctx ends.
func (p *proposals) Run(ctx context.Context) error {
	backoff := time.Second
	for {
		failed := p.pass(ctx)
		wait := time.Hour
		if failed {
			wait, backoff = backoff, min(2*backoff, time.Minute)
		} else {
			backoff = time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-p.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// pass requests each spooled proposal once; it says whether one must be tried again.
func (p *proposals) pass(ctx context.Context) bool {
	p.mu.Lock()
	names := make([]string, 0, len(p.mem))
	for n := range p.mem {
		names = append(names, n)
	}
	p.mu.Unlock()
	sort.Strings(names)
	failed := false
	for _, name := range names {
		if ctx.Err() != nil {
			return false
		}
		p.mu.Lock()
		payload := p.mem[name]
		p.mu.Unlock()
		pr, err := uplink.ParseProposal(payload)
		d, served := p.depots[pr.Depot]
		if err != nil || !served {
			p.log.Error("erp spooled proposal unreadable or of a depot not served: dropped", "file", name, "err", err)
			p.done(name, nil)
			continue
		}
		r, err := p.c.RequestReplenishment(ctx, d, pr)
		var rej *Rejection
		switch {
		case errors.As(err, &rej):
			p.log.Error("erp proposal refused by odoo", "depot", d.ID, "id", pr.ID, "item", pr.Item, "code", rej.Code, "message", rej.Message)
			p.done(name, &ProposalResult{Status: "refused: " + rej.Code})
			p.count(d.ID, "refused")
		case err != nil:
			if ctx.Err() == nil {
				p.log.Warn("erp proposal not requested yet (retrying)", "depot", d.ID, "id", pr.ID, "err", err)
			}
			failed = true
		default:
			p.log.Info("erp proposal", "depot", d.ID, "id", pr.ID, "item", pr.Item, "location", pr.Location, "qty", pr.Qty.String(),
				"status", r.Status, "model", r.Model, "res_id", r.ResID, "picking", r.Picking)
			p.done(name, &r)
			p.count(d.ID, r.Status)
		}
	}
	return failed
}

func (p *proposals) count(depot, outcome string) {
	p.mu.Lock()
	p.counts[depot].answered[outcome]++
	p.mu.Unlock()
}

// stats returns how many of depot's proposals were received since start, and how many
// Odoo answered by outcome (every one of proposalOutcomes present).
func (p *proposals) stats(depot string) (received uint64, answered map[string]uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	answered = map[string]uint64{}
	for _, o := range proposalOutcomes {
		answered[o] = 0
	}
	c, ok := p.counts[depot]
	if !ok {
		return 0, answered
	}
	for o, n := range c.answered {
		answered[o] = n
	}
	return c.received, answered
}

func (p *proposals) done(name string, r *ProposalResult) {
	if p.dir != "" {
		if err := os.Remove(filepath.Join(p.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			// Requesting it again is a duplicate in Odoo: harmless.
			p.log.Warn("erp proposal spool file not removed", "file", name, "err", err)
		}
	}
	p.mu.Lock()
	delete(p.mem, name)
	if r != nil {
		p.results[strings.TrimSuffix(name, ".json")] = *r
	}
	p.mu.Unlock()
}

// writeFileSync writes a file atomically and durably: temp file, fsync, rename, then an
// fsync of the directory, without which a power cut may forget the rename.
func writeFileSync(path string, raw []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(raw); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return engine.SyncDir(filepath.Dir(path))
}
